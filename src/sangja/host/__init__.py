"""The seam for kernel calls: everything here is small functions unit tests can replace.

    mounts.py    mount(2)/umount2(2) through libc (`Mounter` protocol), /proc/self/mountinfo
    cgroups.py   cgroup v1/v2 layout, the daemon's parent cgroup, moving conmon, cleanup
    proc.py      /proc reads: process liveness against PID reuse, host limits and capabilities
"""
