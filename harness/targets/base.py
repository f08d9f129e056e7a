"""The Target protocol: a place AWS APIs answer (an emulator or a real account)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from harness.lambda_runtime.pool import ProcessRuntime, ResultListener
    from harness.wiring.async_invoke import AsyncInvocation

AsyncDispatcher = Callable[["AsyncInvocation"], None]


@dataclass(frozen=True)
class TargetHooks:
    """Callbacks a target calls into the harness: async invocations and mapping changes."""

    on_async_invoke: AsyncDispatcher
    on_mappings_changed: Callable[[str], None] = lambda account_id: None


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

    def endpoint_for(self, service: str) -> str | None:
        return self.service_endpoints.get(service, self.endpoint_url)

    def client(self, service: str, *, config: Config | None = None, **kwargs: Any) -> Any:
        """A boto3 client for ``service`` in this account (explicit session, never the default)."""
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


class InvocationSource(Protocol):
    """Where the harness learns of Lambda invocations a target ran (for traces and settling)."""

    listeners: list[ResultListener]

    def in_flight_for(self, account_id: str) -> int: ...


def service_endpoint_variable(session: boto3.session.Session, service: str) -> str:
    """The SDKs' per-service endpoint variable: named from the service id, not the client name
    (``cognito-idp`` -> ``AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER``)."""
    service_id = str(session._session.get_service_model(service).service_id)
    return "AWS_ENDPOINT_URL_" + service_id.upper().replace(" ", "_").replace("-", "_")


@runtime_checkable
class Target(Protocol):
    """What every target (moto, LocalStack, AWS) provides to the rest of the harness."""

    name: str
    region: str

    @property
    def endpoint_url(self) -> str | None: ...

    @property
    def runtime(self) -> ProcessRuntime | None:
        """The harness's Lambda runtime when this target runs functions through it."""

    @property
    def invocations(self) -> InvocationSource | None:
        """Invocations the target ran, when it can tell (the process runtime, LocalStack's executor)."""

    @property
    def needs_event_pollers(self) -> bool:
        """True when the harness must poll event sources itself (the target does not)."""

    def settle(self, scope: AccountScope, timeout: float) -> None:
        """Wait until the target's own event sources are drained (targets without harness pollers)."""

    def deployer(self, account: Any) -> Any:
        """What deploys stacks into ``account`` (``deploy``/``destroy`` as StackDeployer has)."""

    def start(self, hooks: TargetHooks) -> None: ...

    def stop(self) -> None: ...

    def healthy(self) -> bool: ...

    def open_account(self, account_id: str | None = None) -> AccountScope:
        """An isolated account (a fresh one unless ``account_id`` is given)."""

    def close_account(self, scope: AccountScope) -> None: ...

    def versions(self) -> dict[str, str]: ...
