"""The host platform in OCI terms, and parsing of `platform` parameters ("linux/arm64/v8")."""

from __future__ import annotations

import platform as _platform
from dataclasses import dataclass

from sangja.errors import InvalidParameter

# uname machine → (GOARCH, variant), as containerd's platforms package normalises them.
_MACHINES = {
    "x86_64": ("amd64", ""),
    "amd64": ("amd64", ""),
    "aarch64": ("arm64", ""),
    "arm64": ("arm64", ""),
    "armv7l": ("arm", "v7"),
    "armv6l": ("arm", "v6"),
    "i386": ("386", ""),
    "i686": ("386", ""),
    "ppc64le": ("ppc64le", ""),
    "s390x": ("s390x", ""),
    "riscv64": ("riscv64", ""),
    "mips64": ("mips64", ""),
}
_ARCH_ALIASES = {
    "x86_64": "amd64",
    "x86-64": "amd64",
    "aarch64": "arm64",
    "i386": "386",
    "armhf": "arm",
    "armel": "arm",
}


@dataclass(frozen=True)
class Platform:
    os: str
    architecture: str
    variant: str = ""

    def __str__(self) -> str:
        out = f"{self.os}/{self.architecture}"
        return f"{out}/{self.variant}" if self.variant else out

    def matches(self, os_name: str, arch: str, variant: str = "") -> bool:
        """Whether an image for os/arch/variant runs here (a missing variant matches any)."""
        if (os_name or "linux") != self.os or _ARCH_ALIASES.get(arch, arch) != self.architecture:
            return False
        return not variant or not self.variant or variant == self.variant


def host() -> Platform:
    arch, variant = _MACHINES.get(_platform.machine().lower(), (_platform.machine().lower(), ""))
    return Platform("linux", arch, variant)


def parse(spec: str) -> Platform:
    """"os[/arch[/variant]]" (containerd's platforms.Parse, for the forms Docker's CLI sends)."""
    parts = spec.strip().lower().split("/")
    if not spec.strip() or len(parts) > 3 or any(not p for p in parts):
        raise InvalidParameter(f'"{spec}": unknown operating system or architecture: invalid argument')
    here = host()
    if len(parts) == 1:
        if parts[0] in ("linux", "windows", "darwin", "freebsd"):
            return Platform(parts[0], here.architecture, here.variant)
        arch = _ARCH_ALIASES.get(parts[0], parts[0])
        return Platform("linux", arch)
    arch = _ARCH_ALIASES.get(parts[1], parts[1])
    variant = parts[2] if len(parts) == 3 else ""
    return Platform(parts[0], arch, variant)
