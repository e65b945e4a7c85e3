"""The CLI's fast paths give exactly what the general code gives.

- tabwriter: tabs and newlines are split with str methods instead of scanning each character
  (`_write_chars`, still used when a vertical tab or form feed is present);
- uploads of regular files use os.sendfile on the raw `_socket` socket (socket.py is not imported);
- templates of only text and `{{.Field}}` actions call the row's methods directly instead of
  walking the tree (`Executor`), and anything else falls back to the executor and its errors.
"""

from __future__ import annotations

import random
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from sangja.cli import formatter, transport
from sangja.cli.commands import ps
from sangja.cli.gofmt import BASIC_FUNCS
from sangja.cli.gotemplate import TemplateError, parse
from sangja.cli.gotemplate_exec import Executor
from sangja.cli.tabwriter import TabWriter


def _by_chars(chunks: list[str]) -> str:
    w = TabWriter()
    for chunk in chunks:
        w._write_chars(chunk)
    return w.flush()


def _by_split(chunks: list[str]) -> str:
    w = TabWriter()
    for chunk in chunks:
        w.write(chunk)
    return w.flush()


@pytest.mark.parametrize("chunks", [
    ["A\tB\nx\ty\n"],
    ["PORTS\tNAMES\n\tweb\n"],
    ["no tabs at all\nsecond\n"],
    ["a\tb\n", "longer-cell-here\tc\n", "plain line\n", "x\ty\n"],
    ["un", "finished\tcell", " continues\nnext\t", "line"],
    ["trailing\ttab\t\n\t\t\n"],
    ["", "\n", "\n\n", "a\t"],
    ["名前\tx\nab\ty\n"],
])
def test_split_writer_matches_the_character_scanner(chunks: list[str]) -> None:
    assert _by_split(chunks) == _by_chars(chunks)


def test_split_writer_matches_on_random_tables() -> None:
    rng = random.Random(7)
    alphabet = ["a", "bb", "ccc", "\t", "\t", "\n", "\n", "x" * 14, "é"]
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        cut = sorted(rng.randint(0, len(text)) for _ in range(2))
        chunks = [text[:cut[0]], text[cut[0]:cut[1]], text[cut[1]:]]
        assert _by_split(chunks) == _by_chars(chunks), repr(chunks)


def test_vertical_tab_and_form_feed_still_use_the_scanner() -> None:
    text = "a\vb\tc\fd\te\n"
    assert _by_split([text]) == _by_chars([text])


def _walk(src: str, data: Any) -> str:
    tmpl = parse(src)
    out: list[str] = []
    Executor(tmpl, BASIC_FUNCS, False, data).walk(tmpl.body, data, out)
    return "".join(out)


CONTAINERS: list[dict[str, Any]] = [
    {"Id": "a" * 64, "Names": ["/web"], "Image": "busybox", "ImageID": "sha256:" + "b" * 64,
     "Command": "httpd -f -p 80 -h /var/www", "Created": 1_700_000_000, "Ports": [],
     "Labels": {"x": "1", "a": "2"}, "State": "running", "Status": "Up 3 seconds", "Mounts": []},
    {"Id": "c" * 64, "Names": ["/other", "/web/link"], "Image": "sha256:" + "d" * 64, "ImageID": "sha256:" + "d" * 64,
     "Command": "", "Created": 1_600_000_000, "State": "exited", "Status": "Exited (3) 2 minutes ago"},
    {},
]


@pytest.mark.parametrize("src", [
    ps.DEFAULT_TABLE.removeprefix("table "),
    "{{.ID}}",
    "{{.Names}}: {{.Labels}} {{.Size}} {{.CreatedAt}} {{.State}}",
    "plain text only",
])
@pytest.mark.parametrize("trunc", [True, False])
def test_field_templates_give_what_the_executor_gives(src: str, trunc: bool) -> None:
    now = time.time()
    for c in CONTAINERS:
        row = ps.ContainerRow(c, trunc, now)
        assert parse(src).execute(row) == _walk(src, row)


def test_a_method_that_needs_arguments_still_gets_gos_error() -> None:
    row = ps.ContainerRow(CONTAINERS[0], True, time.time())
    with pytest.raises(TemplateError, match="wrong number of args for Label"):
        parse("{{.Label}}").execute(row)
    assert parse('{{.Label "x"}}').execute(row) == "1"


