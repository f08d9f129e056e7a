"""Scheduled EventBridge rules and EventBridge Scheduler schedules fire on the account's clock (moto)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from harness.cloud import CloudAccount, LocalCloud
from tests.functional.conftest import RECORDER
from tests.functional.test_clock import take


@pytest.fixture(autouse=True)
def _virtual_clock(harness_cloud: LocalCloud) -> None:
    if not harness_cloud.clocks.virtual:
        pytest.skip(f"the {harness_cloud.target.name} target runs its own schedules on real time")


def test_rate_rule_fires_every_interval_from_its_creation(account: CloudAccount, deploy: Any, make_queue: Any) -> None:
    record_url, _ = make_queue("record")
    fn = deploy("tick", RECORDER + "\ndef handler(event, context):\n    record(event)\n",
                Environment={"Variables": {"RECORD_URL": record_url}})
    events = account.client("events")
    rule_arn = events.put_rule(Name="every-5", ScheduleExpression="rate(5 minutes)")["RuleArn"]
    events.put_targets(Rule="every-5", Targets=[{"Id": "fn", "Arn": fn["FunctionArn"]}])
    created = account.clock.now()
    account.advance_clock(290)
    assert take(account, record_url) == []  # not yet: five minutes after the rule's creation
    account.advance_clock(620)              # at 5, 10 and 15 minutes (20 is past the end)
    fired = [json.loads(m["Body"]) for m in take(account, record_url)]
    assert len(fired) == 3
    times = sorted(datetime.strptime(e["time"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp() for e in fired)
    assert [round((t - created) / 60) for t in times] == [5, 10, 15]
    event = fired[0]
    assert event["detail-type"] == "Scheduled Event" and event["source"] == "aws.events"
    assert event["resources"] == [rule_arn] and event["detail"] == {}
    events.disable_rule(Name="every-5")
    account.advance_clock(900)
    assert take(account, record_url) == []


def test_cron_rule_with_constant_input_to_a_queue(account: CloudAccount, make_queue: Any) -> None:
    url, arn = make_queue("nightly")
    events = account.client("events")
    events.put_rule(Name="nightly", ScheduleExpression="cron(0 2 * * ? *)")
    events.put_targets(Rule="nightly", Targets=[{"Id": "q", "Arn": arn, "Input": json.dumps({"job": "report"})}])
    account.advance_clock(86400 + 1)
    (message,) = take(account, url)  # once a day, at 02:00 UTC
    assert json.loads(message["Body"]) == {"job": "report"}


def test_scheduler_at_and_rate_schedules(account: CloudAccount, deploy: Any, make_queue: Any) -> None:
    record_url, _ = make_queue("record")
    queue_url, queue_arn = make_queue("scheduled")
    fn = deploy("remind", RECORDER + "\ndef handler(event, context):\n    record(event)\n",
                Environment={"Variables": {"RECORD_URL": record_url}})
    scheduler = account.client("scheduler")
    when = datetime.fromtimestamp(account.clock.now() + 3600, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    role = f"arn:aws:iam::{account.account_id}:role/scheduler"
    scheduler.create_schedule(Name="once", ScheduleExpression=f"at({when})", FlexibleTimeWindow={"Mode": "OFF"},
                              Target={"Arn": fn["FunctionArn"], "RoleArn": role, "Input": json.dumps({"remind": 1})})
    scheduler.create_schedule(Name="hourly", ScheduleExpression="rate(1 hour)", FlexibleTimeWindow={"Mode": "OFF"},
                              Target={"Arn": queue_arn, "RoleArn": role, "Input": "tick"})
    account.advance_clock(3500)  # margins of 100 s: a loaded machine takes a while between the calls
    assert take(account, record_url) == [] and take(account, queue_url) == []
    account.advance_clock(2 * 3600)  # the at() at 1 h; the rate at 1 h and 2 h (3 h is past the end)
    assert [json.loads(m["Body"]) for m in take(account, record_url)] == [{"remind": 1}]  # once
    assert [m["Body"] for m in take(account, queue_url)] == ["tick", "tick"]
