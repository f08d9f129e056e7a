"""The real-AWS target: the same tests and scenarios against a test account, safely.

Opt-in only (``--target aws`` / ``--harness-target aws``; an inherited ``HARNESS_TARGET`` alone is
refused), configured in ``[tool.harness.aws]`` (see ``config``), checked before anything is created
(see ``preflight``). Isolation is by stack: every ``open_account`` is the one test account with a
run id of its own, and the app deploys as ``<prefix>-<app>-<runid>`` tagged with it; closing the
scope tears that run down. SIGTERM unwinds like Ctrl-C, so teardown runs on every exit path but a
SIGKILL, after which ``harness aws sweep`` removes the expired stacks.

With ``HARNESS_AWS_SIMULATE_ENDPOINT`` the same code talks to a local harness standing in for AWS.
"""

from __future__ import annotations

import dataclasses
import getpass
import hashlib
import logging
import secrets
import signal
import sys
import threading
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3

from harness.accounts import AccountScope
from harness.errors import TargetError
from harness.invocations import TargetHooks
from harness.provisioning.resources.base import Clients
from harness.settings import HarnessSettings
from harness.targets.aws.config import AwsConfig, AwsRefusal, load_aws_config
from harness.targets.aws.deploy import (
    ADAPTIVE,
    AwsStackDeployer,
    RunInfo,
    asset_bucket_name,
    ensure_asset_bucket,
)
from harness.targets.aws.preflight import check_identity, check_profile, refuse_on
from harness.targets.aws.settle import settle_run
from harness.targets.aws.teardown import delete_stack, leftovers, run_stacks, stack_tags, sweep
from harness.targets.base import RealTime, TargetCapabilities

LOG = logging.getLogger(__name__)


def aws_table(root: Path) -> dict[str, Any]:
    """``[tool.harness.aws]`` of ``root/pyproject.toml`` ({} when absent)."""
    import tomllib

    pyproject = root / "pyproject.toml"
    if not pyproject.is_file():
        return {}
    return dict(((tomllib.loads(pyproject.read_text()).get("tool") or {}).get("harness") or {}).get("aws") or {})


def new_run_id() -> str:
    return f"hx{secrets.token_hex(4)}"


def kept_run_id(owner: str, project: Path) -> str:
    """The run id of kept stacks: the same for one caller and project, so the next run reuses them (pure)."""
    return "hk" + hashlib.sha256(f"{owner}|{project.resolve()}".encode()).hexdigest()[:8]


