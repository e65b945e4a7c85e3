"""The Go text/template subset behind --format, against Go's and docker's documented behaviour."""

from __future__ import annotations

from typing import Any

import pytest

from sangja.cli.gofmt import HEADER_FUNCS, MISSING, fmt_v, go_float, go_printf, go_quote
from sangja.cli.gotemplate import TemplateError, parse

INSPECT = {
    "Id": "8a329238f1697d1c81e9b87ccb77e38b97390202ca3a4754dd5790f56d3efad8",
    "Name": "/web",
    "Args": ["-g", "daemon off;"],
    "State": {"Status": "running", "Running": True, "Pid": 4242, "ExitCode": 0, "Health": None},
    "Config": {"Image": "nginx:1.25", "Env": ["PATH=/usr/bin", "A=1"], "Cmd": None,
               "Labels": {"com.example.vendor": "ACME", "b": "2"}},
    "NetworkSettings": {"Networks": {"bridge": {"IPAddress": "172.17.0.2"}, "backend": {"IPAddress": "10.0.0.5"}}},
    "Mounts": [{"Source": "/srv/a", "Destination": "/a"}, {"Source": "/srv/b", "Destination": "/b"}],
    "HostConfig": {"Memory": 67108864, "NanoCpus": 1500000000},
}


def render(src: str, data: Any = INSPECT, **kw: Any) -> str:
    return parse(src).execute(data, **kw)


# -- docker's documented --format examples (docs/config/formatting.md) -------------------------

@pytest.mark.parametrize(("src", "expected"), [
    ('{{join .Args " , "}}', "-g , daemon off;"),
    ("{{json .Mounts}}", '[{"Source":"/srv/a","Destination":"/a"},{"Source":"/srv/b","Destination":"/b"}]'),
    ('{{lower "ALPINE"}}', "alpine"),
    ('{{split .Config.Image ":"}}', "[nginx 1.25]"),
    ('{{title "web server"}}', "Web Server"),
    ('{{upper .Name}}', "/WEB"),
    ("{{println .Name}}", "/web\n"),
    ("{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}", "10.0.0.5 172.17.0.2 "),
    ('{{index .Config.Labels "com.example.vendor"}}', "ACME"),
    ("{{.State.Pid}}", "4242"),
    ("{{truncate .Id 12}}", "8a329238f169"),
    ("{{pad .Name 2 1}}|", "  /web |"),
    ("{{.State.Running}} {{.State.Health}} {{.Config.Cmd}}", "true <nil> <nil>"),
    ("{{.Config.Env}} {{.Config.Labels}}", "[PATH=/usr/bin A=1] map[b:2 com.example.vendor:ACME]"),
    ("{{.HostConfig.Memory}}", "67108864"),
])
def test_documented_examples(src: str, expected: str) -> None:
    assert render(src) == expected


def test_nested_fields_and_pipelines() -> None:
    assert render("{{.State.Status | upper}}") == "RUNNING"
    assert render("{{.Config.Labels | json}}") == '{"com.example.vendor":"ACME","b":"2"}'
    assert render('{{printf "%s-%d" .Config.Image .State.Pid | upper}}') == "NGINX:1.25-4242"


def test_if_else_chains_and_comparisons() -> None:
    src = '{{if eq .State.Status "exited"}}down{{else if eq .State.Status "running"}}up{{else}}?{{end}}'
    assert render(src) == "up"
    assert render("{{if gt .State.Pid 100}}big{{end}}") == "big"
    assert render('{{if ne .Config.Image "x"}}y{{end}}') == "y"
    assert render('{{if eq .State.Status "a" "running"}}any-of{{end}}') == "any-of"
    assert render("{{if and .State.Running (not .State.ExitCode)}}ok{{end}}") == "ok"
    assert render('{{or .Config.Cmd "default"}}') == "default"
    assert render("{{if .Config.Cmd}}has{{else}}none{{end}}") == "none"


def test_range_with_variables_else_break_and_continue() -> None:
    assert render("{{range $i, $m := .Mounts}}{{$i}}:{{$m.Destination}} {{end}}") == "0:/a 1:/b "
    assert render("{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}}") == "b=2;com.example.vendor=ACME;"
    assert render("{{range .Config.Cmd}}x{{else}}empty{{end}}") == "empty"
    assert render('{{range .Mounts}}{{if eq .Source "/srv/a"}}{{continue}}{{end}}{{.Source}}{{end}}') == "/srv/b"
    assert render("{{range .Mounts}}{{.Source}}{{break}}{{end}}") == "/srv/a"
    assert render("{{range $m := .Mounts}}{{$.Name}}{{end}}") == "/web/web"


def test_with_and_variable_scopes() -> None:
    assert render("{{with .State}}{{.Status}}/{{$.Name}}{{end}}") == "running//web"
    assert render("{{with .Nope}}x{{else}}fallback{{end}}") == "fallback"
    assert render("{{$x := 1}}{{if true}}{{$x = 2}}{{end}}{{$x}}") == "2"
    assert render("{{$n := len .Mounts}}{{$n}}") == "2"


