"""The local API gateway (HTTP APIs and REST APIs) with real JWT and Cognito authorizers.

Example:
    urls = serve_apis(account, record)      # {"Api": "http://127.0.0.1:PORT"}; outputs now point there
"""

from __future__ import annotations

import re
from typing import Any

from botocore.config import Config

from harness.accounts import Account
from harness.gateway.auth import JwksCache, jwks_fetcher
from harness.gateway.live import http_apis_from_service
from harness.gateway.model import apis_of
from harness.gateway.rest import rest_apis_of
from harness.gateway.server import HttpApiGateway
from harness.provisioning.deployer import StackRecord

__all__ = ["HttpApiGateway", "serve_apis"]


def serve_apis(account: Account, record: StackRecord) -> dict[str, HttpApiGateway]:
    """Start a gateway per HTTP API of ``record`` on 127.0.0.1; outputs naming an API (its endpoint,
    an ``execute-api`` URL under it, or its id) are rewritten to the local URL. The gateways stop
    when ``account`` closes. A record that is not ``resolved`` has its HTTP APIs read from the API
    Gateway service (REST APIs are then not served: see the README's AWS section)."""
    lam = account.scope.client("lambda", config=Config(read_timeout=960, retries={"total_max_attempts": 1}))

    def invoke(function_arn: str, payload: bytes) -> tuple[bytes, str | None]:
        response = lam.invoke(FunctionName=function_arn, Payload=payload)
        return response["Payload"].read(), response.get("FunctionError")

    keys = JwksCache(jwks_fetcher(account.scope.endpoint_for("cognito-idp")))
    gateways: dict[str, HttpApiGateway] = {}
    if record.resolved:
        apis = [*apis_of(record), *rest_apis_of(record)]
    else:  # template properties with expressions left: the API Gateway service says what is deployed
        apis = http_apis_from_service(account.scope.client("apigatewayv2"), record)
    for api in apis:
        gateway = HttpApiGateway(api, account_id=account.account_id, invoke=invoke, keys=keys,
                                 clients=account.client).start()
        gateways[api.logical_id] = gateway
        account.on_close(gateway.stop)
        for name, value in list(record.outputs.items()):
            record.outputs[name] = local_url(value, api.api_id, api.endpoint, gateway.url, gateway.base_url)
    return gateways


def local_url(value: Any, api_id: str, endpoint: str, url: str, base: str | None = None) -> Any:
    """``value`` with the API's public address replaced by the local ``url`` (pure).

    Example:
        local_url("https://abc.execute-api.us-east-1.amazonaws.com/jobs", "abc", "", "http://127.0.0.1:9")
        -> "http://127.0.0.1:9/jobs"
    """
    if not isinstance(value, str) or not api_id:
        return value
    if value == api_id or (endpoint and value == endpoint):
        return url
    prefix = re.match(rf"^https?://{re.escape(api_id)}\.execute-api\.[a-z0-9-]+\.amazonaws\.com(?=/|$)", value)
    if prefix:  # the public URL names the stage itself: the server's root replaces the host
        return (base or url) + value[prefix.end():]
    return value
