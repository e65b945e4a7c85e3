"""Whole commands against the fake Docker API: the requests sent, the output and exit codes."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from sangja.cli.stdcopy import frame
from tests.unit.test_cli_fake_api import Conn, FakeAPI, Request, invoke

CID = "e77fbeb70de2fd092ee013fa6677a919102ffd6c46538a003879006f96ec321f"
IMG = "sha256:77a7a59f3807ddd7289cc745aa66fbef777a6defdb77944655393a3951b67efc"


def container(**over: Any) -> dict[str, Any]:
    c = {
        "Id": CID, "Names": ["/web"], "Image": "busybox", "ImageID": IMG, "Command": "sleep 300",
        "Created": int(time.time()) - 125, "Ports": [], "Labels": {"x": "y"}, "State": "running",
        "Status": "Up 2 minutes",
        "HostConfig": {"NetworkMode": "default"}, "NetworkSettings": {"Networks": {"bridge": {}}},
        "Mounts": [{"Type": "bind", "Source": "/tmp", "Destination": "/hosttmp"}],
    }
    c.update(over)
    return c


def image(**over: Any) -> dict[str, Any]:
    i = {"Id": IMG, "ParentId": "", "RepoTags": ["busybox:latest"], "RepoDigests": [],
         "Created": int(time.time()) - 3600, "Size": 1984000, "SharedSize": -1, "Labels": None, "Containers": -1}
    i.update(over)
    return i


@pytest.fixture
def api(tmp_path: Path) -> Any:
    with FakeAPI(tmp_path) as fake:
        yield fake


# -- ps ------------------------------------------------------------------------------------------------

def test_ps_table(api: FakeAPI) -> None:
    api.json("GET", "/containers/json", [
        container(),
        container(Id="482b57b825e1" + "0" * 52, Names=["/j2"], Command="echo 'a long command line here'",
                  State="created", Status="Created", Created=int(time.time()) - 1,
                  Ports=[{"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"},
                         {"PrivatePort": 443, "Type": "tcp"}, {"PrivatePort": 444, "Type": "tcp"}]),
    ])
    rc, out, err = invoke(api, ["ps"])
    assert rc == 0, err
    widths = [15, 10, 25, 16, 15, 36]  # widest cell + 3, at least 10 (Go's tabwriter as docker sets it up)
    rows = [
        ["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"],
        ["e77fbeb70de2", "busybox", '"sleep 300"', "2 minutes ago", "Up 2 minutes", "", "web"],
        ["482b57b825e1", "busybox", "\"echo 'a long comman…\"", "1 second ago", "Created",
         "443-444/tcp, 0.0.0.0:8080->80/tcp", "j2"],
    ]
    assert out.splitlines() == ["".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) + r[-1] for r in rows]
    assert api.routed("/containers/json")[0].query == {}


def test_ps_flags_become_query_parameters(api: FakeAPI) -> None:
    api.json("GET", "/containers/json", [container()])
    invoke(api, ["ps", "-a", "-n", "3", "--filter", "status=exited", "-f", "label=a=b", "-q"])
    q = api.routed("/containers/json")[-1].query
    assert q["all"] == "1" and q["limit"] == "3"
    assert json.loads(str(q["filters"])) == {"status": {"exited": True}, "label": {"a=b": True}}
    invoke(api, ["ps", "-l"])
    assert api.routed("/containers/json")[-1].query["limit"] == "1"


def test_ps_quiet_no_trunc_and_formats(api: FakeAPI) -> None:
    api.json("GET", "/containers/json", [container()])
    assert invoke(api, ["ps", "-q"])[1] == "e77fbeb70de2\n"
    assert invoke(api, ["ps", "-q", "--no-trunc"])[1] == CID + "\n"
    assert invoke(api, ["ps", "--format", "{{.Names}} {{.Label \"x\"}} {{.Mounts}} {{.State}}"])[1] == \
        "web y /tmp running\n"
    assert invoke(api, ["ps", "--format", "table {{.Names}}\t{{.Networks}}"])[1] == \
        "NAMES     NETWORKS\nweb       bridge\n"
    row = json.loads(invoke(api, ["ps", "--format", "json"])[1])
    assert row["ID"] == "e77fbeb70de2" and row["Names"] == "web" and row["Command"] == '"sleep 300"'
    assert sorted(row) == ["Command", "CreatedAt", "ID", "Image", "Labels", "LocalVolumes", "Mounts", "Names",
                           "Networks", "Platform", "Ports", "RunningFor", "Size", "State", "Status"]


def test_ps_size_column_and_size_from_format(api: FakeAPI) -> None:
    api.json("GET", "/containers/json", [container(SizeRw=12, SizeRootFs=1984000)])
    out = invoke(api, ["ps", "-s"])[1]
    assert out.splitlines()[0].endswith("NAMES     SIZE")
    assert out.splitlines()[1].endswith("web       12B (virtual 1.98MB)")
    invoke(api, ["ps", "--format", "{{.Size}}"])
    assert api.routed("/containers/json")[-1].query.get("size") == "1"


def test_ps_bad_templates(api: FakeAPI) -> None:
    rc, _, err = invoke(api, ["ps", "--format", "{{.Foo}}"])
    assert rc == 1 and err == ('failed to execute template: template: :1:2: executing "" at <.Foo>: '
                               "can't evaluate field Foo in type *formatter.ContainerContext\n")
    rc, _, err = invoke(api, ["ps", "--format", "{{.Foo"])
    assert rc == 1 and err == "failed to parse template: template: :1: unclosed action\n"
    assert not api.routed("/containers/json")


def test_management_spelling_is_the_same_command(api: FakeAPI) -> None:
    api.json("GET", "/containers/json", [container()])
    assert invoke(api, ["container", "ls", "-q"])[1] == invoke(api, ["ps", "-q"])[1] == "e77fbeb70de2\n"


# -- images / history ----------------------------------------------------------------------------------

def test_images_table_dangling_and_digests(api: FakeAPI) -> None:
    api.json("GET", "/images/json", [
        image(),
        image(Id="sha256:f6bc8b561d4d" + "1" * 52, RepoTags=[], Created=int(time.time()) - 10, Size=2130000),
        image(RepoTags=["localhost:5000/x/y:z", "docker.io/library/alpine:3"],
              RepoDigests=["localhost:5000/x/y@sha256:" + "d" * 64]),
    ])
    rc, out, err = invoke(api, ["images"])
    assert rc == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    assert lines[2].startswith("<none>               <none>    f6bc8b561d4d   10 seconds ago")
    assert lines[3].startswith("localhost:5000/x/y   z ")
    assert lines[4].startswith("alpine               3 ")
    digests = invoke(api, ["images", "--digests", "--format", "{{.Repository}} {{.Digest}}"])[1].splitlines()
    assert "localhost:5000/x/y sha256:" + "d" * 64 in digests and "busybox <none>" in digests


def test_images_filters_and_reference_argument(api: FakeAPI) -> None:
    api.json("GET", "/images/json", [])
    rc, out, err = invoke(api, ["images", "-a", "--filter", "dangling=true", "busybox"])
    assert rc == 0, err
    q = api.routed("/images/json")[-1].query
    assert q["all"] == "1"
    assert json.loads(str(q["filters"])) == {"dangling": {"true": True}, "reference": {"busybox": True}}
    assert out == "REPOSITORY   TAG       IMAGE ID   CREATED   SIZE\n"
    _rc, out, err = invoke(api, ["images", "ls"])
    assert err == 'No images found matching "ls": did you mean "sangja image ls"?\n'


def test_history(api: FakeAPI) -> None:
    api.json("GET", "/images/busybox/history", [
        {"Id": IMG, "Created": int(time.time()) - 7200,
         "CreatedBy": "/bin/sh -c #(nop) CMD [\"sh\"]\tand a long tail of text",
         "Tags": ["busybox:latest"], "Size": 0, "Comment": ""},
        {"Id": "<missing>", "Created": int(time.time()) - 7300, "CreatedBy": "", "Tags": None, "Size": 1984000,
         "Comment": "Imported from -"},
    ])
    out = invoke(api, ["history", "busybox"])[1].splitlines()
    assert out[0].split() == ["IMAGE", "CREATED", "CREATED", "BY", "SIZE", "COMMENT"]
    assert out[1].startswith("77a7a59f3807   2 hours ago   /bin/sh -c #(nop) CMD [\"sh\"] and a long tail…")
    assert out[2].startswith("<missing>      2 hours ago")
    assert out[2].endswith("1.98MB    Imported from -")
    assert invoke(api, ["history", "-q", "busybox"])[1] == "77a7a59f3807\n<missing>\n"


# -- inspect -------------------------------------------------------------------------------------------

RAW_CONTAINER = json.dumps({"Id": CID, "Name": "/web", "State": {"Status": "running", "Pid": 42},
                            "Config": {"Env": ["A=1"], "Labels": {}, "Cmd": None}, "Empty": []})


def raw(body: str) -> Any:
    return lambda req, conn: conn.send_response(200, body.encode())


def test_inspect_prints_an_indented_array(api: FakeAPI) -> None:
    api.on("GET", "/containers/web/json", raw(RAW_CONTAINER))
    rc, out, err = invoke(api, ["inspect", "web"])
    assert rc == 0, err
    assert out == (
        '[\n    {\n        "Id": "' + CID + '",\n        "Name": "/web",\n        "State": {\n'
        '            "Status": "running",\n            "Pid": 42\n        },\n        "Config": {\n'
        '            "Env": [\n                "A=1"\n            ],\n            "Labels": {},\n'
        '            "Cmd": null\n        },\n        "Empty": []\n    }\n]\n')


def test_inspect_falls_back_to_images_and_reports_missing_objects(api: FakeAPI) -> None:
    api.error("GET", "/containers/busybox/json", 404, "No such container: busybox")
    api.on("GET", "/images/busybox/json", raw('{"Id":"' + IMG + '"}'))
    api.error("GET", "/containers/nosuch/json", 404, "No such container: nosuch")
    api.error("GET", "/images/nosuch/json", 404, "No such image: nosuch:latest")
    rc, out, err = invoke(api, ["inspect", "busybox", "nosuch"])
    assert rc == 1
    assert json.loads(out) == [{"Id": IMG}]
    assert err == "Error: No such object: nosuch\n"
    rc, out, err = invoke(api, ["inspect", "nosuch"])
    assert (rc, out) == (1, "[]\n")


def test_inspect_format_templates(api: FakeAPI) -> None:
    api.on("GET", "/containers/web/json", raw(RAW_CONTAINER))
    assert invoke(api, ["inspect", "-f", "{{.State.Status}} {{.State.Pid}} {{json .Config.Env}}", "web"])[1] == \
        'running 42 ["A=1"]\n'
    rc, out, err = invoke(api, ["inspect", "-f", "{{.Name}} {{.Foo}}", "web"])
    assert (rc, out) == (1, "\n")
    assert err == ('template parsing error: template: :1:12: executing "" at <.Foo>: '
                   'map has no entry for key "Foo"\n')
    rc, _, err = invoke(api, ["inspect", "-f", "{{.Name", "web"])
    assert rc == 64 and err == "template parsing error: template: :1: unclosed action\n"
    assert json.loads(invoke(api, ["inspect", "--format", "json", "web"])[1])[0]["Name"] == "/web"


def test_typed_inspect_uses_the_daemons_error(api: FakeAPI) -> None:
    api.error("GET", "/containers/busybox/json", 404, "No such container: busybox")
    rc, out, err = invoke(api, ["container", "inspect", "busybox"])
    assert (rc, out, err) == (1, "[]\n", "Error response from daemon: No such container: busybox\n")
    rc, _, err = invoke(api, ["inspect", "--type", "foo", "x"])
    assert rc == 1 and err.startswith('unknown type: "foo": must be one of "config", "container"')


# -- verbs on several containers ----------------------------------------------------------------------

def test_rm_stop_kill_report_each_name_and_join_errors(api: FakeAPI) -> None:
    api.no_content("DELETE", "/containers/a")
    api.error("DELETE", "/containers/b", 409, "You cannot remove a running container b")
    api.no_content("DELETE", "/containers/c")
    rc, out, err = invoke(api, ["rm", "-f", "-v", "a", "b", "c"])
    assert (rc, out) == (1, "a\nc\n")
    assert err == "Error response from daemon: You cannot remove a running container b\n"
    assert api.routed("/containers/a")[0].query == {"force": "1", "v": "1"}

    api.no_content("POST", "/containers/a/stop")
    assert invoke(api, ["stop", "-t", "3", "-s", "SIGUSR1", "a"]) == (0, "a\n", "")
    assert api.routed("/containers/a/stop")[-1].query == {"t": "3", "signal": "SIGUSR1"}
    invoke(api, ["stop", "a"])
    assert api.routed("/containers/a/stop")[-1].query == {}

    api.no_content("POST", "/containers/a/kill")
    assert invoke(api, ["kill", "-s", "HUP", "a"])[0:2] == (0, "a\n")
    assert api.routed("/containers/a/kill")[-1].query == {"signal": "HUP"}


def test_rm_force_of_a_missing_container_is_reported_but_not_fatal(api: FakeAPI) -> None:
    api.error("DELETE", "/containers/gone", 404, "No such container: gone")
    assert invoke(api, ["rm", "-f", "gone"]) == (0, "", "Error response from daemon: No such container: gone\n")
    assert invoke(api, ["rm", "gone"]) == (1, "", "Error response from daemon: No such container: gone\n")


def test_start_without_attach(api: FakeAPI) -> None:
    api.no_content("POST", "/containers/a/start")
    api.error("POST", "/containers/b/start", 404, "No such container: b")
    rc, out, err = invoke(api, ["start", "a", "b"])
    assert (rc, out) == (1, "a\n")
    assert err == "Error response from daemon: No such container: b\nError: failed to start containers: b\n"


def test_wait_rename_top_tag_pause(api: FakeAPI) -> None:
    api.json("POST", "/containers/a/wait", {"StatusCode": 7})
    assert invoke(api, ["wait", "a"]) == (0, "7\n", "")
    api.no_content("POST", "/containers/a/rename")
    assert invoke(api, ["rename", "a", "b"])[0] == 0
    assert api.routed("/containers/a/rename")[0].query == {"name": "b"}
    api.json("GET", "/containers/a/top", {"Titles": ["PID", "CMD"], "Processes": [["1", "sleep 300"]]})
    assert invoke(api, ["top", "a", "-o", "pid,args"])[1] == "PID                 CMD\n1                   sleep 300\n"
    assert api.routed("/containers/a/top")[0].query == {"ps_args": "-o pid,args"}
    api.on("POST", "/images/busybox/tag", lambda req, conn: conn.send_response(201, b""))
    assert invoke(api, ["tag", "busybox", "me/bb"])[0] == 0
    assert api.routed("/images/busybox/tag")[0].query == {"repo": "docker.io/me/bb", "tag": "latest"}
    api.no_content("POST", "/containers/a/pause")
    assert invoke(api, ["pause", "a"]) == (0, "a\n", "")


def test_rmi_lists_what_was_deleted(api: FakeAPI) -> None:
    api.json("DELETE", "/images/busybox", [{"Untagged": "busybox:latest"}, {"Deleted": IMG}])
    assert invoke(api, ["rmi", "busybox"]) == (0, f"Untagged: busybox:latest\nDeleted: {IMG}\n", "")
    api.error("DELETE", "/images/nosuch", 404, "No such image: nosuch:latest")
    assert invoke(api, ["rmi", "nosuch"])[0] == 1
    assert invoke(api, ["image", "rm", "-f", "nosuch"]) == (0, "", "Error response from daemon: No such image: "
                                                                   "nosuch:latest\n")


# -- logs ----------------------------------------------------------------------------------------------

def logs_handler(body: bytes) -> Any:
    def handler(req: Request, conn: Conn) -> None:
        conn.start_chunked(content_type="application/vnd.docker.multiplexed-stream")
        for i in range(0, len(body), 5):
            conn.chunk(body[i:i + 5])
        conn.end_chunked()
    return handler


def test_logs_demultiplexes_unless_tty(api: FakeAPI) -> None:
    api.json("GET", "/containers/web/json", {"Id": CID, "Config": {"Tty": False}})
    api.on("GET", f"/containers/{CID}/logs", logs_handler(frame(1, b"out1\n") + frame(2, b"err1\n") +
                                                          frame(1, b"out2\n")))
    assert invoke(api, ["logs", "-f", "-t", "-n", "5", "--since", "1700000000", "web"]) == (0, "out1\nout2\n",
                                                                                            "err1\n")
    assert api.routed(f"/containers/{CID}/logs")[0].query == {
        "stdout": "1", "stderr": "1", "follow": "1", "timestamps": "1", "tail": "5", "since": "1700000000"}
    api.json("GET", "/containers/tty/json", {"Id": "t" * 64, "Config": {"Tty": True}})
    api.on("GET", "/containers/t{64}/logs", logs_handler(b"raw\r\nbytes\x01\r\n"))
    assert invoke(api, ["logs", "tty"]) == (0, "raw\r\nbytes\x01\r\n", "")


def test_logs_bad_since(api: FakeAPI) -> None:
    api.json("GET", "/containers/web/json", {"Id": CID, "Config": {"Tty": False}})
    rc, _, err = invoke(api, ["logs", "--since", "yesterday", "web"])
    assert rc == 1 and err == 'invalid value for "since": failed to parse value as time or duration: "yesterday"\n'


# -- version / info / events ---------------------------------------------------------------------------

VERSION = {"Version": "0.1.0", "ApiVersion": "1.51", "MinAPIVersion": "1.24", "Os": "linux", "Arch": "amd64",
           "Components": [{"Name": "Engine", "Version": "0.1.0", "Details": {
               "ApiVersion": "1.51", "MinAPIVersion": "1.24", "GoVersion": "python3.11", "GitCommit": "abc",
               "BuildTime": "2025-05-30T12:07:14.000000000+00:00", "Os": "linux", "Arch": "amd64",
               "Experimental": "false"}},
               {"Name": "runc", "Version": "1.1.5", "Details": {"GitCommit": "v1.1.5"}}]}


def test_version_uses_dockers_template(api: FakeAPI) -> None:
    api.json("GET", "/version", VERSION)
    rc, out, err = invoke(api, ["version"])
    assert rc == 0, err
    server = out.split("\n\n", 1)[1]
    assert server == (
        "Server:\n Engine:\n  Version:          0.1.0\n  API version:      1.51 (minimum version 1.24)\n"
        "  Go version:       python3.11\n  Git commit:       abc\n  Built:            Fri May 30 12:07:14 2025\n"
        "  OS/Arch:          linux/amd64\n  Experimental:     false\n runc:\n  Version:          1.1.5\n"
        "  GitCommit:        v1.1.5\n")
    assert " API version:       1.51\n" in out
    assert invoke(api, ["version", "-f", "{{.Server.Version}}"])[1] == "0.1.0\n"
    rc, _, err = invoke(api, ["version", "-f", "{{.Server"])
    assert rc == 64 and err.startswith("template parsing error: template: version:1: unclosed action")


def test_version_shows_downgrade(tmp_path: Path) -> None:
    with FakeAPI(tmp_path, api_version="1.44") as api:
        api.json("GET", "/version", VERSION)
        assert " API version:       1.44 (downgraded from 1.51)\n" in invoke(api, ["version"])[1]


def test_info(api: FakeAPI) -> None:
    api.json("GET", "/info", {"Containers": 3, "ContainersRunning": 1, "ContainersPaused": 0,
                              "ContainersStopped": 2, "Images": 4, "ServerVersion": "0.1.0", "Driver": "overlayfs",
                              "DriverStatus": [["Backing Filesystem", "extfs"]], "Plugins": {"Volume": ["local"],
                              "Network": ["host", "none"], "Log": ["json-file"]}, "Swarm": {"LocalNodeState":
                              "inactive"}, "OSType": "linux", "SecurityOptions": ["name=seccomp,profile=builtin"],
                              "MemTotal": 25275920384, "NCPU": 2, "Name": "vm", "DockerRootDir": "/var/lib/sangja"})
    rc, out, _ = invoke(api, ["info"])
    assert rc == 0
    assert " Containers: 3\n  Running: 1\n  Paused: 0\n  Stopped: 2\n Images: 4\n" in out
    assert "  Backing Filesystem: extfs\n" in out and " Total Memory: 23.54GiB\n" in out
    assert " Security Options:\n  seccomp\n   Profile: builtin\n" in out
    assert invoke(api, ["info", "--format", "{{.NCPU}}/{{.Driver}}"])[1] == "2/overlayfs\n"


def test_events_pretty_and_formatted(api: FakeAPI) -> None:
    events = [{"Type": "container", "Action": "start", "Actor": {"ID": CID, "Attributes": {"name": "web",
               "image": "busybox"}}, "scope": "local", "time": 1700000000, "timeNano": 1700000000123456789,
               "status": "start", "id": CID, "from": "busybox"}]

    def handler(req: Request, conn: Conn) -> None:
        conn.start_chunked()
        for e in events:
            conn.chunk(json.dumps(e).encode() + b"\n")
        conn.end_chunked()

    api.on("GET", "/events", handler)
    _rc, out, _ = invoke(api, ["events", "--since", "1699999999", "--until", "1700000001"])
    assert out.endswith(f"container start {CID} (image=busybox, name=web)\n")
    assert ".123456789" in out
    assert invoke(api, ["events", "--format", "{{.Type}} {{.Action}} {{.Actor.Attributes.name}} {{.Status}}",
                        "--filter", "type=container"])[1] == "container start web start\n"
    q = api.routed("/events")[-1].query
    assert json.loads(str(q["filters"])) == {"type": {"container": True}}


# -- prune ---------------------------------------------------------------------------------------------

def test_prune_asks_first_and_reports(api: FakeAPI) -> None:
    api.json("POST", "/containers/prune", {"ContainersDeleted": ["a" * 64], "SpaceReclaimed": 1500})
    rc, out, _ = invoke(api, ["container", "prune"], stdin=b"n\n")
    assert (rc, out) == (0, "WARNING! This will remove all stopped containers.\nAre you sure you want to "
                            "continue? [y/N] ")
    assert not api.routed("/containers/prune")
    rc, out, _ = invoke(api, ["container", "prune"], stdin=b"y\n")
    assert out.endswith("[y/N] Deleted Containers:\n" + "a" * 64 + "\n\nTotal reclaimed space: 1.5kB\n")
    api.json("POST", "/images/prune", {"ImagesDeleted": [{"Untagged": "x:1"}, {"Deleted": IMG}],
                                       "SpaceReclaimed": 0})
    rc, out, _ = invoke(api, ["image", "prune", "-a", "-f", "--filter", "until=1h"])
    assert out == f"Deleted Images:\nuntagged: x:1\ndeleted: {IMG}\n\nTotal reclaimed space: 0B\n"
    assert json.loads(str(api.routed("/images/prune")[-1].query["filters"])) == {"until": {"1h": True},
                                                                            "dangling": {"false": True}}


# -- load / save / import ------------------------------------------------------------------------------

def test_load_streams_stdin_and_prints_final_status(api: FakeAPI) -> None:
    api.on("POST", "/images/load", lambda req, conn: conn.send_response(
        200, b'{"stream":"Loaded image: busybox:latest\\n"}\n'))
    tar = bytes(range(256)) * 4096
    rc, out, err = invoke(api, ["load"], stdin=tar)
    assert (rc, out, err) == (0, "Loaded image: busybox:latest\n", "")
    req = api.routed("/images/load")[0]
    assert req.body == tar and req.query == {"quiet": "1"}
    assert req.headers["content-type"] == "application/x-tar"


def test_load_from_file_and_missing_file(api: FakeAPI, tmp_path: Path) -> None:
    api.on("POST", "/images/load", lambda req, conn: conn.send_response(200, b'{"stream":"ok\\n"}'))
    archive = tmp_path / "img.tar"
    archive.write_bytes(b"tar" * 1000)
    assert invoke(api, ["load", "-i", str(archive)])[1] == "ok\n"
    assert api.routed("/images/load")[0].body == b"tar" * 1000
    assert invoke(api, ["load", "-i", "/nonexistent.tar"]) == (1, "", "open /nonexistent.tar: no such file or "
                                                                      "directory\n")


def test_save_to_file_and_stdout(api: FakeAPI, tmp_path: Path) -> None:
    def handler(req: Request, conn: Conn) -> None:
        conn.start_chunked(content_type="application/x-tar")
        conn.chunk(b"A" * 70000)
        conn.chunk(b"B")
        conn.end_chunked()

    api.on("GET", "/images/get", handler)
    target = tmp_path / "out.tar"
    assert invoke(api, ["save", "-o", str(target), "busybox", "alpine"])[0] == 0
    assert target.read_bytes() == b"A" * 70000 + b"B"
    assert oct(target.stat().st_mode & 0o777) == "0o600"
    assert api.routed("/images/get")[0].query == {"names": ["busybox", "alpine"]}
    rc, out, _ = invoke(api, ["save", "busybox"])
    assert rc == 0 and out == "A" * 70000 + "B"


def test_import_with_changes_message_and_errors(api: FakeAPI) -> None:
    api.on("POST", "/images/create", lambda req, conn: conn.send_response(
        200, b'{"status":"sha256:' + b"e" * 64 + b'"}\n'))
    rc, out, err = invoke(api, ["import", "-c", "CMD [\"sh\"]", "-c", "ENV A=1", "-m", "hi", "-", "imp:1"],
                          stdin=b"tarball")
    assert (rc, out) == (0, "sha256:" + "e" * 64 + "\n"), err
    req = api.routed("/images/create")[0]
    assert req.query == {"fromSrc": "-", "repo": "imp:1", "message": "hi", "changes": ['CMD ["sh"]', "ENV A=1"]}
    assert req.body == b"tarball"
    assert invoke(api, ["import", "-", "Bad"]) == (1, "", "invalid reference format: repository name "
                                                          "(library/Bad) must be lowercase\n")


def test_pull_stream_errors_are_shown(api: FakeAPI) -> None:
    api.on("POST", "/images/load", lambda req, conn: conn.send_response(
        200, b'{"errorDetail":{"message":"archive/tar: invalid tar header"},"error":"archive/tar: invalid tar '
             b'header"}\n'))
    assert invoke(api, ["load"], stdin=b"junk") == (1, "", "archive/tar: invalid tar header\n")


def test_debug_traces_requests(api: FakeAPI) -> None:
    api.json("GET", "/containers/json", [])
    rc, _, err = invoke(api, ["-D", "ps", "-q"])
    assert rc == 0
    assert "DEBU[client] GET /v1.51/containers/json\n" in err
    assert "DEBU[client] -> 200 OK (application/json)\n" in err


def test_inspect_templates_see_missing_api_fields_as_go_zero_values(api: FakeAPI) -> None:
    # A daemon may omit null fields; docker's typed structs still have them.
    api.on("GET", "/containers/web/json", raw('{"Id":"x","State":{"Status":"exited"},"Config":{"Cmd":null}}'))
    out = invoke(api, ["inspect", "-f", "{{.State.Health}} {{.Config.Cmd}} {{json .Config.Cmd}} {{.State.ExitCode}} "
                                        "[{{.Config.User}}] {{.Config.Labels}} {{if .State.Health}}h{{else}}-{{end}}",
                       "web"])[1]
    assert out == "<nil> [] null 0 [] map[] -\n"
    rc, out, err = invoke(api, ["inspect", "-f", "{{.Config.Nope}}", "web"])
    assert rc == 1 and 'map has no entry for key "Nope"' in err
