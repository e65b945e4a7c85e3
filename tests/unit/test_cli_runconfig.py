"""`run`/`create` arguments → the create body docker would send; ports and image references."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from sangja.cli import runconfig
from sangja.cli.flags import FlagError, parse
from sangja.cli.ports import parse_port_specs
from sangja.cli.reference import parse_normalized


def body(argv: list[str], environ: dict[str, str] | None = None) -> dict[str, Any]:
    opts, args = parse(runconfig.FLAGS, argv, interspersed=False)
    return runconfig.build(opts, args, environ=environ or {})


def test_image_and_command() -> None:
    b = body(["busybox", "sh", "-c", "echo -n hi"])
    assert b["Image"] == "busybox"
    assert b["Cmd"] == ["sh", "-c", "echo -n hi"]
    assert b["Entrypoint"] is None
    assert (b["AttachStdin"], b["AttachStdout"], b["AttachStderr"]) == (False, True, True)
    assert b["HostConfig"]["NetworkMode"] == "default"
    assert b["HostConfig"]["RestartPolicy"] == {"Name": "no", "MaximumRetryCount": 0}
    assert body(["busybox"])["Cmd"] is None


def test_env_from_flags_files_and_the_client_environment(tmp_path: Path) -> None:
    env_file = tmp_path / "env"
    env_file.write_text("A=1\n# comment\n\n  B=2 \nHOME\nNOPE\n")
    b = body(["--env-file", str(env_file), "-e", "FOO", "-e", "UNSET", "-e", "C=3", "img"],
             environ={"FOO": "bar", "HOME": "/root"})
    assert b["Env"] == ["A=1", "B=2 ", "HOME=/root", "FOO=bar", "UNSET", "C=3"]


def test_env_file_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.write_text("X Y=1\n")
    with pytest.raises(ValueError, match=rf"invalid env file \({bad}\): variable 'X Y' contains whitespaces"):
        body(["--env-file", str(bad), "img"])
    with pytest.raises(ValueError, match="open /nonexistent: no such file or directory"):
        body(["--env-file", "/nonexistent", "img"])


def test_entrypoint_workdir_user_hostname_labels() -> None:
    b = body(["--entrypoint", "/bin/sh", "-w", "/srv", "-u", "1000:1000", "-h", "box", "-l", "a=b", "-l", "flag",
              "--label", "c=d=e", "img"])
    assert b["Entrypoint"] == ["/bin/sh"]
    assert (b["WorkingDir"], b["User"], b["Hostname"]) == ("/srv", "1000:1000", "box")
    assert b["Labels"] == {"a": "b", "flag": "", "c": "d=e"}
    assert body(["--entrypoint", "", "img"])["Entrypoint"] == [""]
    assert body(["--workdir", "/x", "img"])["WorkingDir"] == "/x"


def test_volumes_binds_and_anonymous(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    b = body(["-v", "/data", "-v", "/host:/ctr", "-v", "./rel:/r:ro", "-v", "named:/n", "img"])
    assert b["HostConfig"]["Binds"] == ["/host:/ctr", f"{os.path.realpath(tmp_path)}/rel:/r:ro", "named:/n"]
    assert b["Volumes"] == {"/data": {}}
    with pytest.raises(ValueError, match="invalid spec: :/x: empty section between colons"):
        body(["-v", ":/x", "img"])


def test_restart_policies_and_conflict_with_rm() -> None:
    assert body(["--restart", "on-failure:3", "img"])["HostConfig"]["RestartPolicy"] == {
        "Name": "on-failure", "MaximumRetryCount": 3}
    assert body(["--restart", "always", "img"])["HostConfig"]["RestartPolicy"]["Name"] == "always"
    with pytest.raises(ValueError, match="conflicting options: cannot specify both --restart and --rm"):
        body(["--restart", "always", "--rm", "img"])
    with pytest.raises(ValueError, match="maximum retry count must be an integer"):
        body(["--restart", "on-failure:x", "img"])
    assert body(["--rm", "img"])["HostConfig"]["AutoRemove"] is True


def test_resources_and_security() -> None:
    hc = body(["-m", "64m", "--cpus", "1.5", "--pids-limit", "10", "--privileged", "--read-only",
               "--cap-add", "net_admin", "--cap-drop", "all", "--shm-size", "1m", "--memory-swap", "-1",
               "img"])["HostConfig"]
    assert hc["Memory"] == 64 * 1024 * 1024
    assert hc["NanoCpus"] == 1_500_000_000
    assert hc["PidsLimit"] == 10
    assert hc["Privileged"] is True and hc["ReadonlyRootfs"] is True
    assert hc["CapAdd"] == ["CAP_NET_ADMIN"] and hc["CapDrop"] == ["ALL"]
    assert hc["ShmSize"] == 1024 * 1024 and hc["MemorySwap"] == -1


@pytest.mark.parametrize(("argv", "message"), [
    (["-m", "abc"], "invalid argument \"abc\" for \"-m, --memory\" flag: invalid size: 'abc'"),
    (["--cpus", "abc"], 'invalid argument "abc" for "--cpus" flag: failed to parse abc as a rational number'),
    (["--cpus", "0.0000000001"], 'invalid argument "0.0000000001" for "--cpus" flag: value is too precise'),
    (["-a", "foo"], 'invalid argument "foo" for "-a, --attach" flag: valid streams are STDIN, STDOUT and STDERR'),
])
def test_flag_value_errors_match_docker(argv: list[str], message: str) -> None:
    with pytest.raises(FlagError) as info:
        parse(runconfig.FLAGS, [*argv, "img"], interspersed=False)
    assert str(info.value) == message


def test_stop_signal_timeout_init_only_when_given() -> None:
    b = body(["--stop-signal", "SIGUSR1", "--stop-timeout", "5", "--init", "img"])
    assert b["StopSignal"] == "SIGUSR1" and b["StopTimeout"] == 5 and b["HostConfig"]["Init"] is True
    plain = body(["img"])
    assert "StopTimeout" not in plain and "Init" not in plain["HostConfig"] and "StopSignal" not in plain


def test_interactive_tty_and_attach() -> None:
    b = body(["-it", "img"])
    assert b["Tty"] and b["OpenStdin"] and b["AttachStdin"] and b["StdinOnce"]
    b = body(["-a", "stdout", "img"])
    assert (b["AttachStdin"], b["AttachStdout"], b["AttachStderr"]) == (False, True, False)


def test_ports_are_passed_through() -> None:
    b = body(["-p", "8080:80", "-p", "127.0.0.1::53/udp", "--expose", "7000-7001", "img"])
    assert b["ExposedPorts"] == {"80/tcp": {}, "53/udp": {}, "7000/tcp": {}, "7001/tcp": {}}
    assert b["HostConfig"]["PortBindings"] == {"80/tcp": [{"HostIp": "", "HostPort": "8080"}],
                                               "53/udp": [{"HostIp": "127.0.0.1", "HostPort": ""}]}


def test_network_modes() -> None:
    assert body(["--network", "none", "img"])["HostConfig"]["NetworkMode"] == "none"
    b = body(["--network", "host", "img"])
    assert b["HostConfig"]["NetworkMode"] == "host" and b["NetworkingConfig"] == {"EndpointsConfig": {}}
    b = body(["--net", "mynet", "--network-alias", "db", "img"])
    assert b["NetworkingConfig"]["EndpointsConfig"] == {"mynet": {"Aliases": ["db"]}}


def test_mounts_tmpfs_sysctls_ulimits() -> None:
    hc = body(["--mount", "type=bind,source=/a,target=/b,readonly", "--tmpfs", "/run:size=1m",
               "--sysctl", "net.core.somaxconn=1", "--ulimit", "nofile=10:20", "img"])["HostConfig"]
    assert hc["Mounts"] == [{"Type": "bind", "Source": "/a", "Target": "/b", "ReadOnly": True}]
    assert hc["Tmpfs"] == {"/run": "size=1m"}
    assert hc["Sysctls"] == {"net.core.somaxconn": "1"}
    assert hc["Ulimits"] == [{"Name": "nofile", "Hard": 20, "Soft": 10}]


# -- ports --------------------------------------------------------------------------------------------

def test_port_ranges_and_errors() -> None:
    _exposed, bindings = parse_port_specs(["8000-8001:90-91/udp", "3000-3005:3000", "[::1]:9000:9000"])
    assert bindings["90/udp"] == [{"HostIp": "", "HostPort": "8000"}]
    assert bindings["91/udp"] == [{"HostIp": "", "HostPort": "8001"}]
    assert bindings["3000/tcp"] == [{"HostIp": "", "HostPort": "3000-3005"}]
    assert bindings["9000/tcp"] == [{"HostIp": "::1", "HostPort": "9000"}]
    for spec, message in [("99999:80", "invalid hostPort: 99999"), ("abc", "invalid containerPort: abc"),
                          ("80/xyz", "invalid proto: xyz"), ("1.2.3.999:80:80", "invalid IP address: 1.2.3.999")]:
        with pytest.raises(ValueError, match=message):
            parse_port_specs([spec])
    assert parse_port_specs(["published=8080,target=80,protocol=udp"])[1] == {
        "80/udp": [{"HostIp": "", "HostPort": "8080"}]}


# -- references ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("ref", "name", "familiar"), [
    ("busybox", "docker.io/library/busybox", "busybox:latest"),
    ("busybox:1.36", "docker.io/library/busybox", "busybox:1.36"),
    ("me/app:v1", "docker.io/me/app", "me/app:v1"),
    ("localhost:5000/x/y:z", "localhost:5000/x/y", "localhost:5000/x/y:z"),
    ("docker.io/library/alpine", "docker.io/library/alpine", "alpine:latest"),
])
def test_references_normalize_like_docker(ref: str, name: str, familiar: str) -> None:
    parsed = parse_normalized(ref)
    assert parsed.name == name
    assert parsed.with_default_tag().familiar() == familiar


def test_reference_errors() -> None:
    with pytest.raises(ValueError, match=r"repository name \(library/Busybox\) must be lowercase"):
        parse_normalized("Busybox")
    with pytest.raises(ValueError, match=r"^invalid reference format$"):
        parse_normalized("a:b:c")
