"""Alarm evaluation by period from samples on the account's clock (pure)."""

from __future__ import annotations

from harness.wiring.alarms import period_state

DLQ_ALARM = {"Period": 60, "EvaluationPeriods": 1, "Statistic": "Maximum", "Threshold": 1.0,
             "ComparisonOperator": "GreaterThanOrEqualToThreshold", "TreatMissingData": "notBreaching"}


def test_a_breach_shows_once_its_period_is_complete() -> None:
    samples = [(0.0, 0.0), (90.0, 1.0)]  # a message reaches the DLQ at 90 s
    assert period_state(DLQ_ALARM, samples, 100.0) == "OK"      # [60, 120) is not complete yet
    assert period_state(DLQ_ALARM, samples, 121.0) == "ALARM"
    assert period_state(DLQ_ALARM, samples, 400.0) == "ALARM"  # the depth holds until it changes
    assert period_state(DLQ_ALARM, [*samples, (130.0, 0.0)], 200.0) == "OK"


def test_datapoints_to_alarm_of_evaluation_periods() -> None:
    alarm = {**DLQ_ALARM, "EvaluationPeriods": 3, "DatapointsToAlarm": 2, "Statistic": "Average"}
    samples = [(10.0, 5.0), (70.0, 0.0), (130.0, 5.0)]
    assert period_state(alarm, samples, 180.0) == "ALARM"  # periods 0-60: 5, 60-120: 0, 120-180: 5 -> 2 of 3
    assert period_state(alarm, samples[:2], 179.0) == "OK"


def test_missing_data_as_the_alarm_says() -> None:
    assert period_state(DLQ_ALARM, [], 500.0) == "OK"
    assert period_state({**DLQ_ALARM, "TreatMissingData": "breaching"}, [], 500.0) == "ALARM"
    assert period_state({**DLQ_ALARM, "TreatMissingData": "missing"}, [], 500.0) == "INSUFFICIENT_DATA"
    assert period_state({k: v for k, v in DLQ_ALARM.items() if k != "TreatMissingData"}, [], 5.0) == "INSUFFICIENT_DATA"
