"""The local HTTP API gateway with a real JWT authorizer.

Example:
    urls = serve_apis(account, record)      # {"Api": "http://127.0.0.1:PORT"}; outputs now point there
"""

from __future__ import annotations

from typing import Any

from botocore.config import Config

from harness.gateway.auth import JwksCache, jwks_fetcher
from harness.gateway.model import apis_of
from harness.gateway.server import HttpApiGateway
from harness.provisioning.deployer import StackRecord

__all__ = ["HttpApiGateway", "serve_apis"]


def serve_apis(account: Any, record: StackRecord) -> dict[str, HttpApiGateway]:
    """Start a gateway per HTTP API of ``record`` on 127.0.0.1; outputs naming an API endpoint are
    rewritten to the local URL. The gateways stop when ``account`` closes."""
    lam = account.scope.client("lambda", config=Config(read_timeout=960, retries={"max_attempts": 1}))

    def invoke(function_arn: str, payload: bytes) -> tuple[bytes, str | None]:
        response = lam.invoke(FunctionName=function_arn, Payload=payload)
        return response["Payload"].read(), response.get("FunctionError")

    keys = JwksCache(jwks_fetcher(account.scope.endpoint_for("cognito-idp")))
    gateways: dict[str, HttpApiGateway] = {}
    for api in apis_of(record):
        gateway = HttpApiGateway(api, account_id=account.account_id, invoke=invoke, keys=keys).start()
        gateways[api.logical_id] = gateway
        account.on_close(gateway.stop)
        for name, value in list(record.outputs.items()):
            if api.endpoint and value == api.endpoint:
                record.outputs[name] = gateway.url
    return gateways

