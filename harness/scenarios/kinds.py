"""Scenario step kinds, each declared once: its runner, its schema and its documentation row.

The JSON Schema (``schema.py``), the engine's dispatch and the steps table of
``scenarios/README.md`` all come from ``KINDS``; a test checks the README against
``documentation_table()``. A new step kind is a runner in ``steps.py`` and one entry here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from harness.faults.rules import INVOCATION_EFFECTS
from harness.scenarios import fault_steps, log_steps, queue_steps, steps, time_steps

STRING = {"type": "string"}
ANY: dict[str, Any] = {}
OBJECT = {"type": "object"}
NUMBER = {"type": "number"}
CAPTURE = {"type": "object", "additionalProperties": {"type": "string"}}
# seconds, or seconds per target by name: {aws: 180, default: 40} (a named target's value is not scaled)
TIMEOUT = {"oneOf": [NUMBER, {"type": "object", "additionalProperties": NUMBER, "minProperties": 1}]}

Runner = Callable[[steps.StepContext, Mapping[str, Any]], Any]


@dataclass(frozen=True)
class StepKind:
    name: str
    run: Runner
    required: tuple[str, ...]
    properties: Mapping[str, Any]
    doc: str
    one_of: tuple[str, ...] = ()  # exactly one of these keys is given
    check: Callable[[Mapping[str, Any]], None] | None = None  # more checks at load time (raise HarnessError)

    def __post_init__(self) -> None:
        missing = [k for k in (*self.required, *self.one_of) if k not in self.properties]
        if missing:
            raise ValueError(f"step kind {self.name}: required {missing} have no schema")

    def row(self) -> str:
        """This kind's row of the README's steps table."""
        optional = [k for k in self.properties if k not in self.required and k not in self.one_of]
        required = [f"`{k}`" for k in self.required] + ([" or ".join(f"`{k}`" for k in self.one_of)] if self.one_of else [])
        return (f"| `{self.name}` | {', '.join(required) or '-'} | "
                f"{', '.join(f'`{k}`' for k in optional) or '-'} | {self.doc} |")


KINDS: dict[str, StepKind] = {kind.name: kind for kind in (
    StepKind("put_object", steps.put_object, ("bucket", "key"), {"bucket": STRING, "key": STRING, "body": ANY, "file": STRING,
                                       "content_type": STRING, "count": {"type": "integer", "minimum": 1}},
             "upload an object (`count: N` repeats it, `{n}` in the key is the index)"),
    StepKind("delete_object", steps.delete_object, ("bucket", "key"), {"bucket": STRING, "key": STRING},
             "delete an object"),
    StepKind("upload", steps.upload, ("url", "body"), {"url": STRING, "body": ANY, "content_type": STRING},
             "PUT a body to a URL (a pre-signed upload URL from the API)"),
    StepKind("send_message", steps.send_message, ("queue", "body"), {"queue": STRING, "body": ANY, "attributes": OBJECT,
                                         "group_id": STRING, "dedup_id": STRING},
             "send an SQS message to a queue (URL, ARN, name or logical id; JSON bodies are encoded)"),
    StepKind("publish", steps.publish, ("topic", "message"), {"topic": STRING, "message": ANY, "subject": STRING,
                                                            "attributes": OBJECT, "group_id": STRING},
             "publish an SNS message to a topic (ARN, name or logical id; JSON messages are encoded)"),
    StepKind("put_events", steps.put_events, ("source", "detail_type", "detail"), {"bus": STRING, "source": STRING,
                                                         "detail_type": STRING, "detail": ANY},
             "put an EventBridge event"),
    StepKind("put_item", steps.put_item, ("table", "item"), {"table": STRING, "item": OBJECT},
             "put a DynamoDB item (plain JSON values)"),
    StepKind("update_item", steps.update_item, ("table", "key", "set"), {"table": STRING, "key": OBJECT, "set": OBJECT},
             "set attributes of an existing DynamoDB item"),
    StepKind("invoke", steps.invoke, ("function",), {"function": STRING, "payload": ANY, "async": {"type": "boolean"},
                               "expect": OBJECT, "capture": CAPTURE},
             "invoke a function (by logical id prefix or name); `expect` on {payload, error}"),
    StepKind("api", steps.api, ("method", "path"), {"api": STRING, "user": STRING, "pool": STRING, "groups": {"type": "array", "items": STRING},
                                 "token": {"enum": ["none", "expired", "wrong-audience"]},
                                 "method": STRING, "path": STRING, "query": OBJECT, "body": ANY,
                                 "headers": OBJECT, "expect": OBJECT, "capture": CAPTURE},
             "call an API of the stack (`api`: its logical id, needed when there are several) as a named user of the stack's user pool (`pool`: its logical id, needed when there are several); `expect` on {status, headers, body}"),
    StepKind("set_parameter", steps.set_parameter, ("name", "value"), {"name": STRING, "value": ANY},
             "set an SSM parameter"),
    StepKind("set_secret", steps.set_secret, ("id", "value"), {"id": STRING, "value": ANY},
             "set a Secrets Manager secret value"),
    StepKind("settle", steps.settle, (), {"timeout": TIMEOUT},
             "wait until every event source is drained and nothing runs"),
    StepKind("pause", steps.pause, ("seconds", "reason"), {"seconds": NUMBER, "reason": STRING},
             "wait a fixed time, only for behaviour about time itself (a cache TTL); `reason` required"),
    StepKind("advance_clock", time_steps.advance_clock, (), {"seconds": {"type": "number", "minimum": 0}, "to": STRING},
             "let time pass on the account's clock: `seconds`, or `to` an ISO time. Where the clock is virtual (moto) "
             "it moves at once and everything due meanwhile happens in order (redeliveries after visibility timeouts, "
             "async retries, TTL expiry, schedules), then the account settles; elsewhere the step waits that long "
             "(scenarios letting over 5 minutes pass are skipped there)", one_of=("seconds", "to")),
    StepKind("fault", fault_steps.fault, (), {
        "service": STRING, "operation": STRING, "error": STRING, "status": {"type": "integer"}, "message": STRING,
        "latency_ms": {"type": "number", "minimum": 0}, "drop": {"type": "boolean"}, "function": STRING,
        "invocation": {"enum": list(INVOCATION_EFFECTS)}, "seconds": {"type": "number", "minimum": 0},
        "count": {"type": "integer", "minimum": 1}, "probability": NUMBER, "seed": {"type": "integer"},
        "after_s": {"type": "number", "minimum": 0}, "until_s": {"type": "number", "minimum": 0}},
             "inject a fault until the scenario ends: calls to `service` (`operation`, from `function`) fail with "
             "`error` (AWS's error body and status; `status`, `message` to override), take `latency_ms` longer or "
             "`drop` the connection; or a `function`'s next invocations `invocation`: timeout, crash, throttle, "
             "slow_start (`seconds`). When: `count` times, with `probability` (`seed`), between `after_s` and "
             "`until_s` on the account's clock. Checked against botocore's models when the file is loaded; "
             "scenarios with faults are skipped where the target cannot inject them",
             check=fault_steps.check_fault),
    StepKind("clear_faults", fault_steps.clear_faults, (), {"id": STRING},
             "remove the scenario's fault rules (or the one with `id`)"),
    StepKind("wait_until", steps.wait_until_step, ("expect",), {"expect": OBJECT, "timeout": TIMEOUT},
             "retry one expectation until it holds or `timeout` (s) passes"),
    StepKind("expect_item", steps.expect_item, ("table", "key"), {"table": STRING, "key": OBJECT, "match": ANY,
                                       "absent": {"type": "boolean"}, "capture": CAPTURE},
             "a DynamoDB item matches (or is `absent`)"),
    StepKind("expect_query", steps.expect_query, ("table", "partition"), {"table": STRING, "index": STRING, "partition": OBJECT,
                                              "count": {"type": "integer"}, "match": ANY, "capture": CAPTURE},
             "a partition (of the table or an index) has `count` items / items matching"),
    StepKind("expect_queue", queue_steps.expect_queue, ("queue",), {"queue": STRING, "count": {"type": "integer"}, "messages": ANY},
             "a queue (URL, ARN, name or logical id) holds `count` messages / messages matching (peeked, not "
             "consumed; each peek is a receive, which counts toward a redrive policy's maxReceiveCount)"),
    StepKind("expect_events", queue_steps.expect_events, ("bus",), {"bus": STRING, "detail_type": STRING, "count": {"type": "integer"},
                                 "match": ANY},
             "events seen on a bus (the engine puts a probe rule on it) match"),
    StepKind("expect_invocations", log_steps.expect_invocations, ("function",), {"function": STRING, "count": {"type": "integer"},
                                           "min": {"type": "integer"}, "errors": {"type": "integer"}, "timeout": TIMEOUT},
             "a function ran `count` / at least `min` times, with `errors` failures (where the target reports no invocations, read from its CloudWatch Logs and retried up to `timeout`, default 60 s)"),
    StepKind("expect_logs", log_steps.expect_logs, ("function",), {"function": STRING, "contains": STRING, "correlation_id": STRING,
                                    "min": {"type": "integer"}, "timeout": TIMEOUT},
             "a function logged lines containing text / with a correlation id since the scenario started (retried up to `timeout` where logs arrive late)"),
    StepKind("expect_alarm", steps.expect_alarm, ("alarm", "state"), {"alarm": STRING, "state": {"enum": ["OK", "ALARM", "INSUFFICIENT_DATA"]},
                                         "timeout": TIMEOUT},
             "an alarm is in a state (on targets that publish no metrics the harness evaluates SQS-depth alarms from the queues; where CloudWatch evaluates them, the state is polled up to `timeout`, default 600 s)"),
)}
RUNNERS: dict[str, Runner] = {name: kind.run for name, kind in KINDS.items()}


def documentation_table() -> str:
    """The steps table of ``scenarios/README.md``."""
    return "\n".join(["| kind | required | optional | what it does |", "|---|---|---|---|",
                      *(kind.row() for kind in KINDS.values())])
