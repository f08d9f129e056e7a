"""Fixes to moto that the harness's promises depend on, installed with the seams: one named
function each, listed in ``FIXES``.

Thread safety: moto's ``Queue.delete_message`` rebuilds the message list without the queue's lock
while ``SendMessage`` appends under it, so a send racing a delete is lost; concurrent receives can
hand out one message twice. Deletes and receives now hold the queue's lock (a reentrant Condition,
released while a long poll waits).

Accounts: a pre-signed URL carries its access key in the URL (``AWSAccessKeyId`` or
``X-Amz-Credential``); moto reads it from its parsed parameters, which hold the form body instead
when a client sends one (urllib and requests do), so an upload through a URL pre-signed in account A
raised its S3 events in moto's default account. The key is now read from the URL itself.

Accounts, speed: resolving a request's account from its access key walked every account and
*created* every partition's IAM backend on the way (~65 ms each with AWS managed policies loaded),
so each new account slowed every later request. Only existing backends are searched now.

Speed, same answers: every request rescanned moto's package folder (~250 stat calls), and every
send and received message recomputed all queue attributes with a clock read per message. Those
are replaced by a cached module list, single-pass counts with one clock read, and a direct
retention check.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from harness.targets.moto_event_patterns import fix_event_patterns
from harness.targets.moto_policy_fix import install_condition_fix
from harness.targets.moto_s3_events import fix_s3_events
from harness.targets.moto_sns_events import fix_sns_lambda_events
from harness.targets.moto_speed import (
    fix_backend_lookup,
    fix_dispatch_costs,
    fix_managed_policies_on_first_use,
)
from harness.targets.s3_event_fields import is_uuid, version_id

Patch = Callable[[Any, str, Any], None]


def fix_module_scan(patch: Patch) -> None:
    """Speed: every request rescanned moto's package folder (~250 stat calls); the list is cached."""
    import moto.backends

    modules = tuple(moto.backends.list_of_moto_modules())
    patch(moto.backends, "list_of_moto_modules", lambda: modules)


