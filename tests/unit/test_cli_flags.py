"""Flag parsing like pflag, usage errors and help like the docker CLI, and the command table."""

from __future__ import annotations

import importlib

import pytest

from sangja.cli import registry
from sangja.cli.flags import Bool, Flag, FlagError, HelpRequested, Int, List, Str, format_flag_usages, parse
from tests.unit.test_cli_fake_api import invoke

FLAGS = [
    Bool("detach", "d"), Bool("interactive", "i"), Bool("tty", "t"), Bool("rm"),
    List("env", "e"), Str("name"), Int("last", "n", default=-1), Str("hostname", "h"),
]


def test_grouped_short_booleans_and_attached_values() -> None:
    opts, args = parse(FLAGS, ["-dit", "-eA=1", "-e=B=2", "-e", "C=3", "--env=D=4", "--name", "x", "img"])
    assert (opts.detach, opts.interactive, opts.tty) == (True, True, True)
    assert opts.env == ["A=1", "B=2", "C=3", "D=4"]
    assert opts.name == "x" and args == ["img"]
    assert opts.changed == {"detach", "interactive", "tty", "env", "name"}


def test_booleans_take_explicit_values_only_with_equals() -> None:
    opts, args = parse(FLAGS, ["--rm=false", "-d=true", "true"])
    assert opts.rm is False and opts.detach is True and args == ["true"]


def test_non_interspersed_stops_at_the_first_argument() -> None:
    opts, args = parse(FLAGS, ["-d", "busybox", "sh", "-c", "ls -l", "--rm"], interspersed=False)
    assert opts.detach and not opts.rm
    assert args == ["busybox", "sh", "-c", "ls -l", "--rm"]


def test_interspersed_collects_flags_after_arguments_and_honours_double_dash() -> None:
    opts, args = parse(FLAGS, ["a", "--rm", "b", "--", "-d"])
    assert opts.rm and not opts.detach and args == ["a", "b", "-d"]


@pytest.mark.parametrize(("argv", "message"), [
    (["--nope"], "unknown flag: --nope"),
    (["-z"], "unknown shorthand flag: 'z' in -z"),
    (["-dz"], "unknown shorthand flag: 'z' in -dz"),
    (["--name"], "flag needs an argument: --name"),
    (["-e"], "flag needs an argument: 'e' in -e"),
    (["-n", "x"], 'invalid argument "x" for "-n, --last" flag: strconv.ParseInt: parsing "x": invalid syntax'),
    (["--rm=maybe"], 'invalid argument "maybe" for "--rm" flag: strconv.ParseBool: parsing "maybe": invalid syntax'),
])
def test_pflag_error_messages(argv: list[str], message: str) -> None:
    with pytest.raises(FlagError) as info:
        parse(FLAGS, argv)
    assert str(info.value) == message


def test_help_flag_and_h_unless_taken() -> None:
    with pytest.raises(HelpRequested):
        parse(FLAGS, ["--help"])
    opts, _ = parse(FLAGS, ["-h", "myhost"])
    assert opts.hostname == "myhost"
    with pytest.raises(HelpRequested):
        parse([Bool("all", "a")], ["-h"])


def test_flag_usages_layout_like_pflag() -> None:
    text = format_flag_usages([Str("signal", "s", "Signal to send to the container"),
                               Int("timeout", "t", "Seconds to wait before killing the container")])
    assert text == ("  -s, --signal string   Signal to send to the container\n"
                    "  -t, --timeout int     Seconds to wait before killing the container")


def test_flag_usages_wrap_and_show_defaults() -> None:
    text = format_flag_usages([Int("last", "n", "Show n last created containers (includes all states)", -1),
                               Flag("no-trunc", kind="bool", help="Don't truncate output")])
    assert text.splitlines() == [
        "  -n, --last int   Show n last created containers (includes all states)",
        "                   (default -1)",
        "      --no-trunc   Don't truncate output",
    ]


# -- through the dispatcher ---------------------------------------------------------------------------

def test_argument_count_errors_exit_1_with_usage() -> None:
    rc, _out, err = invoke(None, ["rm"])
    assert rc == 1
    assert err == ("sangja: 'sangja rm' requires at least 1 argument\n\n"
                   "Usage:  sangja rm [OPTIONS] CONTAINER [CONTAINER...]\n\n"
                   "See 'sangja rm --help' for more information\n")
    rc, _, err = invoke(None, ["container", "ls", "x"])
    assert rc == 1 and err.startswith("sangja: 'sangja container ls' accepts no arguments\n")


def test_flag_errors_exit_125_with_usage() -> None:
    rc, _out, err = invoke(None, ["ps", "--bogus"])
    assert rc == 125
    assert err == ("unknown flag: --bogus\n\nUsage:  sangja ps [OPTIONS]\n\n"
                   "Run 'sangja ps --help' for more information\n")


def test_unknown_commands() -> None:
    assert invoke(None, ["frobnicate"])[0:3:2] == (1, "sangja: unknown command: sangja frobnicate\n\n"
                                                      "Run 'sangja --help' for more information\n")
    rc, _, err = invoke(None, ["image", "frob"])
    assert rc == 1 and err.startswith("sangja: unknown command: sangja image frob\n")


def test_help_output() -> None:
    rc, out, _ = invoke(None, ["rm", "--help"])
    assert rc == 0
    assert out.startswith("Usage:  sangja rm [OPTIONS] CONTAINER [CONTAINER...]\n\nRemove one or more containers\n\n"
                          "Aliases:\n  sangja container rm, sangja container remove, sangja rm\n\nOptions:\n")
    assert "  -f, --force     Force the removal of a running container (uses SIGKILL)" in out
    rc, out, _ = invoke(None, ["container", "ls", "--help"])
    assert out.startswith("Usage:  sangja container ls [OPTIONS]\n")
    rc, out, _ = invoke(None, ["help", "stop"])
    assert rc == 0 and out.startswith("Usage:  sangja stop [OPTIONS] CONTAINER [CONTAINER...]")
    rc, out, _ = invoke(None, ["--help"])
    assert rc == 0 and "Management Commands:" in out and "  run         Create and run" in out
    rc, out, _ = invoke(None, ["image"])
    assert rc == 0 and out.startswith("Usage:  sangja image COMMAND\n\nManage images\n\nCommands:\n")
    assert "  ls          List images" in out and "  list " not in out


def test_version_flag() -> None:
    assert invoke(None, ["-v"])[1].startswith("sangja version ")


def test_host_precedence() -> None:
    from sangja.cli.main import GlobalOptions, resolve_host

    g = GlobalOptions()
    assert resolve_host(g, {}) == "unix:///run/sangja/sangja.sock"
    assert resolve_host(g, {"DOCKER_HOST": "unix:///d"}) == "unix:///d"
    assert resolve_host(g, {"DOCKER_HOST": "unix:///d", "SANGJA_HOST": "unix:///s"}) == "unix:///s"
    g.hosts = ["unix:///h"]
    assert resolve_host(g, {"DOCKER_HOST": "unix:///d", "SANGJA_HOST": "unix:///s"}) == "unix:///h"


def test_every_command_module_matches_the_table() -> None:
    modules = {mod for mod, _ in registry.COMMANDS.values()}
    for _, (_, subs) in registry.GROUPS.items():
        modules.update(subs.values())
    for name in sorted(modules):
        module = importlib.import_module(f"sangja.cli.commands.{name}")
        assert module.SPEC.short == registry.short_for(name), name
        assert callable(module.run)
