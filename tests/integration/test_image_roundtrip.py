"""A real busybox root filesystem (from /bin/busybox, built here with tarfile): import it, run
it from its overlay mount, save and load it (same image ID), load it as an OCI layout, and
kill -9 a loader at several points to check that nothing half-registered is ever listed."""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from sangja.daemon.image_events import RecordingEventSink
from sangja.daemon.image_import import import_image, prepare_import
from sangja.daemon.image_load import load_images
from sangja.daemon.image_save import plan_save, save_images
from sangja.image.fsops import HostFsOps
from sangja.image.store import ImageStore
from tests.support.prereq import require, require_programs, require_root
from tests.unit.test_image_support import docker_save_archive, file, make_config, tar_bytes

pytestmark = pytest.mark.root

BUSYBOX = Path("/bin/busybox")
REPO_ROOT = Path(__file__).resolve().parents[2]


def busybox_rootfs() -> bytes:
    """bin/busybox, a symlink per applet, etc/passwd and /tmp, as a tar."""
    applets = subprocess.run([str(BUSYBOX), "--list"], capture_output=True, text=True, check=True).stdout.split()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, mode in (("bin", 0o755), ("etc", 0o755), ("tmp", 0o1777)):
            info = tarfile.TarInfo(name)
            info.type, info.mode = tarfile.DIRTYPE, mode
            t.addfile(info)
        data = BUSYBOX.read_bytes()
        info = tarfile.TarInfo("bin/busybox")
        info.size, info.mode = len(data), 0o755
        t.addfile(info, io.BytesIO(data))
        for applet in sorted(set(applets) - {"busybox"}):
            info = tarfile.TarInfo(f"bin/{applet}")
            info.type, info.linkname, info.mode = tarfile.SYMTYPE, "busybox", 0o777
            t.addfile(info)
        passwd = b"root:x:0:0:root:/root:/bin/sh\n"
        info = tarfile.TarInfo("etc/passwd")
        info.size = len(passwd)
        t.addfile(info, io.BytesIO(passwd))
    return buf.getvalue()


@pytest.fixture
def rootfs() -> bytes:
    require_root()
    require(BUSYBOX.is_file(), "needs /bin/busybox (busybox-static)")
    return busybox_rootfs()


def open_store(path: Path) -> ImageStore:
    return ImageStore(path, HostFsOps())


def do_import(store: ImageStore, tmp_path: Path, body: bytes) -> str:
    (tmp_path / "body.tar").write_bytes(body)
    opts = prepare_import("-", "busybox", "", "", ['CMD ["sh"]'])
    return import_image(store, RecordingEventSink(), tmp_path / "body.tar", opts)


def save(store: ImageStore, names: list[str]) -> bytes:
    out = io.BytesIO()
    save_images(store, RecordingEventSink(), plan_save(store, names), out)
    return out.getvalue()


def load(store: ImageStore, tmp_path: Path, archive: bytes) -> list[str]:
    (tmp_path / "archive.tar").write_bytes(archive)
    return load_images(store, RecordingEventSink(), tmp_path / "archive.tar", lambda m: None, True)


@pytest.fixture
def mounted(tmp_path: Path) -> Iterator[list[Path]]:
    require_programs("mount", "umount", "chroot")
    points: list[Path] = []
    yield points
    for p in reversed(points):
        subprocess.run(["umount", str(p)], check=False)


def test_imported_busybox_runs_from_its_overlay(
    rootfs: bytes, tmp_path: Path, mounted: list[Path]
) -> None:
    store = open_store(tmp_path / "image")
    image = store.get(do_import(store, tmp_path, rootfs))
    dirs = [tmp_path / n for n in ("upper", "work", "merged")]
    for d in dirs:
        d.mkdir()
    lower = store.layer_dirs(image)
    assert len(lower) == 1
    opts = f"lowerdir={lower[0]},upperdir={dirs[0]},workdir={dirs[1]}"
    subprocess.run(["mount", "-t", "overlay", "overlay", "-o", opts, str(dirs[2])], check=True)
    mounted.append(dirs[2])
    out = subprocess.run(["chroot", str(dirs[2]), "/bin/sh", "-c", "echo hello from $(basename $0); ls /bin | wc -l"],
                         capture_output=True, text=True, check=True).stdout.split()
    assert out[:3] == ["hello", "from", "sh"] and int(out[3]) > 100


