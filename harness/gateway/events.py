"""Lambda proxy integration payloads (format 2.0 and 1.0) and response mapping (pure)."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from harness.gateway.model import Route

_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript",
               "application/x-www-form-urlencoded")


@dataclass(frozen=True)
class HttpRequest:
    method: str
    path: str
    raw_query: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    source_ip: str = "127.0.0.1"
    protocol: str = "HTTP/1.1"

    def header(self, name: str) -> str | None:
        values = [v for k, v in self.headers if k.lower() == name.lower()]
        return ",".join(values) if values else None


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""


@dataclass(frozen=True)
class RequestContext:
    account_id: str
    api_id: str
    stage: str
    request_id: str
    domain_name: str
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    claims: Mapping[str, Any] | None = None
    scopes: tuple[str, ...] | None = None
    extended_request_id: str = ""  # REST APIs: API Gateway's own id beside the UUID request id


def gateway_id() -> str:
    """An id as API Gateway writes HTTP API request ids and REST extended request ids:
    16 base64 characters ending in ``=`` (``JJbxmHc2IAMFd4g=``)."""
    return base64.b64encode(secrets.token_bytes(11)).decode()


def resource_id(api_id: str, path: str | None) -> str:
    """A REST API resource's id (6 lower-case letters and digits, ``2gxmpl``), stable per path (pure)."""
    number = int.from_bytes(hashlib.sha256(f"{api_id}{path}".encode()).digest()[:8], "big")
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    return "".join(digits[(number >> (6 * i)) % 36] for i in range(6))


def _is_text(content_type: str | None) -> bool:
    return content_type is None or content_type.lower().startswith(_TEXT_TYPES)


def _body(request: HttpRequest) -> tuple[str | None, bool]:
    if not request.body:
        return None, False
    if _is_text(request.header("content-type")):
        try:
            return request.body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(request.body).decode(), True


def _grouped(pairs: list[tuple[str, str]], lower: bool) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for key, value in pairs:
        grouped.setdefault(key.lower() if lower else key, []).append(value)
    return grouped


def build_event_v2(request: HttpRequest, route_key: str, path_parameters: Mapping[str, str],
                   ctx: RequestContext) -> dict[str, Any]:
    """The event an HTTP API sends with payload format 2.0."""
    headers = {k: ",".join(v) for k, v in _grouped([h for h in request.headers if h[0].lower() != "cookie"],
                                                   lower=True).items()}
    cookies = [c.strip() for c in (request.header("cookie") or "").split(";") if c.strip()]
    query = {k: ",".join(v) for k, v in _grouped(parse_qsl(request.raw_query, keep_blank_values=True),
                                                 lower=False).items()}
    body, is_base64 = _body(request)
    event: dict[str, Any] = {"version": "2.0", "routeKey": route_key, "rawPath": request.path,
                             "rawQueryString": request.raw_query}
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    if query:
        event["queryStringParameters"] = query
    context: dict[str, Any] = {
        "accountId": ctx.account_id, "apiId": ctx.api_id, "domainName": ctx.domain_name,
        "domainPrefix": ctx.domain_name.split(".")[0],
        "http": {"method": request.method, "path": request.path, "protocol": request.protocol,
                 "sourceIp": request.source_ip, "userAgent": request.header("user-agent") or ""},
        "requestId": ctx.request_id, "routeKey": route_key, "stage": ctx.stage,
        "time": ctx.now.strftime("%d/%b/%Y:%H:%M:%S +0000"), "timeEpoch": int(ctx.now.timestamp() * 1000),
    }
    if ctx.claims is not None:
        context["authorizer"] = {"jwt": {"claims": dict(ctx.claims),
                                         "scopes": list(ctx.scopes) if ctx.scopes else None}}
    event["requestContext"] = context
    if body is not None:
        event["body"] = body
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    event["isBase64Encoded"] = is_base64
    return event


