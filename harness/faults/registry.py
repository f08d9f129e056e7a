"""The fault rules active in each account, which call or invocation each one takes, and what was
injected (thread-safe; the target's HTTP front and its Lambda runtime ask it for every call)."""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from harness.clock import Clocks
from harness.faults.requests import CallId
from harness.faults.rules import FaultRule


@dataclass
class ActiveRule:
    id: str
    account_id: str
    rule: FaultRule
    added_at: float  # on the account's clock
    rng: random.Random
    matched: int = 0
    injected: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "account": self.account_id, "rule": self.rule.to_json(),
                "describe": self.rule.describe(), "matched": self.matched, "injected": self.injected}


@dataclass(frozen=True)
class Injection:
    """One injected fault, for traces and reports."""

    at: float           # real time (traces and timelines are in real time)
    clock: float        # the account's clock
    account_id: str
    rule_id: str
    describe: str
    service: str
    operation: str | None
    caller: str | None  # the calling (or invoked) function; None for a client outside any function
    effect: str         # the error code, "latency", "drop" or the invocation effect
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, account_id: str, data: dict[str, Any]) -> Injection:
        known = {"kind", "at", "clock", "rule", "fault", "service", "operation", "caller", "effect"}
        return cls(float(data["at"]), float(data["clock"]), account_id, str(data["rule"]), str(data["fault"]),
                   str(data["service"]), data.get("operation"), data.get("caller"), str(data["effect"]),
                   {k: v for k, v in data.items() if k not in known})

    def to_json(self) -> dict[str, Any]:
        return {"kind": "fault.injected", "at": self.at, "clock": self.clock, "rule": self.rule_id, "fault": self.describe,
                "service": self.service, "operation": self.operation, "caller": self.caller, "effect": self.effect,
                **self.extra}


class RuleRef(Protocol):
    @property
    def id(self) -> str: ...


class FaultRules(Protocol):
    """What the harness asks of a target's fault rules: ``FaultRegistry`` in the harness's process
    (moto), ``RemoteFaults`` where the target applies them in its own (LocalStack)."""

    def add(self, account_id: str, rule: FaultRule) -> RuleRef: ...

    def clear(self, account_id: str, rule_id: str | None = None) -> int: ...

    def forget(self, account_id: str) -> None: ...

    def injected(self, account_id: str) -> list[Injection]: ...


class FaultRegistry:
    """Rules per account; ``listeners`` hear every injection."""

    def __init__(self, clocks: Clocks) -> None:
        self._clocks = clocks
        self._rules: dict[str, list[ActiveRule]] = {}
        self._injected: dict[str, list[Injection]] = {}
        self._lock = threading.Lock()
        self.listeners: list[Callable[[Injection], None]] = []

    @property
    def active(self) -> bool:
        """Whether any account has a rule (the HTTP front's fast path when none has)."""
        return bool(self._rules)

    def add(self, account_id: str, rule: FaultRule) -> ActiveRule:
        active = ActiveRule(uuid.uuid4().hex[:8], account_id, rule, self._clocks.now(account_id),
                            random.Random(rule.seed))
        with self._lock:
            self._rules.setdefault(account_id, []).append(active)
        return active

    def rules(self, account_id: str) -> list[ActiveRule]:
        with self._lock:
            return list(self._rules.get(account_id, ()))

    def injected(self, account_id: str) -> list[Injection]:
        with self._lock:
            return list(self._injected.get(account_id, ()))

    def clear(self, account_id: str, rule_id: str | None = None) -> int:
        """Remove the account's rules (or one); returns how many."""
        with self._lock:
            rules = self._rules.get(account_id, [])
            kept = [r for r in rules if rule_id is not None and r.id != rule_id]
            if kept:
                self._rules[account_id] = kept
            else:
                self._rules.pop(account_id, None)
            return len(rules) - len(kept)

    def forget(self, account_id: str) -> None:
        with self._lock:
            self._rules.pop(account_id, None)
            self._injected.pop(account_id, None)

    def for_call(self, account_id: str, call: CallId, caller: str | None) -> ActiveRule | None:
        """The rule that takes this call (counted as injected), or None."""
        return self._take(account_id, lambda r: r.invocation is None and r.service == call.service
                          and r.operation in (None, call.operation) and r.function in (None, caller))

    def for_invocation(self, account_id: str, function_name: str) -> ActiveRule | None:
        """The invocation fault that takes the function's next invocation, or None."""
        return self._take(account_id, lambda r: r.invocation is not None and r.function == function_name)

    def _take(self, account_id: str, matches: Callable[[FaultRule], bool]) -> ActiveRule | None:
        if account_id not in self._rules:
            return None
        now = self._clocks.now(account_id)
        with self._lock:
            for active in self._rules.get(account_id, ()):
                rule = active.rule
                if not matches(rule):
                    continue
                age = now - active.added_at
                if age < rule.after_s or (rule.until_s is not None and age >= rule.until_s):
                    continue
                if rule.count is not None and active.injected >= rule.count:
                    continue
                active.matched += 1
                if active.rng.random() >= rule.probability:
                    continue
                active.injected += 1
                return active
        return None

    def record(self, active: ActiveRule, *, service: str, operation: str | None, caller: str | None,
               effect: str, **extra: Any) -> Injection:
        injection = Injection(time.time(), self._clocks.now(active.account_id), active.account_id, active.id,
                              active.rule.describe(), service, operation, caller, effect, dict(extra))
        with self._lock:
            self._injected.setdefault(active.account_id, []).append(injection)
        for listener in list(self.listeners):
            listener(injection)
        return injection


class AccountFaults:
    """One account's fault rules, as a test adds them (the pytest fixture ``faults``).

    Example:
        def test_throttled_writes_are_retried(faults, invoke):
            faults.add(service="dynamodb", operation="PutItem",
                       error="ProvisionedThroughputExceededException", count=2)
            ...
            assert len(faults.injected) == 2
    """

    def __init__(self, registry: FaultRules, account_id: str) -> None:
        self._registry = registry
        self.account_id = account_id

    def add(self, **rule: Any) -> str:
        """Add a rule (the keys of ``harness.faults.rules``); returns its id.

        Raises:
            FaultRuleError: an unknown service, operation or error code.
        """
        from harness.faults.rules import parse_rule

        return self._registry.add(self.account_id, parse_rule(rule)).id

    def clear(self, rule_id: str | None = None) -> int:
        return self._registry.clear(self.account_id, rule_id)

    @property
    def injected(self) -> list[Injection]:
        return self._registry.injected(self.account_id)
