"""The virtual clock on moto: SQS timers, redrive, async retries, TTL and handlers' time follow it."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from harness.cloud import CloudAccount, LocalCloud
from tests.functional.conftest import RECORDER, drain


@pytest.fixture(autouse=True)
def _virtual_clock(harness_cloud: LocalCloud) -> None:
    if not harness_cloud.clocks.virtual:
        pytest.skip(f"the {harness_cloud.target.name} target's clock is real: these tests move a virtual one")


def take(account: CloudAccount, url: str) -> list[dict[str, Any]]:
    """Every visible message of a queue, deleted (drain would leave them to come back on the clock)."""
    messages = drain(account, url)
    for message in messages:
        account.client("sqs").delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return messages


def test_each_account_has_its_own_virtual_clock(harness_cloud: LocalCloud) -> None:
    one, two = harness_cloud.open_account(), harness_cloud.open_account()
    try:
        assert one.clock.virtual
        before = two.clock.now()
        one.advance_clock(3600)
        assert one.clock.now() - time.time() == pytest.approx(3600, abs=5)
        assert two.clock.now() - before < 5  # the other account's time did not move
        with pytest.raises(ValueError, match="only moves forward"):
            one.advance_clock(-1)
    finally:
        one.close()
        two.close()


def test_visibility_timeout_and_delay_follow_the_clock(account: CloudAccount, make_queue: Any) -> None:
    sqs = account.client("sqs")
    url, _ = make_queue("timers", VisibilityTimeout="30")
    sqs.send_message(QueueUrl=url, MessageBody="a")
    (first,) = sqs.receive_message(QueueUrl=url, AttributeNames=["All"])["Messages"]
    assert sqs.receive_message(QueueUrl=url).get("Messages") is None  # invisible for 30 s
    due = account.next_due()
    assert due is not None and due - account.clock.now() == pytest.approx(30, abs=2)
    account.clock.advance(31)
    (again,) = sqs.receive_message(QueueUrl=url, AttributeNames=["All"])["Messages"]
    assert again["MessageId"] == first["MessageId"]
    assert again["Attributes"]["ApproximateReceiveCount"] == "2"
    sent_ms = int(again["Attributes"]["SentTimestamp"])
    assert sent_ms / 1000 == pytest.approx(account.clock.now() - 31, abs=5)  # moto's timestamps: the account's time

    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=900)
    assert sqs.receive_message(QueueUrl=url, VisibilityTimeout=0).get("Messages") is None
    account.clock.advance(901)
    bodies = {m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])}
    assert "later" in bodies


FAILS = RECORDER + """
def handler(event, context):
    record({"n": len(event["Records"]), "receive": event["Records"][0]["attributes"]["ApproximateReceiveCount"]})
    raise RuntimeError("cannot process")
"""


def test_template_visibility_timeout_redrive_by_letting_time_pass(
    account: CloudAccount, deploy: Any, make_queue: Any
) -> None:
    record_url, _ = make_queue("record")
    _, dlq_arn = make_queue("work-dlq")
    work_url, work_arn = make_queue("work", dlq_arn=dlq_arn, max_receive=3, VisibilityTimeout="30")
    deploy("worker", FAILS, Environment={"Variables": {"RECORD_URL": record_url}})
    account.client("lambda").create_event_source_mapping(FunctionName="worker", EventSourceArn=work_arn, BatchSize=1)
    account.client("sqs").send_message(QueueUrl=work_url, MessageBody="poison")
    account.settle()
    assert len(drain(account, record_url)) == 1  # one receive; then invisible for the template's 30 s
    started = time.monotonic()
    jumps = account.advance_clock(100)  # two redeliveries (and the drained record's own timeout)
    assert jumps >= 2 and time.monotonic() - started < 20
    attempts = [json.loads(m["Body"])["receive"] for m in drain(account, record_url)]
    assert sorted(attempts) == ["1", "2", "3"]  # drain does not delete: the first record is visible again too
    sqs = account.client("sqs")
    dlq_url = sqs.get_queue_url(QueueName="work-dlq")["QueueUrl"]
    (dead,) = drain(account, dlq_url)
    assert dead["Body"] == "poison"


ALWAYS_FAILS = RECORDER + """
import time
def handler(event, context):
    record({"at": time.time()})
    raise RuntimeError("always fails")
