"""Scheduled EventBridge rules and EventBridge Scheduler schedules fired on moto, on each
account's clock (moto stores both and fires neither).

A rule with a ``ScheduleExpression`` sends its targets the ``Scheduled Event`` through moto's
``Rule.send_to_targets`` (the seams deliver it as EventBridge does); a schedule invokes its Lambda
target asynchronously or sends its SQS target a message, with the schedule's ``Input``. Rates
count from the rule's creation (stamped on the account's clock) or the schedule's start date.
``MotoTarget.next_due`` asks when the next one fires; ``run_due`` fires every one that is due.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness.errors import WiringError
from harness.invocations import AsyncDispatcher, AsyncInvocation
from harness.targets import moto_clock
from harness.wiring.schedules import Schedule, parse_schedule, scheduled_event

LOG = logging.getLogger(__name__)
Patch = Callable[[Any, str, Any], None]
_MAX_CATCH_UP = 1000  # firings of one schedule per run_due when the clock jumped past many


@dataclass
class _Entry:
    expression: str
    schedule: Schedule
    anchor: float
    next_at: float | None


class ScheduleFiring:
    """When each schedule of an account next fires, and firing the due ones."""

    def __init__(self, dispatch_async: AsyncDispatcher) -> None:
        self._dispatch_async = dispatch_async
        self._entries: dict[str, _Entry] = {}
        self._broken: set[str] = set()
        self._lock = threading.Lock()

    def install(self, patch: Patch) -> None:
        """Stamp each rule with its creation time on its account's clock (a rate counts from it)."""
        from moto.events.models import Rule

        original = Rule.__init__

        def rule_init(rule: Any, *args: Any, **kwargs: Any) -> None:
            original(rule, *args, **kwargs)
            rule._harness_created = moto_clock.now(rule.account_id)

        patch(Rule, "__init__", rule_init)

    def next_due(self, account_id: str, region: str) -> float | None:
        dues = [entry.next_at for _, entry, _ in self._scan(account_id, region) if entry.next_at is not None]
        return min(dues) if dues else None

    def run_due(self, account_id: str, region: str) -> int:
        """Fire every schedule of the account that is due; returns how many firings."""
        now = moto_clock.now(account_id)
        fired = 0
        for arn, entry, fire in self._scan(account_id, region):
            for _ in range(_MAX_CATCH_UP):
                if entry.next_at is None or entry.next_at > now:
                    break
                at = entry.next_at
                entry.next_at = entry.schedule.next_after(at, entry.anchor)
                try:
                    fire(at)
                    fired += 1
                except Exception:  # one broken target must not stop the others
                    LOG.exception("firing %s at %s failed", arn, at)
        return fired

    def _scan(self, account_id: str, region: str) -> list[tuple[str, _Entry, Callable[[float], None]]]:
        found = [*self._rules(account_id, region), *self._schedules(account_id, region)]
        with self._lock:
            live = {arn for arn, *_ in found}
            for arn in [a for a in self._entries if a.split(":")[4] == account_id and a not in live]:
                del self._entries[arn]
            out = []
            for arn, expression, timezone, anchor, fire in found:
                entry = self._entries.get(arn)
                if entry is None or entry.expression != expression or entry.anchor != anchor:
                    entry = self._entry(arn, expression, timezone, anchor, account_id)
                    if entry is None:
                        continue
                    self._entries[arn] = entry
                out.append((arn, entry, fire))
            return out

    def _entry(self, arn: str, expression: str, timezone: str, anchor: float, account_id: str) -> _Entry | None:
        try:
            schedule = parse_schedule(expression, timezone=timezone, where=arn)
        except WiringError as exc:
            if arn not in self._broken:
                LOG.warning("%s; it never fires", exc)
                self._broken.add(arn)
            return None
        now = moto_clock.now(account_id)
        first = schedule.next_after(max(now, anchor) if schedule.kind != "rate" else now, anchor)
        return _Entry(expression, schedule, anchor, first)

    def _rules(self, account_id: str, region: str) -> list[tuple[str, str, str, float, Callable[[float], None]]]:
        from moto.events.models import events_backends

        if account_id not in events_backends or region not in events_backends[account_id]:
            return []
        bus = events_backends[account_id][region].event_buses.get("default")
        if bus is None:
            return []
        found = []
        rule: Any
        for rule in list(bus.rules.values()):
            if rule.scheduled_expression and rule.state == "ENABLED":
                anchor = getattr(rule, "_harness_created", None) or moto_clock.now(account_id)
                rule._harness_created = anchor
                found.append((rule.arn, rule.scheduled_expression, "UTC", anchor, self._rule_firing(rule)))
        return found

    def _rule_firing(self, rule: Any) -> Callable[[float], None]:
        def fire(at: float) -> None:
            moto_clock.working_for(rule.account_id)
            rule.send_to_targets(scheduled_event(rule_arn=rule.arn, account_id=rule.account_id,
                                                 region=rule.region_name, fired_at=at, event_id=str(uuid.uuid4())))
        return fire

    def _schedules(self, account_id: str, region: str) -> list[tuple[str, str, str, float, Callable[[float], None]]]:
        from moto.scheduler.models import scheduler_backends

        if account_id not in scheduler_backends or region not in scheduler_backends[account_id]:
            return []
        backend = scheduler_backends[account_id][region]
        found = []
        for group in list(backend.schedule_groups.values()):
            for schedule in list(group.schedules.values()):
                if schedule.state != "ENABLED":
                    continue
                anchor = float(schedule.start_date) if schedule.start_date else float(schedule.creation_date)
                found.append((schedule.arn, schedule.schedule_expression, schedule.schedule_expression_timezone,
                              anchor, self._schedule_firing(backend, group, schedule, account_id, region)))
        return found

    def _schedule_firing(self, backend: Any, group: Any, schedule: Any, account_id: str,
                         region: str) -> Callable[[float], None]:
        def fire(at: float) -> None:
            if schedule.end_date and at > float(schedule.end_date):
                return
            target = schedule.target
            body = target.get("Input") or "{}"
            service = target["Arn"].split(":")[2]
            if service == "lambda":
                self._dispatch_async(AsyncInvocation(account_id, region, target["Arn"], body.encode(),
                                                     str(uuid.uuid4())))
            elif service == "sqs":
                from moto.sqs.models import sqs_backends

                group_id = (target.get("SqsParameters") or {}).get("MessageGroupId")
                moto_clock.working_for(account_id)
                sqs_backends[account_id][region].send_message(
                    target["Arn"].split(":")[5], body, group_id=group_id,
                    deduplication_id=str(uuid.uuid4()) if group_id else None)
            else:
                LOG.warning("schedule %s: target %s is not delivered on moto (Lambda and SQS targets are)",
                            schedule.arn, target["Arn"])
            if schedule.schedule_expression.startswith("at(") and schedule.action_after_completion == "DELETE":
                group.delete_schedule(schedule.name)
        return fire
