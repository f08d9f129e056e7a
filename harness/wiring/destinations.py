"""Invocation records and their delivery to destinations (SQS, SNS, Lambda, EventBridge).

Record builders are pure; ``deliver`` is the one I/O edge, through the target's public API.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from harness.accounts import ScopeFor
from harness.errors import WiringError


def _timestamp(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _response_context(function_error: str | None) -> dict[str, Any]:
    context: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
    if function_error:
        context["functionError"] = function_error
    return context


def invocation_record(
    *,
    request_id: str,
    function_arn: str,
    condition: str,
    approximate_invoke_count: int,
    request_payload: Any,
    function_error: str | None,
    response_payload: Any,
    now: float,
) -> dict[str, Any]:
    """The record an async invocation sends to its OnSuccess/OnFailure destination."""
    return {
        "version": "1.0",
        "timestamp": _timestamp(now),
        "requestContext": {
            "requestId": request_id,
            "functionArn": f"{function_arn}:$LATEST",
            "condition": condition,
            "approximateInvokeCount": approximate_invoke_count,
        },
        "requestPayload": request_payload,
        "responseContext": _response_context(function_error),
        "responsePayload": response_payload,
    }


def stream_batch_record(
    *,
    request_id: str,
    function_arn: str,
    condition: str,
    approximate_invoke_count: int,
    function_error: str | None,
    shard_id: str,
    stream_arn: str,
    records: Sequence[Mapping[str, Any]],
    now: float,
) -> dict[str, Any]:
    """The record a stream mapping sends to its OnFailure destination for a discarded batch."""
    first, last = records[0]["dynamodb"], records[-1]["dynamodb"]
    return {
        "requestContext": {
            "requestId": request_id,
            "functionArn": function_arn,
            "condition": condition,
            "approximateInvokeCount": approximate_invoke_count,
        },
        "responseContext": _response_context(function_error),
        "version": "1.0",
        "timestamp": _timestamp(now),
        "DDBStreamBatchInfo": {
            "shardId": shard_id,
            "startSequenceNumber": first["SequenceNumber"],
            "endSequenceNumber": last["SequenceNumber"],
            "approximateArrivalOfFirstRecord": _timestamp(float(first["ApproximateCreationDateTime"])),
            "approximateArrivalOfLastRecord": _timestamp(float(last["ApproximateCreationDateTime"])),
            "batchSize": len(records),
            "streamArn": stream_arn,
        },
    }


def deliver(scope_for: ScopeFor, destination_arn: str, record: Mapping[str, Any],
            *, success: bool, source_arn: str) -> None:
    """Send ``record`` to the destination named by its ARN.

    Raises:
        WiringError: the destination service is not supported or the call failed.
    """
    parts = destination_arn.split(":")
    if len(parts) < 6:
        raise WiringError(f"destination {destination_arn!r} is not an ARN; fix DestinationConfig")
    service, account = parts[2], parts[4]
    scope = scope_for(account)
    body = json.dumps(record)
    try:
        if service == "sqs":
            sqs = scope.client("sqs", internal=True)
            url = sqs.get_queue_url(QueueName=parts[5], QueueOwnerAWSAccountId=account)["QueueUrl"]
            sqs.send_message(QueueUrl=url, MessageBody=body)
        elif service == "sns":
            scope.client("sns", internal=True).publish(TopicArn=destination_arn, Message=body)
        elif service == "lambda":
            scope.client("lambda", internal=True).invoke(
                FunctionName=destination_arn, InvocationType="Event", Payload=body.encode())
        elif service == "events":
            outcome = "Success" if success else "Failure"
            scope.client("events", internal=True).put_events(Entries=[{
                "Source": "lambda",
                "DetailType": f"Lambda Function Invocation Result - {outcome}",
                "Detail": body,
                "EventBusName": destination_arn,
                "Resources": [source_arn],
            }])
        else:
            raise WiringError(
                f"destination service {service!r} ({destination_arn}) is not supported; use an "
                "SQS queue, SNS topic, Lambda function or EventBridge bus"
            )
    except WiringError:
        raise
    except Exception as exc:
        raise WiringError(f"could not deliver to destination {destination_arn}: {exc}") from exc
