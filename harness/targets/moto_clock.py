"""moto on the harness's per-account clocks (``harness.clock``), and the timers moto holds.

Every time moto reads goes through ``moto.core.utils.utcnow`` (``unix_time`` and
``unix_time_millis`` call it): its code is replaced by one that reads the clock of the account
the current thread works for. A request's account is what moto resolves for it
(``current_account``, set by ``BaseResponse.setup_class``: wrapped there, not at
``get_current_account``, which the LocalStack target's side services replace in the same process);
the harness's own in-process calls name theirs with ``working_for``. Work outside any account (moto's start, other threads) reads real time.

What waits on an account's clock in moto: SQS messages that are invisible or delayed
(``next_due``), and, since moto never expires items, DynamoDB items whose TTL has passed: the
harness deletes them as DynamoDB's TTL process does (``expire_items``), with the stream's
``REMOVE`` record carrying the service's identity.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from harness.clock import Clocks

Patch = Callable[[Any, str, Any], None]

_WORKING_FOR = threading.local()
_CLOCKS: list[Clocks] = []  # the installed clocks (one at most: one moto target per process)
TTL_IDENTITY = {"PrincipalId": "dynamodb.amazonaws.com", "Type": "Service"}  # as GetRecords answers it
_TTL_HORIZON_S = 5 * 365 * 86400  # DynamoDB leaves items whose expiry is over five years old


def working_for(account_id: str | None) -> None:
    """Name the account whose clock the current thread's moto calls read."""
    _WORKING_FOR.account = account_id


def now(account_id: str | None = None) -> float:
    """The account's time (the current thread's account by default) as moto sees it."""
    account = account_id if account_id is not None else getattr(_WORKING_FOR, "account", None)
    return _CLOCKS[0].now(account) if _CLOCKS else time.time()


def virtual_utcnow() -> datetime:
    return datetime.fromtimestamp(now(), UTC).replace(tzinfo=None)


def _utcnow() -> datetime:  # its code becomes moto's utcnow's: no free variables, one import
    from harness.targets.moto_clock import virtual_utcnow

    return virtual_utcnow()


class _CodeOf:
    """``fn.__code__`` as an attribute ``code`` that ``patch`` can replace and restore."""

    def __init__(self, fn: Any) -> None:
        object.__setattr__(self, "_fn", fn)
        self.__dict__["code"] = fn.__code__

    def __setattr__(self, name: str, value: Any) -> None:
        self.__dict__["_fn"].__code__ = value
        self.__dict__[name] = value


def install_clock(patch: Patch, clocks: Clocks) -> None:
    """moto reads the clock of the account each request is for."""
    import moto.core.utils as utils
    from moto.core.responses import BaseResponse

    original_setup = BaseResponse.setup_class

    def setup_class(response: Any, *args: Any, **kwargs: Any) -> Any:
        _WORKING_FOR.account = None  # until moto knows the request's account (its Date header: real time)
        result = original_setup(response, *args, **kwargs)
        _WORKING_FOR.account = getattr(response, "current_account", None)
        return result

    patch(_CodeOf(utils.utcnow), "code", _utcnow.__code__)
    patch(BaseResponse, "setup_class", setup_class)
    _CLOCKS[:] = [clocks]


def uninstall_clock() -> None:
    _CLOCKS.clear()


def next_due(account_id: str, region: str) -> float | None:
    """The earliest time (epoch seconds, on the account's clock) at which an SQS message of the
    account becomes visible or its delay ends, or at which an item's TTL passes; None if none."""
    current = now(account_id)
    dues = [t for t in (_next_message_due(account_id, region, current), _next_expiry(account_id, region, current))
            if t is not None]
    return min(dues) if dues else None


def _next_message_due(account_id: str, region: str, current: float) -> float | None:
    from moto.sqs.models import sqs_backends

    if account_id not in sqs_backends or region not in sqs_backends[account_id]:
        return None
    backend = sqs_backends[account_id][region]
    current_ms = current * 1000
    due: float | None = None
    for queue in list(backend.queues.values()):
        for message in list(queue._messages):  # a copy: sends and deletes go on meanwhile
            for at in (message.visible_at, message.delayed_until):
                if at and at > current_ms and (due is None or at < due):
                    due = at
    return due / 1000 if due is not None else None


def _ttl_tables(account_id: str, region: str) -> tuple[Any, list[tuple[Any, str]]]:
    from moto.dynamodb.models import dynamodb_backends

    if account_id not in dynamodb_backends or region not in dynamodb_backends[account_id]:
        return None, []
    backend = dynamodb_backends[account_id][region]
    tables = [(table, table.ttl["AttributeName"]) for table in list(backend.tables.values())
              if table.ttl.get("TimeToLiveStatus") == "ENABLED" and table.ttl.get("AttributeName")]
    return backend, tables


def _expiry(item: Any, attribute: str, current: float) -> float | None:
    value = item.attrs.get(attribute)
    if value is None or value.type != "N":
        return None  # DynamoDB ignores a TTL attribute that is not a number
    expiry = float(value.value)
    return expiry if expiry > current - _TTL_HORIZON_S else None


def _items(table: Any) -> list[Any]:
    if table.range_key_attr is None:
        return list(table.items.values())
    return [item for group in list(table.items.values()) for item in list(group.values())]


def _next_expiry(account_id: str, region: str, current: float) -> float | None:
    backend, tables = _ttl_tables(account_id, region)
    due: float | None = None
    for table, attribute in tables:
        with backend.__dict__.setdefault("_harness_lock", threading.RLock()):
            for item in _items(table):
                expiry = _expiry(item, attribute, current)
                if expiry is not None and expiry > current and (due is None or expiry < due):
                    due = expiry
    return due


def expire_items(account_id: str, region: str) -> int:
    """Delete every item whose TTL has passed on the account's clock, as DynamoDB's TTL process
    does: the stream's REMOVE record names the service as the user. Returns how many."""
    backend, tables = _ttl_tables(account_id, region)
    current = now(account_id)
    deleted = 0
    for table, attribute in tables:
        with backend.__dict__.setdefault("_harness_lock", threading.RLock()):
            for item in _items(table):
                expiry = _expiry(item, attribute, current)
                if expiry is None or expiry > current:
                    continue
                working_for(account_id)
                table.delete_item(item.hash_key, item.range_key)
                if table.stream_shard is not None and table.stream_shard.items:
                    table.stream_shard.items[-1].record["userIdentity"] = dict(TTL_IDENTITY)
                deleted += 1
    return deleted



def wake_waiters(account_id: str, region: str) -> None:
    """Wake the account's long polls after its clock moved: a message the jump made visible is
    received at once, not when the poll's real-time wait (up to a second) ends."""
    from moto.sqs.models import sqs_backends

    if account_id not in sqs_backends or region not in sqs_backends[account_id]:
        return
    for queue in list(sqs_backends[account_id][region].queues.values()):
        with queue._messages_lock:
            queue._messages_lock.notify_all()
