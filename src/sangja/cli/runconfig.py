"""`run`/`create` flags → the `POST /containers/create` body, as docker/cli's opts.go builds it.

    FLAGS                      the container flags shared by run and create
    body = build(opts, args)   {"Hostname": ..., "Cmd": [...], "HostConfig": {...}, "NetworkingConfig": {...}}

`build` raises ValueError with docker's message for bad values found after flag parsing
(the caller prints "sangja: <message>" + the help hint and exits 125). Flag values that
pflag itself rejects (sizes, CPUs, attach streams) fail during parsing instead.
"""

from __future__ import annotations

import os

from sangja.cli import ports as portspec
from sangja.cli.flags import Bool, Flag, Int, List, Options, Str
from sangja.cli.runopts import (
    capabilities,
    kv_map,
    parse_device,
    parse_mount,
    parse_restart_policy,
    parse_volume,
    read_kv_file,
    valid_mac,
    validate_env,
)
from sangja.cli.units import parse_go_duration, ram_in_bytes

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _mem(text: str) -> int:
    return ram_in_bytes(text)


def _mem_swap(text: str) -> int:
    return -1 if text == "-1" else ram_in_bytes(text)


def _cpus(text: str) -> int:
    """opts.NanoCPUs: a rational number of CPUs → nanoCPUs (at most 9 decimals)."""
    import fractions

    try:
        value = fractions.Fraction(text)
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"failed to parse {text} as a rational number") from None
    nano = value * 1_000_000_000
    if nano.denominator != 1:
        raise ValueError("value is too precise")
    return int(nano)


def _attach(text: str) -> str:
    low = text.lower()
    if low not in ("stdin", "stdout", "stderr"):
        raise ValueError("valid streams are STDIN, STDOUT and STDERR")
    return low


def _duration(text: str) -> int:
    return int(parse_go_duration(text) * 1_000_000_000)


def _ulimit(text: str) -> dict[str, Any]:
    name, eq, limits = text.partition("=")
    if not eq:
        raise ValueError(f"invalid ulimit argument: {text}")
    soft_text, colon, hard_text = limits.partition(":")
    try:
        soft = int(soft_text)
        hard = int(hard_text) if colon else soft
    except ValueError:
        raise ValueError(f"invalid ulimit argument: {text}") from None
    if soft > hard:
        raise ValueError(f"ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}")
    return {"Name": name, "Hard": hard, "Soft": soft}


def _sysctl(text: str) -> str:
    if "=" not in text:
        raise ValueError(f"sysctl '{text}' is not allowed")
    return text


