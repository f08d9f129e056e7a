"""S3 event notifications on moto as AWS sends them; installed with the other fixes (``FIXES``).

What moto sent differently from AWS (checked against the S3 user guide's "EventBridge event
message structure" and "Event message structure" pages and against events recorded on AWS):

EventBridge ("Object Created", ...):
- ``detail.object.key`` not URL-encoded (AWS: ``a+b%2Bc.txt`` for ``a b+c.txt``; ``/`` and ``:``
  stay as they are), ``eTag`` instead of ``etag``, ``version-id: "null"`` on an unversioned bucket
  (AWS omits it), ``reason: ObjectCreated`` (AWS: ``PutObject``, ``POST Object``, ``CopyObject``,
  ``CompleteMultipartUpload``; ``DeleteObject`` with a ``deletion-type``), a constant ``requester``,
  and the same ``id``, ``request-id`` and ``sequencer`` on every event (AWS: unique; the sequencer
  orders the events of a key);
- an extra "Object Tags Added" for every ``PutObject`` and ``CopyObject``, tags or not (AWS: only
  ``PutObjectTagging`` raises it), and nothing for a delete marker (AWS: "Object Deleted",
  ``Delete Marker Created``);
- sent to the rules of every bus (AWS: the default bus only), disabled rules included, without the
  targets' input transformation.

Classic notifications (``Records[].s3``): the key encoded with ``/`` as ``%2F``; no
``userIdentity``, ``requestParameters``, ``responseElements``, ``bucket.ownerIdentity``,
``object.sequencer`` or ``object.versionId``.

And events EventBridge delivers to an SQS target lacked ``account``.

Delivery: an event is shaped when the request raises it (its request id, sequencer and time, the
object's ETag) and delivered by ``DELIVER`` (account, delivery): at once by default; the moto
target replaces it with an ``OrderedDelivery`` so that, as on AWS, the request does not wait.
"""

from __future__ import annotations

import copy
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from harness.targets.s3_event_fields import encode_key, owner_id, request_id, sequencer

Patch = Callable[[Any, str, Any], None]
Deliver = Callable[[str, Callable[[], None]], None]


def _deliver_now(account_id: str, deliver: Callable[[], None]) -> None:
    deliver()


DELIVER: Deliver = _deliver_now  # replaced (through ``patch``) where deliveries run after the request

_LOCAL = threading.local()  # active: a PutObjectTagging request is handled; context: the event being sent
_REASONS = {"Put": "PutObject", "Post": "POST Object", "Copy": "CopyObject",
            "CompleteMultipartUpload": "CompleteMultipartUpload"}


def _name(event_name: Any) -> str:
    """``s3:ObjectCreated:Put`` from moto's ``S3NotificationEvent`` (a str enum) or a plain string."""
    return str(getattr(event_name, "value", event_name))


def _etag(key: Any) -> str:
    """The object's ETag unquoted; a delete marker's is the MD5 of nothing, as on AWS."""
    return str(getattr(key, "etag", "d41d8cd98f00b204e9800998ecf8427e")).replace('"', "")


def _version_id(key: Any) -> str | None:
    version = getattr(key, "version_id", None)
    return str(version) if version not in (None, "", "null") else None


def eventbridge_detail(event_name: str, bucket: str, key: Any, *, requester: str, request: str,
                       seq: str) -> tuple[str, dict[str, Any]] | None:
    """The detail-type and detail S3 sends to EventBridge for ``event_name`` (``s3:ObjectCreated:Put``
    ...), or None for events S3 does not send there (pure)."""
    _, family, action = [*event_name.split(":"), ""][:3]
    obj: dict[str, Any] = {"key": encode_key(key.name), "size": getattr(key, "size", 0), "etag": _etag(key)}
    if version := _version_id(key):
        obj["version-id"] = version
    obj["sequencer"] = seq
    detail: dict[str, Any] = {"version": "0", "bucket": {"name": bucket}, "object": obj, "request-id": request,
                              "requester": requester, "source-ip-address": "127.0.0.1"}
    if family == "ObjectCreated":
        return "Object Created", {**detail, "reason": _REASONS.get(action, action)}
    if family in ("ObjectRemoved", "LifecycleExpiration"):
        marker = action == "DeleteMarkerCreated"
        obj.pop("size")
        if not marker:
            obj.pop("etag")
        reason = "DeleteObject" if family == "ObjectRemoved" else "Lifecycle Expiration"
        return "Object Deleted", {**detail, "reason": reason,
                                  "deletion-type": "Delete Marker Created" if marker else "Permanently Deleted"}
    if family == "ObjectTagging":
        obj.pop("size")
        obj.pop("sequencer")
        return ("Object Tags Added" if action == "Put" else "Object Tags Deleted"), detail
    if family == "ObjectAcl":
        obj.pop("size")
        obj.pop("sequencer")
        return "Object ACL Updated", detail
    if family == "ObjectRestore":
        obj.pop("sequencer")
        kind = {"Post": "Object Restore Initiated", "Completed": "Object Restore Completed"}.get(action,
                                                                                                 "Object Restore Expired")
        return kind, {**detail, "source-storage-class": getattr(key, "storage_class", None) or "STANDARD"}
    return None


