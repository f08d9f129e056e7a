"""The moto internal names the harness patches or reads, checked by name.

The seams (``moto_seams.py``), the fixes (``moto_fixes.py``) and the log writer (``moto.py``) reach
into moto's models. ``broken_internals()`` returns one line per name that moved or changed shape,
so an upgrade of moto fails a smoke test that says which one, instead of failing deep in a scenario.
Run it alone as ``python -m harness.targets.moto_internals`` (exit 1 when anything is broken).
"""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Callable
from typing import Any

Check = Callable[[], None]
_ACCOUNT, _REGION = "123412341234", "us-east-1"


def _attr(module: str, name: str) -> Any:
    return getattr(importlib.import_module(module), name)


def _moto(module: str, owner: str, name: str) -> Any:
    """moto's own definition, not the seam or fix the harness may have installed over it."""
    from harness.targets.moto_seams import moto_original

    return moto_original(_attr(module, owner), name)


def _signature(module: str, owner: str, name: str, expected: list[str]) -> Check:
    def check() -> None:
        found = list(inspect.signature(_moto(module, owner, name)).parameters)
        assert found == expected, f"parameters {found}, expected {expected}"
    return check


def _properties(module: str, owner: str, names: tuple[str, ...]) -> Check:
    def check() -> None:
        for name in names:
            assert isinstance(_moto(module, owner, name), property), f"{name} is no longer a property"
    return check


def _sqs_shapes() -> None:
    backend = _attr("moto.sqs.models", "sqs_backends")[_ACCOUNT][_REGION]
    queue = backend.create_queue("harness-internals")
    try:
        backend.send_message("harness-internals", "x")
        assert hasattr(queue, "_messages_lock") and hasattr(queue, "_messages"), "Queue lost _messages(_lock)"
        message = queue._messages[0]
        for name in ("visible_at", "delayed_until", "sent_timestamp"):
            assert hasattr(message, name), f"Message lost {name}"
    finally:
        backend.delete_queue("harness-internals")


def _direct_paths() -> None:
    """What the pollers' direct path (moto_direct.py) and the speed fixes (moto_speed.py) read."""
    import inspect as _inspect

    sqs_models = importlib.import_module("moto.sqs.models")
    for name in ("generate_receipt_handle", "camelcase_to_underscores"):
        assert callable(getattr(sqs_models, name, None)), f"moto.sqs.models lost {name}"
    backend = _attr("moto.sqs.models", "sqs_backends")[_ACCOUNT][_REGION]
    queue = backend.create_queue("harness-direct")
    try:
        backend.send_message("harness-direct", "x")
        (message,) = backend.receive_message("harness-direct", 1, 0, 30, [])
        for name in ("id", "receipt_handle", "body_md5", "body", "message_attributes", "attribute_md5", "sender_id",
                     "sent_timestamp", "approximate_receive_count", "approximate_first_receive_timestamp",
                     "deduplication_id", "group_id", "system_attributes", "sequence_number"):
            assert hasattr(message, name), f"Message lost {name}"
        for name in ("receive_message_wait_time_seconds", "visibility_timeout"):
            assert hasattr(queue, name), f"Queue lost {name}"
    finally:
        backend.delete_queue("harness-direct")
    source = _inspect.getsource(_moto("moto.iam.models", "IAMBackend", "__init__"))
    for assigned in ("self.aws_managed_policies = self._init_aws_policies()",
                     "self.managed_policies = self._init_managed_policies()"):
        assert assigned in source, f"IAMBackend.__init__ no longer does {assigned}"


def _iam_shapes() -> None:
    iam = _attr("moto.iam.models", "iam_backends")
    from harness.targets.moto_seams import moto_original

    assert callable(moto_original(importlib.import_module("moto.iam.models"), "get_account_id_from"))
    assert hasattr(iam[_ACCOUNT]["global"], "access_keys"), "IAMBackend lost access_keys"
    assert isinstance(_attr("moto.core.models", "DEFAULT_ACCOUNT_ID"), str)


def _logs_shapes() -> None:
    backend = _attr("moto.logs.models", "logs_backends")[_ACCOUNT][_REGION]
    backend.ensure_log_group("/harness/internals")
    group = backend.groups["/harness/internals"]
    assert hasattr(group, "streams"), "LogGroup lost streams"
    backend.delete_log_group("/harness/internals")


def _dynamodb_names() -> None:
    for name in ("put_item", "update_item", "delete_item", "get_item", "query", "scan", "get_table"):
        assert callable(_moto("moto.dynamodb.models", "DynamoDBBackend", name)), f"DynamoDBBackend lost {name}"
    for name in ("ConditionalCheckFailed", "MockValidationException", "MultipleTransactionsException",
                 "TooManyTransactionsException", "TransactionCanceledException", "TransactWriteSingleOpException"):
        _attr("moto.dynamodb.exceptions", name)
    assert callable(_attr("moto.dynamodb.comparisons", "get_filter_expression"))