def fix_sqs_locking(patch: Patch) -> None:
    """Deletes and receives hold the queue's lock (a send racing a delete was lost; concurrent
    receives could hand out one message twice)."""
    from moto.sqs.models import Queue, SQSBackend

    original_delete = Queue.delete_message
    original_receive = SQSBackend.receive_message

    def delete_message(queue: Any, receipt_handle: str) -> None:
        with queue._messages_lock:
            original_delete(queue, receipt_handle)

    def receive_message(backend: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        queue = backend.get_queue(queue_name)
        with queue._messages_lock:
            return original_receive(backend, queue_name, *args, **kwargs)

    patch(Queue, "delete_message", delete_message)
    patch(SQSBackend, "receive_message", receive_message)


def fix_sqs_counters(patch: Patch) -> None:
    """Speed, same answers: queue counters in one pass with one clock read, a direct retention check
    (each send and received message recomputed every attribute)."""
    from moto.core.utils import unix_time_millis
    from moto.sqs.models import Queue, SQSBackend

    original_valid = SQSBackend.is_message_valid_based_on_retention_period

    def retention_valid(backend: Any, queue_name: str, message: Any) -> bool:
        period = getattr(backend.get_queue(queue_name), "message_retention_period", None)
        if period is None:
            return bool(original_valid(backend, queue_name, message))
        return bool(int(period) * 1000 + message.sent_timestamp > unix_time_millis())

    def messages(queue: Any) -> list[Any]:
        now = unix_time_millis()
        return [m for m in queue._messages if now > m.visible_at and not now < m.delayed_until]

    def count_visible(queue: Any) -> int:
        return len(messages(queue))

    def count_not_visible(queue: Any) -> int:
        now = unix_time_millis()
        return sum(1 for m in queue._messages if not now > m.visible_at)

    def count_delayed(queue: Any) -> int:
        now = unix_time_millis()
        return sum(1 for m in queue._messages if now < m.delayed_until)

    patch(SQSBackend, "is_message_valid_based_on_retention_period", retention_valid)
    patch(Queue, "messages", property(messages))
    patch(Queue, "approximate_number_of_messages", property(count_visible))
    patch(Queue, "approximate_number_of_messages_not_visible", property(count_not_visible))
    patch(Queue, "approximate_number_of_messages_delayed", property(count_delayed))


def fix_presigned_account(patch: Patch) -> None:
    """A pre-signed URL's access key is read from the URL (a form body hid it, so uploads raised
    their S3 events in moto's default account)."""
    from moto.core.responses import BaseResponse

    original_access_key = BaseResponse.get_access_key

    def get_access_key(response: Any) -> str:
        if "Authorization" not in response.headers and getattr(response, "parsed_url", None):
            params = parse_qs(response.parsed_url.query)
            credential = (params.get("X-Amz-Credential") or params.get("AWSAccessKeyId") or [""])[0]
            if credential:
                return str(credential.split("/", 1)[0])
        return str(original_access_key(response))

    patch(BaseResponse, "get_access_key", get_access_key)


def fix_account_lookup(patch: Patch) -> None:
    """Resolving an access key's account searches existing IAM backends only (it created every
    partition's backend, ~65 ms each, so each new account slowed every later request)."""
    import moto.iam.models as iam_models
    from moto.core.models import DEFAULT_ACCOUNT_ID

    def get_account_id_from(access_key: str) -> str:
        for account_id, account in list(iam_models.iam_backends.items()):
            for backend in list(account.values()):  # existing backends only: none is created here
                if access_key in backend.access_keys:
                    return str(account_id)
        return str(DEFAULT_ACCOUNT_ID)

    patch(iam_models, "get_account_id_from", get_account_id_from)


def fix_dynamodb_concurrency(patch: Patch) -> None:
    """Serialize each DynamoDB backend's reads and writes, and make transactions snapshot-free.

    moto's TransactWriteItems deep-copies every table it touches (O(table size) per call) and
    "rolls back" by putting the copy in place, losing writes other threads made meanwhile;
    concurrent reads and writes fail with "dictionary changed size during iteration". Here every
    operation holds the backend's lock, and a transaction checks all conditions first and applies
    its writes only when all hold, as DynamoDB does, so there is nothing to roll back.
    """
    import threading

    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import (
        ConditionalCheckFailed,
        MockValidationException,
        MultipleTransactionsException,
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )
    from moto.dynamodb.models import DynamoDBBackend

    def lock_of(backend: Any) -> Any:
        return backend.__dict__.setdefault("_harness_lock", threading.RLock())

    for name in ("put_item", "update_item", "delete_item", "get_item", "query", "scan"):
        original = getattr(DynamoDBBackend, name)

        def locked(backend: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            with lock_of(backend):
                return _original(backend, *args, **kwargs)

        patch(DynamoDBBackend, name, locked)

    def check(backend: Any, op_type: str, op: dict[str, Any]) -> tuple[dict[str, Any], Any]:
        if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
            raise ValueError("Unsupported transaction operation")
        table = backend.get_table(op["TableName"])
        if op_type == "Put":
            attrs = op["Item"]
            key = {table.hash_key_attr: attrs[table.hash_key_attr]}
            if table.range_key_attr is not None:
                key[table.range_key_attr] = attrs[table.range_key_attr]
        else:
            key = op["Key"]
        current = backend.get_item(op["TableName"], key)
        if op.get("ConditionExpression") is not None:
            condition = get_filter_expression(op["ConditionExpression"], op.get("ExpressionAttributeNames"),
                                              op.get("ExpressionAttributeValues"))
            if not condition.expr(current):
                old = None
                if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                    old = current.to_json()["Attributes"]
                failure = ConditionalCheckFailed(item=old)
                failure.harness_item = old  # type: ignore[attr-defined]  # moto keeps it only as JSON
                raise failure
        return key, current

    def apply(backend: Any, op_type: str, op: dict[str, Any], key: dict[str, Any]) -> None:
        if op_type == "Put":
            backend.put_item(op["TableName"], op["Item"])
        elif op_type == "Delete":
            backend.delete_item(op["TableName"], key)
        elif op_type == "Update":
            backend.update_item(op["TableName"], key, update_expression=op["UpdateExpression"],
                                expression_attribute_names=op.get("ExpressionAttributeNames"),
                                expression_attribute_values=op.get("ExpressionAttributeValues"))

    def transact_write_items(backend: Any, transact_items: list[dict[str, Any]]) -> None:
        if len(transact_items) > 100:
            raise TooManyTransactionsException()
        with lock_of(backend):
            seen: set[tuple[str, str]] = set()
            errors: list[tuple[Any, Any, Any]] = []
            planned: list[tuple[str, dict[str, Any], dict[str, Any], Any]] = []
            for item in transact_items:
                if len(item) > 1:
                    raise TransactWriteSingleOpException
                op_type, op = next(iter(item.items()))
                try:
                    key, current = check(backend, op_type, op)
                    marker = (str(op["TableName"]), str(dict(sorted(key.items()))))
                    if marker in seen:
                        raise MultipleTransactionsException()
                    seen.add(marker)
                    planned.append((op_type, op, key, current))
                    errors.append((None, None, None))
                except (MultipleTransactionsException, MockValidationException):
                    raise
                except ConditionalCheckFailed as exc:
                    errors.append(("ConditionalCheckFailed", str(exc.message), getattr(exc, "harness_item", None)))
                except Exception as exc:  # reported per item, as moto and DynamoDB do
                    errors.append((type(exc).__name__, str(exc), None))
            if any(code is not None for code, _, _ in errors):
                raise TransactionCanceledException(errors)
            done: list[tuple[str, dict[str, Any], Any]] = []
            try:
                for op_type, op, key, current in planned:
                    apply(backend, op_type, op, key)
                    done.append((op["TableName"], key, current))
            except Exception:
                for table_name, key, current in reversed(done):  # undo only what this call wrote
                    if current is None:
                        backend.delete_item(table_name, key)
                    else:
                        backend.put_item(table_name, current.to_json()["Attributes"])
                raise

    patch(DynamoDBBackend, "transact_write_items", transact_write_items)


# Every fix by name: one function each, installed in this order by ``install_fixes``.
def fix_stream_records(patch: Patch) -> None:
    """DynamoDB stream records as AWS writes them: ``eventVersion`` 1.1 (moto: 1.0), ``awsRegion`` the
    table's (moto: always us-east-1), a stream label with milliseconds (moto: microseconds), and a
    binary key's bytes once (moto's ``Keys`` answered them base64-encoded twice)."""
    from moto.core.utils import utcnow
    from moto.dynamodb.models.table import StreamRecord, Table

    original_record = StreamRecord.__init__
    original_specification = Table.set_stream_specification

    def record_init(record: Any, table: Any, *args: Any, **kwargs: Any) -> None:
        original_record(record, table, *args, **kwargs)
        record.record["eventVersion"] = "1.1"
        record.record["awsRegion"] = table.region_name
        keys = record.record["dynamodb"]["Keys"]
        for name, value in keys.items():  # moto kept a binary key as base64 text: GetRecords encoded it twice
            if isinstance(value.get("B"), str):
                keys[name] = {"B": base64.b64decode(value["B"])}

    def set_stream_specification(table: Any, streams: Any) -> None:
        original_specification(table, streams)
        if (table.stream_specification or {}).get("StreamEnabled"):
            table.latest_stream_label = utcnow().isoformat(timespec="milliseconds")

    patch(StreamRecord, "__init__", record_init)
    patch(Table, "set_stream_specification", set_stream_specification)


def fix_put_bodies(patch: Patch) -> None:
    """A PUT body is the object's bytes whatever its content type: moto parsed a form-encoded or
    multipart PUT (curl's ``--data-binary`` default) as a form and stored an empty object, or no
    answer at all for a binary body. The raw body is read first and no form is parsed from it."""
    from moto.core.responses import BaseResponse
    from werkzeug.datastructures import ImmutableMultiDict

    original = BaseResponse.setup_class

    def setup_class(response: Any, request: Any, *args: Any, **kwargs: Any) -> None:
        content_type = str(getattr(request, "content_type", "") or "")
        if getattr(request, "method", "") == "PUT" and content_type.startswith(
                ("application/x-www-form-urlencoded", "multipart/form-data")) and "form" not in vars(request):
            request.get_data(cache=True, parse_form_data=False)
            vars(request)["form"] = ImmutableMultiDict()
            vars(request)["files"] = ImmutableMultiDict()
        original(response, request, *args, **kwargs)

    patch(BaseResponse, "setup_class", setup_class)

    # The server peeks at a form-encoded body to guess the service; a binary body failed to decode
    # after it was consumed, and was never put back: the request then waited for bytes gone.
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    def get_body(app: Any, environ: dict[str, Any]) -> str | None:
        try:
            size = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return None
        if not str(environ.get("CONTENT_TYPE", "")).startswith("application/x-www-form-urlencoded") or not size:
            return None
        raw = environ["wsgi.input"].read(size)
        environ["wsgi.input"] = io.BytesIO(raw)
        try:
            return str(raw.decode("utf-8"))
        except UnicodeDecodeError:
            return None

    patch(DomainDispatcherApplication, "_get_body", get_body)


def fix_response_request_id(patch: Patch) -> None:
    """A request id a handler set (the Lambda seams set the invocation's, which the handler saw as
    ``aws_request_id``) is the one the response carries; moto replaced it with a random one."""
    from moto.core.responses import BaseResponse

    original = BaseResponse._enrich_response

    def enrich_response(headers: dict[str, str], body: Any) -> tuple[dict[str, str], Any]:
        kept = headers.get("x-amzn-requestid")
        headers, body = original(headers, body)
        if kept:
            headers["x-amzn-requestid"] = kept
        return headers, body

    patch(BaseResponse, "_enrich_response", staticmethod(enrich_response))


def fix_s3_version_ids(patch: Patch) -> None:
    """Object and delete-marker version ids as S3 writes them (32 URL-safe characters; moto: UUIDs)."""
    from moto.s3.models import FakeDeleteMarker, FakeKey

    for model in (FakeKey, FakeDeleteMarker):
        original = model.__init__

        def init(item: Any, *args: Any, _original: Any = original, **kwargs: Any) -> None:
            _original(item, *args, **kwargs)
            if is_uuid(item._version_id):
                item._version_id = version_id()

        patch(model, "__init__", init)


FIXES: dict[str, Callable[[Patch], None]] = {
    "module scan": fix_module_scan,
    "SQS locking": fix_sqs_locking,
    "SQS counters": fix_sqs_counters,
    "pre-signed URL account": fix_presigned_account,
    "access key account lookup": fix_account_lookup,
    "DynamoDB concurrency": fix_dynamodb_concurrency,
    "policy conditions on missing keys": install_condition_fix,
    "S3 event notifications": fix_s3_events,
    "DynamoDB stream records": fix_stream_records,
    "request ids set by a handler": fix_response_request_id,
    "SNS -> Lambda events": fix_sns_lambda_events,
    "PUT bodies kept whatever their content type": fix_put_bodies,
    "TestEventPattern and PutRule pattern validation": fix_event_patterns,
    "S3 version ids": fix_s3_version_ids,
    "per-request costs of moto's dispatch": fix_dispatch_costs,
    "AWS managed policies built when an account first reads them": fix_managed_policies_on_first_use,
    "an account's backends found without a lock and a scan": fix_backend_lookup,
}


def install_fixes(patch: Patch) -> None:
    """Install every fix through ``patch(owner, name, replacement)`` (which records originals)."""
    for fix in FIXES.values():
        fix(patch)
