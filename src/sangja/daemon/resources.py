"""Resource limits in a HostConfig: Docker's rules at create and update, and the spec they become.

The rules follow dockerd (daemon/daemon_unix.go verifyPlatformContainerResources and
adaptContainerSettings, container.UpdateContainer) with its exact messages. They are
pure functions of the request and a `host.sysinfo.SysInfo`, so v1 and v2 hosts are
unit-tested with hand-made SysInfo values.

Order at create, as in dockerd: `verify_resources` (may discard what the host can't
enforce, with a warning) then `adapt_resources` (fills Docker's defaults: swap = 2 x
memory when the host accounts swap).
"""

from __future__ import annotations

from typing import Any

from sangja.errors import Conflict, InvalidParameter
from sangja.host.sysinfo import RLIMITS, UNLIMITED, SysInfo
from sangja.runtime.types import DeviceSpec, Ulimit

MIN_MEMORY = 6 * 1024 * 1024  # linuxMinMemory
MAX_CPUSET = 8192  # dockerd's defaultMaxCPUs (CVE-2018-20699)

_INT_FIELDS = ("Memory", "MemorySwap", "MemoryReservation", "CpuShares", "NanoCpus", "CpuQuota", "CpuPeriod",
               "CpuRealtimePeriod", "CpuRealtimeRuntime", "BlkioWeight", "ShmSize")


def _int(res: dict[str, Any], key: str) -> int:
    value = res.get(key)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidParameter(f"invalid JSON: HostConfig.{key} must be of type int")
    return value


def parse_uint_list(value: str, maximum: int = MAX_CPUSET) -> set[int]:
    """A cpuset list ("0-2,4") as a set; Docker's "invalid format" errors."""
    if value == "":
        return set()
    out: set[int] = set()
    invalid = InvalidParameter(f"invalid format: {value}")
    for part in value.split(","):
        lo_s, dash, hi_s = part.partition("-")
        try:
            lo = int(lo_s)
            hi = int(hi_s) if dash else lo
        except ValueError:
            raise invalid from None
        if lo < 0 or hi < lo:
            raise invalid
        if hi > maximum:
            raise InvalidParameter(f"value of out range, maximum is {maximum}")
        out.update(range(lo, hi + 1))
    return out


def _cpuset_check(requested: str, available: str, what: str, label: str) -> None:
    try:
        want = parse_uint_list(requested)
        have = parse_uint_list(available)
    except InvalidParameter as exc:
        raise InvalidParameter(f"Invalid value {requested} for cpuset {what}: {exc.message}") from None
    if not want <= have:
        raise InvalidParameter(f"Requested {label} are not available - requested {requested}, available: {available}")


