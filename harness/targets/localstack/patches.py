"""Fidelity fixes applied inside LocalStack's process when it starts (runs in LocalStack's venv).

The installer registers ``harness_fidelity`` in LocalStack's ``localstack.hooks.on_infra_start``
entry-point group, so LocalStack runs it before it serves requests. Each fix is one named function
in ``FIXES`` that makes what a client observes match AWS where LocalStack differs; the names each
fix relies on are checked by ``harness.targets.localstack.internals``.

This module imports LocalStack: it is only ever imported in LocalStack's virtualenv.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from localstack.runtime import hooks

LOG = logging.getLogger(__name__)


def output_descriptions() -> None:
    """``DescribeStacks`` outputs carry their template ``Description`` as CloudFormation's do.

    LocalStack's engine drops it (a TODO in its change set executor); tests that print or read an
    output's description (``stack_output["Description"]``) then fail with a KeyError.
    """
    from localstack.services.cloudformation.v2.provider import CloudformationProviderV2

    original = CloudformationProviderV2._describe_stack

    def _describe_stack(self: Any, stack: Any) -> Any:
        described = original(self, stack)
        declared = (stack.template or {}).get("Outputs") or {}
        for output in described.get("Outputs") or []:
            description = (declared.get(output.get("OutputKey")) or {}).get("Description")
            if isinstance(description, str) and "Description" not in output:
                output["Description"] = description
        return described

    CloudformationProviderV2._describe_stack = _describe_stack


def atomic_event_source_mapping_create() -> None:
    """A ``CreateEventSourceMapping`` that fails leaves no mapping behind, as on AWS.

    LocalStack stores the mapping before it builds the mapping's poller; when building it raises
    (a queue read under load, say) the client gets a 500 and retries, and the retry fails with
    ``ResourceConflictException: An event source mapping ... already exists`` for a mapping nobody
    created successfully.
    """
    from localstack.services.lambda_.provider import LambdaProvider

    original = LambdaProvider.create_event_source_mapping_v2

    def create(self: Any, context: Any, request: Any) -> Any:
        *_, state, _version, _role = self.validate_event_source_mapping(context, request)
        before = set(state.event_source_mappings)
        try:
            return original(self, context, request)
        except Exception:
            for uuid in set(state.event_source_mappings) - before:
                state.event_source_mappings.pop(uuid, None)
                self.esm_workers.pop(uuid, None)
            raise

    LambdaProvider.create_event_source_mapping_v2 = create


def s3_event_shapes() -> None:
    """S3 event notifications carry keys, sequencers and requesters as AWS's do.

    LocalStack encodes a key with ``quote`` (``a b+c`` -> ``a%20b%2Bc``; AWS: ``a+b%2Bc``), gives
    every event the same ``sequencer`` (AWS: increasing, they order a key's events), a constant
    ``requester`` / ``principalId`` (AWS: the caller's account) and its own request ids (AWS: 16
    upper-case characters). One sequencer and request id per event, shared by its destinations.
    """
    import json
    from urllib.parse import unquote

    from localstack.services.s3 import notifications

    from harness.targets.s3_event_fields import encode_key, owner_id, request_id, sequencer

    context_class = notifications.S3EventNotificationContext
    original_context = context_class.from_request_context.__func__
    original_classic = notifications.BaseNotifier._get_event_payload
    original_eventbridge = notifications.EventBridgeNotifier._get_event_payload

    def from_request_context(cls: Any, *args: Any, **kwargs: Any) -> Any:
        ctx = original_context(cls, *args, **kwargs)
        ctx.key_name = encode_key(unquote(ctx.key_name))
        ctx.harness_sequencer, ctx.harness_request_id = sequencer(), request_id()
        return ctx

    def classic(ctx: Any, config_id: Any) -> Any:
        payload = original_classic(ctx, config_id)
        for record in payload.get("Records", []):
            obj = record["s3"]["object"]
            if "sequencer" in obj:
                obj["sequencer"] = getattr(ctx, "harness_sequencer", obj["sequencer"])
            record["userIdentity"] = {"principalId": f"AWS:{ctx.caller}"}
            record["responseElements"]["x-amz-request-id"] = getattr(ctx, "harness_request_id", request_id())
            record["s3"]["bucket"]["ownerIdentity"] = {"principalId": owner_id(ctx.bucket_account_id)}
        return payload

    def eventbridge(ctx: Any, config_id: Any = None) -> Any:
        entry = original_eventbridge(ctx, config_id)
        detail = json.loads(entry["Detail"])
        if "sequencer" in detail.get("object", {}):
            detail["object"]["sequencer"] = getattr(ctx, "harness_sequencer", detail["object"]["sequencer"])
        detail["requester"] = ctx.caller
        detail["request-id"] = getattr(ctx, "harness_request_id", detail["request-id"])
        entry["Detail"] = json.dumps(detail)
        return entry

    context_class.from_request_context = classmethod(from_request_context)
    notifications.BaseNotifier._get_event_payload = staticmethod(classic)
    notifications.EventBridgeNotifier._get_event_payload = staticmethod(eventbridge)


def disabled_rules_receive_nothing() -> None:
    """A rule whose state is ``DISABLED`` matches no event, as on AWS (LocalStack ignored the state
    and delivered to its targets)."""
    from localstack.services.events.provider import EventsProvider

    original = EventsProvider._process_rules_async

    def process_rules_async(self: Any, params: dict[str, Any]) -> None:
        rules = [rule for rule in params["rules"] if str(getattr(rule, "state", "")) != "DISABLED"]
        original(self, {**params, "rules": rules})

    EventsProvider._process_rules_async = process_rules_async


def event_pattern_validation() -> None:
    """``PutRule`` and ``TestEventPattern`` refuse patterns AWS refuses (``InvalidEventPatternException``
    with the reason), through the harness's pattern validation, as on the moto target (LocalStack
    accepted a leaf that is not an array, unknown operators, non-numeric bounds, ...)."""
    from localstack.aws.api.events import InvalidEventPatternException
    from localstack.services.events.provider import EventsProvider

    from harness.wiring.filters import parse_pattern

    def check(pattern: Any) -> None:
        problem = parse_pattern(pattern)[1] if pattern else None
        if problem:
            raise InvalidEventPatternException(f"Event pattern is not valid. Reason: {problem}")

    original_put_rule = EventsProvider.put_rule
    original_test = EventsProvider.test_event_pattern

    def put_rule(self: Any, context: Any, name: Any, *args: Any, **kwargs: Any) -> Any:
        check(kwargs.get("event_pattern") if "event_pattern" in kwargs else (args[1] if len(args) > 1 else None))
        return original_put_rule(self, context, name, *args, **kwargs)

    def test_event_pattern(self: Any, context: Any, event_pattern: Any, *args: Any, **kwargs: Any) -> Any:
        check(event_pattern)
        return original_test(self, context, event_pattern, *args, **kwargs)

    EventsProvider.put_rule = put_rule
    EventsProvider.test_event_pattern = test_event_pattern


def fault_injection() -> None:
    """Not a fix: the harness's fault rules, applied in LocalStack's request chain (``faults.py``)."""
    from harness.targets.localstack.faults import install

    install()


def call_observation() -> None:
    """Not a fix: every call recorded for the harness's IAM and cost sections (``calls.py``)."""
    from harness.targets.localstack.calls import install

    install()


def invocation_log_served() -> None:
    """Not a fix: the executor's invocation log over HTTP, for harnesses given this LocalStack's URL."""
    from harness.targets.localstack.log_control import install

    install()


FIXES: dict[str, Callable[[], None]] = {
    "DescribeStacks output descriptions": output_descriptions,
    "CreateEventSourceMapping is atomic": atomic_event_source_mapping_create,
    "S3 event keys, sequencers and requesters": s3_event_shapes,
    "disabled rules receive nothing": disabled_rules_receive_nothing,
    "event patterns validated": event_pattern_validation,
    "fault injection through LocalStack's request handlers": fault_injection,
    "calls observed through LocalStack's response handlers": call_observation,
    "the invocation log served at /_harness/invocations": invocation_log_served,
}


@hooks.on_infra_start()  # type: ignore[untyped-decorator]
def harness_fidelity() -> None:
    """Apply every fix; one that no longer applies is logged, never fatal (the smoke test names it)."""
    for name, fix in FIXES.items():
        try:
            fix()
        except Exception:  # LocalStack must still start; internals' check fails loudly instead
            LOG.exception("harness fidelity fix %r could not be applied", name)