"""


def test_async_retries_wait_one_and_two_minutes_on_the_clock(
    account: CloudAccount, deploy: Any, make_queue: Any
) -> None:
    record_url, _ = make_queue("record")
    failure_url, failure_arn = make_queue("failures")
    deploy("flaky", ALWAYS_FAILS, Environment={"Variables": {"RECORD_URL": record_url}})
    lam = account.client("lambda")
    lam.put_function_event_invoke_config(FunctionName="flaky", DestinationConfig={"OnFailure": {"Destination": failure_arn}})
    lam.invoke(FunctionName="flaky", InvocationType="Event", Payload=b"{}")
    account.settle()
    assert len(take(account, record_url)) == 1
    assert take(account, failure_url) == []  # the first retry waits a minute
    account.advance_clock(45)  # the first retry comes a minute after the failure
    assert take(account, record_url) == []
    account.advance_clock(200)
    times = sorted(json.loads(m["Body"])["at"] for m in take(account, record_url))
    assert len(times) == 2
    (failure,) = [json.loads(m["Body"]) for m in take(account, failure_url)]
    assert failure["requestContext"]["approximateInvokeCount"] == 3


def test_handlers_see_the_accounts_time(account: CloudAccount, deploy: Any) -> None:
    deploy("now", "import time, datetime\n"
                  "def handler(event, context):\n"
                  "    return {'time': time.time(), 'now': datetime.datetime.now(datetime.timezone.utc).timestamp(),\n"
                  "            'left': context.get_remaining_time_in_millis()}\n", Timeout=30)
    account.invoke("now")  # warm: a running process must follow the clock too
    account.advance_clock(86400)
    seen = account.invoke("now")["Payload"]
    assert seen["time"] - time.time() == pytest.approx(86400, abs=30)
    assert seen["now"] == pytest.approx(seen["time"], abs=1)
    assert 25_000 < seen["left"] <= 30_000


def test_ttl_expires_items_with_the_service_identity_in_the_stream(account: CloudAccount) -> None:
    ddb = account.client("dynamodb")
    ddb.create_table(TableName="sessions", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST",
                     StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    ddb.update_time_to_live(TableName="sessions", TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires"})
    now = int(account.clock.now())
    ddb.put_item(TableName="sessions", Item={"id": {"S": "short"}, "expires": {"N": str(now + 60)}})
    ddb.put_item(TableName="sessions", Item={"id": {"S": "long"}, "expires": {"N": str(now + 3600)}})
    ddb.put_item(TableName="sessions", Item={"id": {"S": "text"}, "expires": {"S": "soon"}})
    account.advance_clock(120)
    left = sorted(i["id"]["S"] for i in ddb.scan(TableName="sessions")["Items"])
    assert left == ["long", "text"]  # a TTL attribute that is not a number never expires
    streams = account.client("dynamodbstreams")
    arn = ddb.describe_table(TableName="sessions")["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    records = streams.get_records(ShardIterator=iterator)["Records"]
    (removed,) = [r for r in records if r["eventName"] == "REMOVE"]
    assert removed["userIdentity"] == {"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"}
    assert removed["dynamodb"]["Keys"] == {"id": {"S": "short"}}


def test_the_clock_holds_when_another_patch_replaces_moto_s_account_lookup(account: CloudAccount,
                                                                          make_queue: Any) -> None:
    """The LocalStack target's side services replace BaseResponse.get_current_account in the same
    process (harness parity runs both targets at once): moto's requests must still read the
    account's clock."""
    from moto.core.responses import BaseResponse

    from harness.targets.moto_seams import moto_original

    original = BaseResponse.get_current_account
    moto_s_own = moto_original(BaseResponse, "get_current_account")  # what a patcher that started first saw
    BaseResponse.get_current_account = lambda response: moto_s_own(response)  # type: ignore[method-assign]
    try:
        sqs = account.client("sqs")
        url, _ = make_queue("patched", VisibilityTimeout="30")
        sqs.send_message(QueueUrl=url, MessageBody="m")
        assert sqs.receive_message(QueueUrl=url)["Messages"]
        account.clock.advance(31)
        assert sqs.receive_message(QueueUrl=url).get("Messages"), "the receive did not read the account's clock"
    finally:
        BaseResponse.get_current_account = original  # type: ignore[method-assign]
