"""The reference app's HTTP API over real HTTP, with real tokens from the user pool."""

from __future__ import annotations

import gzip
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from joserfc import jwt

from harness.cloud import CloudAccount, LocalCloud
from harness.deployed import deploy_app
from harness.gateway import serve_apis
from harness.identity import CognitoUsers
from harness.project import load_app_source
from harness.provisioning import StackDeployer, StackRecord
from harness.provisioning.template import Template
from harness.settings import HarnessSettings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def api(harness_cloud: LocalCloud, harness_settings: HarnessSettings) -> Iterator[tuple[CloudAccount, StackRecord, CognitoUsers]]:
    source = load_app_source(ROOT)
    assert source is not None
    account = harness_cloud.open_account()
    app = deploy_app(account, source, cache_dir=harness_settings.cache_dir)
    yield account, app.record, app.users()
    app.destroy()
    account.close()


def call(method: str, url: str, *, token: str | None = None, body: Any = None,
         headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request) as response:
            raw = response.read()
            return response.status, {k.lower(): v for k, v in response.headers.items()}, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        raw = error.read()
        return error.code, {k.lower(): v for k, v in error.headers.items()}, json.loads(raw) if raw else None


def test_api_url_output_points_at_the_local_gateway(api: tuple[CloudAccount, StackRecord, CognitoUsers]) -> None:
    _, record, _ = api
    assert record.outputs["ApiUrl"].startswith("http://127.0.0.1:")


def test_the_api_read_from_api_gateway_is_the_api_the_stack_declares(
    api: tuple[CloudAccount, StackRecord, CognitoUsers],
) -> None:
    """Where a record holds template expressions (AWS), the gateway reads the API from the service:
    the same routes, integrations, JWT authorizer, stage and CORS as read from the resolved stack."""
    from harness.gateway.live import http_apis_from_service
    from harness.gateway.model import apis_of

    account, record, _ = api

    def comparable(apis: list[Any]) -> list[Any]:
        return [(a.logical_id, a.api_id, a.stage, a.cors, sorted(a.routes, key=lambda r: r.route_key)) for a in apis]

    declared = apis_of(record)
    assert declared and any(r.authorizer for r in declared[0].routes)
    assert comparable(http_apis_from_service(account.client("apigatewayv2"), record)) == comparable(declared)


def test_create_upload_and_find_a_job_over_http(api: tuple[CloudAccount, StackRecord, CognitoUsers]) -> None:
    account, record, users = api
    base = record.outputs["ApiUrl"]
    token = users.token("alice", groups=("operators",))
    since = (datetime.now(UTC) - timedelta(seconds=5)).isoformat()
    status, _, created = call("POST", f"{base}/jobs", token=token, body={"type": "invoice", "fileName": "i.txt"})
    assert status == 201, created
    upload = urllib.request.Request(created["uploadUrl"], method="PUT", headers={"Content-Type": "text/plain"},
                                    data=b"vendor: ACME\ndate: 2026-01-02\ntotal: 99.99\n")
    with urllib.request.urlopen(upload) as response:
        assert response.status == 200
    account.settle(timeout=30)
    status, _, job = call("GET", f"{base}/jobs/{created['jobId']}", token=token)
    assert status == 200 and job["status"] == "DONE" and job["userId"] == users.sub("alice")
    until = (datetime.now(UTC) + timedelta(seconds=5)).isoformat()
    for query in ("type=invoice&status=DONE", "user=me", f"from={since}&to={until}".replace("+", "%2B")):
        status, _, page = call("GET", f"{base}/jobs?{query}", token=token)
        assert status == 200 and created["jobId"] in [i["jobId"] for i in page["items"]], (query, page)
    # bob is not an operator and not the owner
    bob = users.token("bob")
    assert call("GET", f"{base}/jobs/{created['jobId']}", token=bob)[0] == 404
    assert call("GET", f"{base}/jobs?type=invoice&status=DONE", token=bob)[0] == 403


def _moto_private_key() -> Any:
    """The key moto's Cognito signs with (test-only: lets a test mint expired or foreign tokens)."""
    import moto.cognitoidp
    from joserfc.jwk import RSAKey

    path = Path(moto.cognitoidp.__file__).parent / "resources" / "jwks-private.json.gz"
    return RSAKey.import_key(json.loads(gzip.decompress(path.read_bytes())))


def _forged(record: StackRecord, **claims: Any) -> str:
    key = _moto_private_key()
    base = {"iss": f"https://cognito-idp.{record.region}.amazonaws.com/{record.outputs['UserPoolId']}",
            "aud": record.outputs["UserPoolClientId"], "sub": "forged", "token_use": "id",
            "iat": int(time.time()), "exp": int(time.time()) + 300}
    return jwt.encode({"alg": "RS256", "kid": key.kid}, {**base, **claims}, key)


def test_authorizer_rejects_missing_expired_and_foreign_tokens(api: tuple[CloudAccount, StackRecord, CognitoUsers]) -> None:
    _, record, users = api
    base = record.outputs["ApiUrl"]
    assert call("GET", f"{base}/jobs?user=me", token=_forged(record))[0] == 200  # the forging itself is sound
    for token in (None, "not-a-jwt", _forged(record, exp=int(time.time()) - 10),
                  _forged(record, aud="another-client"), _forged(record, nbf=int(time.time()) + 600),
                  _forged(record, iss="https://cognito-idp.us-east-1.amazonaws.com/us-east-1_other")):
        status, _, body = call("GET", f"{base}/jobs?user=me", token=token)
        assert (status, body) == (401, {"message": "Unauthorized"}), token
    status, _, body = call("GET", f"{base}/nowhere", token=users.token("alice", groups=("operators",)))
    assert (status, body) == (404, {"message": "Not Found"})


