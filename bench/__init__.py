"""Benchmarks of sangjad against Debian's dockerd and podman (not part of the test suite).

    .venv/bin/python -m bench.run --help
"""
