"""~/.docker/config.json credentials, in Docker's format (what `docker login` writes).

    {"auths": {"127.0.0.1:5000": {"auth": "<base64 user:password>"}},
     "credsStore": "pass", "credHelpers": {"registry.example.com": "secretservice"}}

The file lives in $DOCKER_CONFIG, else ~/.docker. Credentials go to a credential helper
(`docker-credential-<name> get|store|erase`, JSON on stdin/stdout, Docker's protocol) when
credHelpers names one for the registry or credsStore is set; otherwise base64 into "auths".
Other keys of the file are kept as they are. Docker Hub's key is https://index.docker.io/v1/.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

INDEX_SERVER = "https://index.docker.io/v1/"


def config_dir() -> Path:
    env = os.environ.get("DOCKER_CONFIG")
    return Path(env) if env else Path.home() / ".docker"


def config_path() -> Path:
    return config_dir() / "config.json"


def load() -> dict[str, Any]:
    try:
        data = json.loads(config_path().read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ValueError(f"loading config file: {config_path()}: {exc}") from None
    return data if isinstance(data, dict) else {}


def save(cfg: dict[str, Any]) -> None:
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".config.json.")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(cfg, f, indent="\t")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def server_key(domain: str) -> str:
    """The key of a registry in "auths" (and for helpers): Docker Hub's v1 URL, else host[:port]."""
    if domain in ("", "docker.io", "index.docker.io", "registry-1.docker.io", INDEX_SERVER):
        return INDEX_SERVER
    for scheme in ("https://", "http://"):
        if domain.startswith(scheme):
            domain = domain[len(scheme):]
    return domain.split("/", 1)[0]


def _helper(cfg: dict[str, Any], key: str) -> str:
    helpers = cfg.get("credHelpers")
    if isinstance(helpers, dict) and isinstance(helpers.get(key), str):
        return str(helpers[key])
    store = cfg.get("credsStore")
    return store if isinstance(store, str) else ""


def _run_helper(name: str, action: str, data: str) -> str:
    try:
        proc = subprocess.run([f"docker-credential-{name}", action], input=data.encode(), capture_output=True,
                              timeout=60, check=False)
    except FileNotFoundError:
        raise ValueError(f"error getting credentials - err: exec: \"docker-credential-{name}\": executable file not "
                         "found in $PATH") from None
    out = proc.stdout.decode().strip()
    if proc.returncode != 0:
        if "credentials not found" in out.lower():
            return ""
        raise ValueError(f"error {action}ting credentials - err: {out or proc.stderr.decode().strip()}")
    return out


def get(domain: str) -> dict[str, str]:
    """Docker's AuthConfig for a registry: {"username", "password", "serveraddress"} or {} if none."""
    cfg = load()
    key = server_key(domain)
    helper = _helper(cfg, key)
    if helper:
        answer = _run_helper(helper, "get", key)
        if not answer:
            return {}
        creds = json.loads(answer)
        user, secret = str(creds.get("Username", "")), str(creds.get("Secret", ""))
        if user == "<token>":
            return {"identitytoken": secret, "serveraddress": key}
        return {"username": user, "password": secret, "serveraddress": key}
    entry = (cfg.get("auths") or {}).get(key)
    if not isinstance(entry, dict):
        return {}
    out: dict[str, str] = {"serveraddress": key}
    if isinstance(entry.get("auth"), str) and entry["auth"]:
        user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
        out.update(username=user, password=password)
    if isinstance(entry.get("identitytoken"), str):
        out["identitytoken"] = entry["identitytoken"]
    return out


def store(domain: str, username: str, password: str) -> Path:
    cfg = load()
    key = server_key(domain)
    helper = _helper(cfg, key)
    if helper:
        _run_helper(helper, "store", json.dumps({"ServerURL": key, "Username": username, "Secret": password}))
        cfg.setdefault("auths", {})[key] = {}
    else:
        cfg.setdefault("auths", {})[key] = {"auth": base64.b64encode(f"{username}:{password}".encode()).decode()}
    save(cfg)
    return config_path()


def erase(domain: str) -> bool:
    """Forget a registry's credentials; False when there were none."""
    cfg = load()
    key = server_key(domain)
    auths = cfg.get("auths") or {}
    helper = _helper(cfg, key)
    found = key in auths
    if helper:
        try:
            _run_helper(helper, "erase", key)
            found = True
        except ValueError:
            pass
    if key in auths:
        del auths[key]
        save(cfg)
    return found


def registry_auth_header(domain: str) -> str:
    """The X-Registry-Auth value for a registry: base64url JSON AuthConfig ("e30=" when none)."""
    creds = get(domain)
    return base64.urlsafe_b64encode(json.dumps(creds).encode()).decode() if creds else "e30="