FLAGS: list[Flag] = [
    List("add-host", "", "Add a custom host-to-IP mapping (host:ip)"),
    List("annotation", "", "Add an annotation to the container (passed through to the OCI runtime)",
         type_name="map", show_default="map[]"),
    List("attach", "a", "Attach to STDIN, STDOUT or STDERR", convert=_attach),
    Int("blkio-weight", "", "Block IO (relative weight), between 10 and 1000, or 0 to disable", type_name="uint16",
        show_default="0"),
    List("cap-add", "", "Add Linux capabilities"),
    List("cap-drop", "", "Drop Linux capabilities"),
    Str("cgroup-parent", "", "Optional parent cgroup for the container"),
    Str("cgroupns", "", "Cgroup namespace to use (host|private)"),
    Str("cidfile", "", "Write the container ID to the file"),
    Int("cpu-period", "", "Limit CPU CFS (Completely Fair Scheduler) period"),
    Int("cpu-quota", "", "Limit CPU CFS (Completely Fair Scheduler) quota"),
    Int("cpu-rt-period", "", "Limit CPU real-time period in microseconds"),
    Int("cpu-rt-runtime", "", "Limit CPU real-time runtime in microseconds"),
    Int("cpu-shares", "c", "CPU shares (relative weight)"),
    Flag("cpus", "", "string", "Number of CPUs", 0, type_name="decimal", convert=_cpus),
    Str("cpuset-cpus", "", "CPUs in which to allow execution (0-3, 0,1)"),
    Str("cpuset-mems", "", "MEMs in which to allow execution (0-3, 0,1)"),
    List("device", "", "Add a host device to the container"),
    List("device-cgroup-rule", "", "Add a rule to the cgroup allowed devices list"),
    Bool("disable-content-trust", "", "Skip image verification (deprecated)", True, hidden=True),
    List("dns", "", "Set custom DNS servers"),
    List("dns-option", "", "Set DNS options"),
    List("dns-search", "", "Set custom DNS search domains"),
    Str("domainname", "", "Container NIS domain name"),
    Str("entrypoint", "", "Overwrite the default ENTRYPOINT of the image"),
    List("env", "e", "Set environment variables"),
    List("env-file", "", "Read in a file of environment variables"),
    List("expose", "", "Expose a port or a range of ports"),
    List("group-add", "", "Add additional groups to join"),
    Str("health-cmd", "", "Command to run to check health"),
    Flag("health-interval", "", "string", "Time between running the check (ms|s|m|h)", 0, type_name="duration",
         show_default="0s", convert=_duration),
    Int("health-retries", "", "Consecutive failures needed to report unhealthy"),
    Flag("health-start-interval", "", "string", "Time between running the check during the start period (ms|s|m|h)",
         0, type_name="duration", show_default="0s", convert=_duration),
    Flag("health-start-period", "", "string", "Start period for the container to initialize before starting "
         "health-retries countdown (ms|s|m|h)", 0, type_name="duration", show_default="0s", convert=_duration),
    Flag("health-timeout", "", "string", "Maximum time to allow one check to run (ms|s|m|h)", 0,
         type_name="duration", show_default="0s", convert=_duration),
    Bool("help", "", "Print usage"),
    Str("hostname", "h", "Container host name"),
    Bool("init", "", "Run an init inside the container that forwards signals and reaps processes"),
    Bool("interactive", "i", "Keep STDIN open even if not attached"),
    Str("ip", "", "IPv4 address (e.g., 172.30.100.104)"),
    Str("ip6", "", "IPv6 address (e.g., 2001:db8::33)"),
    Str("ipc", "", "IPC mode to use"),
    Str("isolation", "", "Container isolation technology"),
    List("label", "l", "Set meta data on a container"),
    List("label-file", "", "Read in a line delimited file of labels"),
    List("link", "", "Add link to another container"),
    Str("log-driver", "", "Logging driver for the container"),
    List("log-opt", "", "Log driver options"),
    Str("mac-address", "", "Container MAC address (e.g., 92:d0:c6:0a:29:33)"),
    Flag("memory", "m", "string", "Memory limit", 0, type_name="bytes", convert=_mem),
    Flag("memory-reservation", "", "string", "Memory soft limit", 0, type_name="bytes", convert=_mem),
    Flag("memory-swap", "", "string", "Swap limit equal to memory plus swap: '-1' to enable unlimited swap", 0,
         type_name="bytes", convert=_mem_swap),
    Int("memory-swappiness", "", "Tune container memory swappiness (0 to 100)", -1),
    List("mount", "", "Attach a filesystem mount to the container", type_name="mount"),
    Str("name", "", "Assign a name to the container"),
    List("network", "", "Connect a container to a network", type_name="network"),
    List("net", "", "Connect a container to a network", type_name="network", hidden=True, dest="network"),
    List("network-alias", "", "Add network-scoped alias for the container"),
    Bool("no-healthcheck", "", "Disable any container-specified HEALTHCHECK"),
    Bool("oom-kill-disable", "", "Disable OOM Killer"),
    Int("oom-score-adj", "", "Tune host's OOM preferences (-1000 to 1000)"),
    Str("pid", "", "PID namespace to use"),
    Int("pids-limit", "", "Tune container pids limit (set -1 for unlimited)"),
    Str("platform", "", "Set platform if server is multi-platform capable"),
    Bool("privileged", "", "Give extended privileges to this container"),
    List("publish", "p", "Publish a container's port(s) to the host"),
    Bool("publish-all", "P", "Publish all exposed ports to random ports"),
    Str("pull", "", 'Pull image before running ("always", "missing", "never")', "missing"),
    Bool("quiet", "q", "Suppress the pull output"),
    Bool("read-only", "", "Mount the container's root filesystem as read only"),
    Str("restart", "", "Restart policy to apply when a container exits", "no"),
    Bool("rm", "", "Automatically remove the container and its associated anonymous volumes when it exits"),
    Str("runtime", "", "Runtime to use for this container"),
    List("security-opt", "", "Security Options"),
    Flag("shm-size", "", "string", "Size of /dev/shm", 0, type_name="bytes", convert=_mem),
    Str("stop-signal", "", "Signal to stop the container"),
    Int("stop-timeout", "", "Timeout (in seconds) to stop a container"),
    List("storage-opt", "", "Storage driver options for the container"),
    List("sysctl", "", "Sysctl options", type_name="map", show_default="map[]", convert=_sysctl),
    List("tmpfs", "", "Mount a tmpfs directory"),
    Bool("tty", "t", "Allocate a pseudo-TTY"),
    List("ulimit", "", "Ulimit options", type_name="ulimit", show_default="[]", convert=_ulimit),
    Str("user", "u", "Username or UID (format: <name|uid>[:<group|gid>])"),
    Str("userns", "", "User namespace to use"),
    Str("uts", "", "UTS namespace to use"),
    List("volume", "v", "Bind mount a volume"),
    Str("volume-driver", "", "Optional volume driver for the container"),
    List("volumes-from", "", "Mount volumes from the specified container(s)"),
    Str("workdir", "w", "Working directory inside the container"),
]


