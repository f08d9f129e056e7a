"""Billed units of a call (harness.cost.usage) and the estimate from them (harness.cost.estimate)."""

from __future__ import annotations

import json
import math

import pytest

from harness.cost.estimate import estimate, price_table, prices_for
from harness.cost.usage import attribute_size, item_size, usage
from harness.errors import ConfigurationError


@pytest.mark.parametrize("value, size", [
    ({"S": "héllo"}, 6), ({"N": "123.45"}, 4), ({"N": "1000"}, 2), ({"N": "0"}, 2), ({"BOOL": True}, 1), ({"NULL": True}, 1),
    ({"L": [{"S": "ab"}, {"N": "1"}]}, 3 + (2 + 1) + (2 + 1)), ({"M": {"k": {"S": "v"}}}, 3 + 1 + 1 + 1),
    ({"SS": ["a", "bc"]}, 3),
])
def test_attribute_sizes_by_dynamodb_rules(value: dict, size: int) -> None:
    assert attribute_size(value) == size


def test_write_units_per_kilobyte_and_per_index_the_write_touches() -> None:
    item = {"pk": {"S": "job#1"}, "gsi1pk": {"S": "type#invoice"}, "gsi1sk": {"S": "x"}, "body": {"S": "x" * 1500}}
    assert math.ceil(item_size(item) / 1024) == 2
    indexes = lambda table: [("gsi1pk", "gsi1sk"), ("gsi2pk",)]  # noqa: E731
    assert usage("dynamodb", "PutItem", {"TableName": "t", "Item": item}, index_keys=indexes) == {"dynamodb_wru": 4}
    update = {"TableName": "t", "Key": {"pk": {"S": "1"}}, "UpdateExpression": "SET #s = :s",
              "ExpressionAttributeNames": {"#s": "gsi2pk"}, "ExpressionAttributeValues": {":s": {"S": "done"}}}
    assert usage("dynamodb", "UpdateItem", update, index_keys=indexes) == {"dynamodb_wru": 2}
    assert usage("dynamodb", "TransactWriteItems", {"TransactItems": [{"Put": {"Item": {"a": {"S": "b"}}}}]}) == {
        "dynamodb_wru": 2}  # a transaction costs twice


def test_read_units_from_what_the_answer_carries() -> None:
    big = {"Item": {"d": {"S": "x" * 5000}}}
    assert usage("dynamodb", "GetItem", {"TableName": "t"}, response=big) == {"dynamodb_rru": 1.0}  # eventual: half
    assert usage("dynamodb", "GetItem", {"TableName": "t", "ConsistentRead": True}, response=big) == {"dynamodb_rru": 2.0}
    assert usage("dynamodb", "GetItem", {"TableName": "t"}, response={}) == {"dynamodb_rru": 0.5}  # a miss reads too
    items = {"Items": [{"d": {"S": "x" * 1000}}] * 5}
    assert usage("dynamodb", "Query", {"TableName": "t", "ConsistentRead": True}, response=items) == {"dynamodb_rru": 2.0}


def test_messages_and_events_are_billed_per_64_kb_chunk() -> None:
    assert usage("sqs", "SendMessage", {"MessageBody": "x" * 70_000}) == {"sqs_requests": 2}
    assert usage("sqs", "ReceiveMessage", {}) == {"sqs_requests": 1}
    entries = [{"Source": "s", "DetailType": "d", "Detail": json.dumps({"x": "y" * 100})}] * 3
    assert usage("events", "PutEvents", {"Entries": entries}) == {"events_custom": 3}
    assert usage("s3", "PutObject", {}, request_bytes=2048) == {"s3_tier1": 1, "s3_bytes_put": 2048.0}
    assert usage("s3", "GetObject", {}) == {"s3_tier2": 1}
    assert usage("iam", "GetRole", {}) == {}


def test_estimate_prices_each_line_from_the_dated_sourced_table() -> None:
    result = estimate({"sqs_requests": 3, "dynamodb_wru": 4}, [{"duration_ms": 99.2, "memory_mb": 512},
                                                                {"duration_ms": 10, "memory_mb": 512, "architecture": "arm64"}],
                      region="us-east-1", api_requests={"http": 2}, log_bytes=1024 ** 3)
    lines = {line["item"]: line for line in result["lines"]}
    prices = prices_for("us-east-1")
    assert lines["lambda_requests"]["quantity"] == 2
    assert lines["lambda_gb_s_x86_64"]["quantity"] == pytest.approx(0.1 * 0.5)  # billed by the ms, rounded up
    assert lines["sqs_requests"]["usd"] == pytest.approx(3 * prices["sqs_requests"]["usd"] / 1_000_000)
    assert lines["logs_ingested_gb"]["usd"] == pytest.approx(prices["logs_ingested_gb"]["usd"])
    assert lines["http_api_requests"]["quantity"] == 2
    assert result["total_usd"] == pytest.approx(sum(line["usd"] for line in result["lines"]))
    assert result["per_1000_runs_usd"] == pytest.approx(result["total_usd"] * 1000)
    assert result["prices_compiled"] == price_table()["compiled"] and "estimate" in result["note"]


def test_every_price_has_a_source_and_a_unit() -> None:
    for region, prices in price_table()["regions"].items():
        for key, price in prices.items():
            assert price["source"].startswith("https://aws.amazon.com/"), (region, key)
            assert price["unit"] and price["per"] > 0 and price["usd"] >= 0, (region, key)


def test_a_region_without_prices_is_named_with_the_fix() -> None:
    with pytest.raises(ConfigurationError, match="no prices for eu-west-9; it has us-east-1"):
        prices_for("eu-west-9")
