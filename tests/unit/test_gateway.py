"""Gateway cores: route selection, event building against a golden payload, response mapping, JWT checks."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from harness.gateway.auth import JwksCache, authorize, stringify_claims
from harness.gateway.events import (
    HttpRequest,
    MalformedResponseError,
    RequestContext,
    build_event_v1,
    build_event_v2,
    map_response_v1,
    map_response_v2,
)
from harness.gateway.model import JwtAuthorizer, Route
from harness.gateway.routing import match_route
from tests.shape import golden

ROUTES = (
    Route("GET", "/jobs", "GET /jobs", "fn"), Route("GET", "/jobs/{jobId}", "GET /jobs/{jobId}", "fn"),
    Route("GET", "/jobs/latest", "GET /jobs/latest", "fn"), Route("ANY", "/jobs/{jobId}", "ANY /jobs/{jobId}", "fn"),
    Route("GET", "/files/{proxy+}", "GET /files/{proxy+}", "fn"), Route("ANY", None, "$default", "fn"),
)


@pytest.mark.parametrize(("method", "path", "route_key", "params"), [
    ("GET", "/jobs", "GET /jobs", {}),
    ("GET", "/jobs/", "GET /jobs", {}),
    ("GET", "/jobs/latest", "GET /jobs/latest", {}),
    ("GET", "/jobs/42", "GET /jobs/{jobId}", {"jobId": "42"}),
    ("DELETE", "/jobs/42", "ANY /jobs/{jobId}", {"jobId": "42"}),
    ("GET", "/files/a/b/c.txt", "GET /files/{proxy+}", {"proxy": "a/b/c.txt"}),
    ("POST", "/elsewhere", "$default", {}),
])
def test_most_specific_route_wins(method: str, path: str, route_key: str, params: dict[str, str]) -> None:
    found = match_route(ROUTES, method, path)
    assert found is not None and found.route.route_key == route_key and found.path_parameters == params


def test_no_default_route_means_404() -> None:
    assert match_route(ROUTES[:2], "GET", "/nope") is None


REQUEST = HttpRequest(
    "POST", "/my/path", "parameter1=value1&parameter1=value2&parameter2=value",
    (("Header1", "value1"), ("header2", "value1"), ("Header2", "value2"), ("Cookie", "cookie1; cookie2"),
     ("Content-Type", "application/json")),
    b'{"message": "hello world", "username": "tom"}', source_ip="192.168.0.1")
CTX = RequestContext("123456789012", "api-id", "$default", "id", "id.execute-api.us-east-1.amazonaws.com",
                     datetime(2020, 3, 12, 19, 3, 58, tzinfo=UTC), {"claim1": "value1", "claim2": "value2"},
                     ("scope1", "scope2"))


def test_v2_event_matches_the_golden_payload() -> None:
    event = build_event_v2(REQUEST, "POST /my/{name}", {"name": "path"}, CTX)
    assert event == golden("http_api_v2.json")


def test_v2_binary_bodies_are_base64_and_v1_keeps_multi_values() -> None:
    binary = HttpRequest("PUT", "/f", "", (("Content-Type", "image/png"),), b"\x89PNG")
    event = build_event_v2(binary, "PUT /f", {}, CTX)
    assert event["isBase64Encoded"] and base64.b64decode(event["body"]) == b"\x89PNG"
    v1 = build_event_v1(REQUEST, Route("POST", "/my/{name}", "POST /my/{name}", "fn", "1.0"), {"name": "path"}, CTX)
    assert v1["multiValueQueryStringParameters"] == {"parameter1": ["value1", "value2"], "parameter2": ["value"]}
    assert v1["queryStringParameters"]["parameter1"] == "value2" and v1["resource"] == "/my/{name}"
    assert v1["requestContext"]["authorizer"]["claims"] == {"claim1": "value1", "claim2": "value2"}


def test_v2_response_mapping_rules() -> None:
    plain = map_response_v2(b'{"hello": "world"}')
    assert plain.status == 200 and plain.body == b'{"hello": "world"}'
    assert ("content-type", "application/json") in plain.headers
    assert map_response_v2(b'"text"').body == b'"text"'
    full = map_response_v2(json.dumps({"statusCode": 201, "headers": {"X-A": "1"}, "cookies": ["c=1", "d=2"],
                                       "body": base64.b64encode(b"\x00\x01").decode(), "isBase64Encoded": True}).encode())
    assert full.status == 201 and full.body == b"\x00\x01"
    assert ("x-a", "1") in full.headers and [v for k, v in full.headers if k == "set-cookie"] == ["c=1", "d=2"]
    for bad in (b"not json", b'{"statusCode": "many"}', b'{"statusCode": 200, "body": {"a": 1}}'):
        with pytest.raises(MalformedResponseError):
            map_response_v2(bad)
    multi = map_response_v1(b'{"statusCode": 200, "multiValueHeaders": {"X-B": ["1", "2"]}, "body": "ok"}')
    assert [v for k, v in multi.headers if k == "x-b"] == ["1", "2"]
    with pytest.raises(MalformedResponseError):
        map_response_v1(b'{"body": "no status"}')


KEY = RSAKey.generate_key(2048, parameters={"kid": "k1"})
AUTH = JwtAuthorizer("jwt", "https://issuer.example", ("client-1",))
KEYS = JwksCache(lambda issuer: {"keys": [KEY.as_dict(private=False)]})


def token(**claims: object) -> str:
    base = {"iss": AUTH.issuer, "aud": "client-1", "sub": "u1", "exp": int(time.time()) + 60,
            "cognito:groups": ["a", "b"], "scope": "jobs/read"}
    return jwt.encode({"alg": "RS256", "kid": "k1"}, {**base, **claims}, KEY)


def test_jwt_authorizer_accepts_a_valid_token_and_stringifies_claims() -> None:
    result = authorize(f"Bearer {token()}", AUTH, ("jobs/read",), KEYS)
    assert result.error is None and result.claims is not None
    assert result.claims["cognito:groups"] == "[a b]" and result.scopes == ("jobs/read",)
    assert authorize(token(aud=None, client_id="client-1"), AUTH, (), KEYS).error is None  # access-token style


@pytest.mark.parametrize(("claims", "scopes", "status"), [
    ({"exp": -1}, (), 401),     # seconds from now: computed when the test runs, not at collection
    ({"nbf": 100}, (), 401),
    ({"aud": "client-2"}, (), 401),
    ({"iss": "https://elsewhere"}, (), 401),
    ({}, ("jobs/write",), 403),
])
def test_jwt_authorizer_rejections(claims: dict[str, object], scopes: tuple[str, ...], status: int) -> None:
    now = int(time.time())
    claims = {k: now + v if k in ("exp", "nbf") else v for k, v in claims.items()}  # type: ignore[operator]
    result = authorize(token(**claims), AUTH, scopes, KEYS)
    assert result.error is not None and result.error.status == status


def test_jwt_authorizer_rejects_bad_signatures_and_missing_tokens() -> None:
    other = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    forged = jwt.encode({"alg": "RS256", "kid": "k1"}, {"iss": AUTH.issuer, "aud": "client-1",
                                                        "exp": int(time.time()) + 60}, other)
    for header in (None, "", "Bearer nonsense", f"Bearer {forged}"):
        result = authorize(header, AUTH, (), KEYS)
        assert result.error is not None and result.error.status == 401
        assert json.loads(result.error.body) == {"message": "Unauthorized"}
    assert stringify_claims({"n": 5, "t": True}) == {"n": "5", "t": "true"}
