"""The calls the harness's own pollers make on every batch (SQS receive and delete, DynamoDB
Streams' GetRecords, the function's synchronous invoke), answered by moto's backends in this process, with what the client would have
returned.

Profiled over the peers' workload (``bench/peers.py``), a poller's receive and delete through the
in-process botocore transport cost ~2.6 ms of the moto process's CPU per batch (botocore's
serializer, signer and parser, Flask's dispatch, moto's request parsing and response serializer);
the backend's own work is ~0.3 ms of it; an invoke, ~1.9 ms of which the runtime's own work is
~0.7 ms. Only clients asked for with ``AccountScope.client(..., internal=True, backend_calls=True)``
(the pollers') take this path; tests, handlers and tools always go over HTTP. The backend calls
are the ones moto's own ``SQSResponse`` makes (with the harness's fixes installed), and the answers
are built as it builds them; ``tests/functional/test_moto_direct.py`` checks them against the
client's for the same queues and messages. Any other call, a parameter not covered, a queue that
does not exist (its error) and a batch the API would refuse go to the client.
"""

from __future__ import annotations

import base64
import io
import json
import sys
from datetime import datetime
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError
from botocore.parsers import JSONParser
from botocore.response import StreamingBody

from harness.targets.moto_clock import working_for

_SYSTEM_ATTRIBUTES = ("AWSTraceHeader", "ApproximateFirstReceiveTimestamp", "ApproximateReceiveCount",
                      "MessageDeduplicationId", "MessageGroupId", "SenderId", "SentTimestamp", "SequenceNumber")
_INVOKE_PARAMETERS = frozenset({"FunctionName", "InvocationType", "Payload", "Qualifier"})
_MAX_PAYLOAD_BYTES = 6_000_000  # what moto's Invoke action checks (sys.getsizeof of the payload)
_RECEIVE_PARAMETERS = frozenset({"QueueUrl", "MaxNumberOfMessages", "WaitTimeSeconds", "AttributeNames",
                                 "MessageSystemAttributeNames", "MessageAttributeNames"})


def direct_client(service: str, client: Any, account_id: str, region: str) -> Any:
    """``client`` with the direct paths of ``service`` where this module has them."""
    if service == "sqs":
        return DirectSqs(client, account_id, region)
    if service == "lambda":
        return DirectLambda(client, account_id, region)
    if service == "dynamodbstreams":
        return DirectStreams(client, account_id, region)
    return client


class _Direct:
    """A client's stand-in: the calls a subclass defines answered in process, every other
    attribute (other calls, ``meta``, ``exceptions``, paginators) the client's."""

    def __init__(self, client: Any, account_id: str, region: str) -> None:
        self._client = client
        self._account_id = account_id
        self._region = region

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


class DirectStreams(_Direct):
    """A DynamoDB Streams client whose ``get_records`` reads moto's shard; everything else is the
    client's. moto's serializer walked every attribute of every image of every record (a quarter
    of the moto process's CPU under the reference app's burst); here the records go to botocore's
    parser as the JSON they are on the wire, so the answer is the client's own."""

    def get_records(self, **params: Any) -> dict[str, Any]:
        from moto.dynamodbstreams.models import dynamodbstreams_backends

        working_for(self._account_id)
        backend = dynamodbstreams_backends[self._account_id][self._region]
        iterator, limit = params.get("ShardIterator"), params.get("Limit", 1000)
        if (set(params) - {"ShardIterator", "Limit"} or not isinstance(limit, int) or not 1 <= limit <= 1000
                or iterator not in backend.shard_iterators):
            return dict(self._client.get_records(**params))  # the client's validation and errors
        result = backend.get_records(iterator, limit)
        wire = json.dumps({"NextShardIterator": result["NextShardIterator"], "Records": result["Records"]},
                          default=_wire_value).encode()
        operation = self._client.meta.service_model.operation_model("GetRecords")
        parsed: dict[str, Any] = JSONParser().parse({"body": wire, "headers": {}, "status_code": 200},
                                                    operation.output_shape)
        parsed.pop("ResponseMetadata", None)
        return parsed


def _wire_value(value: Any) -> Any:
    """A value of moto's stream records as its serializer puts it on the wire."""
    if isinstance(value, datetime):  # the JSON protocol's timestamps: epoch seconds, milliseconds kept
        from moto.core.serialize import TimestampSerializer

        return TimestampSerializer(TimestampSerializer.TIMESTAMP_FORMAT_UNIX)._convert_timestamp_to_str(
            value, TimestampSerializer.TIMESTAMP_FORMAT_UNIX)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"no wire form for {type(value).__name__}")


