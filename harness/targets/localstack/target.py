"""The LocalStack target: LocalStack on 127.0.0.1 without Docker, Lambda through the harness runtime.

Host mode (the default without a Docker engine): the harness prepares LocalStack's own virtualenv
once (``install.py``), starts ``localstack.runtime.main`` with its runtime executor plugged in
(``executor.py``), and stops it at the end. Container mode runs the pinned image instead.

LocalStack's free edition has no HTTP APIs and no Cognito: an embedded moto server answers
``cognito-idp`` and ``apigatewayv2`` for the target's accounts (the local JWT issuer and the API
definitions), and the harness's gateway serves the APIs, as on moto.

Accounts: the access key id is the 12-digit account id, which LocalStack takes as the account.
"""

from __future__ import annotations

import logging
import random
import sys
import threading
import time
from collections.abc import Mapping
from importlib.metadata import version
from typing import Any

from harness.accounts import AccountScope, new_session
from harness.errors import TargetError, WaitTimeoutError
from harness.faults.remote import RemoteFaults
from harness.iam.recorder import CallRecorder
from harness.iam.remote import RemoteCalls
from harness.invocations import TargetHooks
from harness.provisioning.resources.base import Clients
from harness.settings import HarnessSettings
from harness.targets.base import RealTime, TargetCapabilities
from harness.targets.localstack.container import (
    LocalStackContainer,
    choose_mode,
    container_config,
    docker_engine,
)
from harness.targets.localstack.deploy import HybridDeployer
from harness.targets.localstack.external import ExternalLocalStack
from harness.targets.localstack.feed import InvocationFeed, http_log
from harness.targets.localstack.install import LOCALSTACK_VERSION, LocalStackInstaller
from harness.targets.localstack.server import (
    HostConfig,
    LocalStackProcess,
    free_port,
    keep_catalog,
    prepare_root,
)
from harness.targets.localstack.side import SIDE_SERVICES, SideServices

LOG = logging.getLogger(__name__)


