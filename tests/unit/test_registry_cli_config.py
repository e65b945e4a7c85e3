"""~/.docker/config.json handling of the sangja CLI: auths in Docker's format, credential
helpers (a fake docker-credential-* program on PATH), and the X-Registry-Auth it sends."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import pytest

from sangja.cli import dockerconfig


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "dockercfg"
    monkeypatch.setenv("DOCKER_CONFIG", str(d))
    return d


def test_login_writes_docker_format_and_keeps_other_keys(config_dir: Path) -> None:
    config_dir.mkdir()
    (config_dir / "config.json").write_text(json.dumps({"psFormat": "{{.ID}}"}))
    dockerconfig.store("127.0.0.1:5000", "alice", "s3:cret")
    cfg = json.loads((config_dir / "config.json").read_text())
    assert cfg["psFormat"] == "{{.ID}}"
    assert cfg["auths"]["127.0.0.1:5000"] == {"auth": base64.b64encode(b"alice:s3:cret").decode()}
    assert dockerconfig.get("127.0.0.1:5000") == {"serveraddress": "127.0.0.1:5000", "username": "alice",
                                                  "password": "s3:cret"}
    header = json.loads(base64.urlsafe_b64decode(dockerconfig.registry_auth_header("127.0.0.1:5000")))
    assert header["username"] == "alice" and header["password"] == "s3:cret"
    assert dockerconfig.registry_auth_header("other:1") == "e30="
    assert dockerconfig.erase("127.0.0.1:5000") is True
    assert dockerconfig.erase("127.0.0.1:5000") is False
    assert dockerconfig.get("127.0.0.1:5000") == {}


def test_docker_hub_uses_the_v1_index_key() -> None:
    for name in ("", "docker.io", "index.docker.io", "https://index.docker.io/v1/"):
        assert dockerconfig.server_key(name) == "https://index.docker.io/v1/"
    assert dockerconfig.server_key("https://h:5000/v2/") == "h:5000"


def test_credential_helper_stores_gets_and_erases(config_dir: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    store_file = tmp_path / "helper-store.json"
    helper = bindir / "docker-credential-fake"
    helper.write_text(f"""#!/usr/bin/env python3
import json, sys
path = {str(store_file)!r}
try:
    data = json.load(open(path))
except FileNotFoundError:
    data = {{}}
action, payload = sys.argv[1], sys.stdin.read()
if action == "store":
    c = json.loads(payload); data[c["ServerURL"]] = c
elif action == "get":
    if payload.strip() not in data:
        print("credentials not found in native keychain"); sys.exit(1)
    print(json.dumps(data[payload.strip()]))
elif action == "erase":
    data.pop(payload.strip(), None)
json.dump(data, open(path, "w"))
""")
    helper.chmod(helper.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bindir}:/usr/bin:/bin")
    config_dir.mkdir()
    (config_dir / "config.json").write_text(json.dumps({"credHelpers": {"reg.example:443": "fake"}}))
    dockerconfig.store("reg.example:443", "bob", "pw")
    assert json.loads(store_file.read_text())["reg.example:443"]["Secret"] == "pw"
    cfg = json.loads((config_dir / "config.json").read_text())
    assert cfg["auths"]["reg.example:443"] == {}   # no secret in the file
    assert dockerconfig.get("reg.example:443")["password"] == "pw"
    assert dockerconfig.erase("reg.example:443") is True
    assert dockerconfig.get("reg.example:443") == {}
