"""The SQS calls the harness's own pollers make on every batch, answered by moto's backend in this
process, with what the client would have returned.

Profiled over the peers' workload (``bench/peers.py``), a poller's receive and delete through the
in-process botocore transport cost ~2.6 ms of the moto process's CPU per batch (botocore's
serializer, signer and parser, Flask's dispatch, moto's request parsing and response serializer);
the backend's own work is ~0.3 ms of it. Only the pollers' clients (``AccountScope.client(...,
internal=True)``) take this path; tests, handlers and tools always go over HTTP. The backend calls
are the ones moto's own ``SQSResponse`` makes (with the harness's fixes installed), and the answers
are built as it builds them; ``tests/functional/test_moto_direct.py`` checks them against the
client's for the same queues and messages. Any other call, a parameter not covered, a queue that
does not exist (its error) and a batch the API would refuse go to the client.
"""

from __future__ import annotations

from typing import Any

_SYSTEM_ATTRIBUTES = ("AWSTraceHeader", "ApproximateFirstReceiveTimestamp", "ApproximateReceiveCount",
                      "MessageDeduplicationId", "MessageGroupId", "SenderId", "SentTimestamp", "SequenceNumber")
_RECEIVE_PARAMETERS = frozenset({"QueueUrl", "MaxNumberOfMessages", "WaitTimeSeconds", "AttributeNames",
                                 "MessageSystemAttributeNames", "MessageAttributeNames"})


def direct_client(service: str, client: Any, account_id: str, region: str) -> Any:
    """``client`` with the direct paths of ``service`` where this module has them."""
    return DirectSqs(client, account_id, region) if service == "sqs" else client


class DirectSqs:
    """An SQS client whose ``receive_message``, ``delete_message_batch`` and
    ``change_message_visibility_batch`` call moto's backend; everything else is the client's."""

    def __init__(self, client: Any, account_id: str, region: str) -> None:
        self._client = client
        self._account_id = account_id
        self._region = region

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

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
