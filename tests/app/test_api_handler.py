from __future__ import annotations

import json
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

from tests.app.conftest import FakeStore
from tests.http_api import http_event


class Context:
    function_name = "api"
    memory_limit_in_mb = 128
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:api"
    aws_request_id = "req"


@pytest.fixture
def api(app_modules: dict[str, ModuleType]) -> Iterator[tuple[ModuleType, FakeStore]]:
    module = app_modules["handlers.api"]
    real, fake = module.store, FakeStore()
    module.store = fake  # the handler's one seam: its JobStore
    yield module, fake
    module.store = real


def call(module: ModuleType, event: dict[str, Any]) -> tuple[int, Any]:
    response = module.handler(event, Context())
    return response["statusCode"], json.loads(response["body"]) if response.get("body") else None


OWNER = {"sub": "U1"}
OPERATOR = {"sub": "OP", "cognito:groups": "[operators admins]"}


def test_create_job_returns_id_and_presigned_upload_url(api: tuple[ModuleType, FakeStore]) -> None:
    module, store = api
    status, body = call(module, http_event("POST", "/jobs", body={"type": "invoice", "fileName": "a.txt"}, claims=OWNER))
    assert status == 201
    job = store.jobs[body["jobId"]]
    assert job["userId"] == "U1" and job["status"] == "PENDING"
    assert f"/docs/incoming/invoice/U1/{body['jobId']}/a.txt" in body["uploadUrl"]


@pytest.mark.parametrize("body", [{"type": "poem", "fileName": "a"}, {"type": "invoice", "fileName": "../x"},
                                  {"type": "invoice"}])
def test_create_job_validates_input(api: tuple[ModuleType, FakeStore], body: dict[str, str]) -> None:
    assert call(api[0], http_event("POST", "/jobs", body=body, claims=OWNER))[0] == 400


def test_get_job_is_private_to_its_owner(api: tuple[ModuleType, FakeStore]) -> None:
    module, store = api
    store.create(job_id="J1", doc_type="invoice", user_id="U1", file_name="a.txt")
    get = lambda claims: call(module, http_event("GET", "/jobs/J1", route="/jobs/{jobId}",  # noqa: E731
                                                  path_parameters={"jobId": "J1"}, claims=claims))
    status, body = get(OWNER)
    assert status == 200 and set(body) == {"jobId", "type", "status", "userId", "createdAt", "result"}
    assert get({"sub": "U2"})[0] == 404
    assert call(module, http_event("GET", "/jobs/none", route="/jobs/{jobId}", path_parameters={"jobId": "none"},
                                   claims=OWNER))[0] == 404


def test_listings_need_operators_except_own_jobs(api: tuple[ModuleType, FakeStore]) -> None:
    module, store = api
    store.create(job_id="J1", doc_type="invoice", user_id="U1", file_name="a.txt")
    by_type = {"type": "invoice", "status": "PENDING"}
    by_time = {"from": "2026-01-01T00:00:00Z", "to": "2026-01-03T00:00:00+00:00"}
    assert call(module, http_event("GET", "/jobs", query=by_type, claims=OWNER))[0] == 403
    assert call(module, http_event("GET", "/jobs", query=by_time, claims=OWNER))[0] == 403
    assert call(module, http_event("GET", "/jobs", query={"user": "U1"}, claims={"sub": "U2"}))[0] == 403
    for query, claims in ((by_type, OPERATOR), (by_time, OPERATOR), ({"user": "me"}, OWNER), ({"user": "U1"}, OPERATOR)):
        status, body = call(module, http_event("GET", "/jobs", query=query, claims=claims))
        assert status == 200 and [i["jobId"] for i in body["items"]] == ["J1"], query
        assert body["nextToken"] is None


@pytest.mark.parametrize("query", [{}, {"type": "invoice"}, {"from": "yesterday", "to": "today"},
                                   {"from": "2026-01-01T00:00:00Z", "to": "2026-03-01T00:00:00Z"},
                                   {"user": "me", "limit": "0"},
                                   {"from": "2026-01-01T00:00:00Z", "to": "2026-01-02T00:00:00Z", "nextToken": "bad"}])
def test_bad_listing_queries_are_400(api: tuple[ModuleType, FakeStore], query: dict[str, str]) -> None:
    assert call(api[0], http_event("GET", "/jobs", query=query, claims=OPERATOR))[0] == 400