class AwsTarget(RealTime):
    """A real AWS test account (or the local stand-in that simulates one)."""

    name = "aws"
    capabilities = TargetCapabilities(delivers_events=True, serves_http_apis=True, accepts_local_overrides=False,
                                      evaluates_alarms=True, reports_invocations=False, isolation_unit="stack",
                                      public_layers=True, cdk_bootstrapped=True)

    def __init__(self, settings: HarnessSettings, environ: Mapping[str, str], *, config: AwsConfig | None = None,
                 ) -> None:
        if not settings.target_explicit:
            raise AwsRefusal("aws target refused: it was not chosen explicitly (HARNESS_TARGET or an ini file "
                             "alone is not enough); pass --target aws (harness) or --harness-target aws (pytest)")
        self.settings = settings
        self._environ = dict(environ)
        self.config = config or load_aws_config(aws_table(Path.cwd()), environ)
        self.region = self.config.region
        # Local timeouts assume shortened visibility timeouts; here the template's own apply (30 s
        # and three receives before a DLQ is minutes), so waits scale by `timeout_scale`.
        self.capabilities = dataclasses.replace(AwsTarget.capabilities, timeout_scale=self.config.timeout_scale,
                                                expectations_retry_s=90.0 if self.config.simulated else 120.0)
        if self.config.simulated:  # the stand-in (a local harness) serves no APIs and evaluates no alarms
            self.capabilities = dataclasses.replace(self.capabilities, serves_http_apis=False, evaluates_alarms=False)
        self._session: boto3.session.Session | None = None
        self._account_id = ""
        self._owner = ""
        self._open: dict[str, AccountScope] = {}
        self._kept: set[str] = set()  # run ids of accounts opened with keep: never torn down here
        self._lock = threading.Lock()
        self._previous_sigterm: Any = None

    # -- the Target protocol -----------------------------------------------------------------------
    @property
    def endpoint_url(self) -> str | None:
        return self.config.simulate_endpoint

    @property
    def runtime(self) -> None:
        return None

    @property
    def invocations(self) -> None:
        return None

    @property
    def account_id(self) -> str:
        return self._account_id

    def start(self, hooks: TargetHooks) -> None:
        """Preflight (refusing with exit 2 before anything is created), then the asset bucket.

        Raises:
            AwsRefusal: a preflight check refused the run (one line: reason and fix).
        """
        self.preflight()
        base = self._scope("")
        ensure_asset_bucket(base.client("s3"), asset_bucket_name(self.config, self._account_id), self.region)
        self._install_sigterm()
        threading.Thread(target=self._sweep_stale, args=(base,), name="aws-sweep", daemon=True).start()

    def preflight(self) -> None:
        """Who the credentials are and where they point, checked before anything is created.

        Raises:
            AwsRefusal: one line with the reason and the fix.
        """
        # A missing profile is a refusal, not boto3's ProfileNotFound traceback.
        refuse_on(check_profile(self.config, boto3.session.Session().available_profiles))
        session = self._make_session()
        scope = AccountScope("", self.region, self.config.simulate_endpoint, session)
        caller = scope.client("sts").get_caller_identity()
        refuse_on(check_identity(caller, self.config, self._environ))
        self._session, self._account_id = session, str(caller["Account"])
        self._owner = str(caller.get("Arn") or getpass.getuser())

    def _make_session(self) -> boto3.session.Session:
        if self.config.simulated:
            keys = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
            if not all(self._environ.get(k) for k in keys):
                raise AwsRefusal("aws target (simulated) refused: no credentials; source the stand-in's env file "
                                 "(harness up --no-deploy writes AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)")
            return boto3.session.Session(aws_access_key_id=self._environ["AWS_ACCESS_KEY_ID"],
                                         aws_secret_access_key=self._environ["AWS_SECRET_ACCESS_KEY"],
                                         aws_session_token=self._environ.get("AWS_SESSION_TOKEN"),
                                         region_name=self.region)
        return boto3.session.Session(profile_name=self.config.profile, region_name=self.region)

    def _install_sigterm(self) -> None:
        """SIGTERM unwinds like Ctrl-C (finally blocks and teardown run); main thread only."""
        if threading.current_thread() is not threading.main_thread():
            return

        def on_sigterm(signum: int, frame: Any) -> None:
            raise KeyboardInterrupt(f"signal {signum}: tearing the AWS run down")

        self._previous_sigterm = signal.signal(signal.SIGTERM, on_sigterm)

    def _sweep_stale(self, scope: AccountScope) -> None:
        """Before each run: stacks expired more than 24 h ago (killed runs), in the background."""
        try:
            report = sweep(scope, self._deployer(scope).wait_stack, apply=True, now=datetime.now(UTC),
                           older_than=None, force=False, grace=timedelta(hours=24))
            if report.deleted:
                LOG.warning("swept %d expired stack(s) of earlier runs: %s", len(report.deleted), report.deleted)
        except Exception:  # best effort: the run itself must not fail for it
            LOG.warning("sweeping expired stacks failed", exc_info=True)

    def _scope(self, run_id: str) -> AccountScope:
        if self._session is None:
            raise TargetError("the aws target is not started; call start() first")
        return AccountScope(self._account_id, self.region, self.config.simulate_endpoint, self._session,
                            namespace=run_id)

    def _deployer(self, scope: AccountScope) -> AwsStackDeployer:
        run = RunInfo(scope.namespace or "hx", self._owner, datetime.now(UTC), self.config.ttl_hours,
                      kept=scope.namespace in self._kept)
        return AwsStackDeployer(scope, self.config, run, progress=_progress)

    def open_account(self, account_id: str | None = None, *, keep: bool = False) -> AccountScope:
        """The test account with a fresh run id (its stacks and tags carry it); with ``keep``, the
        caller's kept run id: its stacks stay after the run, and the next run that keeps updates them."""
        if account_id not in (None, self._account_id):
            raise TargetError(f"the aws target has one account ({self._account_id}), not {account_id}")
        scope = self._scope(kept_run_id(self._owner, Path.cwd()) if keep else new_run_id())
        with self._lock:
            if keep:
                self._kept.add(scope.namespace)
            else:
                self._open[scope.namespace] = scope
        return scope

    def deployer(self, clients: Clients, scope: AccountScope) -> AwsStackDeployer:
        return self._deployer(scope)

    def client_scope(self, scope: AccountScope) -> AccountScope:
        return scope

    def pending_work(self, account_id: str) -> list[str]:
        """Nothing the harness's pollers would miss: AWS delivers its own events; ``settle`` waits for them."""
        return []

    def settle(self, scope: AccountScope, timeout: float) -> None:
        """Wait until the run's event sources are drained (see ``settle.settle_run``)."""
        quiet_s = 2.0 if self.config.simulated else 60.0  # AWS's queue counters lag up to a minute
        settle_run(scope, timeout + quiet_s, quiet_s=quiet_s)

    def close_account(self, scope: AccountScope) -> None:
        """Tear the run down: every stack tagged with its run id, then check nothing tagged is left."""
        with self._lock:
            self._open.pop(scope.namespace, None)
            kept = scope.namespace in self._kept
        if kept:
            cfn = scope.client("cloudformation", config=ADAPTIVE)
            for stack in run_stacks(cfn, scope.namespace):
                expires = stack_tags(stack).get("harness:expires-at", "?")
                _progress(f"kept stack {stack['StackName']} (expires {expires}; the next run with --keep updates "
                          f"it, `aws cloudformation delete-stack --stack-name {stack['StackName']}` removes it)")
            return
        self.teardown(scope)

    def teardown(self, scope: AccountScope) -> list[str]:
        """Delete the run's stacks (buckets emptied, log groups removed); returns what is left."""
        cfn = scope.client("cloudformation", config=ADAPTIVE)
        deployer = self._deployer(scope)
        left: list[str] = []
        for stack in run_stacks(cfn, scope.namespace):
            left += delete_stack(scope, stack["StackId"], deployer.wait_stack, progress=_progress)
        left += [f"still tagged with run {scope.namespace}: {arn}" for arn in leftovers(scope, scope.namespace)]
        for line in left:
            LOG.error("teardown: %s", line)
        return left

    def stop(self) -> None:
        """Tear down runs still open (an exception or a signal ended them), restore SIGTERM."""
        with self._lock:
            scopes = list(self._open.values())
            self._open.clear()
        for scope in scopes:
            try:
                self.teardown(scope)
            except Exception:  # keep tearing down the others
                LOG.exception("tearing down run %s failed", scope.namespace)
        if self._previous_sigterm is not None and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self._previous_sigterm)
            self._previous_sigterm = None

    def healthy(self) -> bool:
        return self._session is not None

    def versions(self) -> dict[str, str]:
        return {"target": "aws (simulated)" if self.config.simulated else "aws", "account": self._account_id,
                "region": self.region, "boto3": boto3.__version__, "python": sys.version.split()[0]}


def _progress(message: str) -> None:
    """Deploy and teardown progress on stderr (the CLI and pytest show it as it happens)."""
    print(f"aws: {message}", file=sys.stderr, flush=True)