def test_unknown_fields_and_maps_go_through_the_executor() -> None:
    row = ps.ContainerRow(CONTAINERS[0], True, time.time())
    with pytest.raises(TemplateError, match="can't evaluate field Nope"):
        parse("{{.Nope}}").execute(row)
    assert parse("{{.Id}}").execute({"Id": "x"}) == "x"
    assert parse("{{.Missing}}").execute({"Id": "x"}) == "<no value>"
    assert parse("{{.ID}}").execute(None) == "<no value>"


def test_ps_table_renders_the_same_as_before() -> None:
    now = 1_700_000_100.0
    rows = [ps.ContainerRow(c, True, now) for c in CONTAINERS]
    text = formatter.render(ps.DEFAULT_TABLE, rows, ps.HEADERS)
    lines = text.splitlines()
    assert lines[0].split() == ["CONTAINER", "ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]
    assert lines[1] == ('aaaaaaaaaaaa   busybox        "httpd -f -p 80 -h /…"   About a minute ago   Up 3 seconds'
                        + " " * 25 + "web")
    assert lines[2].startswith("cccccccccccc   dddddddddddd   \"\"                       3 years ago")
    assert len(lines) == 4


def test_upload_of_a_regular_file_is_zero_copy_from_its_position(tmp_path: Path) -> None:
    payload = bytes(range(256)) * 1000
    path = tmp_path / "blob"
    path.write_bytes(payload)
    a, b = socket.socketpair()
    received = bytearray()

    def drain() -> None:
        while chunk := b.recv(65536):
            received.extend(chunk)

    reader = threading.Thread(target=drain)
    reader.start()
    try:
        with open(path, "rb") as f:
            f.seek(1000)
            assert transport._sendfile(a, f) == len(payload) - 1000
            assert f.tell() == len(payload)
        a.shutdown(socket.SHUT_WR)
        reader.join(10)
    finally:
        a.close()
        b.close()
    assert bytes(received) == payload[1000:]


# Modules the common commands must not import at start-up: socket.py, selectors and threading
# (the stdin thread and TCP are lazy); json, re, enum and signal.py (cli/jsoncodec.py and _signal
# do the work; re only for image references of a pull); collections (annotations only); importlib.
SLOW_IMPORTS = ("socket", "selectors", "threading", "json", "re", "enum", "signal", "collections", "importlib")


def test_run_and_ps_start_without_socket_py_or_threading() -> None:
    # `sangja run`'s start-up imports only what every run needs.
    code = ("import sys, sangja.cli.main, sangja.cli.commands.run, sangja.cli.commands.ps; "
            f"print(sorted(m for m in {SLOW_IMPORTS!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"


LAUNCHER = Path(__file__).resolve().parents[2] / "bin" / "sangja"


@pytest.mark.parametrize("argv", [
    ["--version"],
    ["ps", "-a"],
    ["run", "--rm", "--network", "none", "-e", "A=1", "busybox", "true"],
    ["exec", "-i", "box", "true"],
    ["inspect", "--format", "{{json .State}}", "box"],
    ["rm", "-f", "box"],
])
def test_commands_through_the_launcher_import_nothing_slow(argv: list[str], tmp_path: Path) -> None:
    # The whole command, from the installed launcher to the error of an absent daemon: what
    # `python -X importtime` lists is every module the process imported.
    host = f"unix://{tmp_path / 'no-daemon.sock'}"
    out = subprocess.run([sys.executable, "-X", "importtime", str(LAUNCHER), "-H", host, *argv],
                         capture_output=True, text=True, timeout=60)
    lines = out.stderr.splitlines()
    imported = {line.rsplit("|", 1)[1].strip() for line in lines if line.startswith("import time:")}
    assert "sangja.cli.main" in imported
    assert sorted(imported.intersection(SLOW_IMPORTS)) == []
    if argv != ["--version"]:
        assert out.returncode == 1
        assert [line for line in lines if not line.startswith("import time:")] == [
            f"Cannot connect to the sangja daemon at {host}. Is sangjad running? (start it with: sangjad &)"]
