"""The lazy command table: command names → module names in `sangja.cli.commands`.

Nothing here imports a command module: `sangja --help` and the dispatcher read these
tables, and only the one module that runs is imported. Each entry's short text must
equal its module's `SPEC.short` (a unit test checks).
"""

from __future__ import annotations

# Top-level commands: name → (module, short description).
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("run", "Create and run a new container from an image"),
    "ps": ("ps", "List containers"),
    "images": ("images", "List images"),
    "version": ("version", "Show the sangja version information"),
    "info": ("info", "Display system-wide information"),
    "create": ("create", "Create a new container"),
    "events": ("events", "Get real time events from the server"),
    "history": ("history", "Show the history of an image"),
    "import": ("import_", "Import the contents from a tarball to create a filesystem image"),
    "inspect": ("inspect", "Return low-level information on Docker objects"),
    "kill": ("kill", "Kill one or more running containers"),
    "load": ("load", "Load an image from a tar archive or STDIN"),
    "logs": ("logs", "Fetch the logs of a container"),
    "pause": ("pause", "Pause all processes within one or more containers"),
    "rename": ("rename", "Rename a container"),
    "restart": ("restart", "Restart one or more containers"),
    "rm": ("rm", "Remove one or more containers"),
    "rmi": ("rmi", "Remove one or more images"),
    "save": ("save", "Save one or more images to a tar archive (streamed to STDOUT by default)"),
    "start": ("start", "Start one or more stopped containers"),
    "stop": ("stop", "Stop one or more running containers"),
    "tag": ("tag", "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE"),
    "top": ("top", "Display the running processes of a container"),
    "unpause": ("unpause", "Unpause all processes within one or more containers"),
    "wait": ("wait", "Block until one or more containers stop, then print their exit codes"),
}

COMMON_COMMANDS = ("run", "ps", "images", "version", "info")

# Management commands: group → (short, {subcommand: module}); aliases map to the same module.
GROUPS: dict[str, tuple[str, dict[str, str]]] = {
    "container": ("Manage containers", {
        "create": "create", "inspect": "container_inspect", "kill": "kill", "logs": "logs",
        "ls": "ps", "list": "ps", "ps": "ps", "pause": "pause", "prune": "container_prune",
        "rename": "rename", "restart": "restart", "rm": "rm", "remove": "rm", "run": "run",
        "start": "start", "stop": "stop", "top": "top", "unpause": "unpause", "wait": "wait",
    }),
    "image": ("Manage images", {
        "history": "history", "import": "import_", "inspect": "image_inspect", "load": "load",
        "ls": "images", "list": "images", "prune": "image_prune", "rm": "rmi", "remove": "rmi",
        "save": "save", "tag": "tag",
    }),
    "system": ("Manage sangja", {
        "events": "events", "info": "info",
    }),
}

# Shorts of group subcommands that differ from the top-level command's.
GROUP_SHORTS: dict[str, str] = {
    "container_inspect": "Display detailed information on one or more containers",
    "image_inspect": "Display detailed information on one or more images",
    "container_prune": "Remove all stopped containers",
    "image_prune": "Remove unused images",
    "ps": "List containers",
    "images": "List images",
    "rmi": "Remove one or more images",
}

# Aliases hidden from group listings (docker lists only the primary name).
HIDDEN_ALIASES = frozenset({"list", "ps", "remove"})


def short_for(module: str) -> str:
    if module in GROUP_SHORTS:
        return GROUP_SHORTS[module]
    for mod, short in COMMANDS.values():
        if mod == module:
            return short
    return ""


def resolve(argv: list[str]) -> tuple[str, str, list[str]] | None:
    """Map argv to (command path, module, remaining args); None when argv[0] is unknown.

    For a bare group ("sangja container") the module is "" and the caller shows the
    group's help; an unknown subcommand gives module "?".
    """
    name = argv[0]
    if name in GROUPS:
        subs = GROUPS[name][1]
        if len(argv) < 2 or argv[1].startswith("-"):
            return name, "", argv[1:]
        sub = argv[1]
        return f"{name} {sub}", subs.get(sub, "?"), argv[2:]
    if name in COMMANDS:
        return name, COMMANDS[name][0], argv[1:]
    return None
