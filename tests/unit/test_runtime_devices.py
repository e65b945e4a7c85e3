"""runtime.devices: device nodes for --device and --privileged."""

from __future__ import annotations

from pathlib import Path

import pytest

from sangja.errors import InvalidParameter
from sangja.runtime.devices import device_from_path, devices_for_mapping, host_devices, thermal_throttle_paths


def test_device_from_path(tmp_path: Path) -> None:
    null = device_from_path("/dev/null")
    assert (null.path, null.type, null.major, null.minor) == ("/dev/null", "c", 1, 3)
    assert device_from_path("/dev/null", "/dev/mynull", "rw").path == "/dev/mynull"
    (tmp_path / "plain").write_text("")
    with pytest.raises(ValueError, match="not a device node"):
        device_from_path(str(tmp_path / "plain"))


def test_mapping_errors_use_dockers_text(tmp_path: Path) -> None:
    missing = str(tmp_path / "nosuch")
    with pytest.raises(InvalidParameter) as e:
        devices_for_mapping(missing, "/dev/x", "rwm")
    assert str(e.value) == (f"error gathering device information while adding custom device \"{missing}\": "
                            "no such file or directory")
    (tmp_path / "file").write_text("")
    with pytest.raises(InvalidParameter, match=r"custom device .*: not a device node$"):
        devices_for_mapping(str(tmp_path / "file"), "/dev/x", "rwm")
    assert devices_for_mapping("/dev/zero", "/dev/z", "r")[0].permissions == "r"


def test_host_devices_skip_pts_and_console() -> None:
    paths = {d.path for d in host_devices()}
    assert "/dev/null" in paths
    assert not [p for p in paths if p.startswith(("/dev/pts/", "/dev/shm/", "/dev/mqueue/"))]
    assert "/dev/console" not in paths


def test_thermal_throttle_paths(tmp_path: Path) -> None:
    cpus = tmp_path / "devices/system/cpu"
    for name in ("cpu0", "cpu1", "cpu10", "cpufreq"):
        (cpus / name).mkdir(parents=True)
    (cpus / "cpu10/thermal_throttle").mkdir()
    (cpus / "cpu0/thermal_throttle").mkdir()
    assert thermal_throttle_paths(str(tmp_path)) == (
        "/sys/devices/system/cpu/cpu0/thermal_throttle", "/sys/devices/system/cpu/cpu10/thermal_throttle")
    assert thermal_throttle_paths(str(tmp_path / "none")) == ()