def test_trim_markers_and_comments() -> None:
    assert render("a  {{- .State.Pid -}}  \n b") == "a4242b"
    assert render("{{/* a comment */}}x {{- /* trimmed */ -}} y") == "xy"
    assert render("{{-3}}") == "-3"  # not a trim marker without the space


def test_literals_and_parenthesized_chains() -> None:
    assert render('{{"a\\tb"}}|{{`raw\\n`}}|{{1.5}}|{{0x10}}|{{true}}|{{print nil}}') == "a\tb|raw\\n|1.5|16|true|<nil>"
    with pytest.raises(TemplateError, match="nil is not a command"):
        render("{{nil}}")
    assert render("{{(index .Mounts 1).Source}}") == "/srv/b"
    assert render("{{len (split .Config.Image \":\")}}") == "2"


def test_define_and_template() -> None:
    assert render('{{define "m"}}[{{.Source}}]{{end}}{{range .Mounts}}{{template "m" .}}{{end}}') == "[/srv/a][/srv/b]"


def test_missing_keys_print_no_value_or_error_like_docker_inspect() -> None:
    assert render("{{.Nope}}") == "<no value>"
    with pytest.raises(TemplateError) as info:
        render("{{.Id}} {{.Foo}}", missingkey_error=True)
    assert str(info.value) == 'template: :1:10: executing "" at <.Foo>: map has no entry for key "Foo"'


def test_errors_match_go_text() -> None:
    cases = {
        "{{.Id": "template: :1: unclosed action",
        "{{foo .Id}}": 'template: :1: function "foo" not defined',
        "{{end}}": "template: :1: unexpected {{end}}",
        "{{if .Id}}x": "template: :1: unexpected EOF",
        "{{$x}}": 'template: :1: undefined variable "$x"',
    }
    for src, message in cases.items():
        with pytest.raises(TemplateError) as info:
            parse(src)
        assert str(info.value) == message, src
    with pytest.raises(TemplateError, match=r"at <\.Name\.Foo>: can't evaluate field Foo in type string"):
        render("{{.Name.Foo}}")
    with pytest.raises(TemplateError, match=r"at <index \.Mounts 5>: error calling index: index out of range: 5"):
        render("{{index .Mounts 5}}")
    with pytest.raises(TemplateError, match=r"^template: :1:6: executing"):
        render("{{.Foo.Bar}}", missingkey_error=True)  # Go positions a chain at its second field


class Row:
    GO_TYPE = "*formatter.ContainerContext"

    def ID(self) -> str:
        return "abc"

    def Label(self, name: str) -> str:
        return {"k": "v"}.get(name, "")


def test_objects_expose_go_methods_with_arguments() -> None:
    assert render('{{.ID}} {{.Label "k"}} [{{.Label "x"}}]', Row()) == "abc v []"
    with pytest.raises(TemplateError, match=r"can't evaluate field Nope in type \*formatter.ContainerContext"):
        render("{{.Nope}}", Row())


def test_header_functions_keep_column_names() -> None:
    headers = {"Names": "NAMES", "Image": "IMAGE"}
    tmpl = parse('{{upper .Names}}\t{{truncate .Image 2}}\t{{json .Names}}')
    assert tmpl.execute(headers, funcs=HEADER_FUNCS) == "NAMES\tIMAGE\tNAMES"


def test_field_names_lists_every_field_used() -> None:
    assert parse("{{.ID}} {{if .Size}}{{(index .Mounts 0).Source}}{{end}}").field_names() == {"ID", "Size", "Mounts",
                                                                                             "Source"}


# -- Go's fmt --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "text"), [
    (None, "<nil>"), (MISSING, "<no value>"), (True, "true"), (3, "3"), (0.5, "0.5"), (1e6, "1e+06"),
    (123456.0, "123456"), (1e-5, "1e-05"), ([1, "a", None], "[1 a <nil>]"),
    ({"b": 1, "a": [True]}, "map[a:[true] b:1]"),
])
def test_fmt_v_matches_go(value: Any, text: str) -> None:
    assert fmt_v(value) == text


def test_go_float_shortest_digits() -> None:
    assert go_float(1048576.0) == "1.048576e+06"
    assert go_float(-2.5) == "-2.5"
    assert go_float(0.0001) == "0.0001"


def test_go_quote_escapes_like_strconv() -> None:
    assert go_quote('echo "hi"\n\ttab\x01é') == '"echo \\"hi\\"\\n\\ttab\\x01é"'


def test_printf_verbs() -> None:
    assert go_printf("%s|%5s|%-5s|%d|%05d|%q|%v|%t|%.2f|%x|%%", ["a", "b", "c", 7, 42, "q", [1, 2], True, 3.14159, 255]
                     ) == 'a|    b|c    |7|00042|"q"|[1 2]|true|3.14|ff|%'
    assert go_printf("%d %d", [1]) == "1 %!d(MISSING)"
    assert go_printf("%s", ["a", "b"]) == "a%!(EXTRA string=b)"