def build_event_v1(request: HttpRequest, route: Route, path_parameters: Mapping[str, str],
                   ctx: RequestContext) -> dict[str, Any]:
    """The event an HTTP API sends with payload format 1.0 (REST-API-like)."""
    header_lists = _grouped(list(request.headers), lower=False)
    query_lists = _grouped(parse_qsl(request.raw_query, keep_blank_values=True), lower=False)
    body, is_base64 = _body(request)
    authorizer = {"claims": dict(ctx.claims), "scopes": list(ctx.scopes) if ctx.scopes else None} \
        if ctx.claims is not None else None
    return {
        "version": "1.0", "resource": route.path or "$default", "path": request.path,
        "httpMethod": request.method,
        "headers": {k: v[-1] for k, v in header_lists.items()}, "multiValueHeaders": header_lists,
        "queryStringParameters": {k: v[-1] for k, v in query_lists.items()} or None,
        "multiValueQueryStringParameters": query_lists or None,
        "requestContext": {
            "accountId": ctx.account_id, "apiId": ctx.api_id, "authorizer": authorizer,
            "domainName": ctx.domain_name, "domainPrefix": ctx.domain_name.split(".")[0],
            "extendedRequestId": ctx.extended_request_id or ctx.request_id, "httpMethod": request.method,
            "identity": {"sourceIp": request.source_ip, "userAgent": request.header("user-agent") or ""},
            "path": request.path, "protocol": request.protocol, "requestId": ctx.request_id,
            "requestTime": ctx.now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "requestTimeEpoch": int(ctx.now.timestamp() * 1000), "resourcePath": route.path or "$default",
            "stage": ctx.stage,
        },
        "pathParameters": dict(path_parameters) or None, "stageVariables": None,
        "body": body, "isBase64Encoded": is_base64,
    }


def build_event_rest(request: HttpRequest, route: Route, path_parameters: Mapping[str, str],
                     ctx: RequestContext) -> dict[str, Any]:
    """The event a REST API's Lambda proxy integration sends (no ``version``; the stage in
    ``requestContext.path``; a Cognito authorizer's claims under ``requestContext.authorizer``)."""
    event = build_event_v1(request, route, path_parameters, ctx)
    del event["version"]
    context = event["requestContext"]
    context["path"] = f"/{ctx.stage}{request.path}"
    context["resourceId"] = resource_id(ctx.api_id, route.path)
    context["identity"] = {key: None for key in (
        "cognitoIdentityPoolId", "accountId", "cognitoIdentityId", "caller", "accessKey", "principalOrgId",
        "cognitoAuthenticationType", "cognitoAuthenticationProvider", "userArn", "user")} | context["identity"]
    if ctx.claims is not None:
        context["authorizer"] = {"claims": dict(ctx.claims)}
    else:
        del context["authorizer"]
    return event


class MalformedResponseError(ValueError):
    """The function's response cannot be mapped to an HTTP response."""


def map_response_v2(payload: bytes) -> HttpResponse:
    """API Gateway's mapping of a format-2.0 function response.

    Raises:
        MalformedResponseError: the response is not JSON or has fields of the wrong type.
    """
    try:
        value = json.loads(payload) if payload else None
    except json.JSONDecodeError as exc:
        raise MalformedResponseError(f"the function returned invalid JSON: {exc}") from exc
    if not isinstance(value, dict) or "statusCode" not in value:
        return HttpResponse(200, (("content-type", "application/json"),), payload)
    return _structured(value, allow_multi=False)


def map_response_v1(payload: bytes) -> HttpResponse:
    """API Gateway's mapping of a format-1.0 function response (statusCode required)."""
    try:
        value = json.loads(payload) if payload else None
    except json.JSONDecodeError as exc:
        raise MalformedResponseError(f"the function returned invalid JSON: {exc}") from exc
    if not isinstance(value, dict) or "statusCode" not in value:
        raise MalformedResponseError("a format 1.0 response needs a statusCode")
    return _structured(value, allow_multi=True)


def _structured(value: dict[str, Any], *, allow_multi: bool) -> HttpResponse:
    status = value.get("statusCode")
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if not isinstance(status, int) or not 100 <= status <= 599:
        raise MalformedResponseError(f"statusCode {value.get('statusCode')!r} is not an HTTP status")
    headers: list[tuple[str, str]] = []
    for key, item in (value.get("headers") or {}).items():
        headers.append((str(key).lower(), str(item)))
    if allow_multi:
        for key, items in (value.get("multiValueHeaders") or {}).items():
            headers.extend((str(key).lower(), str(i)) for i in items)
    for cookie in value.get("cookies") or []:
        headers.append(("set-cookie", str(cookie)))
    body = value.get("body")
    if body is None:
        data = b""
    elif not isinstance(body, str):
        raise MalformedResponseError("body must be a string")
    elif value.get("isBase64Encoded"):
        try:
            data = base64.b64decode(body, validate=True)
        except ValueError as exc:
            raise MalformedResponseError("isBase64Encoded is true but body is not base64") from exc
    else:
        data = body.encode()
    if not any(k == "content-type" for k, _ in headers) and data:
        headers.append(("content-type", "application/json"))
    return HttpResponse(status, tuple(headers), data)


def error_response(status: int, message: str) -> HttpResponse:
    """API Gateway's own error bodies: {"message": "..."}."""
    body = json.dumps({"message": message}).encode()
    return HttpResponse(status, (("content-type", "application/json"),), body)
