"""Registry client: the Docker Registry HTTP API v2 / OCI distribution spec.

    endpoint.py   which URL and TLS settings a registry host gets (loopback: plain HTTP)
    auth.py       credentials, WWW-Authenticate challenges, basic and bearer tokens (cached per scope)
    client.py     one repository on one registry: manifests, blobs (download with digest check,
                  Range resume, retries), uploads, cross-repository mounts, manifest PUT
    manifest.py   media types, manifests and indexes, platform selection
    layerblobs.py the compressed blob kept beside each unpacked layer (so a push compresses nothing twice)
    follow.py     reading a blob while it downloads (a pull inflates each layer as its bytes arrive)
    registry_info.py  /info's RegistryConfig (insecure CIDRs and hosts, docker.io's mirrors), as dockerd's
"""
