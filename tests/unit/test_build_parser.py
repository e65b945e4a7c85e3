"""The Dockerfile parser, the word expansion it feeds, .dockerignore and the COPY helpers."""

from __future__ import annotations

import os
import tarfile
from pathlib import Path

import pytest

from sangja.builder.context import extract_context
from sangja.builder.parser import parse
from sangja.cli.commands.build import IgnoreRules
from sangja.errors import InvalidParameter
from sangja.image.shellwords import process_word


def test_directives_continuations_and_comments() -> None:
    df = parse("# syntax=docker/dockerfile:1\n# escape=`\nFROM busybox\nRUN echo a `\n  # a comment\n\n  b\n")
    assert df.escape == "`" and df.directives["syntax"] == "docker/dockerfile:1"
    run = df.instructions[1]
    assert run.cmd == "run" and run.words == ["echo a   b"] and not run.json
    assert (run.start_line, run.end_line) == (4, 7)


def test_directive_only_at_the_top() -> None:
    df = parse("FROM busybox\n# escape=`\nRUN a \\\n b\n")
    assert df.escape == "\\" and df.instructions[1].words == ["a  b"]
    with pytest.raises(InvalidParameter, match="invalid escape token"):
        parse("# escape=x\nFROM busybox\n")


def test_exec_and_shell_forms_and_flags() -> None:
    df = parse('FROM busybox\nCMD ["a", "b c"]\nENTRYPOINT echo hi\nCOPY --from=build --chown=1:2 a b /d/\n'
               'COPY ["x y", "/z"]\nSHELL ["/bin/ash", "-c"]\n')
    cmd, ep, copy1, copy2, shell = df.instructions[1:]
    assert cmd.json and cmd.words == ["a", "b c"]
    assert not ep.json and ep.words == ["echo hi"]
    assert copy1.flags == ["from=build", "chown=1:2"] and copy1.words == ["a", "b", "/d/"]
    assert copy2.json and copy2.words == ["x y", "/z"]
    assert shell.json and shell.words == ["/bin/ash", "-c"]
    with pytest.raises(InvalidParameter, match="arrays must be comprised of strings only"):
        parse("FROM busybox\nCMD [1, 2]\n")


def test_env_label_arg_pairs() -> None:
    df = parse('FROM busybox\nENV A=1 B="two words" C=x\\ y\nENV OLD legacy value\nARG X\nARG Y=2 Z\n'
               'LABEL "k"="v"\n')
    env, old, arg1, arg2, label = df.instructions[1:]
    assert env.pairs == [("A", "1"), ("B", '"two words"'), ("C", "x\\ y")]
    assert old.pairs == [("OLD", "legacy value")]
    assert arg1.pairs == [("X", None)] and arg2.pairs == [("Y", "2"), ("Z", None)]
    assert label.pairs == [('"k"', '"v"')]
    with pytest.raises(InvalidParameter, match="can't find = in"):
        parse("FROM busybox\nENV A=1 B\n")
    with pytest.raises(InvalidParameter, match="ENV must have two arguments"):
        parse("FROM busybox\nENV A\n")


def test_unknown_instruction_and_empty_file() -> None:
    with pytest.raises(InvalidParameter, match="dockerfile parse error on line 3: unknown instruction: BOGUS"):
        parse("FROM busybox\n\nBOGUS x\n")
    with pytest.raises(InvalidParameter, match="cannot be empty"):
        parse("# just a comment\n\n")


def test_heredoc_and_onbuild() -> None:
    df = parse("FROM busybox\nRUN <<EOF\necho one\necho two\nEOF\nONBUILD RUN echo later\nCMD x\n")
    run, onbuild, cmd = df.instructions[1:]
    assert run.heredocs[0].name == "EOF" and run.heredocs[0].content == "echo one\necho two\n"
    assert onbuild.sub is not None and onbuild.sub.cmd == "run" and onbuild.sub.original == "RUN echo later"
    assert cmd.words == ["x"] and cmd.start_line == 7


@pytest.mark.parametrize(("word", "expected"), [
    ("$A", "1"), ("${A}x", "1x"), ("${UNSET:-def}", "def"), ("${EMPTY:-def}", "def"), ("${EMPTY-def}", ""),
    ("${A:+alt}", "alt"), ("${UNSET:+alt}", ""), ("\\$A", "$A"), ("'$A'", "$A"), ('"$A b"', "1 b"),
    ("${P#*/}", "b/c"), ("${P##*/}", "c"), ("${P%/*}", "a/b"),
])
def test_variable_substitution(word: str, expected: str) -> None:
    assert process_word(word, {"A": "1", "EMPTY": "", "P": "a/b/c"}) == expected


def test_substitution_with_backtick_escape() -> None:
    assert process_word("`$A", {"A": "1"}, "`") == "$A"
    with pytest.raises(InvalidParameter, match="missing '}'"):
        process_word("${A", {})


def test_dockerignore_rules() -> None:
    rules = IgnoreRules(["# comment", "*.log", "build/", "!build/keep.txt", "**/tmp", "/secret"])
    assert rules.excluded("a.log") and not rules.excluded("dir/a.log")
    assert rules.excluded("build/x") and not rules.excluded("build/keep.txt")
    assert rules.excluded("deep/down/tmp") and rules.excluded("tmp/file")
    assert rules.excluded("secret") and not rules.excluded("other")


def test_context_extraction_refuses_escapes(tmp_path: Path) -> None:
    bad = tmp_path / "bad.tar"
    with tarfile.open(bad, "w") as tf:
        link = tarfile.TarInfo("esc")
        link.type, link.linkname = tarfile.SYMTYPE, "/"
        tf.addfile(link)
        info = tarfile.TarInfo("esc/tmp/pwned")
        tf.addfile(info)
    (tmp_path / "out").mkdir()
    with pytest.raises(InvalidParameter, match="outside of the destination"):
        extract_context(bad, tmp_path / "out")
    assert not os.path.exists("/tmp/pwned")


