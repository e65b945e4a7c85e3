"""The parts of a pull's layer pipeline that need no registry: following a blob while it is
downloaded, preparing layers out of sight and publishing them, the start-up cleanup of what a
kill -9 leaves inside layer directories, and /info's RegistryConfig."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import threading
from pathlib import Path

import pytest

from sangja.distribution import layerblobs
from sangja.distribution.endpoint import endpoint_for
from sangja.distribution.follow import Aborted, GrowingFile, Restarted
from sangja.distribution.registry_info import registry_config
from sangja.image.compression import inflate_to
from sangja.image.fsops import RecordingFsOps
from sangja.image.layers import LayerStore
from tests.support.swagger import validate
from tests.unit.test_image_support import digest, file, tar_bytes

# -- GrowingFile ----------------------------------------------------------------------


def _writer(path: Path, data: bytes, follower: GrowingFile, step: int, finish: bool = True) -> threading.Thread:
    def run() -> None:
        with path.open("wb", buffering=0) as out:
            for i in range(0, len(data), step):
                out.write(data[i : i + step])
                follower.advance(min(i + step, len(data)))
        if finish:
            follower.finish()

    t = threading.Thread(target=run)
    t.start()
    return t


def test_a_followed_blob_inflates_to_the_same_result_as_the_finished_file(tmp_path: Path) -> None:
    tar = tar_bytes([file("a", os.urandom(300_000)), file("b", b"text " * 50_000)])
    blob = gzip.compress(tar, mtime=0)
    follower = GrowingFile(tmp_path / "blob")
    writer = _writer(tmp_path / "blob", blob, follower, 4093)
    got = inflate_to(follower, tmp_path / "out.tar")  # type: ignore[arg-type]
    writer.join(10)
    follower.close()
    assert (tmp_path / "out.tar").read_bytes() == tar
    assert got.diff_id == digest(tar) and got.blob_digest == digest(blob) and got.compression == "gzip"


def test_the_end_is_only_seen_after_finish(tmp_path: Path) -> None:
    follower = GrowingFile(tmp_path / "blob")
    (tmp_path / "blob").write_bytes(b"0123456789")
    follower.advance(10)
    assert follower.read(4) == b"0123"
    result: list[bytes] = []
    reader = threading.Thread(target=lambda: result.append(follower.read(100)))
    reader.start()
    reader.join(0.2)
    assert reader.is_alive(), "read() returned before the download was verified"
    follower.finish()
    reader.join(10)
    assert result == [b"456789"]
    assert follower.read(10) == b""
    follower.close()


def test_abort_and_restart_wake_the_reader_with_an_error(tmp_path: Path) -> None:
    (tmp_path / "blob").write_bytes(b"x" * 100)
    follower = GrowingFile(tmp_path / "blob")
    follower.advance(100)
    assert follower.read(50) == b"x" * 50
    follower.advance(10)            # the download started over (a Range request ignored)
    with pytest.raises(Restarted):
        follower.read(10)
    other = GrowingFile(tmp_path / "blob")
    errors: list[BaseException] = []

    def read() -> None:
        try:
            other.read(10)
        except BaseException as exc:
            errors.append(exc)

    reader = threading.Thread(target=read)
    reader.start()
    other.abort()
    reader.join(10)
    assert len(errors) == 1 and isinstance(errors[0], Aborted)
    with pytest.raises(Aborted):
        other.wait_done()
    follower.close()


# -- prepared layers ----------------------------------------------------------------------


def test_a_prepared_layer_is_invisible_until_committed_and_discard_leaves_nothing(tmp_path: Path) -> None:
    store = LayerStore(tmp_path / "layers", RecordingFsOps())
    base, top = tar_bytes([file("a", b"base")]), tar_bytes([file("b", b"top")])
    (tmp_path / "base.tar").write_bytes(base)
    (tmp_path / "top.tar").write_bytes(top)
    # Prepared in any order (the top first), committed bottom first.
    p_top = store.prepare(tmp_path / "top.tar", digest(top), digest(base), sync=False)
    p_base = store.prepare(tmp_path / "base.tar", digest(base), "")
    assert store.chain_ids() == [] and not store.exists(p_base.layer.chain_id)
    store.commit(p_base)
    top_layer = store.commit(p_top)
    assert sorted(store.chain_ids()) == sorted([digest(base), top_layer.chain_id])
    assert store.tar_reader(top_layer.chain_id).read(-1) == top
    again = store.prepare(tmp_path / "top.tar", digest(top), digest(base))
    assert store.commit(again) == top_layer          # an existing layer wins
    gone = store.prepare(tmp_path / "base.tar", digest(base), "")
    store.discard(gone)
    assert sorted(p.name for p in (tmp_path / "layers").iterdir()) == sorted(
        [digest(base)[7:], top_layer.chain_id[7:]])


def test_a_placed_blob_is_the_layers_push_blob(tmp_path: Path) -> None:
    from sangja.image.store import ImageStore

    images = ImageStore(tmp_path / "image", RecordingFsOps())
    raw = tar_bytes([file("a", b"content")])
    blob = gzip.compress(raw, mtime=0)
    (tmp_path / "l.tar").write_bytes(raw)
    (tmp_path / "l.blob").write_bytes(blob)
    prepared = images.layers.prepare(tmp_path / "l.tar", digest(raw), "", sync=False)
    layerblobs.place(prepared.dir, tmp_path / "l.blob", digest(blob), len(blob), "application/x-test", "r/x")
    images.layers.commit(prepared)
    kept = layerblobs.get(images, digest(raw))
    assert kept is not None and kept.digest == digest(blob) and kept.repos == ["r/x"]
    assert hashlib.sha256(kept.path.read_bytes()).hexdigest() == digest(blob)[7:]


def test_crash_leftovers_inside_layer_dirs_are_removed_at_start(tmp_path: Path) -> None:
    store = LayerStore(tmp_path / "layers", RecordingFsOps())
    raw = tar_bytes([file("a", b"content")])
    (tmp_path / "l.tar").write_bytes(raw)
    layer = store.register(tmp_path / "l.tar", digest(raw))
    d = store.dir(layer.chain_id)
    # What a kill -9 leaves: a push compressing the layer, an atomic metadata write, a pull
    # that had unpacked a layer but not published it.
    (d / ".dist-blob.0123abcd.tmp").write_bytes(b"half a gzip stream")
    (d / ".dist-blob.json.4567.tmp").write_bytes(b"{")
    (d / "diff" / ".keep.tmp").write_bytes(b"layer content is never touched")
    unpublished = store.prepare(tmp_path / "l.tar", digest(raw), "")
    LayerStore(tmp_path / "layers", RecordingFsOps()).cleanup()
    assert sorted(p.name for p in d.iterdir()) == ["diff", "layer.json", "tar-split.gz"]
    assert (d / "diff" / ".keep.tmp").exists()
    assert not unpublished.dir.exists()
    assert store.tar_reader(layer.chain_id).read(-1) == raw


# -- /info RegistryConfig -----------------------------------------------------------------


def test_registry_config_is_dockerds() -> None:
    cfg = registry_config(("10.1.0.0/16", "myreg:5000", "docker.io", "10.1.2.3/16"),
                          ("https://mirror.example/", "http://127.0.0.1:5001/"))
    validate(cfg, "RegistryServiceConfig")
    assert cfg["InsecureRegistryCIDRs"] == ["10.1.0.0/16", "127.0.0.0/8"]
    assert list(cfg["IndexConfigs"]) == ["myreg:5000", "docker.io"]
    assert cfg["IndexConfigs"]["myreg:5000"] == {"Name": "myreg:5000", "Mirrors": [], "Secure": False,
                                                 "Official": False}
    # docker.io stays secure and official even when listed as insecure, as in dockerd.
    assert cfg["IndexConfigs"]["docker.io"] == {"Name": "docker.io", "Secure": True, "Official": True,
                                                "Mirrors": ["https://mirror.example/", "http://127.0.0.1:5001/"]}
    assert cfg["Mirrors"] == ["https://mirror.example/", "http://127.0.0.1:5001/"]
    plain = registry_config((), ())
    validate(plain, "RegistryServiceConfig")
    assert plain == {"InsecureRegistryCIDRs": ["127.0.0.0/8"], "Mirrors": [],
                     "IndexConfigs": {"docker.io": {"Name": "docker.io", "Mirrors": [], "Secure": True,
                                                    "Official": True}}}


def test_an_insecure_cidr_makes_registries_in_it_plain_http() -> None:
    assert endpoint_for("10.1.7.7:5000", ("10.1.0.0/16",), certs_dirs=()).ssl is False
    assert endpoint_for("10.2.7.7:5000", ("10.1.0.0/16",), certs_dirs=()).ssl is not False
    assert endpoint_for("reg.example:5000", ("10.1.0.0/16",), certs_dirs=()).ssl is not False


def test_io_bytes_are_followed_in_small_and_large_reads(tmp_path: Path) -> None:
    data = os.urandom(200_000)
    follower = GrowingFile(tmp_path / "blob")
    writer = _writer(tmp_path / "blob", data, follower, 65_536)
    out = io.BytesIO()
    for n in (1, 7, 8, 4096, 100_000):
        out.write(follower.read(n))
    while chunk := follower.read(1 << 20):
        out.write(chunk)
    writer.join(10)
    follower.close()
    assert out.getvalue() == data
