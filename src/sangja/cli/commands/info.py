"""`sangja info`: system-wide information, laid out like docker's prettyPrintInfo."""

from __future__ import annotations

from sangja import __version__
from sangja.cli import gotemplate
from sangja.cli.command import Cli, Spec, no_args
from sangja.cli.commands.inspect import FORMAT_HELP
from sangja.cli.errors import CLIError
from sangja.cli.flags import Options, Str
from sangja.cli.gofmt import fmt_v
from sangja.cli.units import bytes_size

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

SPEC = Spec(
    use="[OPTIONS]",
    short="Display system-wide information",
    flags=[Str("format", "f", FORMAT_HELP)],
    args=no_args(),
    aliases="docker system info, docker info",
)


def _security_options(raw: list[str]) -> list[tuple[str, list[tuple[str, str]]]]:
    """security.DecodeOptions: "name=seccomp,profile=builtin" → ("seccomp", [("profile", "builtin")])."""
    out = []
    for entry in raw:
        name = ""
        options: list[tuple[str, str]] = []
        for part in entry.split(","):
            key, eq, value = part.partition("=")
            if not eq:
                name = part
            elif key == "name":
                name = value
            else:
                options.append((key, value))
        out.append((name, options))
    return out


def server_lines(info: dict[str, Any]) -> list[str]:
    v = fmt_v
    lines: list[str] = []

    def add(label: str, value: Any) -> None:
        lines.append(f"{label} {v(value)}")

    def add_nonempty(label: str, value: Any) -> None:
        if value not in (None, ""):
            lines.append(f"{label} {v(value)}")

    add(" Containers:", info.get("Containers", 0))
    add("  Running:", info.get("ContainersRunning", 0))
    add("  Paused:", info.get("ContainersPaused", 0))
    add("  Stopped:", info.get("ContainersStopped", 0))
    add(" Images:", info.get("Images", 0))
    add_nonempty(" Server Version:", info.get("ServerVersion"))
    add_nonempty(" Storage Driver:", info.get("Driver"))
    for pair in info.get("DriverStatus") or []:
        lines.append(f"  {pair[0]}: {pair[1]}")
    for pair in info.get("SystemStatus") or []:
        lines.append(f" {pair[0]}: {pair[1]}")
    add_nonempty(" Logging Driver:", info.get("LoggingDriver"))
    add_nonempty(" Cgroup Driver:", info.get("CgroupDriver"))
    add_nonempty(" Cgroup Version:", info.get("CgroupVersion"))
    plugins = info.get("Plugins") or {}
    lines.append(" Plugins:")
    lines.append("  Volume: " + " ".join(plugins.get("Volume") or []))
    lines.append("  Network: " + " ".join(plugins.get("Network") or []))
    if plugins.get("Authorization"):
        lines.append("  Authorization: " + " ".join(plugins["Authorization"]))
    lines.append("  Log: " + " ".join(plugins.get("Log") or []))
    swarm = info.get("Swarm") or {}
    add(" Swarm:", swarm.get("LocalNodeState", ""))
    runtimes = info.get("Runtimes") or {}
    if runtimes:
        lines.append(" Runtimes: " + " ".join(runtimes))
        add(" Default Runtime:", info.get("DefaultRuntime", ""))
    if info.get("OSType") == "linux":
        add(" Init Binary:", info.get("InitBinary", ""))
        add(" containerd version:", (info.get("ContainerdCommit") or {}).get("ID", ""))
        add(" runc version:", (info.get("RuncCommit") or {}).get("ID", ""))
        add(" init version:", (info.get("InitCommit") or {}).get("ID", ""))
        secopts = _security_options(info.get("SecurityOptions") or [])
        if secopts:
            lines.append(" Security Options:")
            for name, options in secopts:
                lines.append("  " + name)
                lines.extend(f"   Profile: {value}" for key, value in options if key == "profile")
    add_nonempty(" Kernel Version:", info.get("KernelVersion"))
    add_nonempty(" Operating System:", info.get("OperatingSystem"))
    add_nonempty(" OSType:", info.get("OSType"))
    add_nonempty(" Architecture:", info.get("Architecture"))
    add(" CPUs:", info.get("NCPU", 0))
    lines.append(" Total Memory: " + bytes_size(int(info.get("MemTotal") or 0)))
    add_nonempty(" Name:", info.get("Name"))
    add_nonempty(" ID:", info.get("ID"))
    add(" Docker Root Dir:", info.get("DockerRootDir", ""))
    add(" Debug Mode:", bool(info.get("Debug")))
    if info.get("Debug"):
        add("  File Descriptors:", info.get("NFd", 0))
        add("  Goroutines:", info.get("NGoroutines", 0))
        add("  System Time:", info.get("SystemTime", ""))
        add("  EventsListeners:", info.get("NEventsListener", 0))
    add_nonempty(" HTTP Proxy:", info.get("HttpProxy"))
    add_nonempty(" HTTPS Proxy:", info.get("HttpsProxy"))
    add_nonempty(" No Proxy:", info.get("NoProxy"))
    add_nonempty(" Username:", info.get("UserName"))
    if info.get("Labels"):
        lines.append(" Labels:")
        lines.extend("  " + label for label in info["Labels"])
    add(" Experimental:", bool(info.get("ExperimentalBuild")))
    registry = info.get("RegistryConfig") or {}
    index_configs = registry.get("IndexConfigs") or {}
    cidrs = registry.get("InsecureRegistryCIDRs") or []
    if cidrs or index_configs:
        lines.append(" Insecure Registries:")
        lines.extend("  " + c.get("Name", k) for k, c in index_configs.items() if not c.get("Secure"))
        lines.extend("  " + cidr for cidr in cidrs)
    if registry.get("Mirrors"):
        lines.append(" Registry Mirrors:")
        lines.extend("  " + m for m in registry["Mirrors"])
    add(" Live Restore Enabled:", bool(info.get("LiveRestoreEnabled")))
    if info.get("ProductLicense"):
        add(" Product License:", info["ProductLicense"])
    return lines


def run(cli: Cli, opts: Options, args: list[str]) -> int:
    client_info = {"Version": __version__, "Context": "default", "Debug": False, "Plugins": [], "Warnings": None}
    if opts.format:
        fmt = "{{json .}}" if opts.format == "json" else opts.format
        try:
            tmpl = gotemplate.parse(fmt)
        except gotemplate.TemplateError as exc:
            raise CLIError(f"template parsing error: {exc}", 64) from None
        info = cli.client.get("/info") or {}
        data = {**info, "ClientInfo": client_info}
        try:
            cli.out(tmpl.execute(data))
        except gotemplate.TemplateError as exc:
            raise CLIError(str(exc)) from None
        return 0
    cli.out("Client:")
    cli.out(f" Version:    {__version__}")
    cli.out(" Context:    default")
    cli.out(" Debug Mode: false")
    cli.out()
    cli.out("Server:")
    try:
        info = cli.client.get("/info") or {}
    except CLIError as exc:
        cli.err(f"ERROR: {exc}")
        raise CLIError("errors pretty printing info") from None
    cli.out("\n".join(server_lines(info)))
    cli.out()
    for warning in info.get("Warnings") or []:
        cli.err(warning)
    return 0