def test_save_load_round_trip_keeps_the_image_id(rootfs: bytes, tmp_path: Path) -> None:
    src = open_store(tmp_path / "src")
    iid = do_import(src, tmp_path, rootfs)
    archive = save(src, ["busybox"])
    dst = open_store(tmp_path / "dst")
    assert load(dst, tmp_path, archive) == [iid]
    assert dst.get("busybox:latest").id == iid
    # and the reloaded image saves to the very same bytes for its layer
    again = save(dst, ["busybox"])
    with tarfile.open(fileobj=io.BytesIO(archive)) as a, tarfile.open(fileobj=io.BytesIO(again)) as b:
        layer = json.load(a.extractfile("manifest.json"))[0]["Layers"][0]  # type: ignore[arg-type]
        assert a.extractfile(layer).read() == b.extractfile(layer).read()  # type: ignore[union-attr]


def test_load_an_oci_layout(rootfs: bytes, tmp_path: Path) -> None:
    src = open_store(tmp_path / "src")
    iid = do_import(src, tmp_path, rootfs)
    with tarfile.open(fileobj=io.BytesIO(save(src, ["busybox"]))) as t:
        members = {m.name: t.extractfile(m).read() for m in t.getmembers() if m.isfile()}  # type: ignore[union-attr]
    del members["manifest.json"], members["repositories"]
    dst = open_store(tmp_path / "dst")
    assert load(dst, tmp_path, tar_bytes([file(n, d) for n, d in members.items()])) == [iid]
    assert dst.get("busybox").id == iid


LOADER = """
import sys
from pathlib import Path
from sangja.daemon.image_events import RecordingEventSink
from sangja.daemon.image_load import load_images
from sangja.image.fsops import HostFsOps
from sangja.image.store import ImageStore

store = ImageStore(Path(sys.argv[1]), HostFsOps())
def out(message):
    print(message.get("status") or message.get("stream", "").strip(), flush=True)
for _ in range(1000):
    load_images(store, RecordingEventSink(), Path(sys.argv[2]), out, False)
    for image in store.list():
        from sangja.daemon.image_delete import delete_image
        from sangja.daemon.image_usage import NoContainers
        delete_image(store, RecordingEventSink(), NoContainers(), image.id, True, True)
    print("round", flush=True)
"""


def test_kill_9_at_any_moment_leaves_a_consistent_store(tmp_path: Path) -> None:
    require_root()
    layers = [tar_bytes([file(f"data/{i}/blob", os.urandom(3 << 20)), file(f"small/{i}", b"x")]) for i in range(3)]
    config = make_config(layers)
    (tmp_path / "archive.tar").write_bytes(docker_save_archive([(config, layers, ["big:1"])]))
    root = tmp_path / "image"
    for kill_after in (1, 2, 3, 5, 7, 9, 12, 15, 20, 26):
        proc = subprocess.Popen(
            [sys.executable, "-c", LOADER, str(root), str(tmp_path / "archive.tar")],
            stdout=subprocess.PIPE, text=True, cwd=REPO_ROOT,
        )
        assert proc.stdout is not None
        for _ in range(kill_after):
            if not proc.stdout.readline():
                break
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()

        store = open_store(root)
        for image in store.list():
            assert image.id == "sha256:" + hashlib.sha256(config).hexdigest()
            for chain in store.chains(image.id):
                reader = store.layers.tar_reader(chain)
                while reader.read(1 << 20):
                    pass  # raises if the layer on disk is not exactly the registered one
        assert list((root / "ingest").iterdir()) == []
        assert not [p for p in (root / "layers").iterdir() if p.name.startswith(".")]
