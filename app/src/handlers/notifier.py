"""Notifier: turns job status changes on the table's stream into events on the custom bus."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext
from boto3.dynamodb.types import TypeDeserializer
from docpipeline import config

logger = Logger()
tracer = Tracer()
events = boto3.client("events")
_deserializer = TypeDeserializer()
DETAIL_TYPES = {"DONE": "JobCompleted", "FAILED": "JobFailed"}


def _image(record: dict[str, Any], name: str) -> dict[str, Any]:
    return {k: _deserializer.deserialize(v) for k, v in record["dynamodb"].get(name, {}).items()}


def build_entries(records: list[dict[str, Any]], bus: str, key: str) -> list[dict[str, Any]]:
    """The events to publish for a batch of stream records (pure)."""
    entries = []
    for record in records:
        new, old = _image(record, "NewImage"), _image(record, "OldImage")
        status = new.get("status")
        if new.get("SK") != "JOB" or status not in DETAIL_TYPES or old.get("status") == status:
            continue
        detail = {"jobId": new["jobId"], "type": new["type"], "userId": new["userId"], "status": status,
                  "result": new.get("result"), "error": new.get("error")}
        detail["signature"] = hmac.new(key.encode(), f"{new['jobId']}:{status}".encode(),
                                       hashlib.sha256).hexdigest()
        entries.append({"Source": "docpipeline.jobs", "DetailType": DETAIL_TYPES[status],
                        "Detail": json.dumps(detail, default=str), "EventBusName": bus})
    return entries


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> None:
    entries = build_entries(event["Records"], os.environ["EVENT_BUS"], config.api_key())
    for start in range(0, len(entries), 10):
        chunk = entries[start:start + 10]
        response = events.put_events(Entries=chunk)
        for entry in chunk:
            job_id = json.loads(entry["Detail"])["jobId"]
            logger.set_correlation_id(job_id)
            logger.info("published", extra={"detail_type": entry["DetailType"], "job_id": job_id})
        if response.get("FailedEntryCount"):
            raise RuntimeError(f"{response['FailedEntryCount']} event(s) were not published")
