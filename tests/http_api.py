"""HTTP API (payload format 2.0) events for invoking API handlers directly in tests."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any
from urllib.parse import urlencode


def http_event(method: str, path: str, *, route: str | None = None, query: dict[str, str] | None = None,
               body: Any = None, claims: dict[str, Any] | None = None,
               path_parameters: dict[str, str] | None = None) -> dict[str, Any]:
    """An API Gateway HTTP API v2 proxy event with JWT authorizer claims."""
    route_key = f"{method} {route or path}"
    return {
        "version": "2.0", "routeKey": route_key, "rawPath": path,
        "rawQueryString": urlencode(query or {}), "headers": {"content-type": "application/json"},
        "queryStringParameters": query or None, "pathParameters": path_parameters or None,
        "requestContext": {
            "accountId": "123456789012", "apiId": "api", "domainName": "api.example.com",
            "domainPrefix": "api", "requestId": str(uuid.uuid4()), "routeKey": route_key, "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime()), "timeEpoch": int(time.time() * 1000),
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1",
                     "userAgent": "tests"},
            "authorizer": {"jwt": {"claims": claims or {}, "scopes": None}},
        },
        "body": json.dumps(body) if body is not None else None, "isBase64Encoded": False,
    }
