"""Reference parsing and normalisation, against cases from distribution/reference's tests and
the messages dockerd returns."""

from __future__ import annotations

import pytest

from sangja.errors import InvalidParameter
from sangja.image.reference import (
    parse,
    parse_any_reference,
    parse_docker_ref,
    parse_normalized_named,
    path_match,
    repo_tag_reference,
    validate_digest,
)

HEX = "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
ID = "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a"


@pytest.mark.parametrize(
    "name",
    [
        "docker/docker",
        "library/debian",
        "debian",
        "localhost/library/debian",
        "localhost/debian",
        "LOCALDOMAIN/library/debian",
        "LOCALDOMAIN/debian",
        "docker.io/docker/docker",
        "docker.io/library/debian",
        "docker.io/debian",
        "index.docker.io/docker/docker",
        "index.docker.io/library/debian",
        "index.docker.io/debian",
        "127.0.0.1:5000/docker/docker",
        "127.0.0.1:5000/library/debian",
        "127.0.0.1:5000/debian",
        "192.168.0.1",
        "192.168.0.1:80",
        "192.168.0.1:8/debian",
        "192.168.0.2:25000/debian",
        "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev",
        "[fc00::1]:5000/docker",
        "[fc00::1]:5000/docker/docker",
        "[fc00:1:2:3:4:5:6:7]:5000/library/debian",
        f"docker.io/{ID}",
        "Docker/docker",
        "DOCKER/docker",
        "docker-rules/docker",
        "docker---rules/docker",
        "d/docker",
        "jess/t",
        "dock__er/docker",
    ],
)
def test_valid_repository_names(name: str) -> None:
    parse_normalized_named(name)


@pytest.mark.parametrize(
    "name",
    [
        "https://github.com/docker/docker",
        "docker/Docker",
        "-docker",
        "-docker/docker",
        "-docker.io/docker/docker",
        "docker///docker",
        "docker.io/docker/Docker",
        "docker.io/docker///docker",
        "[fc00::1]",
        "[fc00::1]:5000",
        "fc00::1:5000/debian",
        "[fe80::1%eth0]:5000/debian",
        "[2001:db8:3:4::192.0.2.33]:5000/debian",
        ID,
        "docker-/docker",
        "-docker-/docker",
        "____/____",
        "_docker/_docker",
        "dock..er/docker",
        "dock_.er/docker",
        "dock-.er/docker",
        "docker/",
        "x" * 256 + "/docker",
        "",
        "a b",
        "busybox:",
        "busybox@",
    ],
)
def test_invalid_repository_names(name: str) -> None:
    with pytest.raises(InvalidParameter):
        parse_normalized_named(name)


@pytest.mark.parametrize(
    ("given", "familiar", "full", "domain", "path"),
    [
        ("localhost/fooo", "localhost/fooo", "localhost/fooo", "localhost", "fooo"),
        ("localhost/fooo/bar", "localhost/fooo/bar", "localhost/fooo/bar", "localhost", "fooo/bar"),
        ("LOCALDOMAIN/fooo", "LOCALDOMAIN/fooo", "LOCALDOMAIN/fooo", "LOCALDOMAIN", "fooo"),
        ("fooo/bar", "fooo/bar", "docker.io/fooo/bar", "docker.io", "fooo/bar"),
        ("index.docker.io/fooo/bar", "fooo/bar", "docker.io/fooo/bar", "docker.io", "fooo/bar"),
        ("ubuntu", "ubuntu", "docker.io/library/ubuntu", "docker.io", "library/ubuntu"),
        ("library/ubuntu", "ubuntu", "docker.io/library/ubuntu", "docker.io", "library/ubuntu"),
        ("docker.io/foo", "foo", "docker.io/library/foo", "docker.io", "library/foo"),
        ("nonlibrary/ubuntu", "nonlibrary/ubuntu", "docker.io/nonlibrary/ubuntu", "docker.io", "nonlibrary/ubuntu"),
        ("other/library", "other/library", "docker.io/other/library", "docker.io", "other/library"),
        ("127.0.0.1:8000/privatebase", "127.0.0.1:8000/privatebase", "127.0.0.1:8000/privatebase",
         "127.0.0.1:8000", "privatebase"),
        ("example.com:8000/private/moonbase", "example.com:8000/private/moonbase",
         "example.com:8000/private/moonbase", "example.com:8000", "private/moonbase"),
        ("ubuntu-12.04-base", "ubuntu-12.04-base", "docker.io/library/ubuntu-12.04-base", "docker.io",
         "library/ubuntu-12.04-base"),
        ("library/foo/bar", "library/foo/bar", "docker.io/library/foo/bar", "docker.io", "library/foo/bar"),
        ("Foo/bar", "Foo/bar", "Foo/bar", "Foo", "bar"),
    ],
)
def test_normalisation_and_familiar_form(given: str, familiar: str, full: str, domain: str, path: str) -> None:
    ref = parse_normalized_named(given)
    assert (ref.familiar_name, str(ref), ref.domain, ref.path) == (familiar, full, domain, path)


def test_tag_and_digest_are_kept_and_printed_familiar() -> None:
    short = f"busybox:latest@sha256:{'86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa'}"
    ref = parse_normalized_named(short)
    assert str(ref) == "docker.io/library/" + short
    assert ref.familiar() == short
    assert ref.tag == "latest"
    assert ref.digest.startswith("sha256:86e0")


