"""Interactive flows through the real docker CLI and the sangja CLI: exec (pipes and TTYs),
run -it, attach and its detach keys — the TTY cases in a real terminal (tmux).

Each `cli` test runs once with docker and once with sangja against the same daemon.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Callable

from tests.support.commands import Cli
from tests.support.flows import inspect
from tests.support.tmux import Terminal
from tests.support.waiting import wait_until

LOOP = "while :; do sleep 1; done"
PROMPT = "/ #"  # capture-pane drops trailing blanks


def _box(cli: Cli, names: Callable[[str], str], *flags: str) -> str:
    name = names("box")
    cli.ok("run", "-d", "--name", name, "--network", "none", *flags, "busybox", "sh", "-c", LOOP)
    return name


def test_exec_exit_codes_and_streams(cli: Cli, names: Callable[[str], str]) -> None:
    box = _box(cli, names)
    for code in (0, 1, 3):
        r = cli("exec", box, "sh", "-c", f"echo out; echo err >&2; exit {code}")
        assert (r.rc, r.out, r.err) == (code, "out\n", "err\n"), r
    r = cli("exec", box, "nosuchcmd")
    assert r.rc == 127, r
    assert 'exec: "nosuchcmd": executable file not found in $PATH' in r.out + r.err
    assert cli("exec", box, "/etc/passwd").rc == 126
    assert cli("exec", box, "sh", "-c", "kill -9 $$").rc == 137


def test_exec_options(cli: Cli, names: Callable[[str], str]) -> None:
    box = _box(cli, names)
    out = cli.ok("exec", "-u", "nobody", "-w", "/tmp", "-e", "FOO=bar", box, "sh", "-c", 'id -u; pwd; echo "$FOO"')
    assert out == "65534\n/tmp\nbar\n"
    assert cli.ok("exec", "-t", box, "sh", "-c", "echo $TERM").replace("\r", "") == "xterm\n"
    caps = cli.ok("exec", "--privileged", box, "grep", "CapEff", "/proc/self/status")
    assert caps.split()[1] != cli.ok("exec", box, "grep", "CapEff", "/proc/self/status").split()[1]
    assert cli.ok("exec", "-d", box, "sh", "-c", "sleep 0.2; touch /tmp/detached") == ""
    wait_until(lambda: cli("exec", box, "test", "-f", "/tmp/detached").rc == 0, 30, what="the detached exec")


def test_exec_stdin_100mb_byte_exact(cli: Cli, names: Callable[[str], str]) -> None:
    box = _box(cli, names)
    data = os.urandom(100 * 1024 * 1024)
    proc = subprocess.run([*cli.prefix, "exec", "-i", box, "cat"], env=cli.env, input=data,
                          capture_output=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout) == len(data)
    assert hashlib.sha256(proc.stdout).digest() == hashlib.sha256(data).digest()
    every = bytes(range(256)) * 16
    assert cli("exec", "-i", box, "cat", input=every).rc == 0
    proc = subprocess.run([*cli.prefix, "exec", "-i", box, "sh", "-c", "cat; echo after-eof"], env=cli.env,
                          input=every, capture_output=True, timeout=60, check=False)
    assert proc.stdout == every + b"after-eof\n"


def test_exec_refusals(cli: Cli, names: Callable[[str], str]) -> None:
    box = _box(cli, names)
    r = cli("exec", "-it", box, "true")  # stdin is /dev/null here
    assert r.rc == 1 and "the input device is not a TTY" in r.err, r
    cli.ok("pause", box)
    r = cli("exec", box, "true")
    assert r.rc != 0 and f"Container {box} is paused, unpause the container before exec" in r.err, r
    cli.ok("unpause", box)
    cli.ok("kill", box)
    wait_until(lambda: not inspect(cli, box)["State"]["Running"], 30, what="the container to stop")
    r = cli("exec", box, "true")
    assert r.rc != 0 and "is not running" in r.err, r
    r = cli("exec", names("nosuch"), "true")
    assert r.rc != 0 and "No such container" in r.err, r


def _wait_for_size(t: Terminal, size: str, tries: int = 10) -> None:
    """`stty size` until it shows `size`. The client sends the resize (SIGWINCH → POST .../resize)
    on another path than the typed keys (the hijacked stream), so a `stty size` typed right after
    the resize may run before the resize has arrived: ask again, a bounded number of times."""
    for _ in range(tries - 1):
        t.type("stty size")
        try:
            t.wait_for(size, timeout=3.0)
            return
        except AssertionError:
            continue
    t.type("stty size")
    t.wait_for(size)


def test_run_it_typed_commands_and_exit_code(cli: Cli, names: Callable[[str], str]) -> None:
    name = names("it")
    with Terminal([*cli.prefix, "run", "-it", "--name", name, "--network", "none", "busybox", "sh"], cli.env) as t:
        t.wait_for(PROMPT)
        t.type("echo $((6*7)); stty size")
        t.wait_for("42")
        t.wait_for("30 100")
        t.resize(90, 20)
        _wait_for_size(t, "20 90")
        t.type("exit 5")
        assert t.exit_code() == 5
    assert inspect(cli, name)["State"]["ExitCode"] == 5


def test_exec_it_in_a_terminal(cli: Cli, names: Callable[[str], str]) -> None:
    box = _box(cli, names)
    with Terminal([*cli.prefix, "exec", "-it", box, "sh"], cli.env, width=120, height=40) as t:
        t.wait_for(PROMPT)
        t.type("stty size; tty")
        t.wait_for("40 120")
        t.wait_for("/dev/pts/")
        t.resize(80, 24)
        _wait_for_size(t, "24 80")
        t.keys("C-c")  # with a TTY, ^C goes to the shell in the container, not to the client
        t.type("echo still-$((2+3))")
        t.wait_for("still-5")
        t.type("exit 7")
        assert t.exit_code() == 7


def test_attach_and_detach_keys(cli: Cli, names: Callable[[str], str]) -> None:
    name = names("att")
    cli.ok("run", "-dit", "--name", name, "--network", "none", "busybox", "sh")
    with Terminal([*cli.prefix, "attach", name], cli.env) as t:
        t.type("echo attached-$((1+1))")
        t.wait_for("attached-2")
        t.keys("C-p", "C-q")
        assert t.exit_code() == 1  # docker: "read escape sequence", status 1
    assert inspect(cli, name)["State"]["Running"] is True
    with Terminal([*cli.prefix, "attach", "--detach-keys", "ctrl-x,x", name], cli.env) as t:
        t.type("echo again-$((1+2))")
        t.wait_for("again-3")
        t.type("exit 3")
        assert t.exit_code() == 3
    assert inspect(cli, name)["State"]["ExitCode"] == 3


def test_run_i_pipes_stdin_and_start_ai(cli: Cli, names: Callable[[str], str]) -> None:
    data = os.urandom(3 * 1024 * 1024)
    argv = [*cli.prefix, "run", "--rm", "-i", "--network", "none", "busybox", "sh", "-c", "cat; echo after-eof"]
    proc = subprocess.run(argv, env=cli.env, input=data, capture_output=True, timeout=60, check=False)
    assert proc.returncode == 0 and proc.stdout == data + b"after-eof\n", proc.stderr
    name = names("ai")
    cli.ok("create", "-i", "--name", name, "--network", "none", "busybox", "sh", "-c", "cat; exit 4")
    r = cli("start", "-ai", name, input=b"hello\n")
    assert (r.rc, r.out) == (4, "hello\n"), r
