"""The LocalStack target's side services: an embedded moto server (127.0.0.1, the same keep-alive
front as the moto target's, ``moto_http``) for what LocalStack's free edition lacks (Cognito user
pools, HTTP and REST API definitions).

LocalStack takes a 12-digit access key as the account id; moto takes an unknown key as its default
account. The harness's own clients name the account in a header, but an external client (the env
file of ``harness up``, the AWS CLI, a team's tests) only has the key, so it reached the side
services in moto's default account, not the one its credentials name. While the side services run,
a SigV4 request signed with a 12-digit access key is served in that account there too, as on
LocalStack (moto reads only 20-character keys).
"""

from __future__ import annotations

import re
from typing import Any

from harness.errors import TargetError
from harness.targets.moto_http import MotoHttpServer

SIDE_SERVICES = ("cognito-idp", "apigatewayv2", "apigateway")
_ACCOUNT_KEY = re.compile(r"Credential=(\d{12})/")  # SigV4: the access key is the account id


class SideServices:
    """Start with ``start()`` (returns the endpoint), stop with ``stop()`` (safe twice)."""

    def __init__(self) -> None:
        self._server: MotoHttpServer | None = None
        self._restore: tuple[Any, Any] | None = None

    def start(self) -> str:
        """Raises:
            TargetError: moto is not installed (the moto extra).
        """
        try:
            import cheroot  # noqa: F401  (the server's front, as on the moto target)
            from moto.core.responses import BaseResponse
        except ImportError as exc:
            raise TargetError("the LocalStack target serves Cognito and HTTP APIs with moto, which is not "
                              "installed here; pip install 'serverless-harness[moto]' (the moto extra)") from exc
        current = BaseResponse.get_current_account

        def account_of(response: Any) -> str:
            if "x-moto-account-id" not in response.headers:
                named = _ACCOUNT_KEY.search(str(response.headers.get("Authorization", "")))
                if named:
                    return named.group(1)
            return str(current(response))

        self._restore = (BaseResponse, current)
        BaseResponse.get_current_account = account_of  # type: ignore[method-assign,assignment]
        self._server = MotoHttpServer("127.0.0.1", 0)
        return self._server.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
        if self._restore is not None:
            owner, original = self._restore
            owner.get_current_account = original
            self._restore = None
