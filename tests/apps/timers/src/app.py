"""Functions whose behaviour is about time (see ../template.yaml)."""

import os
import time
from datetime import UTC, datetime

import boto3
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent,
)

runs = boto3.resource("dynamodb").Table(os.environ["RUNS_TABLE"])
persistence = DynamoDBPersistenceLayer(table_name=os.environ["IDEMPOTENCY_TABLE"])


def _count(key: str) -> None:
    runs.update_item(Key={"id": key}, UpdateExpression="ADD runs :one SET last_at = :now",
                     ExpressionAttributeValues={":one": 1, ":now": int(time.time())})


def charge(event, context):
    _count(f"charge#{event['charge']}")
    if event.get("fail"):
        raise RuntimeError(f"card declined for charge {event['charge']}")
    return {"charged": event["charge"]}


@idempotent(persistence_store=persistence,
            config=IdempotencyConfig(event_key_jmespath="orderId", expires_after_seconds=3600))
def order(event, context):
    _count(f"order#{event['orderId']}")
    return {"ordered": event["orderId"]}


def nightly(event, context):
    fired = datetime.strptime(event["time"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    _count(f"nightly#{fired:%Y-%m-%dT%H:%M}")
    return {"ran": event["time"]}


def hourly(event, context):
    _count(f"hourly#{datetime.fromtimestamp(time.time(), UTC):%Y-%m-%dT%H}")
    return event