def _clock_names() -> None:
    """What the virtual clock (moto_clock.py) replaces and reads."""
    import moto.core.utils as utils

    now = utils.utcnow
    code = getattr(now, "__code__", None)
    assert code is not None and not code.co_freevars and code.co_argcount == 0, "utcnow is no longer a plain function"
    assert "utcnow" in utils.unix_time.__code__.co_names, "unix_time no longer reads utcnow"
    source = inspect.getsource(_moto("moto.core.responses", "BaseResponse", "setup_class"))
    assert "self.current_account = self.get_current_account()" in source, "setup_class no longer sets current_account"
    table_module = importlib.import_module("moto.dynamodb.models.table")
    for name in ("ttl", "items", "stream_shard", "range_key_attr", "hash_key_attr"):
        assert name in inspect.getsource(table_module.Table.__init__), f"Table lost {name}"
    assert "self.items" in inspect.getsource(table_module.StreamShard.__init__), "StreamShard lost items"


def _backends_and_server() -> None:
    for module, name in (("moto.dynamodb.models", "dynamodb_backends"), ("moto.kinesis.models", "kinesis_backends"),
                         ("moto.sqs.models", "sqs_backends"), ("moto.awslambda.utils", "get_backend"),
                         ("moto.core.exceptions", "JsonRESTError"), ("moto.core.utils", "unix_time_millis"),
                         ("moto.server", "ThreadedMotoServer"), ("moto.backends", "list_of_moto_modules")):
        _attr(module, name)


def _cloudformation_response() -> None:
    response = _attr("moto.cloudformation.responses", "CloudFormationResponse")
    for name in ("call_action", "serialized", "_get_action"):
        assert callable(getattr(response, name, None)), f"CloudFormationResponse lost {name}"
    assert "RESPONSE_KEY_PATH_TO_TRANSFORMER" in vars(response), "CloudFormationResponse lost its transformers"
    assert response().automated_parameter_parsing, "CloudFormation requests are no longer parsed by the model"
    _attr("moto.core.responses", "ActionResult")
    error = _attr("moto.cloudformation.exceptions", "CloudFormationError")("ValidationError", "x")
    assert (error.code, error.message) == ("ValidationError", "x"), "CloudFormationError(code, message) changed"


def _dispatch_helpers() -> None:
    source = inspect.getsource(_moto("moto.core.responses", "BaseResponse", "call_action"))
    for name in ("method_names_from_class", "camelcase_to_underscores"):
        assert f"{name}(" in source, f"BaseResponse.call_action no longer calls {name}"
        assert callable(_attr("moto.core.responses", name)), f"moto.core.responses.{name} is gone"


def _s3_version_ids() -> None:
    key = _attr("moto.s3.models", "FakeKey")("k", b"", _ACCOUNT, _REGION, version_id="v")
    assert key._version_id == "v", "FakeKey no longer keeps its version id in _version_id"
    marker = _attr("moto.s3.models", "FakeDeleteMarker")(key)
    assert isinstance(marker._version_id, str), "FakeDeleteMarker no longer sets _version_id"
    key.dispose()


