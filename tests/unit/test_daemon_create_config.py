"""Docker's create-time rules: config validation, HostConfig defaults, merging with the image."""

from __future__ import annotations

import pytest

from sangja.daemon.create_config import (
    DEFAULT_PATH,
    merge_env,
    merge_with_image,
    normalize_config,
    normalize_host_config,
    parse_size,
    validate_bind,
)
from sangja.errors import InvalidParameter

IMAGE = {"Env": ["PATH=/bin", "A=1"], "Cmd": ["sh"], "WorkingDir": "/w", "Labels": {"x": "1"}}


def test_cmd_from_image_when_none_given() -> None:
    merged = merge_with_image(normalize_config({"Image": "b"}), IMAGE)
    assert merged["Cmd"] == ["sh"]
    assert merged["Entrypoint"] is None
    assert merged["WorkingDir"] == "/w"


def test_user_entrypoint_drops_image_cmd() -> None:
    img = {**IMAGE, "Entrypoint": ["/init"], "Cmd": ["--serve"]}
    merged = merge_with_image(normalize_config({"Image": "b", "Entrypoint": ["echo"]}), img)
    assert merged["Entrypoint"] == ["echo"]
    assert merged["Cmd"] is None


def test_image_entrypoint_kept_with_user_cmd() -> None:
    img = {**IMAGE, "Entrypoint": ["/init"]}
    merged = merge_with_image(normalize_config({"Image": "b", "Cmd": ["x"]}), img)
    assert merged["Entrypoint"] == ["/init"]
    assert merged["Cmd"] == ["x"]


def test_string_cmd_is_accepted_like_strslice() -> None:
    assert normalize_config({"Cmd": "true"})["Cmd"] == ["true"]


def test_no_command_anywhere_is_refused() -> None:
    with pytest.raises(InvalidParameter, match="no command specified"):
        merge_with_image(normalize_config({"Image": "b"}), {"Env": []})


def test_env_merge_overrides_by_key_and_adds_default_path() -> None:
    assert merge_env(["A=1", "B=2"], ["A=3"]) == ["A=3", "B=2"]
    merged = merge_with_image(normalize_config({"Image": "b", "Cmd": ["x"]}), {})
    assert merged["Env"] == [f"PATH={DEFAULT_PATH}"]


def test_labels_merge() -> None:
    merged = merge_with_image(normalize_config({"Image": "b", "Labels": {"y": "2"}}), IMAGE)
    assert merged["Labels"] == {"x": "1", "y": "2"}


@pytest.mark.parametrize(
    "body",
    [{"Cmd": 5}, {"Env": "A=1"}, {"Env": [1]}, {"Tty": "yes"}, {"Labels": []}, {"WorkingDir": "rel"},
     {"Env": ["=x"]}],
)
def test_wrong_types_are_invalid_parameter(body: dict[str, object]) -> None:
    with pytest.raises(InvalidParameter):
        normalize_config(body)


def test_host_config_defaults() -> None:
    hc = normalize_host_config(None)
    assert hc["RestartPolicy"] == {"Name": "no", "MaximumRetryCount": 0}
    assert hc["NetworkMode"] == "bridge"
    assert hc["LogConfig"] == {"Type": "json-file", "Config": {}}
    assert hc["Binds"] == []


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ({"Name": "sometimes"}, "unknown policy"),
        ({"Name": "always", "MaximumRetryCount": 2}, "can only be used with 'on-failure'"),
        ({"Name": "on-failure", "MaximumRetryCount": -1}, "cannot be negative"),
    ],
)
def test_restart_policy_rules(policy: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidParameter, match=message):
        normalize_host_config({"RestartPolicy": policy})


def test_autoremove_with_restart_policy_refused() -> None:
    with pytest.raises(InvalidParameter, match="AutoRemove"):
        normalize_host_config({"AutoRemove": True, "RestartPolicy": {"Name": "always"}})


def test_a_user_network_name_is_kept_for_the_daemon_to_resolve() -> None:
    # whether "mynet" exists is checked at create by network_verbs.resolve_endpoints (404)
    assert normalize_host_config({"NetworkMode": "mynet"})["NetworkMode"] == "mynet"


@pytest.mark.parametrize("bind", ["/a:/b", "/a:/b:ro", "/a:/b:ro,rslave", "vol:/b", "vol:/b:ro,nocopy"])
def test_valid_binds(bind: str) -> None:
    assert validate_bind(bind) == bind


@pytest.mark.parametrize("bind", ["/a", "/a:b", "bad/vol:/b", "v:/b", "/a:/b:xx", ":/b"])
def test_invalid_binds(bind: str) -> None:
    with pytest.raises(InvalidParameter):
        validate_bind(bind)


def test_parse_size() -> None:
    assert parse_size("10m") == 10 * 1024 * 1024
    assert parse_size("1k") == 1024
    assert parse_size("512") == 512
    with pytest.raises(InvalidParameter):
        parse_size("ten")


def test_log_opts_validated() -> None:
    with pytest.raises(InvalidParameter, match="unknown log opt"):
        normalize_host_config({"LogConfig": {"Type": "json-file", "Config": {"bogus": "1"}}})
    with pytest.raises(InvalidParameter, match="no log driver named"):
        normalize_host_config({"LogConfig": {"Type": "syslogx"}})
