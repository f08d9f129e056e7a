"""The embedded default target: a moto server on 127.0.0.1 in this process, with real Lambda.

The server runs in a thread of the harness process, so the seams (moto_seams.py) can route every
Lambda invocation to the process runtime. Isolation is by account: each scope is a fresh
12-digit account, selected by harness clients with the ``x-moto-account-id`` header and by
handlers through STS-assumed credentials of their function's role.
"""

from __future__ import annotations

import logging
import os
import random
import sys
import threading
import urllib.request
from collections.abc import Mapping
from importlib.metadata import version
from typing import Any

from harness.accounts import AccountScope, new_session
from harness.errors import TargetError
from harness.faults import FaultRegistry
from harness.faults.front import FaultFront
from harness.iam import catalog
from harness.iam.recorder import CallRecorder
from harness.invocations import TargetHooks
from harness.lambda_runtime.code import CodeStore, InterpreterResolver
from harness.lambda_runtime.pool import ProcessRuntime
from harness.lambda_runtime.spec import HOST_VARIABLES, Credentials, FunctionSpec
from harness.provisioning.bootstrap import stand_in_for_bootstrap
from harness.provisioning.deployer import Deployer
from harness.provisioning.layers import builtin_layers, localise_layers
from harness.provisioning.resources.base import Clients
from harness.provisioning.template import Template
from harness.settings import HarnessSettings
from harness.stacks import StackService
from harness.stacks.service import CachedClients, StackServiceDeployer
from harness.targets import moto_clock
from harness.targets.base import TargetCapabilities
from harness.targets.moto_delivery import OrderedDelivery
from harness.targets.moto_direct import direct_client
from harness.targets.moto_http import MotoHttpServer
from harness.targets.wsgi_transport import Transport, wsgi_transport

LOG = logging.getLogger(__name__)
MOTO_DEFAULT_ACCOUNT = "123456789012"


_CREDENTIALS_S = 12 * 3600  # AssumeRole's longest session: the harness's credentials outlive any run
_SERVER_LOGGERS = ("moto", "cheroot")  # their warnings go to moto.log (moto_http sends cheroot's there)


