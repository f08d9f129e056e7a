"""CloudWatch alarms on SQS queue depth, evaluated from the queues themselves.

Emulators store alarms but publish no SQS metrics, so an alarm on a DLQ's depth never fires. This
evaluates alarms in namespace AWS/SQS on the ApproximateNumberOfMessages* metrics against the
queue's current attributes and sets their state, as CloudWatch would after one period.
"""

from __future__ import annotations

import operator

from harness.accounts import Account

METRICS = {
    "ApproximateNumberOfMessagesVisible": "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible": "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed": "ApproximateNumberOfMessagesDelayed",
}
COMPARISONS = {
    "GreaterThanOrEqualToThreshold": operator.ge, "GreaterThanThreshold": operator.gt,
    "LessThanThreshold": operator.lt, "LessThanOrEqualToThreshold": operator.le,
}


def breaching(value: float, comparison: str, threshold: float) -> bool:
    """Whether ``value`` breaches the alarm's threshold (pure)."""
    return bool(COMPARISONS[comparison](value, threshold))


def evaluate_sqs_alarms(account: Account) -> dict[str, str]:
    """Set every SQS-depth alarm of the account to ALARM or OK; returns the states set."""
    cloudwatch, sqs = account.client("cloudwatch"), account.client("sqs")
    states: dict[str, str] = {}
    for alarm in cloudwatch.describe_alarms().get("MetricAlarms", []):
        attribute = METRICS.get(alarm.get("MetricName", ""))
        queue = next((d["Value"] for d in alarm.get("Dimensions", []) if d["Name"] == "QueueName"), None)
        if alarm.get("Namespace") != "AWS/SQS" or attribute is None or queue is None:
            continue
        url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
        value = float(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[attribute])["Attributes"][attribute])
        state = "ALARM" if breaching(value, alarm["ComparisonOperator"], float(alarm["Threshold"])) else "OK"
        if alarm.get("StateValue") != state:
            cloudwatch.set_alarm_state(AlarmName=alarm["AlarmName"], StateValue=state,
                                       StateReason=f"harness: {attribute} of {queue} is {value:g}")
        states[alarm["AlarmName"]] = state
    return states
