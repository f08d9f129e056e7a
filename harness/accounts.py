"""Accounts: the neutral values every layer shares (no harness imports above ``errors``).

``AccountScope`` is one isolated account on a target and how to make clients into it; ``Account``
is what an opened account offers (clients, invoke, settle, cleanup) to provisioning, the gateways,
scenarios and fixtures. Targets produce scopes; ``harness.cloud.CloudAccount`` is the Account.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import boto3
import botocore.session
from botocore.config import Config
from botocore.loaders import Loader, create_loader

_LOADER: Loader | None = None
_LOADER_LOCK = threading.Lock()


def new_session(**kwargs: Any) -> boto3.session.Session:
    """A boto3 session (credentials, region: ``boto3.session.Session``'s keywords) whose service
    models come from one loader shared by every session made here. Each session used to read and
    parse the JSON models again: eight clients in a new session took ~150 ms, ~25 ms shared; the
    harness makes a session per account, and a test suite opens hundreds."""
    global _LOADER
    with _LOADER_LOCK:
        if _LOADER is None:
            _LOADER = create_loader()
        loader = _LOADER
    core = botocore.session.Session()
    core.register_component("data_loader", loader)
    return boto3.session.Session(botocore_session=core, **kwargs)


@dataclass(frozen=True)
class AccountScope:
    """One isolated account on a target, with a way to make clients into it.

    Example:
        sqs = scope.client("sqs")
    """

    account_id: str
    region: str
    endpoint_url: str | None
    session: boto3.session.Session
    headers: Mapping[str, str] = field(default_factory=dict)
    # Services some other server answers for this target (LocalStack's side services, say).
    service_endpoints: Mapping[str, str] = field(default_factory=dict)
    # Where one account holds several isolated runs (AWS): the run id its stacks are named and tagged by.
    namespace: str = ""
    # Where the target answers the harness's own calls in its process (moto: the server's app
    # without a socket, a botocore ``before-send`` handler); see ``client(internal=True)``.
    transport: Callable[..., Any] | None = field(default=None, compare=False)
    # Where the target answers some of those calls without a request at all (moto: its backends
    # behind the pollers' SQS, DynamoDB Streams and invoke calls):
    # ``direct(service, client, account_id, region)`` returns the client to use instead.
    direct: Callable[[str, Any, str, str], Any] | None = field(default=None, compare=False)

    def endpoint_for(self, service: str) -> str | None:
        return self.service_endpoints.get(service, self.endpoint_url)

    def client(self, service: str, *, config: Config | None = None, internal: bool = False,
               backend_calls: bool = False, **kwargs: Any) -> Any:
        """A boto3 client for ``service`` in this account (explicit session, never the default).
        ``internal``: for the harness's own calls (pollers, async invocations, destinations),
        sent through the target's in-process ``transport`` where it has one; tests, handlers and
        tools always get clients that go over HTTP, as they would to AWS. ``backend_calls`` (with
        ``internal``): the calls the target's ``direct`` covers skip the request altogether; such a
        client's event hooks do not see them (the pollers', which register none)."""
        base = Config(retries={"max_attempts": 2, "mode": "standard"}, max_pool_connections=64)
        client = self.session.client(
            service,  # type: ignore[call-overload]
            region_name=self.region,
            endpoint_url=self.endpoint_for(service),
            config=base.merge(config) if config else base,
            **kwargs,
        )
        if self.headers:
            headers = dict(self.headers)

            def _add_headers(request: Any, **_: Any) -> None:
                for name, value in headers.items():
                    request.headers[name] = value

            client.meta.events.register("before-sign.*.*", _add_headers)
        if internal and self.transport is not None:
            client.meta.events.register("before-send.*.*", self.transport)
        if internal and backend_calls and self.direct is not None:
            return self.direct(service, client, self.account_id, self.region)
        return client

    def client_environment(self) -> dict[str, str]:
        """Variables that point any SDK or the AWS CLI at this account on the target."""
        creds = self.session.get_credentials()
        assert creds is not None, "the scope's session has no credentials"
        frozen = creds.get_frozen_credentials()
        env = {
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            "AWS_ACCESS_KEY_ID": str(frozen.access_key),
            "AWS_SECRET_ACCESS_KEY": str(frozen.secret_key),
        }
        if frozen.token:
            env["AWS_SESSION_TOKEN"] = frozen.token
        if self.endpoint_url:
            env["AWS_ENDPOINT_URL"] = self.endpoint_url
        for service, url in self.service_endpoints.items():
            env[service_endpoint_variable(self.session, service)] = url
        return env


ScopeFor = Callable[[str], AccountScope]


# The service ids of the services targets answer from a server of their own (LocalStack's side
# services), as botocore's models name them: reading a model for its id costs ~0.1 s (the first
# read scans botocore's data folder), on the way to every ``harness up`` env file.
# tests/unit/test_accounts.py checks the table against the models.
KNOWN_SERVICE_IDS = {"cognito-idp": "Cognito Identity Provider", "apigatewayv2": "ApiGatewayV2",
                     "apigateway": "API Gateway"}


def service_endpoint_variable(session: boto3.session.Session, service: str) -> str:
    """The SDKs' per-service endpoint variable: named from the service id, not the client name
    (``cognito-idp`` -> ``AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER``)."""
    service_id = KNOWN_SERVICE_IDS.get(service) or str(session._session.get_service_model(service).service_id)
    return "AWS_ENDPOINT_URL_" + service_id.upper().replace(" ", "_").replace("-", "_")


class Account(Protocol):
    """What an opened account offers: clients, a synchronous invoke, settle and cleanup hooks."""

    @property
    def scope(self) -> AccountScope: ...

    @property
    def account_id(self) -> str: ...

    def client(self, service: str) -> Any:
        """A cached boto3 client for ``service`` in this account."""

    def invoke(self, function_name: str, payload: Any = None, *, log_tail: bool = False) -> dict[str, Any]:
        """Invoke synchronously; returns StatusCode, FunctionError, LogResult and the decoded Payload."""

    def settle(self, timeout: float | None = None) -> None:
        """Wait until every event source is drained and nothing runs."""

    def on_close(self, closer: Callable[[], None]) -> None:
        """Run ``closer`` when the account closes."""