# -- the body --------------------------------------------------------------------------------


def build(opts: Options, args: list[str], environ: dict[str, str] | None = None,
          console_size: tuple[int, int] = (0, 0)) -> dict[str, Any]:
    """The create body for image args[0] and command args[1:]; ValueError on bad values."""
    env_lookup = (environ if environ is not None else os.environ).get
    if opts.mac_address and not valid_mac(opts.mac_address):
        raise ValueError(f"{opts.mac_address} is not a valid mac address")
    attach = set(opts.attach)
    attach_stdin = "stdin" in attach or bool(opts.interactive)
    attach_stdout = "stdout" in attach or not attach
    attach_stderr = "stderr" in attach or not attach
    if opts.memory_swappiness != -1 and not 0 <= opts.memory_swappiness <= 100:
        raise ValueError(f"invalid value: {opts.memory_swappiness}. Valid memory swappiness range is 0-100")

    binds: list[str] = []
    volumes: dict[str, Any] = {}
    for spec in opts.volume:
        kind, value = parse_volume(spec)
        if kind == "bind":
            binds.append(value)
        else:
            volumes[value] = {}

    tmpfs = {}
    for t in opts.tmpfs:
        k, _, v = t.partition(":")
        tmpfs[k] = v

    entrypoint: list[str] | None = None
    if opts.entrypoint:
        entrypoint = [opts.entrypoint]
    elif "entrypoint" in opts.changed:
        entrypoint = [""]

    exposed, bindings = portspec.parse_port_specs(opts.publish)
    for e in opts.expose:
        for p in portspec.expose_range(e):
            exposed[p] = {}

    env: list[str] = []
    for path in opts.env_file:
        env.extend(read_kv_file(path, env_lookup))
    env.extend(validate_env(e, env_lookup) for e in opts.env)
    label_lines: list[str] = []
    for path in opts.label_file:
        label_lines.extend(read_kv_file(path, None))
    label_lines.extend(opts.label)

    restart = parse_restart_policy(opts.restart)
    if opts.rm and restart and restart.get("Name") not in ("", "no"):
        raise ValueError("conflicting options: cannot specify both --restart and --rm")

    log_config: dict[str, Any] = {"Type": opts.log_driver, "Config": {}}
    for o in opts.log_opt:
        k, eq, v = o.partition("=")
        if not eq:
            raise ValueError(f"invalid key value pair format in logging opts: {o}")
        log_config["Config"][k] = v
    if opts.log_driver == "none" and opts.log_opt:
        raise ValueError("invalid logging opts for driver none")

    health: dict[str, Any] | None = None
    have_health = bool(opts.health_cmd or opts.health_interval or opts.health_timeout or
                       opts.health_start_period or opts.health_retries or opts.health_start_interval)
    if opts.no_healthcheck:
        if have_health:
            raise ValueError("--no-healthcheck conflicts with --health-* options")
        health = {"Test": ["NONE"]}
    elif have_health:
        for name in ("interval", "timeout", "retries", "start_period", "start_interval"):
            if getattr(opts, "health_" + name) < 0:
                raise ValueError(f"--health-{name.replace('_', '-')} cannot be negative")
        health = {"Test": ["CMD-SHELL", opts.health_cmd] if opts.health_cmd else None,
                  "Interval": opts.health_interval, "Timeout": opts.health_timeout,
                  "StartPeriod": opts.health_start_period, "StartInterval": opts.health_start_interval,
                  "Retries": opts.health_retries}

    storage_opt: dict[str, str] = {}
    for o in opts.storage_opt:
        k, eq, v = o.partition("=")
        if not eq:
            raise ValueError(f"invalid storage option: {o}")
        storage_opt[k] = v

    networks = opts.network or []
    network_mode = networks[0] if networks else "default"
    endpoint: dict[str, Any] = {}
    if opts.network_alias:
        endpoint["Aliases"] = list(opts.network_alias)
    if opts.ip or opts.ip6:
        endpoint["IPAMConfig"] = {"IPv4Address": opts.ip, "IPv6Address": opts.ip6}
    if opts.mac_address:
        endpoint["MacAddress"] = opts.mac_address.strip()
    endpoints: dict[str, Any] = {}
    if network_mode in ("host", "none") or network_mode.startswith("container:"):
        if endpoint.get("Aliases"):  # docker/cli parseNetworkAttachmentOpt
            raise ValueError("network-scoped aliases are only supported for user-defined networks")
        if endpoint:
            endpoints[network_mode] = endpoint  # the daemon judges --ip/--mac-address there
    else:
        endpoints[network_mode] = endpoint
        for extra in networks[1:]:
            endpoints[extra] = {}

    config: dict[str, Any] = {
        "Hostname": opts.hostname,
        "Domainname": opts.domainname,
        "User": opts.user,
        "AttachStdin": attach_stdin,
        "AttachStdout": attach_stdout,
        "AttachStderr": attach_stderr,
        "ExposedPorts": exposed,
        "Tty": bool(opts.tty),
        "OpenStdin": bool(opts.interactive),
        "StdinOnce": bool(opts.interactive) and attach_stdin,
        "Env": env,
        "Cmd": list(args[1:]) if len(args) > 1 else None,
        "Image": args[0],
        "Volumes": volumes,
        "WorkingDir": opts.workdir,
        "Entrypoint": entrypoint,
        "Labels": kv_map(label_lines),
    }
    if opts.stop_signal:
        config["StopSignal"] = opts.stop_signal
    if "stop-timeout" in opts.changed:
        config["StopTimeout"] = opts.stop_timeout
    if health is not None:
        config["Healthcheck"] = health

    host: dict[str, Any] = {
        "Binds": binds or None,
        "ContainerIDFile": opts.cidfile,
        "LogConfig": log_config,
        "NetworkMode": network_mode,
        "PortBindings": bindings,
        "RestartPolicy": restart,
        "AutoRemove": bool(opts.rm),
        "VolumeDriver": opts.volume_driver,
        "VolumesFrom": list(opts.volumes_from) or None,
        "ConsoleSize": [console_size[0], console_size[1]],
        "CapAdd": capabilities(opts.cap_add),
        "CapDrop": capabilities(opts.cap_drop),
        "CgroupnsMode": opts.cgroupns,
        "Dns": list(opts.dns),
        "DnsOptions": list(opts.dns_option),
        "DnsSearch": list(opts.dns_search),
        "ExtraHosts": list(opts.add_host) or None,
        "GroupAdd": list(opts.group_add) or None,
        "IpcMode": opts.ipc,
        "Links": list(opts.link) or None,
        "OomScoreAdj": opts.oom_score_adj,
        "PidMode": opts.pid,
        "Privileged": bool(opts.privileged),
        "PublishAllPorts": bool(opts.publish_all),
        "ReadonlyRootfs": bool(opts.read_only),
        "SecurityOpt": list(opts.security_opt) or None,
        "StorageOpt": storage_opt or None,
        "Tmpfs": tmpfs or None,
        "UTSMode": opts.uts,
        "UsernsMode": opts.userns,
        "ShmSize": opts.shm_size,
        "Sysctls": kv_map(opts.sysctl) or None,
        "Runtime": opts.runtime,
        "Isolation": opts.isolation,
        "CpuShares": opts.cpu_shares,
        "Memory": opts.memory,
        "NanoCpus": opts.cpus,
        "CgroupParent": opts.cgroup_parent,
        "BlkioWeight": opts.blkio_weight,
        "CpuPeriod": opts.cpu_period,
        "CpuQuota": opts.cpu_quota,
        "CpuRealtimePeriod": opts.cpu_rt_period,
        "CpuRealtimeRuntime": opts.cpu_rt_runtime,
        "CpusetCpus": opts.cpuset_cpus,
        "CpusetMems": opts.cpuset_mems,
        "Devices": [parse_device(d) for d in opts.device],
        "DeviceCgroupRules": list(opts.device_cgroup_rule) or None,
        "MemoryReservation": opts.memory_reservation,
        "MemorySwap": opts.memory_swap,
        "MemorySwappiness": opts.memory_swappiness,
        "OomKillDisable": bool(opts.oom_kill_disable),
        "PidsLimit": opts.pids_limit,
        "Ulimits": list(opts.ulimit),
        "Mounts": [parse_mount(m) for m in opts.mount] or None,
        "Annotations": kv_map(opts.annotation) or None,
    }
    if "init" in opts.changed:
        host["Init"] = bool(opts.init)
    body = dict(config)
    body["HostConfig"] = {k: v for k, v in host.items() if v is not None or k in ("Binds", "CapAdd", "CapDrop")}
    body["NetworkingConfig"] = {"EndpointsConfig": endpoints}
    return body