CHECKS: dict[str, Check] = {
    "LambdaFunction.invoke": _signature("moto.awslambda.models", "LambdaFunction", "invoke",
                                        ["self", "body", "request_headers", "response_headers"]),
    "LambdaFunction._invoke_lambda": _signature("moto.awslambda.models", "LambdaFunction", "_invoke_lambda",
                                                ["self", "event"]),
    "LambdaBackend.create_event_source_mapping": _signature(
        "moto.awslambda.models", "LambdaBackend", "create_event_source_mapping", ["self", "spec"]),
    "Rule.send_to_targets": _signature("moto.events.models", "Rule", "send_to_targets",
                                       ["self", "original_event", "transform_input"]),
    "Queue.delete_message": _signature("moto.sqs.models", "Queue", "delete_message", ["self", "receipt_handle"]),
    "SQSBackend.receive_message": _signature("moto.sqs.models", "SQSBackend", "receive_message", [
        "self", "queue_name", "count", "wait_seconds_timeout", "visibility_timeout", "message_attribute_names"]),
    "SQSBackend.is_message_valid_based_on_retention_period": _signature(
        "moto.sqs.models", "SQSBackend", "is_message_valid_based_on_retention_period",
        ["self", "queue_name", "message"]),
    "Queue message counters": _properties("moto.sqs.models", "Queue", (
        "messages", "approximate_number_of_messages", "approximate_number_of_messages_not_visible",
        "approximate_number_of_messages_delayed")),
    "BaseResponse.get_access_key": _signature("moto.core.responses", "BaseResponse", "get_access_key", ["self"]),
    "DynamoDBBackend.transact_write_items": _signature("moto.dynamodb.models", "DynamoDBBackend",
                                                       "transact_write_items", ["self", "transact_items"]),
    "LogsBackend log writing": _signature("moto.logs.models", "LogsBackend", "put_log_events",
                                          ["self", "log_group_name", "log_stream_name", "log_events"]),
    "IAMPolicyStatement.is_action_permitted": _signature(
        "moto.iam.access_control", "IAMPolicyStatement", "is_action_permitted",
        ["self", "action", "resource", "principal", "incoming_condition_values"]),
    "S3 notifications.send_event": _signature("moto.s3", "notifications", "send_event",
                                              ["account_id", "event_name", "bucket", "key"]),
    "S3 notifications._get_s3_event": _signature("moto.s3", "notifications", "_get_s3_event",
                                                 ["event_name", "bucket", "key", "notification_id"]),
    "S3 notifications._send_event_bridge_message": _signature(
        "moto.s3", "notifications", "_send_event_bridge_message", ["account_id", "bucket", "event_name", "key"]),
    "S3Response.put_object_tagging": _signature("moto.s3.responses", "S3Response", "put_object_tagging", ["self"]),
    "S3Backend._set_delete_marker": _signature("moto.s3.models", "S3Backend", "_set_delete_marker",
                                               ["self", "bucket_name", "key_name"]),
    "Rule._send_to_sqs_queue": _signature("moto.events.models", "Rule", "_send_to_sqs_queue",
                                          ["self", "resource_id", "event", "group_id"]),
    "StreamRecord.__init__": _signature("moto.dynamodb.models.table", "StreamRecord", "__init__",
                                        ["self", "table", "stream_type", "event_name", "old", "new", "seq"]),
    "Subscription.publish": _signature("moto.sns.models", "Subscription", "publish", [
        "self", "message", "message_id", "subject", "message_attributes", "group_id", "deduplication_id",
        "message_structure"]),
    "Subscription.get_post_data": _signature("moto.sns.models", "Subscription", "get_post_data",
                                             ["self", "message", "message_id", "subject", "message_attributes"]),
    "LambdaBackend.send_sns_message": _signature("moto.awslambda.models", "LambdaBackend", "send_sns_message",
                                                 ["self", "function_name", "message", "subject", "qualifier"]),
    "BaseResponse.setup_class": _signature("moto.core.responses", "BaseResponse", "setup_class",
                                           ["self", "request", "full_url", "headers", "use_raw_body"]),
    "DomainDispatcherApplication._get_body": _signature("moto.moto_server.werkzeug_app",
                                                        "DomainDispatcherApplication", "_get_body",
                                                        ["self", "environ"]),
    "EventsHandler.test_event_pattern": _signature("moto.events.responses", "EventsHandler", "test_event_pattern",
                                                   ["self"]),
    "EventsBackend.put_rule": _signature("moto.events.models", "EventsBackend", "put_rule", [
        "self", "name", "description", "event_bus_arn", "event_pattern", "role_arn", "scheduled_expression",
        "state", "managed_by", "tags"]),
    "EventPattern.matches_event": _signature("moto.events.models", "EventPattern", "matches_event",
                                             ["self", "event"]),
    "BaseResponse._enrich_response": _signature("moto.core.responses", "BaseResponse", "_enrich_response",
                                                ["headers", "body"]),
    "MotoRandom.get_random_string": _signature("moto.moto_api._internal.moto_random", "MotoRandom",
                                               "get_random_string", ["self", "length", "include_digits", "lower_case"]),
    "moto's dispatch helpers (method and action names)": _dispatch_helpers,
    "STSBackend.assume_role": _signature("moto.sts.models", "STSBackend", "assume_role", [
        "self", "region_name", "role_session_name", "role_arn", "policy", "duration", "external_id"]),
    "Table.set_stream_specification": _signature("moto.dynamodb.models.table", "Table", "set_stream_specification",
                                                 ["self", "streams"]),
    "CloudFormation responses (parsed, serialized by the model)": _cloudformation_response,
    "SQS queue and message fields": _sqs_shapes,
    "S3 object and delete-marker version ids": _s3_version_ids,
    "IAM access keys and account lookup": _iam_shapes,
    "SQS messages and IAM policies as the direct paths and speed fixes read them": _direct_paths,
    "SQSBackend.delete_message_batch": _signature("moto.sqs.models", "SQSBackend", "delete_message_batch",
                                                  ["self", "queue_name", "receipts"]),
    "SQSBackend.change_message_visibility_batch": _signature(
        "moto.sqs.models", "SQSBackend", "change_message_visibility_batch", ["self", "queue_name", "entries"]),
    "LambdaBackend.invoke": _signature("moto.awslambda.models", "LambdaBackend", "invoke",
                                       ["self", "function_name", "qualifier", "body", "headers", "response_headers"]),
    "IAMBackend policy builders": _signature("moto.iam.models", "IAMBackend", "_init_aws_policies", ["self"]),
    "CloudWatch Logs groups and streams": _logs_shapes,
    "DynamoDB backend, exceptions, conditions": _dynamodb_names,
    "backends, exceptions and the server": _backends_and_server,
    "the clock moto reads, SQS timers and DynamoDB TTL (moto_clock.py)": _clock_names,
}


def broken_internals() -> list[str]:
    """One line per internal that is missing or changed: ``name: what``."""
    broken = []
    for name, check in CHECKS.items():
        try:
            check()
        except Exception as exc:  # any failure is the finding
            broken.append(f"{name}: {type(exc).__name__}: {exc}")
    return broken


if __name__ == "__main__":
    problems = broken_internals()
    print("\n".join(problems) or f"all {len(CHECKS)} moto internals the harness relies on are in place")
    sys.exit(1 if problems else 0)
