"""Pure pieces of the classic builder's wire behaviour: the error line of a failed RUN, the
credentials a build's pulls use (X-Registry-Config), and the CLI reading errorDetail.code."""

from __future__ import annotations

import base64
import json

import pytest

from sangja.api.routes.build import _error_message
from sangja.cli.errors import StreamError
from sangja.cli.jsonstream import display
from sangja.daemon.build_base import credentials_for
from sangja.daemon.build_session import BuildFailed
from sangja.distribution.auth import decode_registry_config
from sangja.errors import InvalidParameter
from sangja.image.reference import parse_normalized_named


def test_a_failed_run_sends_its_exit_status_as_the_code() -> None:
    msg = "The command '/bin/sh -c exit 3' returned a non-zero code: 3"
    assert _error_message(BuildFailed(msg, 3)) == {"errorDetail": {"code": 3, "message": msg}, "error": msg}
    # other errors carry no code (moby's FormatError of a plain error)
    assert _error_message(InvalidParameter("bad")) == {"errorDetail": {"message": "bad"}, "error": "bad"}


def test_the_cli_takes_the_code_of_an_error_line() -> None:
    with pytest.raises(StreamError) as info:
        display([{"stream": "x\n"}, {"errorDetail": {"code": 7, "message": "m"}, "error": "m"}], _Sink(), False)
    assert (info.value.code, info.value.message) == (7, "m")
    with pytest.raises(StreamError) as info:
        display([{"errorDetail": {"message": "m"}, "error": "m"}], _Sink(), False)
    assert info.value.code == 0


class _Sink:
    def write(self, data: bytes) -> int:
        return len(data)

    def flush(self) -> None:
        pass


def _header(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


def test_registry_config_is_resolved_like_moby() -> None:
    configs = decode_registry_config(_header({
        "https://index.docker.io/v1/": {"username": "hub", "password": "p1"},
        "127.0.0.1:5000": {"username": "direct", "password": "p2"},
        "http://reg.example:6000/v2/": {"auth": base64.b64encode(b"legacy:p3").decode()},
    }))
    hub = credentials_for(configs, parse_normalized_named("busybox"))
    assert (hub.username, hub.password) == ("hub", "p1")
    assert credentials_for(configs, parse_normalized_named("127.0.0.1:5000/a")).username == "direct"
    legacy = credentials_for(configs, parse_normalized_named("reg.example:6000/a/b"))
    assert (legacy.username, legacy.password) == ("legacy", "p3")
    assert credentials_for(configs, parse_normalized_named("other.example/a")).anonymous
    assert decode_registry_config("not base64 json!") == {} and decode_registry_config("") == {}
