"""Unit tests of the reference app's code: pure functions and handlers with in-memory fakes."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SRC = Path(__file__).resolve().parents[2] / "app" / "src"
ENV = {
    "JOBS_TABLE": "jobs", "CONFIG_PREFIX": "/docpipeline/config", "DOCUMENT_BUCKET": "docs",
    "EVENT_BUS": "bus", "API_KEY_SECRET": "secret", "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_NAMESPACE": "Tests", "POWERTOOLS_SERVICE_NAME": "tests",
    "AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
    "AWS_ENDPOINT_URL": "http://127.0.0.1:9",  # nothing listens: a unit test must not reach AWS
}


@pytest.fixture(scope="session")
def app_modules() -> Iterator[dict[str, ModuleType]]:
    """Import the app's modules with a Lambda-like environment (restored afterwards)."""
    saved = {k: os.environ.get(k) for k in ENV}
    os.environ.update(ENV)
    sys.path.insert(0, str(SRC))
    try:
        yield {name: importlib.import_module(name) for name in (
            "docpipeline.keys", "docpipeline.extract", "docpipeline.ids", "docpipeline.jobs",
            "handlers.api", "handlers.notifier")}
    finally:
        sys.path.remove(str(SRC))
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class FakeStore:
    """An in-memory JobStore with the same methods the API handler calls."""

    def __init__(self) -> None:
        self.jobs: dict[str, dict[str, Any]] = {}

    def create(self, *, job_id: str, doc_type: str, user_id: str, file_name: str) -> dict[str, Any]:
        from docpipeline import keys

        item = keys.job_item(job_id=job_id, doc_type=doc_type, user_id=user_id,
                             created_at="2026-01-02T03:04:05.000Z", status="PENDING", file_name=file_name,
                             document_key=keys.document_key(doc_type, user_id, job_id, file_name))
        self.jobs[job_id] = item
        return item

    def get(self, job_id: str) -> dict[str, Any] | None:
        return self.jobs.get(job_id)

    def by_user(self, user_id: str, *, limit: int, token: str | None) -> tuple[list[dict[str, Any]], str | None]:
        return [j for j in self.jobs.values() if j["userId"] == user_id][:limit], None

    def by_type_status(self, doc_type: str, status: str, *, limit: int,
                       token: str | None) -> tuple[list[dict[str, Any]], str | None]:
        return [j for j in self.jobs.values() if (j["type"], j["status"]) == (doc_type, status)][:limit], None

    def by_time(self, start: str, end: str, *, limit: int, token: str | None) -> tuple[list[dict[str, Any]], str | None]:
        if token == "bad":
            raise ValueError("nextToken is not valid")
        return [j for j in self.jobs.values() if start <= j["createdAt"] <= end][:limit], None