def verify_resources(res: dict[str, Any], info: SysInfo, update: bool = False) -> list[str]:
    """dockerd's verifyPlatformContainerResources: raise InvalidParameter, or discard with a warning.

    `res` (a HostConfig, or an update body) is changed in place as dockerd does.
    """
    for key in _INT_FIELDS:
        _int(res, key)
    warnings: list[str] = []
    memory = _int(res, "Memory")
    swap = _int(res, "MemorySwap")
    if memory != 0 and memory < MIN_MEMORY:
        raise InvalidParameter("Minimum memory limit allowed is 6MB")
    if memory > 0 and not info.memory_limit:
        warnings.append("Your kernel does not support memory limit capabilities or the cgroup is not mounted. "
                        "Limitation discarded.")
        res["Memory"], res["MemorySwap"] = memory, swap = 0, -1
    if memory > 0 and swap != -1 and not info.swap_limit:
        warnings.append("Your kernel does not support swap limit capabilities or the cgroup is not mounted. "
                        "Memory limited without swap.")
        res["MemorySwap"] = swap = -1
    if memory > 0 and swap > 0 and swap < memory:
        raise InvalidParameter("Minimum memoryswap limit should be larger than memory limit, see usage")
    if memory == 0 and swap > 0 and not update:
        raise InvalidParameter("You should always set the Memory limit when using Memoryswap limit, see usage")
    swappiness = res.get("MemorySwappiness")
    if swappiness == -1:
        res["MemorySwappiness"] = swappiness = None
    if swappiness is not None and not info.memory_swappiness:
        warnings.append("Your kernel does not support memory swappiness capabilities or the cgroup is not "
                        "mounted. Memory swappiness discarded.")
        res["MemorySwappiness"] = swappiness = None
    if swappiness is not None and (not isinstance(swappiness, int) or not 0 <= swappiness <= 100):
        raise InvalidParameter(f"Invalid value: {swappiness}, valid memory swappiness range is 0-100")
    reservation = _int(res, "MemoryReservation")
    if reservation > 0 and not info.memory_reservation:
        warnings.append("Your kernel does not support memory soft limit capabilities or the cgroup is not "
                        "mounted. Limitation discarded.")
        res["MemoryReservation"] = reservation = 0
    if reservation > 0 and reservation < MIN_MEMORY:
        raise InvalidParameter("Minimum memory reservation allowed is 6MB")
    if memory > 0 and reservation > 0 and memory < reservation:
        raise InvalidParameter("Minimum memory limit can not be less than memory reservation limit, see usage")
    oom_disable = res.get("OomKillDisable")
    if oom_disable is not None and not isinstance(oom_disable, bool):
        raise InvalidParameter("invalid JSON: HostConfig.OomKillDisable must be of type bool")
    if oom_disable is not None and not info.oom_kill_disable:
        if oom_disable:
            warnings.append("Your kernel does not support OomKillDisable. OomKillDisable discarded.")
        res["OomKillDisable"] = oom_disable = None
    if oom_disable and memory == 0:
        warnings.append("OOM killer is disabled for the container, but no memory limit is set, this can result "
                        "in the system running out of resources.")
    pids = res.get("PidsLimit")
    if pids is not None and (isinstance(pids, bool) or not isinstance(pids, int)):
        raise InvalidParameter("invalid JSON: HostConfig.PidsLimit must be of type int")
    if pids is not None and not info.pids_limit:
        if pids > 0:
            warnings.append("Your kernel does not support PIDs limit capabilities or the cgroup is not mounted. "
                            "PIDs limit discarded.")
        res["PidsLimit"] = None

    nano, period, quota = _int(res, "NanoCpus"), _int(res, "CpuPeriod"), _int(res, "CpuQuota")
    if nano > 0 and period > 0:
        raise InvalidParameter("Conflicting options: Nano CPUs and CPU Period cannot both be set")
    if nano > 0 and quota > 0:
        raise InvalidParameter("Conflicting options: Nano CPUs and CPU Quota cannot both be set")
    if nano > 0 and not info.cpu_cfs:
        raise InvalidParameter("NanoCPUs can not be set, as your kernel does not support CPU CFS scheduler or "
                               "the cgroup is not mounted")
    if nano != 0 and (nano < 0 or nano > info.ncpu * 1_000_000_000):
        raise InvalidParameter(
            f"range of CPUs is from 0.01 to {info.ncpu}.00, as there are only {info.ncpu} CPUs available"
        )
    if _int(res, "CpuShares") > 0 and not info.cpu_shares:
        warnings.append("Your kernel does not support CPU shares or the cgroup is not mounted. Shares discarded.")
        res["CpuShares"] = 0
    if (period != 0 or quota != 0) and not info.cpu_cfs:
        warnings.append("Your kernel does not support CPU CFS scheduler. CPU period/quota discarded.")
        res["CpuPeriod"] = res["CpuQuota"] = period = quota = 0
    if period != 0 and not 1000 <= period <= 1_000_000:
        raise InvalidParameter("CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)")
    if 0 < quota < 1000:
        raise InvalidParameter("CPU cfs quota can not be less than 1ms (i.e. 1000)")

    cpus, mems = res.get("CpusetCpus") or "", res.get("CpusetMems") or ""
    if not isinstance(cpus, str) or not isinstance(mems, str):
        raise InvalidParameter("invalid JSON: HostConfig.CpusetCpus and CpusetMems must be strings")
    if (cpus or mems) and not info.cpuset:
        warnings.append("Your kernel does not support cpuset or the cgroup is not mounted. Cpuset discarded.")
        res["CpusetCpus"] = res["CpusetMems"] = cpus = mems = ""
    _cpuset_check(cpus, info.cpus, "cpus", "CPUs")
    _cpuset_check(mems, info.mems, "mems", "memory nodes")

    weight = _int(res, "BlkioWeight")
    if weight > 0 and not info.blkio_weight:
        warnings.append("Your kernel does not support Block I/O weight or the cgroup is not mounted. "
                        "Weight discarded.")
        res["BlkioWeight"] = weight = 0
    if weight > 0 and not 10 <= weight <= 1000:
        raise InvalidParameter("Range of blkio weight is from 10 to 1000")
    return warnings


