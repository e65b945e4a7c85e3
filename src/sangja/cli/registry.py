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
    "pull": ("pull", "Download an image from a registry"),
    "push": ("push", "Upload an image to a registry"),
    "login": ("login", "Authenticate to a registry"),
    "logout": ("logout", "Log out from a registry"),
    "version": ("version", "Show the sangja version information"),
    "info": ("info", "Display system-wide information"),
    "attach": ("attach", "Attach local standard input, output, and error streams to a running container"),
    "build": ("build", "Build an image from a Dockerfile"),
    "create": ("create", "Create a new container"),
    "commit": ("commit", "Create a new image from a container's changes"),
    "cp": ("cp", "Copy files/folders between a container and the local filesystem"),
    "diff": ("diff", "Inspect changes to files or directories on a container's filesystem"),
    "export": ("export", "Export a container's filesystem as a tar archive"),
    "exec": ("exec", "Execute a command in a running container"),
    "events": ("events", "Get real time events from the server"),
    "history": ("history", "Show the history of an image"),
    "import": ("import_", "Import the contents from a tarball to create a filesystem image"),
    "inspect": ("inspect", "Return low-level information on Docker objects"),
    "kill": ("kill", "Kill one or more running containers"),
    "load": ("load", "Load an image from a tar archive or STDIN"),
    "logs": ("logs", "Fetch the logs of a container"),
    "pause": ("pause", "Pause all processes within one or more containers"),
    "port": ("port", "List port mappings or a specific mapping for the container"),
    "rename": ("rename", "Rename a container"),
    "restart": ("restart", "Restart one or more containers"),
    "rm": ("rm", "Remove one or more containers"),
    "rmi": ("rmi", "Remove one or more images"),
    "save": ("save", "Save one or more images to a tar archive (streamed to STDOUT by default)"),
    "start": ("start", "Start one or more stopped containers"),
    "stats": ("stats", "Display a live stream of container(s) resource usage statistics"),
    "stop": ("stop", "Stop one or more running containers"),
    "tag": ("tag", "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE"),
    "top": ("top", "Display the running processes of a container"),
    "unpause": ("unpause", "Unpause all processes within one or more containers"),
    "update": ("update", "Update configuration of one or more containers"),
    "wait": ("wait", "Block until one or more containers stop, then print their exit codes"),
}

COMMON_COMMANDS = ("run", "ps", "images", "version", "info")

# Management commands: group → (short, {subcommand: module}); aliases map to the same module.
GROUPS: dict[str, tuple[str, dict[str, str]]] = {
    "container": ("Manage containers", {
        "attach": "attach", "create": "create", "exec": "exec", "inspect": "container_inspect", "kill": "kill",
        "logs": "logs",
        "ls": "ps", "list": "ps", "ps": "ps", "pause": "pause", "port": "port", "prune": "container_prune",
        "rename": "rename", "restart": "restart", "rm": "rm", "remove": "rm", "run": "run",
        "start": "start", "stats": "stats", "stop": "stop", "top": "top", "unpause": "unpause", "wait": "wait",
        "commit": "commit", "cp": "cp", "diff": "diff", "export": "export",
        "update": "update",
    }),
    "image": ("Manage images", {
        "build": "build",
        "history": "history", "import": "import_", "inspect": "image_inspect", "load": "load",
        "pull": "pull", "push": "push",
        "ls": "images", "list": "images", "prune": "image_prune", "rm": "rmi", "remove": "rmi",
        "save": "save", "tag": "tag",
    }),
    "system": ("Manage sangja", {
        "events": "events", "info": "info",
        "df": "system_df", "prune": "system_prune",
    }),
    "network": ("Manage networks", {
        "connect": "network_connect", "create": "network_create", "disconnect": "network_disconnect",
        "inspect": "network_inspect", "ls": "network_ls", "list": "network_ls", "prune": "network_prune",
        "rm": "network_rm", "remove": "network_rm",
    }),
    "volume": ("Manage volumes", {
        "create": "volume_create", "inspect": "volume_inspect", "ls": "volume_ls", "list": "volume_ls",
        "prune": "volume_prune", "rm": "volume_rm", "remove": "volume_rm",
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
    "network_connect": "Connect a container to a network",
    "network_create": "Create a network",
    "network_disconnect": "Disconnect a container from a network",
    "network_inspect": "Display detailed information on one or more networks",
    "network_ls": "List networks",
    "network_prune": "Remove all unused networks",
    "network_rm": "Remove one or more networks",
    "volume_create": "Create a volume",
    "volume_inspect": "Display detailed information on one or more volumes",
    "volume_ls": "List volumes",
    "volume_prune": "Remove unused local volumes",
    "volume_rm": "Remove one or more volumes",
    "system_df": "Show sangja disk usage",
    "system_prune": "Remove unused data",
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
