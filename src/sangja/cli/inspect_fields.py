"""Field names of the Docker API objects `inspect` prints, by the zero value Go shows for them.

docker executes `inspect -f` templates on typed Go structs: a field the daemon left out (or
sent as null) still exists there and prints as its zero value ("", 0, false, [], map[], <nil>),
while a name that is no field at all is an error. sangja runs templates on the JSON, so this
table (every property reachable from ContainerInspectResponse, ImageInspect, Network and
Volume in Docker's API 1.51 swagger.yaml; names used with two types count as pointers) tells
the executor which missing keys are fields and what they hold.
"""

from __future__ import annotations

from sangja.cli.gofmt import NilMap, NilSlice

STRING_FIELDS = frozenset({
    "Addr", "AppArmorProfile", "Architecture", "Author", "Bridge", "Cgroup", "CgroupParent",
    "CgroupPermissions", "CgroupnsMode", "Comment", "Consistency", "ContainerIDFile", "CpusetCpus",
    "CpusetMems", "Created", "CreatedAt", "Destination", "DockerVersion", "Domainname", "Driver", "End",
    "EndpointID", "Error", "FinishedAt", "Gateway", "GlobalIPv6Address", "Group", "Hostname", "HostnamePath",
    "HostsPath", "ID", "IP", "IPAddress", "IPRange", "IPv4Address", "IPv6Address", "IPv6Gateway", "Id", "Image",
    "IpcMode", "Isolation", "Kind", "LinkLocalIPv6Address", "LogPath", "MacAddress", "Mode", "MountLabel",
    "Mountpoint", "Name", "Network", "NetworkID", "NetworkMode", "Os", "OsVersion", "Output", "Parent", "Path",
    "PathInContainer", "PathOnHost", "PidMode", "Platform", "ProcessLabel", "Propagation", "ResolvConfPath",
    "Runtime", "SandboxID", "SandboxKey", "Scope", "Source", "Start", "StartedAt", "StopSignal", "Subnet",
    "Target", "Type", "UTSMode", "UpdatedAt", "User", "UsernsMode", "Variant", "VolumeDriver", "WorkingDir",
    "architecture", "artifactType", "data", "digest", "mediaType", "os", "os.version", "variant",
})

NUMBER_FIELDS = frozenset({
    "BlkioWeight", "Count", "CpuCount", "CpuPercent", "CpuPeriod", "CpuQuota", "CpuRealtimePeriod",
    "CpuRealtimeRuntime", "CpuShares", "ExitCode", "FailingStreak", "GlobalIPv6PrefixLen", "GwPriority",
    "IOMaximumBandwidth", "IOMaximumIOps", "IPPrefixLen", "Index", "Interval", "KernelMemoryTCP",
    "LinkLocalIPv6PrefixLen", "MaximumRetryCount", "Memory", "MemoryReservation", "MemorySwap",
    "MemorySwappiness", "NanoCpus", "OomScoreAdj", "Pid", "PidsLimit", "PrefixLen", "Rate", "RestartCount",
    "Retries", "ShmSize", "SizeRootFs", "SizeRw", "StartInterval", "StartPeriod", "StopTimeout", "Timeout",
    "size",
})

BOOL_FIELDS = frozenset({
    "ArgsEscaped", "AttachStderr", "AttachStdin", "AttachStdout", "Attachable", "AutoRemove", "Available",
    "ConfigOnly", "Dead", "EnableIPv4", "EnableIPv6", "HairpinMode", "Ingress", "Init", "Internal",
    "NetworkDisabled", "OOMKilled", "OomKillDisable", "OpenStdin", "Paused", "Privileged", "PublishAllPorts",
    "RW", "ReadOnly", "ReadonlyRootfs", "Restarting", "Running", "StdinOnce", "Tty",
})

LIST_FIELDS = frozenset({
    "Aliases", "Args", "Binds", "BlkioDeviceReadBps", "BlkioDeviceReadIOps", "BlkioDeviceWriteBps",
    "BlkioDeviceWriteIOps", "BlkioWeightDevice", "CapAdd", "CapDrop", "Capabilities", "Cmd", "ConsoleSize",
    "DNSNames", "DeviceCgroupRules", "DeviceIDs", "DeviceRequests", "Devices", "Dns", "DnsOptions", "DnsSearch",
    "Entrypoint", "Env", "ExecIDs", "ExtraHosts", "GroupAdd", "LinkLocalIPs", "Links", "Log", "Manifests",
    "MaskedPaths", "Mounts", "OnBuild", "Peers", "PublishStatus", "ReadonlyPaths", "RepoDigests", "RepoTags",
    "SecondaryIPAddresses", "SecondaryIPv6Addresses", "SecurityOpt", "Shell", "Test", "Ulimits", "VolumesFrom",
    "os.features", "urls",
})

MAP_FIELDS = frozenset({
    "AccessMode", "Annotations", "AuxiliaryAddresses", "BindOptions", "Containers", "Data", "ImageOptions",
    "Info", "Labels", "LogConfig", "Metadata", "Networks", "Options", "RootFS", "StorageOpt", "Tmpfs",
    "TmpfsOptions", "VolumeOptions", "Volumes",
})

POINTER_FIELDS = frozenset({
    "AttestationData", "ClusterVolume", "Config", "ConfigFrom", "Descriptor", "DriverOpts", "ExposedPorts",
    "GraphDriver", "Health", "Healthcheck", "HostConfig", "IPAM", "IPAMConfig", "ImageData",
    "ImageManifestDescriptor", "NetworkSettings", "PortBindings", "Ports", "RestartPolicy", "Size", "Spec",
    "State", "Status", "Sysctls", "UsageData", "Version", "annotations", "platform",
})



def zero_values() -> dict[str, object]:
    """{field name: the value a missing or null field has in Go} for the template executor."""
    table: dict[str, object] = {}
    for fields, zero in ((STRING_FIELDS, ""), (NUMBER_FIELDS, 0), (BOOL_FIELDS, False), (POINTER_FIELDS, None)):
        table.update(dict.fromkeys(fields, zero))
    table.update(dict.fromkeys(LIST_FIELDS, NilSlice()))
    table.update(dict.fromkeys(MAP_FIELDS, NilMap()))
    return table
