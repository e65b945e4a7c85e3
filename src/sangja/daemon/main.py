"""`sangjad`: the daemon's entry point (flags named like dockerd's)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import ipaddress
import logging
import os
import signal
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web

from sangja import __version__
from sangja.daemon.config import DaemonConfig
from sangja.errors import SangjaError

if TYPE_CHECKING:
    from sangja.network.controller import BridgeController

log = logging.getLogger("sangjad")


def parse_args(argv: list[str] | None = None) -> DaemonConfig:
    p = argparse.ArgumentParser(prog="sangjad", description="sangja's container engine daemon")
    p.add_argument(
        "-H",
        "--host",
        default="unix:///run/sangja/sangja.sock",
        help="daemon socket to listen on (unix:///path)",
    )
    p.add_argument("--data-root", default="/var/lib/sangja", help="root of persistent state")
    p.add_argument("--exec-root", default="/run/sangja", help="root of runtime state (conmon, runc)")
    p.add_argument("-p", "--pidfile", default=None, help="path of the daemon's PID file")
    p.add_argument(
        "--runtime",
        "--default-runtime",
        dest="runtime",
        default="runc",
        help="OCI runtime: runc (default) or crun",
    )
    p.add_argument("--cgroup-parent", default="/sangja", help="parent cgroup of containers")
    p.add_argument(
        "-l", "--log-level", default="info", choices=["debug", "info", "warn", "warning", "error", "fatal"]
    )
    p.add_argument(
        "--log-opt",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="default log options for containers (max-size, max-file)",
    )
    p.add_argument("-b", "--bridge", default="sangja0", help='device of the default bridge network ("none": none)')
    p.add_argument("--bip", default="", help="address and prefix of the default bridge, e.g. 172.30.0.1/16")
    p.add_argument("--ipv6", action="store_true", help="enable IPv6 on the default bridge network")
    p.add_argument("--fixed-cidr-v6", default="", metavar="CIDR", help="IPv6 subnet of the default bridge")
    p.add_argument("--resolv-conf", default="/etc/resolv.conf", metavar="FILE",
                   help="resolv.conf whose nameservers the embedded DNS of user networks forwards to")
    p.add_argument("--insecure-registry", action="append", default=[], metavar="HOST[:PORT]",
                   help="a registry reached over plain HTTP (loopback registries always are)")
    p.add_argument("--registry-certs-dir", action="append", default=[], metavar="DIR",
                   help="where <host:port>/ca.crt, client.cert and client.key are looked up for a registry "
                        "(default /etc/sangja/certs.d and /etc/docker/certs.d)")
    p.add_argument("--registry-mirror", action="append", default=[], metavar="URL",
                   help="a mirror of docker.io (http:// or https://), tried before the origin for pulls")
    p.add_argument("--docker-io-endpoint", default="", metavar="URL",
                   help="where docker.io is reached instead of https://registry-1.docker.io (for tests)")
    p.add_argument("--max-concurrent-downloads", type=int, default=3, help="layer downloads per pull")
    p.add_argument("--max-concurrent-uploads", type=int, default=5, help="layer uploads per push")
    p.add_argument(
        "--default-address-pool",
        action="append",
        default=[],
        metavar="base=CIDR,size=N",
        help="address pool the default bridge's subnet is chosen from",
    )
    p.add_argument("--init", action="store_true",
                   help="run an init inside containers that do not set HostConfig.Init (signals, zombies)")
    p.add_argument("-v", "--version", action="version", version=f"sangjad version {__version__}")
    a = p.parse_args(argv)
    log_opts = {"max-size": "10m", "max-file": "3"}
    for item in a.log_opt:
        key, eq, value = item.partition("=")
        if not eq or key not in ("max-size", "max-file"):
            p.error(f"invalid --log-opt {item!r}: expected max-size=SIZE or max-file=N")
        log_opts[key] = value
    if not a.host.startswith("unix://"):
        p.error(f"only unix:// hosts are supported: {a.host}")
    from sangja.distribution.endpoint import validate_mirror
    from sangja.network.controller import parse_pool

    try:
        mirrors = tuple(validate_mirror(x) for x in a.registry_mirror)
        if a.docker_io_endpoint:
            validate_mirror(a.docker_io_endpoint)
    except ValueError as exc:
        p.error(str(exc))
    try:
        pools = tuple(parse_pool(x) for x in a.default_address_pool)
        if a.bip:
            ipaddress.IPv4Interface(a.bip)
        if a.fixed_cidr_v6:
            ipaddress.IPv6Network(a.fixed_cidr_v6)
    except ValueError as exc:
        p.error(str(exc))
    return DaemonConfig(
        host=a.host,
        data_root=Path(a.data_root).absolute(),
        exec_root=Path(a.exec_root).absolute(),
        pidfile=Path(a.pidfile).absolute() if a.pidfile else None,
        runtime=a.runtime,
        cgroup_parent=a.cgroup_parent,
        log_level={"warn": "warning", "fatal": "critical"}.get(a.log_level, a.log_level),
        log_opts=log_opts,
        bridge=a.bridge,
        bip=a.bip,
        address_pools=pools,
        ipv6=a.ipv6,
        fixed_cidr_v6=a.fixed_cidr_v6,
        resolv_conf=a.resolv_conf,
        insecure_registries=tuple(a.insecure_registry),
        registry_certs_dirs=tuple(Path(x).absolute() for x in a.registry_certs_dir),
        registry_mirrors=mirrors,
        docker_io_endpoint=a.docker_io_endpoint.rstrip("/"),
        max_concurrent_downloads=max(a.max_concurrent_downloads, 1),
        max_concurrent_uploads=max(a.max_concurrent_uploads, 1),
        init=a.init,
    )


def main(argv: list[str] | None = None) -> None:
    cfg = parse_args(argv)
    logging.basicConfig(
        level=cfg.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("pyroute2").setLevel(logging.WARNING)  # it logs every netlink message at debug
    from sangja.host import pyroute2_lazy

    pyroute2_lazy.install()  # before anything imports pyroute2: not its package __init__ (~5 MB)
    from sangja.host.heap import limit_malloc_arenas

    limit_malloc_arenas()  # before any thread: worker threads' heap tops stay trimmable (-4 MiB)
    if os.geteuid() != 0:
        print("sangjad: must run as root (it mounts filesystems and creates cgroups)", file=sys.stderr)
        sys.exit(1)
    try:
        asyncio.run(serve(cfg))
    except SangjaError as exc:
        print(f"sangjad: {exc.message}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        pass


def _claim_socket(path: str) -> None:
    """Refuse to start when another daemon answers on the socket; remove a stale one."""
    if not os.path.exists(path):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        return
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(path)
    except OSError:
        os.unlink(path)
        return
    finally:
        probe.close()
    raise SangjaError(f"another daemon is already listening on {path}")


async def serve(cfg: DaemonConfig) -> None:
    from sangja.api.app import build_app
    from sangja.api.idle import IdleTrimmer
    from sangja.api.routes.auth import auth_routes
    from sangja.api.routes.build import build_routes
    from sangja.api.routes.commit import commit_routes
    from sangja.api.routes.container_files import container_file_routes
    from sangja.api.routes.container_resources import container_resource_routes
    from sangja.api.routes.containers import container_routes
    from sangja.api.routes.exec import exec_routes
    from sangja.api.routes.images import image_routes
    from sangja.api.routes.networks import network_routes
    from sangja.api.routes.system import system_routes
    from sangja.api.routes.system_df import system_df_routes
    from sangja.api.routes.volumes import volume_routes
    from sangja.daemon.daemon import Daemon
    from sangja.daemon.logrotate import rotate_forever
    from sangja.daemon.monitor import watch_exits
    from sangja.daemon.reconcile import reconcile
    from sangja.daemon.registry_session import registry_options
    from sangja.daemon.usage import ContainerImageUsage
    from sangja.host.cgroups import Cgroups
    from sangja.image.store import ImageStore
    from sangja.runtime.conmon import ConmonRuntime

    cfg = dataclasses.replace(cfg, cgroup_version=Cgroups().version)
    sock_path = cfg.socket_path
    _claim_socket(sock_path)
    cfg.data_root.mkdir(parents=True, exist_ok=True)
    cfg.exec_root.mkdir(parents=True, exist_ok=True, mode=0o700)
    if cfg.pidfile:
        cfg.pidfile.parent.mkdir(parents=True, exist_ok=True)
        cfg.pidfile.write_text(f"{os.getpid()}\n")

    images = ImageStore(cfg.data_root / "image")
    runtime = ConmonRuntime(cfg.exec_root, runtime=cfg.runtime, cgroup_parent=cfg.cgroup_parent)
    d = Daemon(cfg, images, runtime)
    d.network = await asyncio.to_thread(start_network, cfg)
    from sangja.daemon.layer_flush import recover

    await asyncio.to_thread(recover, images)  # pulled layers the machine went down before flushing
    exits = asyncio.get_running_loop().create_task(watch_exits(d))
    await reconcile(d)
    from sangja.daemon.network_dns import start_dns, stop_dns

    await start_dns(d)
    rotation = asyncio.get_running_loop().create_task(rotate_forever(d))

    app = build_app(
        [
            system_routes(d),
            system_df_routes(d),
            container_routes(d),
            commit_routes(d),
            build_routes(d),
            container_file_routes(d),
            container_resource_routes(d),
            exec_routes(d),
            image_routes(images, d.events, ContainerImageUsage(d.containers), registry_options(cfg)),
            auth_routes(registry_options(cfg)),
            volume_routes(d),
            network_routes(d),
        ]
    )
    IdleTrimmer().attach(app)  # malloc_trim once the daemon goes quiet (api/idle.py)
    # handler_cancellation: a client that leaves (docker run -d does not read the wait
    # body; logs -f and events end with Ctrl-C) cancels its handler instead of leaking it.
    runner = web.AppRunner(
        app, handle_signals=False, shutdown_timeout=1.0, access_log=None, handler_cancellation=True
    )
    await runner.setup()
    site = web.UnixSite(runner, sock_path)
    old_umask = os.umask(0o117)
    try:
        await site.start()
    finally:
        os.umask(old_umask)
    os.chmod(sock_path, 0o660)
    log.info("sangjad %s listening on %s (data root %s)", __version__, cfg.host, cfg.data_root)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    # conmon takes SIGHUP as fatal; sangjad must not die of it either.
    loop.add_signal_handler(signal.SIGHUP, lambda: None)
    try:
        await stop.wait()
    finally:
        log.info("shutting down; containers keep running under conmon")
        with contextlib.suppress(Exception):
            await asyncio.wait_for(d.runtime.drain(), 5)
        for task in (exits, rotation, *d.background):
            task.cancel()
        with contextlib.suppress(Exception):
            await stop_dns(d)
        with contextlib.suppress(Exception):
            await asyncio.to_thread(d.network.shutdown)
        with contextlib.suppress(Exception):
            await runner.cleanup()
        with contextlib.suppress(OSError):
            os.unlink(sock_path)
        if cfg.pidfile:
            with contextlib.suppress(OSError):
                cfg.pidfile.unlink()


def start_network(cfg: DaemonConfig) -> BridgeController:
    from sangja.network.controller import DEFAULT_POOLS, BridgeController, NetworkOptions

    opts = NetworkOptions(bridge=cfg.bridge, bip=cfg.bip, pools=cfg.address_pools or DEFAULT_POOLS,
                          ipv6=cfg.ipv6, fixed_cidr_v6=cfg.fixed_cidr_v6)
    ctl = BridgeController(opts, cfg.data_root, cfg.exec_root)
    try:
        ctl.init()
    except (OSError, RuntimeError) as exc:
        raise SangjaError(f"failed to set up the default bridge network {cfg.bridge}: {exc}") from exc
    return ctl


if __name__ == "__main__":
    main()