def classic_record(event_name: str, bucket: Any, key: Any, notification_id: str, *, account: str, request: str,
                   seq: str, event_time: str) -> dict[str, Any]:
    """One ``Records[]`` entry of a classic S3 notification (to SQS, SNS or Lambda) (pure)."""
    obj: dict[str, Any] = {"key": encode_key(key.name), "size": getattr(key, "size", 0), "eTag": _etag(key)}
    if version := _version_id(key):
        obj["versionId"] = version
    obj["sequencer"] = seq
    if event_name.startswith("s3:ObjectRemoved"):
        obj = {k: v for k, v in obj.items() if k in ("key", "versionId", "sequencer")}
    return {
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": bucket.region_name, "eventTime": event_time,
        "eventName": event_name.removeprefix("s3:"), "userIdentity": {"principalId": f"AWS:{account}"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {"x-amz-request-id": request, "x-amz-id-2": secrets.token_urlsafe(48)},
        "s3": {"s3SchemaVersion": "1.0", "configurationId": notification_id,
               "bucket": {"name": bucket.name, "ownerIdentity": {"principalId": owner_id(account)}, "arn": bucket.arn},
               "object": obj},
    }


def fix_s3_events(patch: Patch) -> None:
    """S3 event notifications (EventBridge and classic) as AWS sends them (see the module's doc)."""
    from moto.core.utils import iso_8601_datetime_with_milliseconds
    from moto.s3 import notifications
    from moto.s3.models import S3Backend
    from moto.s3.responses import S3Response

    original_send = notifications.send_event

    def send_event(account_id: str, event_name: Any, bucket: Any, key: Any) -> None:
        if _name(event_name) == notifications.S3NotificationEvent.OBJECT_TAGGING_PUT_EVENT.value and not getattr(
                _LOCAL, "active", False):
            return  # PutObject and CopyObject store tags without an "Object Tags Added" event
        context = (request_id(), sequencer(), iso_8601_datetime_with_milliseconds())
        _etag(key)  # computed (and kept by the key) now: an overwrite may close the object's value

        def deliver() -> None:
            _LOCAL.context = context
            try:
                original_send(account_id, event_name, bucket, key)
            finally:
                _LOCAL.context = None

        DELIVER(account_id, deliver)

    def s3_event(event_name: str, bucket: Any, key: Any, notification_id: str) -> dict[str, Any]:
        request, seq, event_time = _context()
        return {"Records": [classic_record(_name(event_name), bucket, key, notification_id, account=bucket.account_id,
                                           request=request, seq=seq, event_time=event_time)]}

    def send_event_bridge(account_id: str, bucket: Any, event_name: str, key: Any) -> None:
        from moto.events.models import events_backends

        request, seq, _ = _context()
        shaped = eventbridge_detail(_name(event_name), bucket.name, key, requester=account_id, request=request, seq=seq)
        if shaped is None:
            return
        now = time.time()
        event: Any = {"version": "0", "id": str(uuid.uuid4()), "detail-type": shaped[0], "source": "aws.s3",
                 "account": account_id, "time": now, "region": bucket.region_name, "resources": [bucket.arn],
                 "detail": shaped[1], "ingestion-time": now}
        bus = events_backends[account_id][bucket.region_name].event_buses.get("default")
        for rule in list(bus.rules.values()) if bus is not None else ():
            if rule.state != "DISABLED":
                try:
                    rule.send_to_targets(copy.deepcopy(event))
                except Exception:  # delivery is asynchronous on AWS: a failing target never fails the upload
                    continue

    def put_object_tagging(response: Any, *args: Any, **kwargs: Any) -> Any:
        _LOCAL.active = True
        try:
            return original_tagging(response, *args, **kwargs)
        finally:
            _LOCAL.active = False

    def set_delete_marker(backend: Any, bucket_name: str, key_name: str) -> Any:
        marker = original_marker(backend, bucket_name, key_name)
        send_event(backend.account_id, notifications.S3NotificationEvent.OBJECT_REMOVED_DELETE_MARKER_CREATED_EVENT,
                   backend.get_bucket(bucket_name), marker)
        return marker

    original_tagging = S3Response.put_object_tagging
    original_marker = S3Backend._set_delete_marker
    patch(S3Backend, "_set_delete_marker", set_delete_marker)
    patch(notifications, "send_event", send_event)
    patch(notifications, "_get_s3_event", s3_event)
    patch(notifications, "_send_event_bridge_message", send_event_bridge)
    patch(S3Response, "put_object_tagging", put_object_tagging)
    _fix_sqs_target_envelope(patch)


def _context() -> tuple[str, str, str]:
    """The request id, sequencer and time of the event being sent (one per S3 request's event)."""
    from moto.core.utils import iso_8601_datetime_with_milliseconds

    return getattr(_LOCAL, "context", None) or (request_id(), sequencer(), iso_8601_datetime_with_milliseconds())


def _fix_sqs_target_envelope(patch: Patch) -> None:
    """An event EventBridge puts into an SQS queue carries its ``account``, and no ``ingestion-time``."""
    from moto.events.models import Rule

    original = Rule._send_to_sqs_queue

    def send_to_sqs(rule: Any, resource_id: str, event: dict[str, Any], group_id: str | None = None) -> None:
        if isinstance(event, dict) and "detail-type" in event and "source" in event:  # the envelope, untransformed
            event = {**event, "account": event.get("account") or rule.account_id}
            event.pop("ingestion-time", None)
        original(rule, resource_id, event, group_id)

    patch(Rule, "_send_to_sqs_queue", send_to_sqs)