def test_cors_preflight_and_access_log(api: tuple[CloudAccount, StackRecord, CognitoUsers]) -> None:
    _, record, _ = api
    base = record.outputs["ApiUrl"]
    status, headers, _ = call("OPTIONS", f"{base}/jobs", headers={
        "Origin": "https://app.example.com", "Access-Control-Request-Method": "POST"})
    assert status == 204 and headers["access-control-allow-origin"] == "*"
    assert "POST" in headers["access-control-allow-methods"]
    status, headers, _ = call("GET", f"{base}/jobs?user=me", token=_forged(record),
                              headers={"Origin": "https://app.example.com"})
    assert status == 200 and headers["access-control-allow-origin"] == "*"


SCOPED = {
    "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}}},
    "Fn": {"Type": "AWS::Lambda::Function", "Properties": {
        "Runtime": "python3.13", "Handler": "index.handler", "Role": {"Fn::GetAtt": ["Role", "Arn"]},
        "Code": {"ZipFile": "def handler(e, c):\n    if e['rawPath'] == '/boom':\n        raise ValueError('x')\n"
                            "    if e['rawPath'] == '/bad':\n        return {'statusCode': 'lots'}\n"
                            "    return {'statusCode': 200, 'headers': {'x-route': e['routeKey']},"
                            " 'cookies': ['a=1'], 'body': e['rawPath']}\n"}}},
    "Api": {"Type": "AWS::ApiGatewayV2::Api", "Properties": {"Name": "scoped", "ProtocolType": "HTTP"}},
    "Int": {"Type": "AWS::ApiGatewayV2::Integration", "Properties": {
        "ApiId": {"Ref": "Api"}, "IntegrationType": "AWS_PROXY", "IntegrationUri": {"Fn::GetAtt": ["Fn", "Arn"]},
        "PayloadFormatVersion": "2.0"}},
    "Auth": {"Type": "AWS::ApiGatewayV2::Authorizer", "Properties": {
        "ApiId": {"Ref": "Api"}, "AuthorizerType": "JWT", "Name": "jwt", "IdentitySource": ["$request.header.Authorization"],
        "JwtConfiguration": {"Issuer": {"Fn::Sub": "https://cognito-idp.${AWS::Region}.amazonaws.com/${Pool}"},
                             "Audience": [{"Ref": "Client"}]}}},
    "Pool": {"Type": "AWS::Cognito::UserPool", "Properties": {}},
    "Client": {"Type": "AWS::Cognito::UserPoolClient", "Properties": {
        "UserPoolId": {"Ref": "Pool"}, "ExplicitAuthFlows": ["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]}},
    "Scoped": {"Type": "AWS::ApiGatewayV2::Route", "Properties": {
        "ApiId": {"Ref": "Api"}, "RouteKey": "GET /admin/{proxy+}", "AuthorizationType": "JWT",
        "AuthorizerId": {"Ref": "Auth"}, "AuthorizationScopes": ["admin/write"],
        "Target": {"Fn::Join": ["", ["integrations/", {"Ref": "Int"}]]}}},
    "Open": {"Type": "AWS::ApiGatewayV2::Route", "Properties": {
        "ApiId": {"Ref": "Api"}, "RouteKey": "$default", "Target": {"Fn::Join": ["", ["integrations/", {"Ref": "Int"}]]}}},
    "Stage": {"Type": "AWS::ApiGatewayV2::Stage", "Properties": {"ApiId": {"Ref": "Api"}, "StageName": "$default"}},
}


def test_scopes_default_route_and_lambda_errors(account: CloudAccount) -> None:
    record = StackDeployer(account, account_id=account.account_id, region=account.scope.region).deploy(
        Template.from_dict({"Resources": SCOPED}), stack_name="scoped")
    (gateway,) = serve_apis(account, record).values()
    users = CognitoUsers(account, record.resources["Pool"].ref, record.resources["Client"].ref)
    access = users.token("carol", kind="AccessToken")
    status, _, body = call("GET", f"{gateway.url}/admin/x", token=access)
    assert (status, body) == (403, {"message": "Forbidden"})
    request = urllib.request.Request(f"{gateway.url}/anything/else?a=1")
    with urllib.request.urlopen(request) as response:
        assert response.read() == b"/anything/else"
        assert response.headers["x-route"] == "$default" and response.headers["set-cookie"] == "a=1"
    assert call("GET", f"{gateway.url}/boom")[:3:2] == (500, {"message": "Internal Server Error"})
    assert call("GET", f"{gateway.url}/bad")[0] == 502
    assert [e["status"] for e in gateway.access_log[-4:]] == [403, 200, 500, 502]
    StackDeployer(account, account_id=account.account_id, region=account.scope.region).destroy(record)


def test_sam_http_api_openapi_form(account: CloudAccount, harness_settings: HarnessSettings) -> None:
    from harness.provisioning.synth import AppSource

    source = AppSource("sam", ROOT / "tests" / "unit" / "sam_http" / "template.yaml", stack="sam-http")
    app = deploy_app(account, source, cache_dir=harness_settings.cache_dir)
    base = app.outputs["Url"]
    assert app.api_urls == {"ServerlessHttpApi": app.gateways["ServerlessHttpApi"].url}
    assert app.environment()["HARNESS_API_URL_ServerlessHttpApi"] == app.gateways["ServerlessHttpApi"].url
    assert base.startswith("http://127.0.0.1:")  # the execute-api URL output now points at the gateway
    status, _, body = call("GET", f"{base}/items/42")
    assert (status, body) == (200, {"route": "GET /items/{id}", "params": {"id": "42"}})
    status, _, body = call("POST", f"{base}/anything")
    assert (status, body["route"]) == (200, "$default")
    assert app.destroy() == []
