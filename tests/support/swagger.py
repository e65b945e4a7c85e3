"""Validate JSON answers against Docker's API 1.51 swagger (the contract the docker CLI decodes).

    from tests.support.swagger import validate
    validate(body, "ContainerInspectResponse")     # a name under `definitions:`
    validate(body, {"type": "array", "items": {"$ref": "#/definitions/ImageSummary"}})

Swagger 2.0's `x-nullable: true` is honoured by allowing null for that property.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import jsonschema
import yaml

SPEC_PATH = Path(__file__).resolve().parents[3] / "shared" / "docker-api" / "swagger.yaml"


def _nullable(node: Any) -> Any:
    if isinstance(node, dict):
        out = {k: _nullable(v) for k, v in node.items()}
        if out.get("x-nullable") and "type" in out:
            t = out["type"]
            out["type"] = [*t, "null"] if isinstance(t, list) else [t, "null"]
        if out.get("x-nullable") and "$ref" in out:
            ref = out.pop("$ref")
            out = {"anyOf": [{"$ref": ref}, {"type": "null"}]}
        return out
    if isinstance(node, list):
        return [_nullable(v) for v in node]
    return node


@functools.cache
def _spec() -> dict[str, Any]:
    with SPEC_PATH.open() as f:
        spec: dict[str, Any] = yaml.safe_load(f)
    return {"definitions": _nullable(spec["definitions"])}


def validate(instance: Any, schema: str | dict[str, Any]) -> None:
    """Raise jsonschema.ValidationError when `instance` does not fit the schema."""
    spec = _spec()
    target = {"$ref": f"#/definitions/{schema}"} if isinstance(schema, str) else schema
    full = {**target, "definitions": spec["definitions"]}
    jsonschema.validate(instance, full, cls=jsonschema.Draft4Validator)
