"""Processor: one per document type, reading that type's SQS queue in batches.

Each record is an EventBridge "Object Created" event. Processing is idempotent (Powertools
idempotency on the jobs table), a malformed document marks the job FAILED and is reported as a batch
item failure, so after maxReceiveCount it rests in the queue's DLQ.
"""

from __future__ import annotations

import json
import os
from decimal import Decimal
from typing import Any
from urllib.parse import unquote_plus

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError
from docpipeline import config, keys
from docpipeline.extract import MalformedDocumentError, extract
from docpipeline.jobs import JobStore

UNREADABLE = ("AccessDenied", "NoSuchKey", "NoSuchBucket")  # S3 answers no retry changes
logger = Logger()
tracer = Tracer()
metrics = Metrics()
batch = BatchProcessor(event_type=EventType.SQS)
s3 = boto3.client("s3")
store = JobStore(boto3.resource("dynamodb").Table(os.environ["JOBS_TABLE"]))
idempotency = IdempotencyConfig(event_key_jmespath="[bucket, key, etag]", expires_after_seconds=3600)
persistence = DynamoDBPersistenceLayer(
    table_name=os.environ["JOBS_TABLE"], key_attr="PK", sort_key_attr="SK",
    static_pk_value=f"IDEMPOTENCY#{os.environ.get('AWS_LAMBDA_FUNCTION_NAME', 'processor')}",
    expiry_attr=keys.TTL_ATTRIBUTE,
)


@idempotent_function(data_keyword_argument="document", config=idempotency, persistence_store=persistence)
def process_document(document: dict[str, Any]) -> dict[str, Any]:
    doc_type, user_id, job_id, file_name = keys.parse_document_key(document["key"])
    job = store.ensure(job_id=job_id, doc_type=doc_type, user_id=user_id, file_name=file_name)
    if job["status"] == "FAILED" and job.get("etag") == document["etag"]:
        raise MalformedDocumentError(job.get("error", "document failed before"))  # a redelivery
    job = store.set_status(job, "PROCESSING", etag=document["etag"])
    try:
        try:
            body = s3.get_object(Bucket=document["bucket"], Key=document["key"])["Body"].read()
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code not in UNREADABLE:
                raise  # throttles, 5xx: a later receive may succeed
            raise MalformedDocumentError(f"cannot read the document: {code}") from exc
        if len(body) > config.max_document_bytes():
            raise MalformedDocumentError(f"document is {len(body)} bytes, over the configured limit")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedDocumentError("document is not UTF-8 text") from exc
        fields = extract(doc_type, text)
    except MalformedDocumentError as exc:
        store.set_status(job, "FAILED", error=str(exc))
        metrics.add_dimension(name="type", value=doc_type)
        metrics.add_metric(name="DocumentsFailed", unit=MetricUnit.Count, value=1)
        logger.warning("document rejected", extra={"reason": str(exc), "key": document["key"]})
        raise
    if "total" in fields:
        fields["needsReview"] = Decimal(fields["total"]) > config.review_threshold()
    store.set_status(job, "DONE", result=fields)
    metrics.add_dimension(name="type", value=doc_type)
    metrics.add_metric(name="DocumentsProcessed", unit=MetricUnit.Count, value=1)
    logger.info("document processed", extra={"key": document["key"]})
    return fields


@tracer.capture_method
def record_handler(record: SQSRecord) -> dict[str, Any]:
    event = json.loads(record.body)
    detail = event["detail"]
    key = unquote_plus(detail["object"]["key"])  # S3 form-encodes keys in its events ("a b" -> "a+b")
    try:
        job_id = keys.parse_document_key(key)[2]
    except ValueError:
        job_id = "unknown"
    logger.set_correlation_id(job_id)
    logger.append_keys(job_id=job_id)
    document = {"bucket": detail["bucket"]["name"], "key": key,
                "etag": detail["object"].get("etag", "")}
    return process_document(document=document)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    idempotency.register_lambda_context(context)
    return process_partial_response(event=event, record_handler=record_handler, processor=batch,
                                    context=context)
