"""The deployed app: one verb for the CLI, the pytest fixtures, the scenario engine and the bench.

``deploy_app`` deploys the ``[tool.harness]`` app into an account, serves its HTTP APIs through
the local gateway only where the target does not serve them itself, and returns a ``DeployedApp``:
typed outputs, every API's URL, the stack's user pools (found from its resources, never from
output names) and the environment a shell or another SDK needs.

Example:
    app = deploy_app(account, source, cache_dir=settings.cache_dir)
    app.outputs["Bucket"]; app.api_urls; app.users().token("alice")
    app.destroy()
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.cloud import CloudAccount
from harness.errors import HarnessError
from harness.gateway import HttpApiGateway, serve_apis
from harness.gateway.model import apis_of
from harness.identity import CognitoUsers
from harness.provisioning import AppSource, StackRecord, deploy_source

__all__ = ["DeployedApp", "UserPool", "deploy_app"]

_ADMIN_FLOWS = {"ALLOW_ADMIN_USER_PASSWORD_AUTH", "ADMIN_NO_SRP_AUTH"}


@dataclass(frozen=True)
class UserPool:
    """A Cognito user pool of the stack and its app clients (those allowing admin sign-in first)."""

    logical_id: str
    pool_id: str
    client_ids: tuple[str, ...]


@dataclass
class DeployedApp:
    """An app deployed into one account: its stack record, APIs, users and environment."""

    account: CloudAccount
    record: StackRecord
    source: AppSource | None = None
    gateways: dict[str, HttpApiGateway] = field(default_factory=dict)
    _users: dict[str, CognitoUsers] = field(default_factory=dict, repr=False)

    @property
    def stack_name(self) -> str:
        return self.record.name

    @property
    def outputs(self) -> dict[str, Any]:
        return dict(self.record.outputs)

    @property
    def api_urls(self) -> dict[str, str]:
        """Every HTTP API's base URL by logical id: the local gateway's, or the target's own."""
        urls = {api.logical_id: api.endpoint for api in apis_of(self.record) if api.endpoint}
        urls.update({logical_id: gateway.url for logical_id, gateway in self.gateways.items()})
        return urls

    def api_kind(self, logical_id: str) -> str:
        """"http" for an HTTP API (``AWS::ApiGatewayV2::Api``), "rest" for a REST API (priced apart)."""
        state = self.record.resources.get(logical_id)
        return "rest" if state is not None and state.type_name == "AWS::ApiGateway::RestApi" else "http"

    def user_pools(self) -> list[UserPool]:
        """The stack's user pools with their clients, from its resources."""
        resources = self.record.resources.values()
        pools = []
        for pool in (s for s in resources if s.type_name == "AWS::Cognito::UserPool"):
            clients = [s for s in resources if s.type_name == "AWS::Cognito::UserPoolClient"
                       and s.properties.get("UserPoolId") == pool.ref]
            clients.sort(key=lambda s: not _ADMIN_FLOWS & set(s.properties.get("ExplicitAuthFlows") or ()))
            pools.append(UserPool(pool.logical_id, str(pool.ref), tuple(str(c.ref) for c in clients)))
        return pools

    def users(self, pool: str | None = None) -> CognitoUsers:
        """Users and tokens of the stack's user pool (``pool``: its logical id, needed when there are several).

        Raises:
            HarnessError: the stack has no such pool, or several and none was named, or it has no client.
        """
        pools = self.user_pools()
        chosen = [p for p in pools if pool in (None, p.logical_id, p.pool_id)]
        if len(chosen) != 1:
            names = ", ".join(p.logical_id for p in pools) or "none"
            raise HarnessError(
                f"stack {self.stack_name}: {'no user pool ' + repr(pool) if pool else 'cannot choose a user pool'} "
                f"(AWS::Cognito::UserPool resources: {names}); "
                + ("name one with `pool:`" if len(chosen) > 1 else "add a user pool to the app to sign users in"))
        if not chosen[0].client_ids:
            raise HarnessError(f"stack {self.stack_name}: user pool {chosen[0].logical_id} has no "
                               "AWS::Cognito::UserPoolClient; add one with ALLOW_ADMIN_USER_PASSWORD_AUTH")
        found = chosen[0]
        if found.pool_id not in self._users:  # one per pool (scenarios sharing the app race here)
            self._users.setdefault(found.pool_id, CognitoUsers(self.account, found.pool_id, found.client_ids[0]))
        return self._users[found.pool_id]

    def environment(self) -> dict[str, str]:
        """HARNESS_STACK_NAME, HARNESS_OUTPUT_<Name>, HARNESS_API_URL_<LogicalId> (and AWS_SAM_STACK_NAME
        for SAM apps): what a shell, the AWS CLI or another team's tests read."""
        env = {"HARNESS_STACK_NAME": self.stack_name}
        if self.source is not None and self.source.kind == "sam":
            env["AWS_SAM_STACK_NAME"] = self.stack_name
        env.update({f"HARNESS_OUTPUT_{_variable(k)}": str(v) for k, v in self.record.outputs.items()})
        env.update({f"HARNESS_API_URL_{_variable(k)}": v for k, v in self.api_urls.items()})
        return env

    def destroy(self) -> list[str]:
        """Stop the gateways and delete the stack; returns what could not be deleted."""
        for gateway in self.gateways.values():
            gateway.stop()
        self.gateways.clear()
        return self.account.deployer().destroy(self.record)


def deploy_app(account: CloudAccount, source: AppSource, *, cache_dir: Path,
               previous: StackRecord | None = None) -> DeployedApp:
    """Deploy ``source`` into ``account``; serve its APIs locally where the target does not.

    Local overrides apply only on targets that declare they accept them.

    Raises:
        ProvisioningError: synthesis or validation failed; DeploymentFailedError: a resource failed.
    """
    capabilities = account.capabilities
    record = deploy_source(account.deployer(), account, account.scope, source, cache_dir=cache_dir,
                           local_overrides=capabilities.accepts_local_overrides,
                           public_layers=capabilities.public_layers,
                           cdk_bootstrapped=capabilities.cdk_bootstrapped, previous=previous)
    app = DeployedApp(account, record, source)
    if not capabilities.serves_http_apis:
        app.gateways = serve_apis(account, record)
        if app.gateways:
            account.deployer().publish_outputs(record)  # the stack's outputs name the local URLs too
    return app


def _variable(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", name)