def verify_ulimits(raw: Any, info: SysInfo) -> list[dict[str, Any]]:
    """HostConfig.Ulimits: known names, soft <= hard, and no hard limit above what the host can grant."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise InvalidParameter("invalid JSON: HostConfig.Ulimits must be a list")
    out: list[dict[str, Any]] = []
    for item in raw:
        if not isinstance(item, dict):
            raise InvalidParameter("invalid JSON: HostConfig.Ulimits must be a list of objects")
        name, soft, hard = item.get("Name"), item.get("Soft"), item.get("Hard")
        if not isinstance(name, str) or name not in RLIMITS:
            raise InvalidParameter(f"invalid ulimit type: {name}")
        if not isinstance(soft, int) or not isinstance(hard, int):
            raise InvalidParameter(f"invalid ulimit argument: {name}")
        if soft > hard:
            raise InvalidParameter(f"ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}")
        ceiling = info.rlimit_hard.get(name, UNLIMITED)
        if ceiling != UNLIMITED and (hard > ceiling or hard < 0):
            raise InvalidParameter(
                f"invalid ulimit {name}={soft}:{hard}: the hard limit is above the host's hard limit "
                f"for {name} ({ceiling})"
            )
        out.append({"Name": name, "Hard": hard, "Soft": soft})
    return out


def verify_devices(raw: Any) -> list[dict[str, str]]:
    """HostConfig.Devices: shape and cgroup permissions (the nodes themselves are looked up at start)."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise InvalidParameter("invalid JSON: HostConfig.Devices must be a list")
    out: list[dict[str, str]] = []
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("PathOnHost"), str):
            raise InvalidParameter("invalid JSON: HostConfig.Devices must be a list of device mappings")
        host = item["PathOnHost"]
        ctr = item.get("PathInContainer") or host
        perms = item.get("CgroupPermissions") or "rwm"
        if not perms or any(c not in "rwm" for c in perms):
            raise InvalidParameter(f"invalid device mode: {perms}")
        out.append({"PathOnHost": host, "PathInContainer": ctr, "CgroupPermissions": perms})
    return out


def adapt_resources(hc: dict[str, Any]) -> None:
    """dockerd's adaptContainerSettings for resources: swap defaults to twice the memory."""
    memory = int(hc.get("Memory") or 0)
    if memory > 0 and not hc.get("MemorySwap"):
        hc["MemorySwap"] = memory * 2
    if hc.get("OomKillDisable") is None:
        hc["OomKillDisable"] = False
    pids = hc.get("PidsLimit")
    if pids is not None and pids <= 0:
        hc["PidsLimit"] = None  # 0 and -1 mean unlimited; Docker stores null


def check_create(hc: dict[str, Any], info: SysInfo) -> list[str]:
    """All resource rules of a create, in dockerd's order; returns the warnings."""
    warnings = verify_resources(hc, info)
    hc["Ulimits"] = verify_ulimits(hc.get("Ulimits"), info)
    hc["Devices"] = verify_devices(hc.get("Devices"))
    adapt_resources(hc)
    return warnings


# -- update ----------------------------------------------------------------------------------

_UPDATABLE = ("BlkioWeight", "CpuShares", "NanoCpus", "CpuPeriod", "CpuQuota", "CpusetCpus", "CpusetMems",
              "MemoryReservation", "CpuRealtimePeriod", "CpuRealtimeRuntime")


def merge_update(hc: dict[str, Any], upd: dict[str, Any]) -> dict[str, Any]:
    """container.UpdateContainer: the new HostConfig (a copy) with `upd`'s non-zero fields applied.

    Raises Conflict with Docker's "Conflicting options" messages.
    """
    cur = dict(hc)
    if upd.get("NanoCpus", 0) > 0 and int(cur.get("CpuPeriod") or 0) > 0:
        raise Conflict("Conflicting options: Nano CPUs cannot be updated as CPU Period has already been set")
    if upd.get("NanoCpus", 0) > 0 and int(cur.get("CpuQuota") or 0) > 0:
        raise Conflict("Conflicting options: Nano CPUs cannot be updated as CPU Quota has already been set")
    if upd.get("CpuPeriod", 0) > 0 and int(cur.get("NanoCpus") or 0) > 0:
        raise Conflict("Conflicting options: CPU Period cannot be updated as NanoCPUs has already been set")
    if upd.get("CpuQuota", 0) > 0 and int(cur.get("NanoCpus") or 0) > 0:
        raise Conflict("Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set")
    for key in _UPDATABLE:
        if upd.get(key):
            cur[key] = upd[key]
    memory = int(upd.get("Memory") or 0)
    swap = int(upd.get("MemorySwap") or 0)
    if memory:
        if memory > int(cur.get("MemorySwap") or 0) and swap == 0:
            raise Conflict("Memory limit should be smaller than already set memoryswap limit, update the "
                           "memoryswap at the same time")
        cur["Memory"] = memory
    if swap:
        cur["MemorySwap"] = swap
    if upd.get("PidsLimit") is not None:
        cur["PidsLimit"] = max(int(upd["PidsLimit"]), 0)  # dockerd stores 0 ("unlimited") here
    rp = upd.get("RestartPolicy") or {}
    if rp.get("Name"):
        if cur.get("AutoRemove") and rp["Name"] != "no":
            raise Conflict("Restart policy cannot be updated because AutoRemove is enabled for the container")
        cur["RestartPolicy"] = {"Name": rp["Name"], "MaximumRetryCount": int(rp.get("MaximumRetryCount") or 0)}
    return cur


