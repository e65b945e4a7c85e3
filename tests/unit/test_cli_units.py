"""Human units, timestamps and the table layout, as docker prints them."""

from __future__ import annotations

import pytest

from sangja.cli.formatter import HeaderContext, Row, ellipsis, render, template_string, truncate_id
from sangja.cli.tabwriter import tabulate
from sangja.cli.units import (
    bytes_size,
    from_human_size,
    get_timestamp,
    go_duration_string,
    human_duration,
    human_size,
    parse_go_duration,
    parse_rfc3339,
    ram_in_bytes,
)


@pytest.mark.parametrize(("seconds", "text"), [
    (0.4, "Less than a second"), (1, "1 second"), (3, "3 seconds"), (59, "59 seconds"),
    (60, "About a minute"), (119, "About a minute"), (120, "2 minutes"), (3599, "59 minutes"),
    (3600, "About an hour"), (5399, "About an hour"), (5400, "2 hours"), (47 * 3600, "47 hours"),
    (48 * 3600, "2 days"), (13 * 86400, "13 days"), (14 * 86400, "2 weeks"), (59 * 86400, "8 weeks"),
    (60 * 86400, "2 months"), (729 * 86400, "24 months"), (730 * 86400, "2 years"),
])
def test_human_duration(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text


@pytest.mark.parametrize(("size", "precision", "text"), [
    (0, 3, "0B"), (999, 3, "999B"), (1000, 3, "1kB"), (1984000, 3, "1.98MB"), (4260000, 3, "4.26MB"),
    (1984000, 4, "1.984MB"), (999_500, 3, "1e+03kB"), (5 * 10**12, 3, "5TB"), (123456789, 4, "123.5MB"),
])
def test_human_size(size: int, precision: int, text: str) -> None:
    assert human_size(size, precision) == text


def test_bytes_size_uses_binary_units() -> None:
    assert bytes_size(25_275_920_384) == "23.54GiB"
    assert bytes_size(512) == "512B"


def test_size_parsers() -> None:
    assert ram_in_bytes("64m") == 64 * 1024**2
    assert ram_in_bytes("1.5g") == int(1.5 * 1024**3)
    assert ram_in_bytes("10") == 10
    assert ram_in_bytes("2KiB") == 2048
    assert from_human_size("1.5GB") == 1_500_000_000
    for bad, message in [("abc", "invalid size: 'abc'"), ("10x", "invalid suffix: 'x'"),
                         ("1bb", "invalid suffix: 'bb'")]:
        with pytest.raises(ValueError, match=message):
            ram_in_bytes(bad)


def test_go_durations() -> None:
    assert parse_go_duration("1h30m") == 5400
    assert parse_go_duration("1.5s") == 1.5
    assert parse_go_duration("-2m") == -120
    assert parse_go_duration("300ms") == pytest.approx(0.3)
    with pytest.raises(ValueError, match='time: invalid duration "x"'):
        parse_go_duration("x")
    with pytest.raises(ValueError, match='missing unit in duration "10"'):
        parse_go_duration("10")
    assert go_duration_string(90) == "1m30s"
    assert go_duration_string(7205) == "2h0m5s"
    assert go_duration_string(0) == "0s"


def test_get_timestamp_accepts_durations_dates_and_unix_times() -> None:
    now = 1_700_000_000.0
    assert get_timestamp("10m", now) == "1699999400"
    assert get_timestamp("1700000000", now) == "1700000000"
    assert get_timestamp("1700000000.5", now) == "1700000000.5"
    assert get_timestamp("2023-11-14T22:13:20Z", now) == "1700000000.000000000"
    assert get_timestamp("2023-11-14T22:13:20.25+00:00", now) == "1700000000.250000000"
    with pytest.raises(ValueError, match='failed to parse value as time or duration: "yesterday"'):
        get_timestamp("yesterday", now)


def test_parse_rfc3339_nanoseconds_and_zero_time() -> None:
    assert parse_rfc3339("2023-11-14T22:13:20.123456789Z") == pytest.approx(1_700_000_000.123456789)
    assert parse_rfc3339("0001-01-01T00:00:00Z") == 0.0


# -- table layout (Go's tabwriter with docker's settings: minwidth 10, padding 3) ------------------

def test_tabwriter_pads_columns_to_widest_cell_plus_three() -> None:
    text = "CONTAINER ID\tNAMES\tSTATUS\nabc\tweb\tUp 2 seconds\nabcdef\tdatabase-1\tExited (0)\n"
    assert tabulate(text) == (
        "CONTAINER ID   NAMES        STATUS\n"
        "abc            web          Up 2 seconds\n"
        "abcdef         database-1   Exited (0)\n"
    )


def test_tabwriter_minimum_width_and_trailing_cells() -> None:
    assert tabulate("A\tB\nx\ty\n") == "A         B\nx         y\n"
    assert tabulate("PORTS\tNAMES\n\tweb\n") == "PORTS     NAMES\n          web\n"


def test_tabwriter_lines_without_tabs_end_a_column_block() -> None:
    # Go flushes at a line with a single cell, so the two blocks are aligned separately.
    text = "a\tb\nlonger-cell-here\tc\nplain line\nx\ty\n"
    assert tabulate(text) == "a" + " " * 18 + "b\nlonger-cell-here   c\nplain line\nx         y\n"


def test_tabwriter_counts_wide_characters_twice() -> None:
    assert tabulate("名前\tx\nab\ty\n") == "名前      x\nab        y\n"


# -- formatter ----------------------------------------------------------------------------------------

class Item(Row):
    GO_TYPE = "*formatter.test"
    FIELDS = ("Name", "Size")

    def __init__(self, name: str, size: str) -> None:
        self.name, self.size = name, size

    def Name(self) -> str:
        return self.name

    def Size(self) -> str:
        return self.size


HEADERS = {"Name": "NAME", "Size": "SIZE"}


def test_table_format_has_header_and_alignment() -> None:
    rows = [Item("a", "1kB"), Item("bbbbbbbbbbbb", "2MB")]
    assert render("table {{.Name}}\\t{{.Size}}", rows, HEADERS) == (
        "NAME           SIZE\na              1kB\nbbbbbbbbbbbb   2MB\n")


def test_table_header_is_printed_without_rows() -> None:
    assert render("table {{.Name}}\t{{.Size}}", [], HEADERS) == "NAME      SIZE\n"


def test_plain_template_and_json() -> None:
    rows = [Item("a<b", "1kB")]
    assert render("{{.Name}}:{{.Size}}", rows, HEADERS) == "a<b:1kB\n"
    assert render("json", rows, HEADERS) == '{"Name":"a\\u003cb","Size":"1kB"}\n'


def test_label_header_names_the_last_dotted_part() -> None:
    assert HeaderContext().Label("com.docker.compose.project-name") == "project name"


def test_template_string_preprocessing() -> None:
    assert template_string("table {{.ID}}\\t{{.Names}}") == "{{.ID}}\t{{.Names}}"
    assert template_string("json") == "{{json .}}"
    assert template_string("  {{.ID}}\\n") == "{{.ID}}\n"


def test_ids_and_ellipsis() -> None:
    assert truncate_id("sha256:77a7a59f3807ddd7289cc745aa66") == "77a7a59f3807"
    assert ellipsis("echo 'a long command line'", 20) == "echo 'a long comman…"
    assert ellipsis("short", 20) == "short"
    assert ellipsis("日本語のテキスト", 7) == "日本語…"
