"""sangja: a Docker-compatible container engine.

Layers (each may import only the ones below it):
    cli/        HTTP client of the Docker Engine API (imports nothing of the daemon)
    api/        aiohttp routes: parse, call the backend, serialize
    daemon/     the verbs, one per file, and the container state machine
    image/ runtime/ network/ volume/ distribution/   stores and adapters
    host/       the one seam for kernel calls (mount, cgroups, signals)
"""

__version__ = "0.1.0"