class DirectLambda(_Direct):
    """A Lambda client whose synchronous ``invoke`` (the pollers' batches) calls moto's backend,
    which the harness's seams route to the process runtime; everything else is the client's."""

    def invoke(self, **params: Any) -> dict[str, Any]:
        from moto.awslambda.models import lambda_backends
        from moto.core.exceptions import JsonRESTError, ServiceException

        name, qualifier, body = params.get("FunctionName", ""), params.get("Qualifier"), params.get("Payload", b"")
        working_for(self._account_id)
        backend = lambda_backends[self._account_id][self._region]
        if (set(params) - _INVOKE_PARAMETERS or params.get("InvocationType", "RequestResponse") != "RequestResponse"
                or not isinstance(body, bytes | str) or not self._exists(backend, name, qualifier)):
            return dict(self._client.invoke(**params))  # the client's validation and errors
        headers: dict[str, str] = {}
        try:
            payload = backend.invoke(name, qualifier, body, {"X-Amz-Invocation-Type": "RequestResponse"}, headers)
        except JsonRESTError as exc:  # a throttle or a failure in the harness (the seams' errors)
            raise _client_error(exc.error_type, exc.message, exc.code) from exc
        except ServiceException as exc:
            raise _client_error(exc.code, exc.message, 400) from exc
        data = payload.encode() if isinstance(payload, str) else bytes(payload or b"")
        if sys.getsizeof(data) > _MAX_PAYLOAD_BYTES:  # as moto's Invoke action answers it
            headers["x-amz-function-error"] = "Unhandled"
            data = json.dumps({"errorMessage": "Response payload size exceeded maximum allowed payload size "
                               "(6291556 bytes).", "errorType": "Function.ResponseSizeTooLarge"}).encode()
        response: dict[str, Any] = {"StatusCode": 200, "Payload": StreamingBody(io.BytesIO(data), len(data))}
        if "x-amz-function-error" in headers:
            response["FunctionError"] = headers["x-amz-function-error"]
        if "x-amz-executed-version" in headers:
            response["ExecutedVersion"] = headers["x-amz-executed-version"]
        return response

    @staticmethod
    def _exists(backend: Any, name: str, qualifier: str | None) -> bool:
        try:
            backend.get_function(name, qualifier)
        except Exception:  # the client answers with the API's error
            return False
        return True


def _client_error(code: str, message: str, status: int) -> ClientError:
    error: Any = {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return ClientError(error, "Invoke")


class DirectSqs(_Direct):
    """An SQS client whose ``receive_message``, ``delete_message_batch`` and
    ``change_message_visibility_batch`` call moto's backend; everything else is the client's."""

    def receive_message(self, **params: Any) -> dict[str, Any]:
        count = params.get("MaxNumberOfMessages", 1)
        wait = params.get("WaitTimeSeconds")
        name = self._queue_name(params.get("QueueUrl", ""))
        if (name is None or set(params) - _RECEIVE_PARAMETERS or not 1 <= count <= 10
                or (wait is not None and not 0 <= wait <= 20)):
            return dict(self._client.receive_message(**params))  # the client's validation and errors
        wanted = set(params.get("AttributeNames", ())) | set(params.get("MessageSystemAttributeNames", ()))
        included = [a for a in _SYSTEM_ATTRIBUTES if "All" in wanted or a in wanted]
        backend = self._backend()
        queue = backend.queues.get(name)
        if queue is None:
            return dict(self._client.receive_message(**params))  # the client's QueueDoesNotExist
        messages = backend.receive_message(
            name, count, int(queue.receive_message_wait_time_seconds if wait is None else wait),
            queue.visibility_timeout, list(params.get("MessageAttributeNames", ())))
        found = [_message(m, included) for m in messages]
        return {"Messages": found} if found else {}

    def delete_message_batch(self, *, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        name = self._queue_name(QueueUrl)
        handles = [e.get("ReceiptHandle") for e in Entries]
        backend = self._backend()
        if name not in backend.queues or not Entries or len(set(handles)) != len(handles):
            return dict(self._client.delete_message_batch(QueueUrl=QueueUrl, Entries=Entries))
        return _batch_result(*backend.delete_message_batch(name, Entries))

    def change_message_visibility_batch(self, *, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        name = self._queue_name(QueueUrl)
        backend = self._backend()
        if name not in backend.queues or not Entries:
            return dict(self._client.change_message_visibility_batch(QueueUrl=QueueUrl, Entries=Entries))
        return _batch_result(*backend.change_message_visibility_batch(name, Entries))

    def _queue_name(self, url: str) -> str | None:
        """The queue's name where ``url`` is a queue of this client's account, else None."""
        parts = url.rstrip("/").split("/")
        if len(parts) < 2 or parts[-2] != self._account_id:
            return None
        return parts[-1]

    def _backend(self) -> Any:
        from moto.sqs.models import sqs_backends

        working_for(self._account_id)  # moto's SQS reads this account's clock (visibility timeouts)
        return sqs_backends[self._account_id][self._region]


def _message(message: Any, included: list[str]) -> dict[str, Any]:
    """One received message as the client returns it (moto's ``SQSResponse.receive_message``)."""
    found: dict[str, Any] = {"MessageId": message.id, "ReceiptHandle": message.receipt_handle,
                             "MD5OfBody": message.body_md5, "Body": message.body}
    if message.message_attributes:
        found["MessageAttributes"] = {k: dict(v) for k, v in message.message_attributes.items()}
        found["MD5OfMessageAttributes"] = message.attribute_md5
    values = {
        "SenderId": message.sender_id,
        "SentTimestamp": str(message.sent_timestamp),
        "ApproximateReceiveCount": str(message.approximate_receive_count),
        "ApproximateFirstReceiveTimestamp": str(message.approximate_first_receive_timestamp),
        "MessageDeduplicationId": message.deduplication_id,
        "MessageGroupId": message.group_id,
        "AWSTraceHeader": (message.system_attributes or {}).get("AWSTraceHeader", {}).get("StringValue"),
        "SequenceNumber": message.sequence_number,
    }
    if included:
        found["Attributes"] = {name: values[name] for name in included if values[name] is not None}
    return found


def _batch_result(done: list[str], failed: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Successful": [{"Id": i} for i in done], "Failed": failed}
