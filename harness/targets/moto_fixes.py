"""Fixes to moto's SQS that the harness's promises depend on, installed with the seams.

Thread safety: moto's ``Queue.delete_message`` rebuilds the message list without the queue's lock
while ``SendMessage`` appends under it, so a send racing a delete is lost; concurrent receives can
hand out one message twice. Deletes and receives now hold the queue's lock (a reentrant Condition,
released while a long poll waits).

Accounts: a pre-signed URL carries its access key in the URL (``AWSAccessKeyId`` or
``X-Amz-Credential``); moto reads it from its parsed parameters, which hold the form body instead
when a client sends one (urllib and requests do), so an upload through a URL pre-signed in account A
raised its S3 events in moto's default account. The key is now read from the URL itself.

Speed, same answers: every request rescanned moto's package folder (~250 stat calls), and every
send and received message recomputed all queue attributes with a clock read per message. Those
are replaced by a cached module list, single-pass counts with one clock read, and a direct
retention check.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

Patch = Callable[[Any, str, Any], None]


def install_fixes(patch: Patch) -> None:
    """Install every fix through ``patch(owner, name, replacement)`` (which records originals)."""
    import moto.backends
    from moto.core.utils import unix_time_millis
    from moto.sqs.models import Queue, SQSBackend

    modules = tuple(moto.backends.list_of_moto_modules())
    patch(moto.backends, "list_of_moto_modules", lambda: modules)

    original_delete = Queue.delete_message
    original_receive = SQSBackend.receive_message
    original_valid = SQSBackend.is_message_valid_based_on_retention_period

    def delete_message(queue: Any, receipt_handle: str) -> None:
        with queue._messages_lock:
            original_delete(queue, receipt_handle)

    def receive_message(backend: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        queue = backend.get_queue(queue_name)
        with queue._messages_lock:
            return original_receive(backend, queue_name, *args, **kwargs)

    def retention_valid(backend: Any, queue_name: str, message: Any) -> bool:
        period = getattr(backend.get_queue(queue_name), "message_retention_period", None)
        if period is None:
            return bool(original_valid(backend, queue_name, message))
        return bool(int(period) + message.sent_timestamp / 1000 > time.time())

    patch(Queue, "delete_message", delete_message)
    patch(SQSBackend, "receive_message", receive_message)
    patch(SQSBackend, "is_message_valid_based_on_retention_period", retention_valid)

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
    patch(Queue, "messages", property(messages))
    patch(Queue, "approximate_number_of_messages", property(count_visible))
    patch(Queue, "approximate_number_of_messages_not_visible", property(count_not_visible))
    patch(Queue, "approximate_number_of_messages_delayed", property(count_delayed))
