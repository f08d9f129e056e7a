"""What a local target does with each AWS call it sees: tells what it needs from IAM, records it with
the units it used, and, in ``enforce`` mode, denies what IAM would deny (the target's HTTP front
calls ``needs``, ``check`` and ``record``; ``harness.iam.collect`` adds the calls AWS makes with a
function's role).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from harness.cost.usage import usage
from harness.iam.evaluate import Decision
from harness.iam.needs import Need, needs
from harness.iam.observer import Call, CallLog, now
from harness.iam.policies import ClientFor, PolicyBook, role_name
from harness.iam.remote import RemoteCalls

# Calls that change a resource's policy (IAM's own writes are all of its non-read calls)
POLICY_WRITES = frozenset({("sqs", "SetQueueAttributes"), ("lambda", "AddPermission"), ("lambda", "RemovePermission"),
                           ("s3", "PutBucketPolicy"), ("s3", "DeleteBucketPolicy"), ("sns", "SetTopicAttributes"),
                           ("events", "PutPermission"), ("events", "RemovePermission"),
                           ("secretsmanager", "PutResourcePolicy"), ("secretsmanager", "DeleteResourcePolicy")})
# account id -> (service -> a boto3 client of that account that bypasses the front)
AccountClients = Callable[[str], ClientFor]


class CallRecorder:
    """The calls of every account of one target, and their policies."""

    def __init__(self, mode: str, clients: AccountClients, region: str, *, remote: RemoteCalls | None = None) -> None:
        """``remote``: where the target records its calls itself (LocalStack); the harness then
        tells their needs when asked, and cannot deny a call (``enforce`` reports as ``report``)."""
        self.mode = mode if remote is None or mode == "off" else "report"
        self.region = region
        self.log = CallLog()
        self._clients = clients
        self._remote = remote
        self._books: dict[str, PolicyBook] = {}
        self._modes: dict[str, str] = {}  # accounts whose mode is not the target's
        self._lock = threading.Lock()

    def set_mode(self, account_id: str, mode: str | None) -> None:
        """The mode of one account ("report" or "enforce"; None: the target's again). A target
        started with ``iam = "off"`` observes nothing, whatever an account asks."""
        if mode is not None and mode not in ("report", "enforce"):
            raise ValueError(f"iam mode {mode!r} is not report or enforce")
        if mode == "enforce" and self._remote is not None:
            mode = "report"  # the target answers its calls itself
        with self._lock:
            if mode is None:
                self._modes.pop(account_id, None)
            else:
                self._modes[account_id] = mode

    def mode_for(self, account_id: str) -> str:
        with self._lock:
            return self._modes.get(account_id, self.mode)

    @property
    def observing(self) -> bool:
        return self.mode != "off"

    @property
    def can_enforce(self) -> bool:
        """Whether calls pass through the harness before the target answers them (moto's front)."""
        return self._remote is None

    def book(self, account_id: str) -> PolicyBook:
        with self._lock:
            book = self._books.get(account_id)
            if book is None:
                book = self._books[account_id] = PolicyBook(account_id, _cached(self._clients(account_id)))
        return book

    def calls(self, account_id: str, since: float = 0.0) -> list[Call]:
        """The account's calls since ``since`` (real time), each with its needs and its caller's role."""
        if self._remote is None:
            return self.log.calls(account_id, since=since)
        out = []
        for raw in self._remote.fetch(account_id, since):
            caller = raw.get("caller")
            service, operation, params = str(raw["service"]), str(raw["operation"]), raw.get("params") or {}
            try:
                needs_ = self.needs(account_id, service, operation, params)
                principal = self.book(account_id).role_of(caller) if caller else "client"
            except Exception:  # a function gone with its stack, a shape the catalogue cannot read
                needs_, principal = [], "unknown"
            out.append(Call(float(raw["at"]), caller, principal, service, operation, tuple(needs_),
                            dict(raw.get("usage") or {})))
        return out

    def forget(self, account_id: str) -> None:
        self.log.forget(account_id)
        if self._remote is not None:
            try:
                self._remote.forget(account_id)
            except Exception:  # the target is going away: its records go with it
                pass
        with self._lock:
            self._books.pop(account_id, None)
            self._modes.pop(account_id, None)

    def needs(self, account_id: str, service: str, operation: str, params: Mapping[str, Any],
              signing_name: str | None = None) -> list[Need]:
        return needs(service, operation, params, account=account_id, region=self.region, signing_name=signing_name,
                     lookup=lambda kind, name: self._lookup(account_id, kind, name))

    def check(self, account_id: str, function: str, needs_: Sequence[Need]) -> tuple[str, Decision] | None:
        """In ``enforce`` mode, the first need IAM denies a function's call (its role's session ARN and
        the decision), else None."""
        if not needs_ or self.mode_for(account_id) != "enforce":
            return None
        book = self.book(account_id)
        role = book.role_of(function)
        for need in needs_:
            decision = book.decide(role, need)
            if decision.denied:
                return denial_message(account_id, role, function, need, decision), decision
        return None

    def record(self, account_id: str, function: str | None, service: str, operation: str, needs_: Sequence[Need],
               params: Mapping[str, Any], *, request_bytes: int = 0, response: Mapping[str, Any] | None = None,
               denied: str = "") -> None:
        principal = "client"
        if function is not None:
            try:
                principal = self.book(account_id).role_of(function)
            except Exception:  # the function is gone (deleted mid-call): keep the call, without its role
                principal = "unknown"
        if (service, operation) in POLICY_WRITES or (service == "iam" and not operation.startswith(("Get", "List"))):
            self.book(account_id).invalidate()  # the next decision reads the policies as they are now
        units = usage(service, operation, params, request_bytes=request_bytes, response=response,
                      index_keys=lambda table: self._index_keys(account_id, table)) if not denied else {}
        self.log.record(account_id, Call(now(), function, principal, service, operation, tuple(needs_), units,
                                         denied=denied))

    @functools.lru_cache(maxsize=4096)  # noqa: B019 - the recorder lives as long as its target
    def _lookup(self, account_id: str, kind: str, name: str) -> str | None:
        if kind == "secret":
            try:
                return str(self._clients(account_id)("secretsmanager").describe_secret(SecretId=name)["ARN"])
            except Exception:  # no such secret: the call fails anyway
                return None
        return None

    @functools.lru_cache(maxsize=4096)  # noqa: B019
    def _index_keys(self, account_id: str, table: str) -> tuple[tuple[str, ...], ...]:
        try:
            described = self._clients(account_id)("dynamodb").describe_table(TableName=table)["Table"]
        except Exception:  # no such table: the write failed, no index was written
            return ()
        return tuple(tuple(k["AttributeName"] for k in index["KeySchema"])
                     for index in described.get("GlobalSecondaryIndexes") or ())


def _cached(client_for: ClientFor) -> ClientFor:
    clients: dict[str, Any] = {}

    def get(service: str) -> Any:
        if service not in clients:
            clients[service] = client_for(service)
        return clients[service]
    return get


def session_arn(account_id: str, role_arn: str, function: str) -> str:
    return f"arn:aws:sts::{account_id}:assumed-role/{role_name(role_arn)}/{function}"


def denial_message(account_id: str, role_arn: str, function: str, need: Need, decision: Decision) -> str:
    """IAM's words for a denial (as the SDK shows them on AWS)."""
    why = ("with an explicit deny in " + ("a resource-based policy" if "resource policy" in decision.statement
                                          else "an identity-based policy")
           if decision.outcome == "explicit_deny" else f"because no identity-based policy allows the {need.action} action")
    return (f"User: {session_arn(account_id, role_arn, function)} is not authorized to perform: {need.action} "
            f"on resource: {need.resource} {why}")
