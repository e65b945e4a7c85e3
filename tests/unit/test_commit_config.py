"""The config of a committed image: moby's merge() of the request's config over the container's,
and the child image config (history, empty layers). Pure: no daemon, no root."""

from __future__ import annotations

import json

from sangja.daemon.commit import child_image_config, merge_config
from sangja.image.changes import apply_changes
from sangja.image.rwlayer import EMPTY_LAYER_DIFF_ID

CONTAINER = {
    "User": "app",
    "Env": ["PATH=/bin", "A=container"],
    "Cmd": ["sh"],
    "Entrypoint": None,
    "ExposedPorts": {"80/tcp": {}},
    "Labels": {"x": "1", "y": "2"},
    "WorkingDir": "/w",
    "Volumes": {"/data": {}},
    "StopSignal": "SIGTERM",
}


def test_merge_keeps_what_the_user_set_and_fills_the_rest() -> None:
    user = apply_changes({}, ["ENV A=user B=2", "EXPOSE 8080", "LABEL y=user", "VOLUME /cache"])
    out = merge_config(user, CONTAINER)
    assert out["Env"] == ["A=user", "B=2", "PATH=/bin"]
    assert set(out["ExposedPorts"]) == {"8080/tcp", "80/tcp"}
    assert out["Labels"] == {"y": "user", "x": "1"}
    assert set(out["Volumes"]) == {"/cache", "/data"}
    assert out["User"] == "app" and out["WorkingDir"] == "/w" and out["StopSignal"] == "SIGTERM"
    assert out["Cmd"] == ["sh"]


def test_merge_takes_cmd_and_entrypoint_together() -> None:
    out = merge_config(apply_changes({}, ['ENTRYPOINT ["/bin/env"]']), CONTAINER)
    assert out["Entrypoint"] == ["/bin/env"]
    assert not out.get("Cmd")


def test_child_config_history_and_empty_layer() -> None:
    parent = {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": ["sha256:" + "a" * 64]},
              "history": [{"created_by": "base"}]}
    raw = child_image_config(parent, "sha256:" + "b" * 64, {"Cmd": ["sh"]}, author="me", comment="c",
                             created_by="sh -c x", container_id="abc")
    cfg = json.loads(raw)
    assert list(cfg) == sorted(cfg)
    assert cfg["rootfs"]["diff_ids"] == ["sha256:" + "a" * 64, "sha256:" + "b" * 64]
    assert cfg["history"][-1]["created_by"] == "sh -c x" and cfg["history"][-1]["author"] == "me"
    assert cfg["author"] == "me" and cfg["comment"] == "c" and cfg["container"] == "abc"
    empty = json.loads(child_image_config(parent, EMPTY_LAYER_DIFF_ID, {}))
    assert empty["rootfs"]["diff_ids"] == ["sha256:" + "a" * 64]
    assert empty["history"][-1]["empty_layer"] is True
