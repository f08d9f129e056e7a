"""The JSON Schema of scenario files, built from the step kinds of ``kinds.py``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.scenarios.kinds import KINDS, STRING

# kind -> (required keys, {key: schema}), from the one declaration of each kind
STEPS: dict[str, tuple[tuple[str, ...], Mapping[str, Any]]] = {
    name: (kind.required, kind.properties) for name, kind in KINDS.items()}
EXPECTATIONS = tuple(k for k in STEPS if k.startswith("expect_"))


def step_schema(kind: str) -> dict[str, Any]:
    required, properties = STEPS[kind]
    schema: dict[str, Any] = {"type": "object", "required": list(required), "additionalProperties": False,
                              "properties": properties}
    if KINDS[kind].one_of:
        schema["oneOf"] = [{"required": [key]} for key in KINDS[kind].one_of]
    return schema


def scenario_schema() -> dict[str, Any]:
    """The JSON Schema of a scenario file."""
    step = {"oneOf": [{"type": "object", "required": [kind], "additionalProperties": False,
                       "properties": {kind: step_schema(kind), "name": STRING}} for kind in STEPS]}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "harness scenario",
        "type": "object",
        "required": ["name", "steps"],
        "additionalProperties": False,
        "properties": {
            "name": STRING, "description": STRING,
            "tags": {"type": "array", "items": STRING},
            "targets": {"type": "object", "additionalProperties": {
                "oneOf": [{"type": "null"}, {"type": "object", "additionalProperties": False,
                                              "properties": {"skip": STRING}}]}},
            "exclusive": {"type": "boolean"},
            "variables": {"type": "object"},
            "steps": {"type": "array", "minItems": 1, "items": step},
        },
    }