def update_resources_json(upd: dict[str, Any]) -> dict[str, Any]:
    """The OCI LinuxResources `runc update -r` gets for an update body (dockerd's toContainerdResources)."""
    out: dict[str, Any] = {}
    cpu: dict[str, Any] = {}
    if upd.get("CpusetCpus"):
        cpu["cpus"] = upd["CpusetCpus"]
    if upd.get("CpusetMems"):
        cpu["mems"] = upd["CpusetMems"]
    if upd.get("CpuShares"):
        cpu["shares"] = int(upd["CpuShares"])
    period = quota = 0
    if upd.get("NanoCpus"):
        period = 100_000
        quota = int(upd["NanoCpus"]) * period // 1_000_000_000
    quota = quota or int(upd.get("CpuQuota") or 0)
    period = period or int(upd.get("CpuPeriod") or 0)
    if period:
        cpu["period"] = period
    if quota:
        cpu["quota"] = quota
    if cpu:
        out["cpu"] = cpu
    memory: dict[str, Any] = {}
    if upd.get("Memory"):
        memory["limit"] = int(upd["Memory"])
    if upd.get("MemoryReservation"):
        memory["reservation"] = int(upd["MemoryReservation"])
    if int(upd.get("MemorySwap") or 0) > 0:
        memory["swap"] = int(upd["MemorySwap"])
    if memory:
        out["memory"] = memory
    if upd.get("PidsLimit") is not None:
        out["pids"] = {"limit": upd["PidsLimit"] if upd["PidsLimit"] > 0 else -1}
    if upd.get("BlkioWeight"):
        out["blockIO"] = {"weight": int(upd["BlkioWeight"])}
    return out


# -- start -----------------------------------------------------------------------------------


def spec_fields(hc: dict[str, Any], devices: list[DeviceSpec]) -> dict[str, Any]:
    """The SpecInput keyword arguments for a HostConfig's resources (devices resolved by the caller)."""
    swappiness = hc.get("MemorySwappiness")
    return {
        "shm_size": int(hc.get("ShmSize") or 64 * 1024 * 1024),
        "memory": int(hc.get("Memory") or 0),
        "memory_swap": int(hc.get("MemorySwap") or 0),
        "memory_reservation": int(hc.get("MemoryReservation") or 0),
        "memory_swappiness": -1 if swappiness is None else int(swappiness),
        "oom_kill_disable": bool(hc.get("OomKillDisable")),
        "cpu_shares": int(hc.get("CpuShares") or 0),
        "nano_cpus": int(hc.get("NanoCpus") or 0),
        "cpu_quota": int(hc.get("CpuQuota") or 0),
        "cpu_period": int(hc.get("CpuPeriod") or 0),
        "cpuset_cpus": str(hc.get("CpusetCpus") or ""),
        "cpuset_mems": str(hc.get("CpusetMems") or ""),
        "cpu_rt_runtime": int(hc.get("CpuRealtimeRuntime") or 0),
        "cpu_rt_period": int(hc.get("CpuRealtimePeriod") or 0),
        "blkio_weight": int(hc.get("BlkioWeight") or 0),
        "pids_limit": int(hc.get("PidsLimit") or 0),
        "ulimits": tuple(Ulimit(u["Name"], int(u["Soft"]), int(u["Hard"])) for u in hc.get("Ulimits") or []),
        "devices": tuple(devices),
        "device_cgroup_rules": tuple(hc.get("DeviceCgroupRules") or ()),
    }


def resolve_devices(hc: dict[str, Any]) -> list[DeviceSpec]:
    """--device mappings as device nodes; InvalidParameter (Docker's text) for a missing node."""
    from sangja.runtime.devices import devices_for_mapping

    found: list[DeviceSpec] = []
    for m in hc.get("Devices") or []:
        found.extend(devices_for_mapping(m["PathOnHost"], m.get("PathInContainer") or m["PathOnHost"],
                                         m.get("CgroupPermissions") or "rwm"))
    return found


_HOST_INFO: SysInfo | None = None


def host_info() -> SysInfo:
    """The host's SysInfo, probed once per daemon process (cgroup mounts don't change under it)."""
    global _HOST_INFO
    if _HOST_INFO is None:
        from sangja.host.sysinfo import probe

        _HOST_INFO = probe()
    return _HOST_INFO
