"""The JSON Schema of scenario files, built from one table of step kinds (also printed into docs)."""

from __future__ import annotations

from typing import Any

STRING = {"type": "string"}
ANY: dict[str, Any] = {}
OBJECT = {"type": "object"}
NUMBER = {"type": "number"}
CAPTURE = {"type": "object", "additionalProperties": {"type": "string"}}

# kind -> (required keys, {key: schema})
STEPS: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
    # actions
    "put_object": (("bucket", "key"), {"bucket": STRING, "key": STRING, "body": ANY, "file": STRING,
                                       "content_type": STRING, "count": {"type": "integer", "minimum": 1}}),
    "delete_object": (("bucket", "key"), {"bucket": STRING, "key": STRING}),
    "upload": (("url", "body"), {"url": STRING, "body": ANY, "content_type": STRING}),
    "send_message": (("queue", "body"), {"queue": STRING, "body": ANY, "attributes": OBJECT,
                                         "group_id": STRING, "dedup_id": STRING}),
    "put_events": (("source", "detail_type", "detail"), {"bus": STRING, "source": STRING,
                                                         "detail_type": STRING, "detail": ANY}),
    "put_item": (("table", "item"), {"table": STRING, "item": OBJECT}),
    "update_item": (("table", "key", "set"), {"table": STRING, "key": OBJECT, "set": OBJECT}),
    "invoke": (("function",), {"function": STRING, "payload": ANY, "async": {"type": "boolean"},
                               "expect": OBJECT, "capture": CAPTURE}),
    "api": (("method", "path"), {"api": STRING, "user": STRING, "pool": STRING, "groups": {"type": "array", "items": STRING},
                                 "token": {"enum": ["none", "expired", "wrong-audience"]},
                                 "method": STRING, "path": STRING, "query": OBJECT, "body": ANY,
                                 "headers": OBJECT, "expect": OBJECT, "capture": CAPTURE}),
    "set_parameter": (("name", "value"), {"name": STRING, "value": ANY}),
    "set_secret": (("id", "value"), {"id": STRING, "value": ANY}),
    # waits
    "settle": ((), {"timeout": NUMBER}),
    # only for behaviour that is about time itself (a cache TTL): the reason is required
    "pause": (("seconds", "reason"), {"seconds": NUMBER, "reason": STRING}),
    "wait_until": (("expect",), {"expect": OBJECT, "timeout": NUMBER}),
    # expectations
    "expect_item": (("table", "key"), {"table": STRING, "key": OBJECT, "match": ANY,
                                       "absent": {"type": "boolean"}, "capture": CAPTURE}),
    "expect_query": (("table", "partition"), {"table": STRING, "index": STRING, "partition": OBJECT,
                                              "count": {"type": "integer"}, "match": ANY, "capture": CAPTURE}),
    "expect_queue": (("queue",), {"queue": STRING, "count": {"type": "integer"}, "messages": ANY}),
    "expect_events": (("bus",), {"bus": STRING, "detail_type": STRING, "count": {"type": "integer"},
                                 "match": ANY}),
    "expect_invocations": (("function",), {"function": STRING, "count": {"type": "integer"},
                                           "min": {"type": "integer"}, "errors": {"type": "integer"}}),
    "expect_logs": (("function",), {"function": STRING, "contains": STRING, "correlation_id": STRING,
                                    "min": {"type": "integer"}}),
    "expect_alarm": (("alarm", "state"), {"alarm": STRING, "state": {"enum": ["OK", "ALARM", "INSUFFICIENT_DATA"]},
                                         "timeout": NUMBER}),
}
EXPECTATIONS = tuple(k for k in STEPS if k.startswith("expect_"))


def step_schema(kind: str) -> dict[str, Any]:
    required, properties = STEPS[kind]
    return {"type": "object", "required": list(required), "additionalProperties": False,
            "properties": properties}


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
            "variables": {"type": "object"},
            "steps": {"type": "array", "minItems": 1, "items": step},
        },
    }