class MotoTarget:
    """moto in server mode, in-process, with the harness's Lambda runtime plugged in."""

    name = "moto"
    capabilities = TargetCapabilities(delivers_events=False, serves_http_apis=False, accepts_local_overrides=True,
                                      evaluates_alarms=False, reports_invocations=True, virtual_clock=True,
                                      injects_faults=True, observes_calls=True)

    def __init__(self, settings: HarnessSettings, environ: Mapping[str, str]) -> None:
        self.settings = settings
        self.region = settings.region
        self._environ = dict(environ)
        self._server: MotoHttpServer | None = None
        self._seams: Any = None
        self._runtime: ProcessRuntime | None = None
        self._endpoint: str | None = None
        self._credentials: dict[str, Credentials] = {}
        self._lock = threading.Lock()
        self._log_handler: logging.Handler | None = None
        self._rng = random.Random()
        self._stacks: StackService | None = None
        self._transport: Transport | None = None
        self._stack_clients_cache: dict[tuple[str, str], Clients] = {}
        self._callers: dict[str, tuple[str, str | None]] = {}  # access key -> (account, function or None)
        self.faults: FaultRegistry | None = None
        self._calls: CallRecorder | None = None

    @property
    def endpoint_url(self) -> str | None:
        return self._endpoint

    @property
    def calls(self) -> CallRecorder | None:
        return self._calls

    @property
    def runtime(self) -> ProcessRuntime | None:
        return self._runtime

    @property
    def invocations(self) -> ProcessRuntime | None:
        return self._runtime

    def settle(self, scope: AccountScope, timeout: float) -> None:
        """Nothing of its own to wait for: the harness's pollers serve moto's event sources."""

    @property
    def deliveries(self) -> OrderedDelivery | None:
        """Where S3 event notifications wait for delivery (S3 sends them after the request)."""
        return self._seams.deliveries if self._seams is not None else None

    def pending_work(self, account_id: str) -> list[str]:
        """S3 event notifications raised and not yet delivered."""
        count = self.deliveries.pending(account_id) if self.deliveries is not None else 0
        return [f"{count} S3 event notification(s) being delivered"] if count else []

    def next_due(self, account_id: str) -> float | None:
        """When the account's next SQS message becomes visible or ends its delay, its next
        DynamoDB item expires, or its next schedule fires (on its clock)."""
        if self._seams is None:
            return None
        dues = [due for due in (moto_clock.next_due(account_id, self.region),
                                self._seams.schedules.next_due(account_id, self.region)) if due is not None]
        return min(dues) if dues else None

    def _clock_moved(self, account_id: str) -> None:
        if self._seams is not None:
            moto_clock.wake_waiters(account_id, self.region)

    def run_due(self, account_id: str) -> None:
        """Delete the account's DynamoDB items whose TTL has passed and fire its due schedules
        (moto does neither)."""
        if self._seams is not None:
            moto_clock.expire_items(account_id, self.region)
            self._seams.schedules.run_due(account_id, self.region)

    def deployer(self, clients: Clients, scope: AccountScope) -> Deployer:
        """Deploys through the target's CloudFormation, so every stack is one clients can describe."""
        if self._stacks is None:
            raise TargetError("the moto target is not started; call start() first")
        return StackServiceDeployer(self._stacks, scope.account_id, scope.region)

    @property
    def stacks(self) -> StackService | None:
        """The CloudFormation stacks this target's endpoint answers for."""
        return self._stacks

    @property
    def log_path(self) -> str:
        return str(self.settings.state_dir / "logs" / "moto.log")

    def start(self, hooks: TargetHooks) -> None:
        """Start the server, the runtime and the seams. The server listens once ``start`` of
        ``MotoHttpServer`` returns (bound, its workers started): nothing to poll for in this
        process. The runtime's pre-started interpreter is started in the background."""
        from harness.targets.moto_seams import MotoSeams

        # moto reads its settings from the environment of the process that hosts it (this one):
        # AWS managed policies (AWSLambdaBasicExecutionRole ...) must exist for templates to attach.
        os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
        self._attach_log()
        self.faults = FaultRegistry(hooks.clocks)
        faults = self.faults
        calls = self._calls = (CallRecorder(self.settings.iam, self._internal_clients, self.region)
                               if self.settings.iam != "off" else None)
        if calls is not None:  # IAM's catalogue in the background, as the runtime starts its interpreter
            threading.Thread(target=catalog.preload, name="iam-catalogue", daemon=True).start()
        self._server = MotoHttpServer("127.0.0.1", 0, on_backend=self._on_backend,
                                      front=lambda app: FaultFront(app, faults, self._caller_of, calls))
        self._endpoint = self._server.start()
        self._transport = wsgi_transport(self._server.app)
        base_env = {k: v for k, v in self._environ.items() if k in HOST_VARIABLES}
        self._runtime = ProcessRuntime(
            code_store=CodeStore(self.settings.state_dir / "lambda"),
            interpreters=InterpreterResolver(self.settings.interpreters, self._environ,
                                             cache_dir=self.settings.cache_dir,
                                             strict=self.settings.strict_runtimes),
            endpoint_url=self._endpoint, credentials=self._credentials_for, base_env=base_env,
            idle_ttl_s=self.settings.idle_ttl_s, init_timeout_s=self.settings.init_timeout_s,
            log_sink=_write_logs, prestart=self.settings.prestart_interpreters, clocks=hooks.clocks,
        ).start()
        self._runtime.prepare(f"python{sys.version_info.major}.{sys.version_info.minor}", wait=False)
        self._stacks = StackService(self._stack_clients, prepare=self._local_layers)
        self._seams = MotoSeams(self._runtime, hooks.on_async_invoke, hooks.on_mappings_changed, self._stacks,
                                clocks=hooks.clocks, faults=self.faults)
        self._seams.install()
        hooks.clocks.subscribe(self._clock_moved)
        LOG.info("moto target ready at %s", self._endpoint)

    def _on_backend(self, service: str) -> None:
        if self._seams is not None:
            self._seams.on_backend(service)

    def _attach_log(self) -> None:
        path = self.settings.state_dir / "logs" / "moto.log"
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(path)
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        handler.setLevel(logging.WARNING)
        for name in _SERVER_LOGGERS:
            logging.getLogger(name).addHandler(handler)
        self._log_handler = handler

    def healthy(self) -> bool:
        if not self._endpoint:
            return False
        try:
            # The dashboard, not data.json: that one walks every model and fails once a function exists.
            with urllib.request.urlopen(f"{self._endpoint}/moto-api/", timeout=2) as resp:
                return bool(resp.status == 200)
        except OSError:
            return False

    def stop(self) -> None:
        """Stop seams, runtime and server; safe to call twice."""
        if self._stacks is not None:
            self._stacks.close()
            self._stacks = None
        if self._seams is not None:
            self._seams.uninstall()
            self._seams = None
        if self._runtime is not None:
            self._runtime.stop()
            self._runtime = None
        if self._server is not None:
            self._server.stop()
            self._server = None
        if self._log_handler is not None:
            for name in _SERVER_LOGGERS:
                logging.getLogger(name).removeHandler(self._log_handler)
            self._log_handler.close()
            self._log_handler = None

    def new_account_id(self) -> str:
        while True:
            candidate = str(self._rng.randrange(10**11, 10**12))
            if candidate != MOTO_DEFAULT_ACCOUNT:
                return candidate

    def open_account(self, account_id: str | None = None, *, keep: bool = False) -> AccountScope:
        if self._endpoint is None:
            raise TargetError("the moto target is not started; call start() first")
        account = account_id or self.new_account_id()
        session = new_session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=self.region
        )
        return AccountScope(account, self.region, self._endpoint, session,
                            headers={"x-moto-account-id": account}, transport=self._transport,
                            direct=direct_client)

    def client_scope(self, scope: AccountScope) -> AccountScope:
        """The same account, reached by credentials instead of a header (for other processes)."""
        creds = self._assume(scope.account_id, f"arn:aws:iam::{scope.account_id}:role/harness-admin", "harness")
        session = new_session(
            aws_access_key_id=creds.access_key_id, aws_secret_access_key=creds.secret_access_key,
            aws_session_token=creds.session_token, region_name=self.region,
        )
        return AccountScope(scope.account_id, self.region, self._endpoint, session)

    def close_account(self, scope: AccountScope) -> None:
        if self._calls is not None:
            self._calls.forget(scope.account_id)
        if self._runtime is not None:
            self._runtime.evict(lambda spec: spec.account_id == scope.account_id)

    def _stack_clients(self, account_id: str, region: str) -> Clients:
        """The clients CloudFormation uses in an account and region (one scope each, kept)."""
        with self._lock:
            clients = self._stack_clients_cache.get((account_id, region))
            if clients is None:
                session = new_session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                                region_name=region)
                clients = CachedClients(AccountScope(account_id, region, self._endpoint, session,
                                                     headers={"x-moto-account-id": account_id}))
                self._stack_clients_cache[(account_id, region)] = clients
        return clients

    def _local_layers(self, template: Template, clients: Clients, account_id: str, region: str) -> Template:
        """Other accounts' layers (the public Powertools layer ...) as local stand-ins and the CDK
        bootstrap stack stood in for, as deploy_app does."""
        stand_in_for_bootstrap(template, clients)
        return localise_layers(template, clients, account_id=account_id, region=region, sources=builtin_layers(),
                               cache_dir=self.settings.cache_dir)

    def _internal_clients(self, account_id: str) -> Any:
        """The account's clients that bypass the front (the harness reading policies is not a call of the app)."""
        scope = self.open_account(account_id)
        return lambda service: scope.client(service, internal=True)

    def _credentials_for(self, spec: FunctionSpec) -> Credentials:
        return self._assume(spec.account_id, spec.role_arn, spec.name, function=spec.name)

    def _caller_of(self, access_key: str, headers: Mapping[str, Any]) -> tuple[str | None, str | None]:
        """The account and the function (None for a client) of a request's access key."""
        known = self._callers.get(access_key)
        if known is not None:
            return known
        return headers.get("x-moto-account-id") or None, None

    def _assume(self, account_id: str, role_arn: str, session_name: str, *,
                function: str | None = None) -> Credentials:
        """Credentials of the role, one session per function (so a call tells which function made it)."""
        key = f"{role_arn}|{session_name}"
        with self._lock:
            cached = self._credentials.get(key)
        if cached is not None:
            return cached
        # moto's STS in this process, as its AssumeRole action calls it: no client and no HTTP round
        # trip (~0.1 s of `harness up` and of each new role's first cold start).
        from moto.sts.models import sts_backends
        from moto.utilities.utils import get_partition

        absent: Any = None  # what moto's own AssumeRole passes for a parameter not given (typed str there)
        role = sts_backends[account_id][get_partition(self.region)].assume_role(
            region_name=self.region, role_session_name=f"harness-{session_name}"[:64], role_arn=role_arn,
            policy=absent, duration=_CREDENTIALS_S, external_id=absent)
        result = Credentials(role.access_key_id, role.secret_access_key, role.session_token)
        with self._lock:
            self._credentials[key] = result
            self._callers[role.access_key_id] = (account_id, function)
        return result

    def versions(self) -> dict[str, str]:
        return {"moto": version("moto"), "boto3": version("boto3"), "awslambdaric": version("awslambdaric")}


def _write_logs(spec: FunctionSpec, stream: str, logs: str) -> None:
    """Put an invocation's log lines into the function's log group, in this moto process."""
    from moto.core.utils import unix_time_millis
    from moto.logs.models import logs_backends

    moto_clock.working_for(spec.account_id)  # the log events' timestamps are on the account's clock
    backend = logs_backends[spec.account_id][spec.region]
    backend.ensure_log_group(spec.log_group)
    group = backend.groups[spec.log_group]
    if stream not in group.streams:
        backend.create_log_stream(spec.log_group, stream)
    now = unix_time_millis()
    events = [{"timestamp": now, "message": line} for line in logs.splitlines() if line]
    if events:
        backend.put_log_events(spec.log_group, stream, events)
