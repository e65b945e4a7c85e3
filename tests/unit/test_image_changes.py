"""`changes` (docker import/commit -c): Dockerfile instructions applied to a container config."""

from __future__ import annotations

from typing import Any

import pytest

from sangja.errors import InvalidParameter
from sangja.image.changes import apply_changes, empty_container_config, logical_lines
from sangja.image.shellwords import process_word, process_words


def apply(*changes: str, base: dict[str, Any] | None = None) -> dict[str, Any]:
    return apply_changes(base if base is not None else empty_container_config(), list(changes))


def test_no_changes_leave_the_config_as_it_was_and_do_not_mutate_the_input() -> None:
    base = empty_container_config()
    out = apply_changes(base, [])
    assert out == base and out is not base
    apply_changes(base, ["ENV A=1"])
    assert base["Env"] is None


def test_cmd_and_entrypoint_exec_and_shell_forms() -> None:
    assert apply('CMD ["sh", "-c", "x"]')["Cmd"] == ["sh", "-c", "x"]
    assert apply("CMD echo hi there")["Cmd"] == ["/bin/sh", "-c", "echo hi there"]
    assert apply("CMD []")["Cmd"] == []
    assert apply("ENTRYPOINT top -b")["Entrypoint"] == ["/bin/sh", "-c", "top -b"]
    assert apply("ENTRYPOINT []")["Entrypoint"] is None
    # A JSON-looking argument that is not a JSON array is the shell form, as in Dockerfiles.
    assert apply("CMD [not json")["Cmd"] == ["/bin/sh", "-c", "[not json"]
    with pytest.raises(InvalidParameter, match="arrays must be comprised of strings only"):
        apply('CMD ["a", 1]')


def test_entrypoint_resets_cmd_unless_cmd_was_set_in_the_same_changes() -> None:
    base = {**empty_container_config(), "Cmd": ["old"]}
    assert apply('ENTRYPOINT ["e"]', base=base)["Cmd"] is None
    out = apply('CMD ["c"]', 'ENTRYPOINT ["e"]', base=base)
    assert (out["Cmd"], out["Entrypoint"]) == (["c"], ["e"])


def test_shell_form_uses_the_configs_shell() -> None:
    base = {**empty_container_config(), "Shell": ["/bin/bash", "-lc"]}
    assert apply("CMD echo $HOME", base=base)["Cmd"] == ["/bin/bash", "-lc", "echo $HOME"]


def test_env_forms_quotes_expansion_and_replacement() -> None:
    out = apply('ENV A=1 B="two words" C=\'$A\'', "ENV D=${A}x E=$MISSING", "ENV legacy value with spaces", "ENV A=9")
    assert out["Env"] == ["A=9", "B=two words", "C=$A", "D=1x", "E=", "legacy=value with spaces"]
    # One ENV instruction expands against the environment from before it, as Docker does.
    assert apply("ENV X=1 Y=$X")["Env"] == ["X=1", "Y="]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("ENV", "ENV requires at least one argument"),
        ("ENV onlykey", "ENV must have two arguments"),
        ("ENV a=1 b", "Syntax error - can't find = in \"b\". Must be of the form: name=value"),
        ("ENV =x", "ENV names can not be blank"),
        ("LABEL", "LABEL requires at least one argument"),
        ("RUN echo", "RUN is not a valid change command"),
        ("FROM busybox", "FROM is not a valid change command"),
        ("copy a b", "copy is not a valid change command"),
        ("EXPOSE", "EXPOSE requires at least one argument"),
        ("EXPOSE 80/foo", "invalid proto: foo"),
        ("EXPOSE http", "invalid containerPort: http"),
        ("USER", "USER requires exactly one argument"),
        ("WORKDIR", "WORKDIR requires exactly one argument"),
        ("VOLUME", "VOLUME requires at least one argument"),
        ('VOLUME [""]', "VOLUME specified can not be an empty string"),
        ("STOPSIGNAL", "STOPSIGNAL requires exactly one argument"),
        ("STOPSIGNAL SIGNOPE", "invalid signal: SIGNOPE"),
        ("STOPSIGNAL 0", "invalid signal: 0"),
        ("ONBUILD", "ONBUILD requires at least one argument"),
        ("ONBUILD ONBUILD RUN x", "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"),
        ("ONBUILD FROM x", "FROM isn't allowed as an ONBUILD trigger"),
        ("HEALTHCHECK", "HEALTHCHECK requires at least one argument"),
        ("HEALTHCHECK NONE x", "HEALTHCHECK NONE takes no arguments"),
        ("HEALTHCHECK CMD", "Missing command after HEALTHCHECK CMD"),
        ("HEALTHCHECK RUN x", 'Unknown type "RUN" in HEALTHCHECK (try CMD)'),
        ("HEALTHCHECK --interval=1us CMD x", 'Interval "interval" cannot be less than 1ms'),
        ("HEALTHCHECK --retries=-1 CMD x", "--retries cannot be negative (-1)"),
        ("HEALTHCHECK --bogus=1 CMD x", "unknown flag: bogus"),
        ("USER --x=1 nobody", "unknown flag: x"),
        ("ENV a=${b", "failed to process \"${b\": syntax error: missing '}'"),
        ("WORKDIR ${x:?must be set}", "failed to process \"${x:?must be set}\": x: must be set"),
    ],
)
def test_errors_carry_dockers_messages(change: str, message: str) -> None:
    with pytest.raises(InvalidParameter) as exc:
        apply(change)
    assert exc.value.message == message


