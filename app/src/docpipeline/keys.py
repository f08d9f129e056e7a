"""Key design of the single jobs table (pure functions; no I/O).

| Access pattern              | Index | Key condition                                                    |
|-----------------------------|-------|------------------------------------------------------------------|
| Job by id                   | table | PK = JOB#<jobId>, SK = JOB                                       |
| Jobs by type and status     | GSI1  | GSI1PK = TYPE#<type>#STATUS#<status>, GSI1SK = <createdAt>#<id>  |
| Jobs by submitting user     | GSI2  | GSI2PK = USER#<userId>, GSI2SK = <createdAt>#<id>                |
| Jobs by time range          | table | PK = DAY#<yyyy-mm-dd>, SK between <from> and <to> (one Query per |
|                             |       | day), then BatchGetItem of the job items                         |
| Idempotency records         | table | PK = IDEMPOTENCY#<function>, SK = <hash>; expire via TTL         |

Job items carry GSI1 and GSI2 keys; their status change moves them between GSI1 partitions.
Timeline items (PK = DAY#...) are written once with the job and never change. Every expiring item
(idempotency records) has its epoch seconds in ``expiration``, the table's TTL attribute.
"""

from __future__ import annotations

from typing import Any

TYPES = ("invoice", "receipt", "contract")
STATUSES = ("PENDING", "PROCESSING", "DONE", "FAILED")
TTL_ATTRIBUTE = "expiration"
JOB_SK = "JOB"


def job_key(job_id: str) -> dict[str, str]:
    return {"PK": f"JOB#{job_id}", "SK": JOB_SK}


def type_status_pk(doc_type: str, status: str) -> str:
    return f"TYPE#{doc_type}#STATUS#{status}"


def user_pk(user_id: str) -> str:
    return f"USER#{user_id}"


def sort_key(created_at: str, job_id: str) -> str:
    return f"{created_at}#{job_id}"


def day_pk(created_at: str) -> str:
    return f"DAY#{created_at[:10]}"


def job_item(*, job_id: str, doc_type: str, user_id: str, created_at: str, status: str,
             file_name: str, document_key: str) -> dict[str, Any]:
    """A new job item with its index keys."""
    return {
        **job_key(job_id),
        "jobId": job_id, "type": doc_type, "userId": user_id, "createdAt": created_at,
        "status": status, "fileName": file_name, "documentKey": document_key,
        "GSI1PK": type_status_pk(doc_type, status), "GSI1SK": sort_key(created_at, job_id),
        "GSI2PK": user_pk(user_id), "GSI2SK": sort_key(created_at, job_id),
    }


def timeline_item(*, job_id: str, created_at: str) -> dict[str, Any]:
    """The immutable item that places a job on the time line (pattern 4)."""
    return {"PK": day_pk(created_at), "SK": sort_key(created_at, job_id), "jobId": job_id}


def days_between(start: str, end: str) -> list[str]:
    """The yyyy-mm-dd days from ``start`` to ``end`` (ISO timestamps), inclusive."""
    from datetime import date, timedelta

    first, last = date.fromisoformat(start[:10]), date.fromisoformat(end[:10])
    if last < first:
        return []
    return [(first + timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]


def document_key(doc_type: str, user_id: str, job_id: str, file_name: str) -> str:
    return f"incoming/{doc_type}/{user_id}/{job_id}/{file_name}"


def parse_document_key(key: str) -> tuple[str, str, str, str]:
    """``incoming/<type>/<userId>/<jobId>/<file>`` -> (type, userId, jobId, file).

    Raises:
        ValueError: the key is not in that layout or names an unknown type.
    """
    parts = key.split("/", 4)
    if len(parts) != 5 or parts[0] != "incoming" or not all(parts[1:]):
        raise ValueError(f"object key {key!r} is not incoming/<type>/<userId>/<jobId>/<file>")
    _, doc_type, user_id, job_id, file_name = parts
    if doc_type not in TYPES:
        raise ValueError(f"object key {key!r} names unknown document type {doc_type!r}")
    return doc_type, user_id, job_id, file_name


def public_job(item: dict[str, Any]) -> dict[str, Any]:
    """A job as the API returns it."""
    return {
        "jobId": item["jobId"], "type": item["type"], "status": item["status"],
        "userId": item["userId"], "createdAt": item["createdAt"], "result": item.get("result"),
    }
