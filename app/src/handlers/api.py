"""HTTP API: submit documents and query jobs (Cognito JWT authorizer in front)."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.exceptions import BadRequestError, NotFoundError, ServiceError
from aws_lambda_powertools.utilities.typing import LambdaContext
from docpipeline import keys
from docpipeline.ids import new_job_id
from docpipeline.jobs import JobStore

logger = Logger()
tracer = Tracer()
app = APIGatewayHttpResolver()
s3 = boto3.client("s3")
store = JobStore(boto3.resource("dynamodb").Table(os.environ["JOBS_TABLE"]))
OPERATORS = "operators"
MAX_RANGE_DAYS = 31
FILE_NAME = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


def _claims() -> dict[str, Any]:
    claims: dict[str, Any] = app.current_event.request_context.authorizer.jwt_claim or {}
    return claims


def _caller() -> str:
    user = _claims().get("sub")
    if not user:
        raise ServiceError(401, "Unauthorized")
    return str(user)


def _groups() -> set[str]:
    """``cognito:groups`` arrives as a list, or as "[a b]" from an HTTP API JWT authorizer."""
    raw = _claims().get("cognito:groups") or []
    if isinstance(raw, str):
        raw = raw.strip("[]").replace(",", " ").split()
    return {str(g) for g in raw}


def _require_operator() -> None:
    if OPERATORS not in _groups():
        raise ServiceError(403, f"this listing needs membership of the {OPERATORS} group")


def _iso(name: str, value: str | None) -> str:
    if not value:
        raise BadRequestError(f"{name} is required")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise BadRequestError(f"{name} must be an ISO 8601 time, got {value!r}") from exc
    parsed = parsed.replace(tzinfo=parsed.tzinfo or UTC).astimezone(UTC)
    return parsed.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _limit() -> int:
    raw = app.current_event.get_query_string_value("limit") or "50"
    if not raw.isdigit() or not 1 <= int(raw) <= 100:
        raise BadRequestError("limit must be a whole number from 1 to 100")
    return int(raw)


@app.post("/jobs")
def create_job() -> tuple[dict[str, Any], int]:
    body = app.current_event.json_body or {}
    doc_type, file_name = body.get("type"), body.get("fileName")
    if doc_type not in keys.TYPES:
        raise BadRequestError(f"type must be one of {', '.join(keys.TYPES)}")
    if not isinstance(file_name, str) or not FILE_NAME.match(file_name):
        raise BadRequestError("fileName must be 1-128 letters, digits, '.', '_' or '-'")
    user = _caller()
    job_id = new_job_id()
    item = store.create(job_id=job_id, doc_type=doc_type, user_id=user, file_name=file_name)
    logger.set_correlation_id(job_id)
    url = s3.generate_presigned_url(
        "put_object", Params={"Bucket": os.environ["DOCUMENT_BUCKET"], "Key": item["documentKey"]},
        ExpiresIn=900)
    logger.info("job created", extra={"job_id": job_id, "type": doc_type})
    return {"jobId": job_id, "uploadUrl": url}, 201


@app.get("/jobs/<job_id>")
def get_job(job_id: str) -> dict[str, Any]:
    logger.set_correlation_id(job_id)
    item = store.get(job_id)
    if item is None or item["userId"] != _caller():
        raise NotFoundError(f"job {job_id} not found")
    return keys.public_job(item)


@app.get("/jobs")
def list_jobs() -> dict[str, Any]:
    query = app.current_event.get_query_string_value
    token, limit = query("nextToken"), _limit()
    try:
        if query("user"):
            user = query("user")
            if user != "me":
                _require_operator()
            items, next_token = store.by_user(_caller() if user == "me" else str(user), limit=limit, token=token)
        elif query("type") or query("status"):
            _require_operator()
            doc_type, status = query("type"), query("status")
            if doc_type not in keys.TYPES or status not in keys.STATUSES:
                raise BadRequestError(f"type must be one of {', '.join(keys.TYPES)} and status one of "
                                      f"{', '.join(keys.STATUSES)}")
            items, next_token = store.by_type_status(doc_type, status, limit=limit, token=token)
        elif query("from") or query("to"):
            _require_operator()
            start, end = _iso("from", query("from")), _iso("to", query("to"))
            if len(keys.days_between(start, end)) > MAX_RANGE_DAYS:
                raise BadRequestError(f"from and to may span at most {MAX_RANGE_DAYS} days (one query per day)")
            items, next_token = store.by_time(start, end, limit=limit, token=token)
        else:
            raise BadRequestError("give user=me, type and status, or from and to")
    except ValueError as exc:
        raise BadRequestError(str(exc)) from exc
    return {"items": [keys.public_job(i) for i in items], "nextToken": next_token}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