def test_label_expose_user_volume_stopsignal_onbuild() -> None:
    out = apply(
        'LABEL a=b "c d"="e f"',
        "EXPOSE 80 443/udp 8000-8002 127.0.0.1:9000:90",
        "USER nobody:nogroup",
        'VOLUME ["/data", "/logs"]',
        "VOLUME /x /y",
        "STOPSIGNAL SIGINT",
        "ONBUILD RUN echo hi",
    )
    assert out["Labels"] == {"a": "b", "c d": "e f"}
    assert set(out["ExposedPorts"]) == {"80/tcp", "443/udp", "8000/tcp", "8001/tcp", "8002/tcp", "90/tcp"}
    assert out["User"] == "nobody:nogroup"
    assert set(out["Volumes"]) == {"/data", "/logs", "/x", "/y"}
    assert out["StopSignal"] == "SIGINT"
    assert out["OnBuild"] == ["RUN echo hi"]
    assert apply("STOPSIGNAL 9")["StopSignal"] == "9"
    assert apply("STOPSIGNAL rtmin+3")["StopSignal"] == "rtmin+3"


def test_label_legacy_form_takes_the_rest_of_the_line() -> None:
    assert apply("LABEL maintainer some body")["Labels"] == {"maintainer": "some body"}


def test_workdir_is_normalised_relative_to_the_previous_one() -> None:
    assert apply("WORKDIR /app", "WORKDIR sub/../src")["WorkingDir"] == "/app/src"
    assert apply("WORKDIR rel")["WorkingDir"] == "/rel"
    assert apply("WORKDIR //x//y/")["WorkingDir"] == "/x/y"
    assert apply("ENV D=/opt", "WORKDIR $D/app")["WorkingDir"] == "/opt/app"


def test_healthcheck_forms_and_durations_in_nanoseconds() -> None:
    assert apply("HEALTHCHECK NONE")["Healthcheck"] == {"Test": ["NONE"]}
    out = apply("HEALTHCHECK --interval=5s --timeout=1m30s --start-period=100ms --retries=3 CMD curl -f x || exit 1")
    assert out["Healthcheck"] == {
        "Test": ["CMD-SHELL", "curl -f x || exit 1"],
        "Interval": 5_000_000_000,
        "Timeout": 90_000_000_000,
        "StartPeriod": 100_000_000,
        "Retries": 3,
    }
    assert apply('HEALTHCHECK CMD ["true"]')["Healthcheck"] == {"Test": ["CMD", "true"]}


def test_several_changes_comments_and_continuations() -> None:
    out = apply("# a comment", "ENV A=1 \\", "    B=2", "", 'CMD ["x"]')
    assert out["Env"] == ["A=1", "B=2"] and out["Cmd"] == ["x"]
    assert logical_lines("ENV A=1 \\\n# comment inside\n  B=2\nCMD x") == ["ENV A=1   B=2", "CMD x"]


def test_instruction_names_are_case_insensitive() -> None:
    assert apply("cmd echo")["Cmd"] == ["/bin/sh", "-c", "echo"]


@pytest.mark.parametrize(
    ("word", "env", "expected"),
    [
        ("$A", {"A": "x"}, "x"),
        ("${A}b", {"A": "x"}, "xb"),
        ("'$A'", {"A": "x"}, "$A"),
        ('"$A b"', {"A": "x"}, "x b"),
        (r"\$A", {"A": "x"}, "$A"),
        (r'"a\"b"', {}, 'a"b'),
        ("${A:-def}", {}, "def"),
        ("${A:-def}", {"A": ""}, "def"),
        ("${A-def}", {"A": ""}, ""),
        ("${A:+alt}", {"A": "x"}, "alt"),
        ("${A:+alt}", {}, ""),
        ("${A+alt}", {"A": ""}, "alt"),
        ("${P#*/}", {"P": "a/b/c"}, "b/c"),
        ("${P##*/}", {"P": "a/b/c"}, "c"),
        ("${P%/*}", {"P": "a/b/c"}, "a/b"),
        ("${P%%/*}", {"P": "a/b/c"}, "a"),
        ("a$", {}, "a$"),
        ("$1x", {}, "x"),
    ],
)
def test_shell_word_processing(word: str, env: dict[str, str], expected: str) -> None:
    assert process_word(word, env) == expected


def test_process_words_splits_unquoted_whitespace_of_expansions() -> None:
    assert process_words("80 $PORTS '1 2'", {"PORTS": "81  82"}) == ["80", "81", "82", "1 2"]


@pytest.mark.parametrize("word", ["'open", '"open', "${A", "${}", "${A:}", "${A^}"])
def test_shell_word_errors(word: str) -> None:
    with pytest.raises(InvalidParameter, match="failed to process"):
        process_word(word, {})
