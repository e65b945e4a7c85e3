"""The runtime adapter: OCI specs, root filesystems, and containers run by conmon + runc.

    types.py     what the daemon passes in and gets back (SpecInput, LaunchOptions, RuntimeStatus)
    spec.py      generate_spec: Docker's config.json, pure
    caps.py      capabilities for --cap-add/--cap-drop/--privileged
    devices.py   host device nodes for --device/--privileged
    user.py      --user resolution inside the rootfs
    rootfs.py    the overlay mount (the only module that mounts a rootfs)
    conmon.py    ConmonRuntime: create/start/kill/pause/resume/delete/status under conmon
    runc.py      calling runc; CreateFailed and NotRunning; runc's error text cleaned
    exits.py     ExitWatcher: inotify on conmon's exit files
    logs.py      conmon's k8s-file logs: read, tail, follow, Docker-style rotation
"""