def test_no_default_tag_until_asked() -> None:
    ref = parse_normalized_named("busybox")
    assert ref.tag == "" and ref.name_only
    assert ref.tag_name_only().familiar() == "busybox:latest"
    assert parse_normalized_named("localhost:5000/x:1").familiar() == "localhost:5000/x:1"


def test_parse_docker_ref_drops_the_tag_of_a_digested_reference() -> None:
    ref = parse_docker_ref(f"busybox:1@sha256:{HEX}")
    assert ref.familiar() == f"busybox@sha256:{HEX}"
    assert parse_docker_ref("busybox").familiar() == "busybox:latest"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("Busybox", "invalid reference format: repository name (library/Busybox) must be lowercase"),
        ("Uppercase:tag", "invalid reference format: repository name (library/Uppercase) must be lowercase"),
        ("test:5000/Uppercase/lowercase:tag",
         "invalid reference format: repository name (Uppercase/lowercase) must be lowercase"),
        (ID, f"invalid repository name ({ID}), cannot specify 64-byte hexadecimal strings"),
        ("a b", "invalid reference format"),
        (":justtag", "invalid reference format"),
        (f"@sha256:{HEX}", "invalid reference format"),
        ("aa/asdf$$^/aa", "invalid reference format"),
        ("repo@sha256:ffffffffffffffffffffffffffffffffff", "invalid checksum digest length"),
        (f"validname@invaliddigest:{HEX}", "unsupported digest algorithm"),
        ("domain/" + "a" * 256 + ":tag", "repository name must not be more than 255 characters"),
        ("busybox:-tag", "invalid reference format"),
    ],
)
def test_dockers_error_messages(value: str, message: str) -> None:
    with pytest.raises(InvalidParameter) as exc:
        parse_normalized_named(value)
    assert exc.value.message == message


def test_plain_parse_does_not_normalise() -> None:
    ref = parse("example.com/repo:tag")
    assert (ref.domain, ref.path, ref.tag) == ("example.com", "repo", "tag")
    ref = parse("foo/bar")  # ambiguous without normalisation: the first part is taken as domain
    assert (ref.domain, ref.path) == ("foo", "bar")
    with pytest.raises(InvalidParameter, match="repository name must have at least one component"):
        parse("")
    with pytest.raises(InvalidParameter, match=r"^repository name must be lowercase$"):
        parse("Uppercase:tag")


def test_tags_follow_dockers_rule() -> None:
    ref = parse_normalized_named("busybox")
    assert ref.with_tag("a" * 128).tag == "a" * 128
    assert ref.with_tag("_x.Y-1").tag == "_x.Y-1"
    for bad in ("a" * 129, "-x", ".x", "a/b", "", "é"):
        with pytest.raises(InvalidParameter, match="invalid tag format"):
            ref.with_tag(bad)


def test_a_64_hex_string_is_an_id_and_a_digest_is_a_digest() -> None:
    assert parse_any_reference(ID) == "sha256:" + ID
    assert parse_any_reference("sha256:" + HEX) == "sha256:" + HEX
    short = parse_any_reference("1a3f5e")  # a short ID parses as a name; lookup tries both
    assert not isinstance(short, str) and short.familiar() == "1a3f5e"


@pytest.mark.parametrize(
    ("digest", "message"),
    [
        ("sha256", "invalid checksum digest format"),
        ("sha256:", "invalid checksum digest format"),
        (":abc", "invalid checksum digest format"),
        ("sha256:abc", "invalid checksum digest length"),
        ("sha256:" + "F" * 64, "invalid checksum digest format"),
        ("md5:" + "a" * 32, "unsupported digest algorithm"),
    ],
)
def test_digest_validation(digest: str, message: str) -> None:
    with pytest.raises(InvalidParameter) as exc:
        validate_digest(digest)
    assert exc.value.message == message


def test_repo_tag_reference_for_import_and_tag() -> None:
    assert repo_tag_reference("", "x") is None
    ref = repo_tag_reference("busybox", "")
    assert ref is not None and ref.familiar() == "busybox:latest"
    ref = repo_tag_reference("localhost:5000/x", "v1")
    assert ref is not None and ref.familiar() == "localhost:5000/x:v1"
    with pytest.raises(InvalidParameter, match="cannot import digest reference"):
        repo_tag_reference(f"busybox@sha256:{HEX}", "")
    with pytest.raises(InvalidParameter, match="invalid tag format"):
        repo_tag_reference("busybox", "bad tag")


@pytest.mark.parametrize(
    ("pattern", "name", "matches"),
    [
        ("busy*", "busybox:latest", True),
        ("*", "busybox", True),
        ("*", "library/busybox", False),  # Go's path.Match: * never crosses "/"
        ("*/*", "library/busybox", True),
        ("busybox:1.?", "busybox:1.3", True),
        ("busybox:[0-9]*", "busybox:1.36", True),
        ("busybox:[^0-9]*", "busybox:1.36", False),
        ("busybox", "busybox:latest", False),
        ("docker.io/library/*", "docker.io/library/busybox", True),
    ],
)
def test_reference_filter_patterns_are_go_path_match(pattern: str, name: str, matches: bool) -> None:
    assert path_match(pattern, name) is matches


def test_bad_pattern_is_an_error() -> None:
    with pytest.raises(InvalidParameter, match="syntax error in pattern"):
        path_match("[", "x")
