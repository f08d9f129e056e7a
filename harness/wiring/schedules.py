"""Schedule expressions of EventBridge rules and EventBridge Scheduler, and when they fire (pure).

``rate(5 minutes)`` fires every interval from an anchor (a rule's creation, a schedule's start);
``cron(0 9 ? * MON-FRI *)`` at the matching minutes (AWS's six-field cron, evaluated by
``aws-croniter``), in the schedule's time zone (rules: UTC); ``at(2026-12-01T09:00:00)`` once
(Scheduler only). Times are epoch seconds on the account's clock.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aws_croniter import AwsCroniter  # type: ignore[import-untyped]

from harness.errors import WiringError

_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")
_CRON = re.compile(r"^cron\((.+)\)$")
_AT = re.compile(r"^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$")
_UNITS = {"minute": 60, "hour": 3600, "day": 86400}


@dataclass(frozen=True)
class Schedule:
    """One parsed schedule expression."""

    expression: str
    kind: str                 # rate | cron | at
    interval_s: float = 0.0   # rate
    cron: str = ""            # cron: the six fields
    at: float = 0.0           # at: epoch seconds
    timezone: str = "UTC"

    def next_after(self, after: float, anchor: float) -> float | None:
        """The first firing strictly after ``after`` (``anchor``: when a rate schedule started);
        None when an ``at`` schedule has fired."""
        if self.kind == "rate":
            if after < anchor:
                return anchor + self.interval_s
            return anchor + (math.floor((after - anchor) / self.interval_s) + 1) * self.interval_s
        if self.kind == "at":
            return self.at if self.at > after else None
        zone = ZoneInfo(self.timezone)
        local = datetime.fromtimestamp(after, zone).replace(tzinfo=UTC)  # wall time, as croniter wants it
        (following,) = AwsCroniter(self.cron).get_next(local, 1)
        return float(following.replace(tzinfo=zone).timestamp())


def parse_schedule(expression: str, *, timezone: str = "UTC", where: str = "") -> Schedule:
    """Parse ``rate(...)``, ``cron(...)`` or ``at(...)``.

    Raises:
        WiringError: the expression or time zone is not valid, naming ``where`` (the rule or schedule).
    """
    text = expression.strip()
    subject = f"{where}: " if where else ""
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise WiringError(f"{subject}time zone {timezone!r} is not an IANA time zone (e.g. Europe/Paris)") from exc
    if match := _RATE.match(text):
        value, unit = int(match.group(1)), match.group(2).rstrip("s")
        if value < 1:
            raise WiringError(f"{subject}{expression!r}: the rate must be a positive number of {unit}s")
        return Schedule(text, "rate", interval_s=float(value * _UNITS[unit]), timezone=timezone)
    if match := _CRON.match(text):
        fields = match.group(1).strip()
        try:
            AwsCroniter(fields)
        except Exception as exc:  # aws-croniter raises one class per field
            raise WiringError(f"{subject}{expression!r} is not a valid cron expression: {exc}") from exc
        return Schedule(text, "cron", cron=fields, timezone=timezone)
    if match := _AT.match(text):
        when = datetime.fromisoformat(match.group(1)).replace(tzinfo=zone)
        return Schedule(text, "at", at=when.timestamp(), timezone=timezone)
    raise WiringError(f"{subject}{expression!r} is not a schedule expression: use rate(5 minutes), "
                      "cron(0 9 ? * MON-FRI *) or at(2026-12-01T09:00:00)")


def scheduled_event(*, rule_arn: str, account_id: str, region: str, fired_at: float, event_id: str) -> dict[str, object]:
    """The event a scheduled rule sends its targets."""
    return {"version": "0", "id": event_id, "detail-type": "Scheduled Event", "source": "aws.events",
            "account": account_id, "time": datetime.fromtimestamp(fired_at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": region, "resources": [rule_arn], "detail": {}}
