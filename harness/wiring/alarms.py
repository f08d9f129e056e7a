"""CloudWatch alarms on SQS queue depth, evaluated from the queues themselves.

Emulators store alarms but publish no SQS metrics, so an alarm on a DLQ's depth never fires. The
harness reads the queues instead. Where the account's clock is virtual (moto), an
``AlarmSampler`` records each alarm's metric as time passes (every refresh of the account's
wiring and every moment ``advance_clock`` stops at), and an alarm is evaluated as CloudWatch
does: one datapoint per period (aligned to the clock, complete periods only, the period's
statistic over the samples, the last value carried into periods without one), ``ALARM`` when
``DatapointsToAlarm`` of the last ``EvaluationPeriods`` datapoints breach. Where time is real
and nothing samples (LocalStack), an alarm takes the state its queue's current depth implies,
as CloudWatch would after one period.
"""

from __future__ import annotations

import bisect
import operator
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from harness.accounts import AccountScope


class Clients(Protocol):
    def client(self, service: str) -> Any: ...


class ScopeClients:
    """The harness's own cached clients of an account (in process where the target allows)."""

    def __init__(self, scope: AccountScope) -> None:
        self._scope = scope
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self._scope.client(service, internal=True)
        return self._clients[service]

METRICS = {
    "ApproximateNumberOfMessagesVisible": "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible": "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed": "ApproximateNumberOfMessagesDelayed",
}
COMPARISONS = {
    "GreaterThanOrEqualToThreshold": operator.ge, "GreaterThanThreshold": operator.gt,
    "LessThanThreshold": operator.lt, "LessThanOrEqualToThreshold": operator.le,
}
STATISTICS: dict[str, Callable[[Sequence[float]], float]] = {
    "Maximum": max, "Minimum": min, "Sum": sum, "SampleCount": lambda v: float(len(v)),
    "Average": lambda v: sum(v) / len(v),
}
_KEEP = 5000  # samples per alarm
Sample = tuple[float, float]  # (time on the account's clock, value)


def breaching(value: float, comparison: str, threshold: float) -> bool:
    """Whether ``value`` breaches the alarm's threshold (pure)."""
    return bool(COMPARISONS[comparison](value, threshold))


def period_state(alarm: Mapping[str, Any], samples: Sequence[Sample], now: float) -> str:
    """The state CloudWatch gives ``alarm`` at ``now`` from its metric's samples (pure)."""
    period = float(alarm.get("Period") or 60)
    evaluations = int(alarm.get("EvaluationPeriods") or 1)
    needed = int(alarm.get("DatapointsToAlarm") or evaluations)
    statistic = STATISTICS.get(alarm.get("Statistic") or "Average", STATISTICS["Average"])
    end = (now // period) * period  # the last complete period ends here
    times = [t for t, _ in samples]
    breaches = seen = 0
    for index in range(evaluations):
        start, stop = end - (index + 1) * period, end - index * period
        inside = [v for t, v in samples if start <= t < stop]
        if not inside:
            before = bisect.bisect_left(times, start)
            if before == 0:
                continue  # nothing known yet: missing data
            inside = [samples[before - 1][1]]  # a queue's depth holds until it changes
        seen += 1
        breaches += breaching(statistic(inside), alarm["ComparisonOperator"], float(alarm["Threshold"]))
    if not seen:
        missing = alarm.get("TreatMissingData") or "missing"
        return {"breaching": "ALARM", "notBreaching": "OK", "ignore": str(alarm.get("StateValue") or
                                                                          "INSUFFICIENT_DATA")}.get(missing, "INSUFFICIENT_DATA")
    return "ALARM" if breaches >= needed else "OK"


def _depth_alarms(account: Clients) -> list[tuple[dict[str, Any], str, str]]:
    """Every SQS-depth alarm of the account with its queue's URL and the queue attribute it reads."""
    cloudwatch, sqs = account.client("cloudwatch"), account.client("sqs")
    found = []
    for alarm in cloudwatch.describe_alarms().get("MetricAlarms", []):
        attribute = METRICS.get(alarm.get("MetricName", ""))
        queue = next((d["Value"] for d in alarm.get("Dimensions", []) if d["Name"] == "QueueName"), None)
        if alarm.get("Namespace") != "AWS/SQS" or attribute is None or queue is None:
            continue
        found.append((alarm, sqs.get_queue_url(QueueName=queue)["QueueUrl"], attribute))
    return found


def _depth(account: Clients, url: str, attribute: str) -> float:
    attributes = account.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=[attribute])["Attributes"]
    return float(attributes[attribute])


class AlarmSampler:
    """The samples of each SQS-depth alarm's metric of one account, on its clock."""

    def __init__(self, account: Clients, now: Callable[[], float]) -> None:
        self._account = account
        self._now = now
        self._samples: dict[str, list[Sample]] = {}
        self._lock = threading.Lock()

    def sample(self) -> None:
        now = self._now()
        for alarm, url, attribute in _depth_alarms(self._account):
            value = _depth(self._account, url, attribute)
            with self._lock:
                series = self._samples.setdefault(alarm["AlarmName"], [])
                if not series or series[-1][0] <= now:
                    series.append((now, value))
                    del series[:-_KEEP]

    def samples(self, alarm_name: str) -> list[Sample]:
        with self._lock:
            return list(self._samples.get(alarm_name, ()))


def evaluate_sqs_alarms(account: Clients, sampler: AlarmSampler | None = None,
                        now: Callable[[], float] | None = None) -> dict[str, str]:
    """Set every SQS-depth alarm of the account to the state CloudWatch would give it; returns
    the states set. With a ``sampler`` (a virtual clock), from the samples by period; without,
    from the queues' current depth."""
    cloudwatch = account.client("cloudwatch")
    if sampler is not None:
        sampler.sample()
    states: dict[str, str] = {}
    for alarm, url, attribute in _depth_alarms(account):
        if sampler is not None and now is not None:
            state = period_state(alarm, sampler.samples(alarm["AlarmName"]), now())
            reason = f"harness: {attribute} of the queue by {int(alarm.get('Period') or 60)} s period"
        else:
            value = _depth(account, url, attribute)
            state = "ALARM" if breaching(value, alarm["ComparisonOperator"], float(alarm["Threshold"])) else "OK"
            reason = f"harness: {attribute} of the queue is {value:g}"
        if alarm.get("StateValue") != state:
            cloudwatch.set_alarm_state(AlarmName=alarm["AlarmName"], StateValue=state, StateReason=reason)
        states[alarm["AlarmName"]] = state
    return states
