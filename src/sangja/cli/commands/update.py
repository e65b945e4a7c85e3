"""`sangja update`: change the resource limits (and restart policy) of containers."""

from __future__ import annotations

from sangja.cli.command import Cli, Spec, join_errors, min_args, quote_path
from sangja.cli.errors import CLIError
from sangja.cli.flags import Flag, Int, Options, Str
from sangja.cli.runconfig import _cpus, _mem, _mem_swap
from sangja.cli.runopts import parse_restart_policy

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

SPEC = Spec(
    use="[OPTIONS] CONTAINER [CONTAINER...]",
    short="Update configuration of one or more containers",
    flags=[
        Int("blkio-weight", "", "Block IO (relative weight), between 10 and 1000, or 0 to disable", type_name="uint16",
            show_default="0"),
        Int("cpu-period", "", "Limit CPU CFS (Completely Fair Scheduler) period"),
        Int("cpu-quota", "", "Limit CPU CFS (Completely Fair Scheduler) quota"),
        Int("cpu-rt-period", "", "Limit the CPU real-time period in microseconds"),
        Int("cpu-rt-runtime", "", "Limit the CPU real-time runtime in microseconds"),
        Int("cpu-shares", "c", "CPU shares (relative weight)"),
        Flag("cpus", "", "string", "Number of CPUs", 0, type_name="decimal", convert=_cpus),
        Str("cpuset-cpus", "", "CPUs in which to allow execution (0-3, 0,1)"),
        Str("cpuset-mems", "", "MEMs in which to allow execution (0-3, 0,1)"),
        Flag("memory", "m", "string", "Memory limit", 0, type_name="bytes", convert=_mem),
        Flag("memory-reservation", "", "string", "Memory soft limit", 0, type_name="bytes", convert=_mem),
        Flag("memory-swap", "", "string", "Swap limit equal to memory plus swap: -1 to enable unlimited swap", 0,
             type_name="bytes", convert=_mem_swap),
        Int("pids-limit", "", "Tune container pids limit (set -1 for unlimited)"),
        Str("restart", "", "Restart policy to apply when a container exits"),
    ],
    args=min_args(1),
    aliases="docker container update, docker update",
)


def update_body(opts: Options) -> dict[str, Any]:
    """docker/cli's ContainerUpdateOptions: every Resources field, zero when not given."""
    if not opts.changed:
        raise CLIError("you must provide one or more flags when using this command")
    restart: dict[str, Any] = {"Name": "", "MaximumRetryCount": 0}
    if opts.restart:
        try:
            restart = parse_restart_policy(opts.restart)
        except ValueError as exc:
            raise CLIError(str(exc)) from None
    return {
        "BlkioWeight": opts.blkio_weight,
        "CpusetCpus": opts.cpuset_cpus,
        "CpusetMems": opts.cpuset_mems,
        "CpuShares": opts.cpu_shares,
        "Memory": opts.memory,
        "MemoryReservation": opts.memory_reservation,
        "MemorySwap": opts.memory_swap,
        "CpuPeriod": opts.cpu_period,
        "CpuQuota": opts.cpu_quota,
        "CpuRealtimePeriod": opts.cpu_rt_period,
        "CpuRealtimeRuntime": opts.cpu_rt_runtime,
        "NanoCpus": opts.cpus,
        "PidsLimit": opts.pids_limit or None,
        "RestartPolicy": restart,
    }


def run(cli: Cli, opts: Options, args: list[str]) -> int:
    body = update_body(opts)
    warnings: list[str] = []
    errors: list[CLIError] = []
    for name in args:
        try:
            answer = cli.client.post(f"/containers/{quote_path(name)}/update", body=body)
        except CLIError as exc:
            errors.append(exc)
            continue
        cli.out(name)
        warnings.extend((answer or {}).get("Warnings") or [])
    if warnings:
        cli.out("\n".join(warnings))
    error = join_errors(errors)
    if error is not None:
        raise error
    return 0
