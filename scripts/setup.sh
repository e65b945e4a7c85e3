#!/usr/bin/env bash
# Install what sangja needs on Debian 12, as root: the system packages, the docker CLI
# (for the e2e tests), and the venv .venv with sangja installed editable plus its test
# extras. Safe to run again: packages already installed are not fetched twice.
#
#   bash scripts/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
    echo "scripts/setup.sh: run as root (containers need runc, mounts and cgroups)" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive

# runc/crun + conmon run containers; busybox-static makes the test image; tini is the
# --init binary; iproute2/curl/tmux/procps are used by tests and scripts; python3-venv
# and python3-dev build the venv (aiohttp ships wheels, but a source build needs -dev).
packages=(
    ca-certificates runc crun conmon busybox-static tini iproute2 curl tmux procps
    util-linux tar python3 python3-venv python3-dev nftables
    docker-registry apache2-utils skopeo  # registry tests: the registry, htpasswd, skopeo inspect
)
missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done

# The e2e tests drive the real docker CLI. Debian 12 ships it only inside docker.io;
# install that without letting the package start a dockerd (no daemon is needed).
need_docker_cli=0
if ! command -v docker >/dev/null 2>&1 && [ ! -x /usr/local/bin/docker ]; then
    need_docker_cli=1
fi

if [ "${#missing[@]}" -gt 0 ] || [ "$need_docker_cli" -eq 1 ]; then
    apt-get update -q
    if [ "${#missing[@]}" -gt 0 ]; then
        apt-get install -y -q --no-install-recommends "${missing[@]}"
    fi
    if [ "$need_docker_cli" -eq 1 ]; then
        placed_policy=0
        if [ ! -e /usr/sbin/policy-rc.d ]; then
            # exit 101 = "action forbidden": invoke-rc.d then starts no service
            printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
            chmod 0755 /usr/sbin/policy-rc.d
            placed_policy=1
        fi
        apt-get install -y -q --no-install-recommends docker.io
        if [ "$placed_policy" -eq 1 ]; then
            rm -f /usr/sbin/policy-rc.d
        fi
    fi
fi

if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import sys' >/dev/null 2>&1; then
    /usr/bin/python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
# An editable install leaves sangja's modules uncompiled; compile them once as pip does for a
# wheel, so that no command pays for compiling (with PYTHONDONTWRITEBYTECODE set, every time).
.venv/bin/python -m compileall -q src
