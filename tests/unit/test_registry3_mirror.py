"""--registry-mirror and --docker-io-endpoint: validation and the order a pull tries endpoints."""

from __future__ import annotations

import pytest

from sangja.daemon.main import parse_args
from sangja.daemon.registry_session import RegistryOptions, endpoint, pull_endpoints, registry_options
from sangja.distribution.endpoint import validate_mirror


def test_validate_mirror_like_moby() -> None:
    assert validate_mirror("https://mirror.example:5000") == "https://mirror.example:5000/"
    assert validate_mirror("http://127.0.0.1:5000/") == "http://127.0.0.1:5000/"
    for bad, why in (("mirror.example", "unsupported scheme"), ("ftp://m", "unsupported scheme"),
                     ("https://m/v2/", "path, query, or fragment"), ("https://m/?a=b", "path, query, or fragment"),
                     ("https://u:p@m/", "username/password not allowed")):
        with pytest.raises(ValueError, match=why):
            validate_mirror(bad)


def test_daemon_flags() -> None:
    cfg = parse_args(["--registry-mirror", "https://a.example", "--registry-mirror", "http://127.0.0.1:5001/",
                      "--docker-io-endpoint", "http://127.0.0.1:9/"])
    assert cfg.registry_mirrors == ("https://a.example/", "http://127.0.0.1:5001/")
    assert cfg.docker_io_endpoint == "http://127.0.0.1:9"
    opts = registry_options(cfg)
    assert opts.mirrors == cfg.registry_mirrors and opts.hub_url == "http://127.0.0.1:9"
    with pytest.raises(SystemExit):
        parse_args(["--registry-mirror", "mirror.example"])


def test_docker_io_pulls_try_mirrors_then_the_origin() -> None:
    opts = RegistryOptions(mirrors=("http://127.0.0.1:5001/", "https://m.example/"))
    got = [(e.base_url, e.domain, e.ssl is False, mirror) for e, mirror in pull_endpoints("docker.io", opts)]
    assert got == [("http://127.0.0.1:5001", "docker.io", True, True),
                   ("https://m.example", "docker.io", False, True),
                   ("https://registry-1.docker.io", "docker.io", False, False)]
    # Other registries have no mirrors.
    assert [(e.base_url, m) for e, m in pull_endpoints("127.0.0.1:5000", opts)] == [("http://127.0.0.1:5000", False)]


def test_the_docker_io_origin_can_be_overridden() -> None:
    opts = RegistryOptions(hub_url="http://127.0.0.1:9")
    assert endpoint("docker.io", opts).base_url == "http://127.0.0.1:9"
    assert endpoint("docker.io", opts).ssl is False
    assert [e.base_url for e, _ in pull_endpoints("docker.io", opts)] == ["http://127.0.0.1:9"]
    assert endpoint("quay.io", opts).base_url == "https://quay.io"
    assert endpoint("docker.io", RegistryOptions()).base_url == "https://registry-1.docker.io"
