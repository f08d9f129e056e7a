"""An idempotent batch worker: each SQS record {"batch": B, "item": I} is handed downstream (the
Done queue) and counts one run of item I."""

import json
import os

import boto3
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)

results = boto3.resource("dynamodb").Table(os.environ["RESULTS_TABLE"])
downstream = boto3.client("sqs")
config = IdempotencyConfig(expires_after_seconds=3600)
persistence = DynamoDBPersistenceLayer(table_name=os.environ["IDEMPOTENCY_TABLE"])
processor = BatchProcessor(event_type=EventType.SQS)


@idempotent_function(data_keyword_argument="work", config=config, persistence_store=persistence)
def process(work: dict) -> dict:
    downstream.send_message(QueueUrl=os.environ["DONE_QUEUE"], MessageBody=json.dumps(work))
    results.update_item(Key={"pk": f"batch#{work['batch']}", "sk": work["item"]},
                        UpdateExpression="ADD runs :one", ExpressionAttributeValues={":one": 1})
    return work


def record_handler(record):
    return process(work=json.loads(record.body))


def handler(event, context):
    config.register_lambda_context(context)
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
