#!/usr/bin/env bash
# The whole check, as CI runs it (.ci/run): install (scripts/setup.sh), lint, type-check,
# then every test (unit, integration, e2e) in one pytest run. Run as root on Debian 12.
#
#   bash scripts/test.sh                 # everything
#   bash scripts/test.sh tests/e2e -x    # extra arguments go to pytest
#
# SANGJA_TEST_STRICT=1 turns a missing prerequisite (root, runc, docker CLI, ...) into a
# failure instead of a skip, and pytest finding no tests at all (exit 5) fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh

echo "== ruff"
.venv/bin/ruff check .

echo "== mypy"
.venv/bin/mypy                                                   # the package, per pyproject
.venv/bin/mypy --strict tests/conftest.py tests/support tests/e2e bench   # the harness

echo "== pytest"
export SANGJA_TEST_STRICT=1
rc=0
.venv/bin/pytest -ra --durations=20 "$@" || rc=$?
if [ "$rc" -eq 5 ]; then
    echo "scripts/test.sh: pytest collected no tests; that is a failure, not a pass" >&2
    exit 1
fi
exit "$rc"