class LocalStackTarget(RealTime):
    """LocalStack in host mode (or its container), plus side services for what it lacks."""

    name = "localstack"
    # LocalStack runs its own mappings, rules and notifications (through the harness's executor);
    # its free edition has no HTTP APIs, so the local gateway serves them; it publishes no SQS
    # metrics within a test's time, so the harness evaluates SQS-depth alarms.
    capabilities = TargetCapabilities(delivers_events=True, serves_http_apis=False, accepts_local_overrides=True,
                                      evaluates_alarms=False, reports_invocations=True, injects_faults=True,
                                      observes_calls=True)

    def __init__(self, settings: HarnessSettings, environ: Mapping[str, str]) -> None:
        self.settings = settings
        self.region = settings.region
        self._environ = dict(environ)
        self._server: LocalStackProcess | LocalStackContainer | ExternalLocalStack | None = None
        self._side: SideServices | None = None
        self._side_endpoint = ""
        self._side_error: BaseException | None = None
        self._feed: InvocationFeed | None = None
        self._endpoint: str | None = None
        self._rng = random.Random()
        self._calls: CallRecorder | None = None
        self._hooks: set[str] = set()  # external mode: the harness's hooks that LocalStack serves
        self.mode = ""
        self.mode_reason = ""  # why container or host mode (the engine's answer)
        self.started_in_s = 0.0
        self.poll_interval_s = 0.05
        self.max_empty_backoff_s = 0.05  # 0.2 s doubled SQS -> Lambda latency (411 vs 183 ms p50)
        self.retry_base_delay_s = max(1, settings.localstack_retry_base_s)

    # -- lifecycle ---------------------------------------------------------------------------------
    @property
    def endpoint_url(self) -> str | None:
        return self._endpoint

    @property
    def faults(self) -> RemoteFaults | None:
        """The fault rules LocalStack applies in its request chain (host mode: the harness's hook is
        installed there; in a container it is not, and scenarios with faults are skipped)."""
        return RemoteFaults(self._endpoint) if self._endpoint and self._has_hook("faults") else None

    def _has_hook(self, name: str) -> bool:
        """Whether the running LocalStack has the harness's ``name`` hook (host mode: all of them)."""
        return self.mode == "host" or (self.mode == "external" and name in self._hooks)

    @property
    def calls(self) -> CallRecorder | None:
        """The calls LocalStack recorded in its response chain (host mode, where the harness's hook
        is installed), read through its control API; None in a container or with ``iam = "off"``."""
        if not self._endpoint or not self._has_hook("calls") or self.settings.iam == "off":
            return None
        if self._calls is None:
            self._calls = CallRecorder(self.settings.iam, self._admin_clients, self.region,
                                       remote=RemoteCalls(self._endpoint))
        return self._calls

    def _admin_clients(self, account_id: str) -> Any:
        scope = self.open_account(account_id)
        return lambda service: scope.client(service)

    @property
    def runtime(self) -> None:
        return None  # LocalStack runs functions; the harness's executor runs inside it

    @property
    def invocations(self) -> InvocationFeed | None:
        return self._feed

    def start(self, hooks: TargetHooks) -> None:
        """Prepare (first use only), start LocalStack and the side services, wait for health.

        Raises:
            TargetError: preparing or starting failed; the message names the log to read.
        """
        started = time.perf_counter()
        if self.settings.localstack_url:
            self.mode = "external"
        elif self.settings.localstack_mode == "host":
            self.mode = "host"
        else:
            engine = docker_engine(self._environ)
            self.mode = choose_mode(self.settings.localstack_mode, engine.available)
            self.mode_reason = engine.detail
            if self.mode == "host":  # said where it is seen, not only in a log file
                print(f"LocalStack in host mode: {engine.detail}", file=sys.stderr)
        try:
            side = threading.Thread(target=self._start_side_services, name="side-services")
            side.start()  # moto starts while LocalStack boots
            if self.mode == "external":
                self._start_external()
            elif self.mode == "container":
                self._start_container()
            else:
                self._start_host()
            side.join()
            if self._side_error is not None:
                raise self._side_error
        except BaseException:
            self.stop()
            raise
        self.started_in_s = time.perf_counter() - started
        LOG.info("LocalStack (%s mode) ready at %s in %.2f s", self.mode, self._endpoint, self.started_in_s)

    def _start_host(self) -> None:
        cache = self.settings.cache_dir
        install = LocalStackInstaller(cache, self._environ).ensure(_progress)
        state = (self.settings.state_dir / "localstack").resolve()
        shared_cache = (cache / "localstack" / "cache").resolve()
        prepare_root(state / "root", install, shared_cache)
        config = HostConfig(
            root=state / "root", port=free_port(), dynamodb_port=free_port(),
            invocation_log=state / "invocations.jsonl", xdg_cache=(cache / "localstack" / "xdg").resolve(),
            code_store=(cache / "localstack" / "code").resolve(),
            poll_interval_s=self.poll_interval_s, max_empty_backoff_s=self.max_empty_backoff_s,
            keepalive_ms=int(self.settings.idle_ttl_s * 1000),
            retry_base_delay_s=self.retry_base_delay_s,
            init_timeout_s=self.settings.init_timeout_s,
            runtime_cache=cache.resolve(), strict_runtimes=self.settings.strict_runtimes,
        )
        process = LocalStackProcess(config, install, self._environ)
        self._server = process
        process.start()
        keep_catalog(config.root, shared_cache)
        self._endpoint = config.endpoint
        self._feed = InvocationFeed(config.invocation_log).start()
        self._warm_up()

    def _warm_up(self) -> None:
        """Load the services every app uses in the background (they load lazily; DynamoDB's JVM
        takes ~2 s), so the first deployment does not wait for them one by one. One at a time:
        loaded all at once they held a first call to any of them for ~0.7 s (LocalStack loads
        providers under one interpreter lock); DynamoDB first, its JVM starts beside."""
        scope = self.open_account("000000000000")

        def touch_all() -> None:
            for service, call in (("dynamodb", "list_tables"), ("sqs", "list_queues"), ("lambda", "list_functions"),
                                  ("s3", "list_buckets"), ("events", "list_event_buses"),
                                  ("cloudformation", "list_stacks")):
                try:
                    getattr(scope.client(service), call)()
                except Exception:  # a warm-up only: the real call reports real errors
                    LOG.debug("warming up %s failed", service, exc_info=True)

        threading.Thread(target=touch_all, name="localstack-warm-up", daemon=True).start()

    def _start_external(self) -> None:
        """Use the LocalStack at ``localstack_url``: its health waited for, the harness's hooks used
        where it has them (a LocalStack a harness started in host mode)."""
        external = ExternalLocalStack(self.settings.localstack_url)
        self._server = external
        external.start()
        self._endpoint = external.endpoint
        probe = "?account=000000000000"
        self._hooks = {name for name, path in (("faults", f"/_harness/faults{probe}"), ("calls", f"/_harness/calls{probe}"),
                                               ("invocations", "/_harness/invocations?offset=0"))
                       if external.serves(path)}
        if "invocations" in self._hooks:
            self._feed = InvocationFeed(interval_s=0.05, source=http_log(external.endpoint)).start()
        LOG.info("LocalStack at %s: the harness's hooks there: %s", external.endpoint,
                 ", ".join(sorted(self._hooks)) or "none (the plain image)")

    def _start_container(self) -> None:
        config = container_config(free_port(), self._environ, poll_interval_s=self.poll_interval_s,
                                  max_empty_backoff_s=self.max_empty_backoff_s,
                                  retry_base_delay_s=self.retry_base_delay_s)
        container = LocalStackContainer(config, self._environ)
        self._server = container
        container.start()
        self._endpoint = container.endpoint

    def _start_side_services(self) -> None:
        try:
            self._start_moto()
        except BaseException as exc:  # raised again in start()
            self._side_error = exc

    def _start_moto(self) -> None:
        self._side = SideServices()
        self._side_endpoint = self._side.start()

    def healthy(self) -> bool:
        return self._server is not None and self._server.healthy()

    def stop(self) -> None:
        """Stop LocalStack (leaving no process) and the side services; safe to call twice."""
        if self._feed is not None:
            self._feed.stop()
            self._feed = None
        if self._server is not None:
            self._server.stop()
            self._server = None
        if self._side is not None:
            self._side.stop()
            self._side = None

    # -- accounts ----------------------------------------------------------------------------------
    def open_account(self, account_id: str | None = None, *, keep: bool = False) -> AccountScope:
        if self._endpoint is None:
            raise TargetError("the LocalStack target is not started; call start() first")
        account = account_id or str(self._rng.randrange(10**11, 10**12))
        session = new_session(aws_access_key_id=account, aws_secret_access_key="test",
                                        region_name=self.region)
        return AccountScope(account, self.region, self._endpoint, session,
                            headers={"x-moto-account-id": account},
                            service_endpoints={s: self._side_endpoint for s in SIDE_SERVICES})

    def close_account(self, scope: AccountScope) -> None:
        """Stop what would keep running for a closed account: its event source mappings' pollers
        and its functions' warm environments (accounts are never reused)."""
        if self._endpoint is None or self._server is None:
            return
        if self._calls is not None:
            self._calls.forget(scope.account_id)
        lam = scope.client("lambda")
        deletions = [(lam.delete_event_source_mapping, {"UUID": m["UUID"]})
                     for m in _all(lam, "list_event_source_mappings", "EventSourceMappings")]
        deletions += [(lam.delete_function, {"FunctionName": f["FunctionName"]})
                      for f in _all(lam, "list_functions", "Functions")]
        for delete, kwargs in deletions:
            try:
                delete(**kwargs)
            except Exception as exc:  # cleanup: one already gone must not stop the rest
                LOG.debug("cleaning up %s in account %s: %s", kwargs, scope.account_id, exc)

    def deployer(self, clients: Clients, scope: AccountScope) -> HybridDeployer:
        return HybridDeployer(clients, scope)

    def client_scope(self, scope: AccountScope) -> AccountScope:
        """The access key is the account id here, so the scope works as it is in other processes."""
        return scope

    # -- settling ----------------------------------------------------------------------------------
    def pending_work(self, account_id: str) -> list[str]:
        """Nothing the harness's pollers would miss: LocalStack delivers its own events; ``settle`` waits for them."""
        return []

    def settle(self, scope: AccountScope, timeout: float) -> None:
        """Wait until no invocation runs, every queue an event source mapping reads is empty, and
        no invocation started or ended for a quiet window.

        LocalStack's own queues (async invocations, stream positions) are not visible from outside,
        so quiet time stands in for them: longer than its empty-poll backoff, and after an error
        longer than its async retry delays (a retry may still come).

        Raises:
            WaitTimeoutError: naming what was still pending.
        """
        lam, sqs = scope.client("lambda"), scope.client("sqs")
        called = time.time()
        deadline = time.monotonic() + timeout
        clean = 0
        pending: list[str] = []
        while time.monotonic() < deadline:
            if self._feed is not None:
                self._feed.poll()
            pending = self._pending(scope, lam, sqs)
            clean = 0 if pending else clean + 1
            # Two clean probes in a row, the last one past the quiet window (any invocation moves the
            # window on). Counting only probes past the window added two polling rounds to every settle.
            if clean >= 2 and time.time() >= self._quiet_since(scope.account_id, called):
                return
            time.sleep(0.05)
        raise WaitTimeoutError(f"account {scope.account_id} did not settle within {timeout:g} s: "
                               + "; ".join(pending or ["invocations kept starting"]), last=pending)

    def _quiet_since(self, account_id: str, called: float) -> float:
        """The time from which the account counts as quiet (pure over the feed's clocks)."""
        quiet_s = max(1.2, 2 * self.max_empty_backoff_s + 0.2)  # 0.75 s let stream batches slip by on a loaded CI machine
        if self._feed is None:
            return called + quiet_s
        last = max(called, self._feed.last_activity(account_id))
        errored = self._feed.last_error(account_id)
        # Retries come 1x and 2x the base delay apart, through a queue re-checked about every second.
        retry_window = 3 * self.retry_base_delay_s + 0.5
        if errored and time.time() - errored < retry_window:
            return max(last + quiet_s, errored + retry_window)
        return last + quiet_s

    def _pending(self, scope: AccountScope, lam: Any, sqs: Any) -> list[str]:
        pending: list[str] = []
        running = self._feed.in_flight_for(scope.account_id) if self._feed is not None else 0
        if running:
            pending.append(f"{running} Lambda invocation(s) running")
        mappings = [m for page in lam.get_paginator("list_event_source_mappings").paginate()
                    for m in page.get("EventSourceMappings", [])]
        for mapping in mappings:
            arn = str(mapping.get("EventSourceArn", ""))
            # A mapping still Creating will deliver what is queued: that is pending work too.
            if not arn.startswith("arn:aws:sqs:") or mapping.get("State") in ("Disabled", "Disabling", "Deleting"):
                continue
            try:
                url = sqs.get_queue_url(QueueName=arn.rsplit(":", 1)[-1], QueueOwnerAWSAccountId=arn.split(":")[4])
            except sqs.exceptions.QueueDoesNotExist:
                continue  # a mapping left reading a deleted queue (a rolled-back stack's): nothing to drain
            attrs = sqs.get_queue_attributes(
                QueueUrl=url["QueueUrl"], AttributeNames=["ApproximateNumberOfMessages",
                                                          "ApproximateNumberOfMessagesNotVisible",
                                                          "ApproximateNumberOfMessagesDelayed"])["Attributes"]
            waiting = sum(int(v) for v in attrs.values())
            if waiting:
                pending.append(f"{arn}: {waiting} message(s) in queue or in flight")
        return pending

    def versions(self) -> dict[str, str]:
        return {"localstack": LOCALSTACK_VERSION, "mode": self.mode, **({"mode_reason": self.mode_reason}
                                                                          if self.mode_reason else {}), "boto3": version("boto3"),
                "python": sys.version.split()[0]}


def _all(client: Any, operation: str, key: str) -> list[dict[str, Any]]:
    try:
        return [item for page in client.get_paginator(operation).paginate() for item in page.get(key, [])]
    except Exception:  # cleanup only
        LOG.debug("listing %s failed", operation, exc_info=True)
        return []


def _progress(message: str) -> None:
    """First-use preparation steps, on stderr (the CLI and pytest show them as they happen)."""
    try:
        from rich.console import Console

        Console(stderr=True).print(f"[bold cyan]localstack[/] {message}")
    except ImportError:
        print(f"localstack: {message}", file=sys.stderr, flush=True)
