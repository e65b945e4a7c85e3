"""The Command column of GET /containers/json, as moby's daemon/list.go writes it."""

from sangja.daemon.container import Container
from sangja.daemon.views import command_text


def _box(path: str, args: list[str]) -> Container:
    return Container(id="a" * 64, name="/x", created="", created_ns=0, image="busybox", image_id="sha256:" + "b" * 64,
                     path=path, args=args, config={}, host_config={})


def test_arguments_with_spaces_are_single_quoted() -> None:
    assert command_text(_box("/bin/sh", ["-c", "echo out; sleep 1"])) == "/bin/sh -c 'echo out; sleep 1'"


def test_plain_arguments_and_no_arguments() -> None:
    assert command_text(_box("httpd", ["-f", "-p", "80"])) == "httpd -f -p 80"
    assert command_text(_box("true", [])) == "true"
