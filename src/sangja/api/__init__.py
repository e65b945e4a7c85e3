"""Thin HTTP layer: the Docker Engine API on aiohttp.

Each `routes/<resource>.py` starts with its route table; a handler parses the
request, calls a typed backend Protocol and serializes the answer. Nothing
here knows how containers or images are made.
"""
