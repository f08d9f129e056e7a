"""Running a scenario: a fresh account, the app deployed, steps in order, a trace, a verdict.

After the steps the engine settles and checks conservation: every message that entered a queue
served by an event source mapping ended processed (deleted after a successful delivery, or
filtered out) or rests in that queue's DLQ. Anything else fails the scenario as lost.

Where isolation costs a stack (the aws target), scenarios share one stack per runner, deployed
by the first that needs it and deleted by ``close()`` (kept, and reused by the next run, with the
``keep`` setting); each isolates by its run id (queue,
invocation and log expectations count what mentions it). A scenario that declares
``exclusive: true`` (it asserts state others change: a whole listing, an alarm, shared config)
gets a stack of its own. Elsewhere every scenario has an account of its own.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import traceback
import uuid
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from harness.cloud import LocalCloud
from harness.deployed import DeployedApp, deploy_app
from harness.errors import HarnessError
from harness.provisioning import AppSource
from harness.scenarios.conservation import conserve_by_queues
from harness.scenarios.fault_steps import skip_without_faults
from harness.scenarios.kinds import RUNNERS
from harness.scenarios.least_privilege import least_privilege
from harness.scenarios.model import Scenario, Step
from harness.scenarios.observe import event_facts, observe
from harness.scenarios.queue_steps import peek
from harness.scenarios.steps import ExpectationFailed, StepContext, eventually
from harness.scenarios.time_steps import skip_on_real_clock
from harness.scenarios.variables import interpolate
from harness.settings import HarnessSettings

LOG = logging.getLogger(__name__)


@dataclass
class StepResult:
    title: str
    kind: str
    location: str
    status: str
    started: float
    duration_s: float
    error: str | None = None
    diff: list[str] = field(default_factory=list)
    expected: Any = None
    actual: Any = None


@dataclass
class ScenarioResult:
    name: str
    file: str
    status: str                      # passed | failed | skipped
    reason: str = ""
    started: float = 0.0
    duration_s: float = 0.0
    steps: list[StepResult] = field(default_factory=list)
    trace: list[dict[str, Any]] = field(default_factory=list)
    journal: list[dict[str, Any]] = field(default_factory=list)
    conservation: dict[str, Any] = field(default_factory=dict)
    logs: list[str] = field(default_factory=list)
    tags: tuple[str, ...] = ()
    deploy: dict[str, Any] = field(default_factory=dict)  # seconds, ready_s (AWS), stack
    advanced_s: float = 0.0  # time let pass on a virtual clock by advance_clock (not waited for)
    observed: dict[str, Any] = field(default_factory=dict)  # with observe=True: see scenarios/observe.py
    iam: dict[str, Any] = field(default_factory=dict)       # harness.iam.report.iam_section (or why absent)
    cost: dict[str, Any] = field(default_factory=dict)      # harness.cost.estimate.estimate

    @property
    def failed_step(self) -> StepResult | None:
        return next((s for s in self.steps if s.status == "failed"), None)


# Expectations on state that may lag where settle cannot see every consumer (see
# TargetCapabilities.expectations_retry_s); the others wait by themselves or are actions.
RETRIED_ON_LAG = frozenset({"expect_item", "expect_query", "expect_queue", "expect_events"})


class ScenarioRunner:
    """Runs scenarios against one started LocalCloud, each in its own account."""

    def __init__(self, cloud: LocalCloud, settings: HarnessSettings, source: AppSource | None, *,
                 observe: bool = False) -> None:
        """``observe``: record each scenario's invocations, event shapes and end state (``observed``)."""
        self.cloud = cloud
        self.settings = settings
        self.source = source
        self.observe = observe
        self._lock = threading.Lock()
        self.cancelled = threading.Event()  # set on Ctrl-C / SIGTERM: running scenarios stop and tear down
        self._shared_lock = threading.Lock()
        self._shared: tuple[Any, DeployedApp] | None = None  # the account and app scenarios share
        self._shared_error: str | None = None

    def shares_stack(self, scenario: Scenario) -> bool:
        """Whether ``scenario`` runs on the runner's shared stack (see the module's doc)."""
        return (self.cloud.target.capabilities.isolation_unit == "stack" and not scenario.exclusive
                and self.source is not None)

    def _shared_app(self) -> tuple[Any, DeployedApp, bool]:
        """The shared account and app, deployed by the first caller (the others wait for it);
        the flag says whether this call deployed it."""
        with self._shared_lock:
            if self._shared_error is not None:
                raise HarnessError(f"the stack the scenarios share failed to deploy: {self._shared_error}")
            if self._shared is not None:
                return (*self._shared, False)
            account = self.cloud.open_account(keep=self.settings.keep)
            try:
                assert self.source is not None
                app = deploy_app(account, self.source, cache_dir=self.settings.cache_dir)
            except BaseException as exc:
                self._shared_error = str(exc) or type(exc).__name__
                account.close()
                raise
            self._shared = (account, app)
            return account, app, True

    def close(self) -> None:
        """Delete the stack the scenarios shared (nothing to do when none did)."""
        with self._shared_lock:
            shared, self._shared = self._shared, None
        if shared is not None:
            shared[0].close()

    def cancel(self) -> None:
        """Stop running scenarios at their next step (a pause ends at once); each tears its account down."""
        self.cancelled.set()

    def run(self, scenario: Scenario) -> ScenarioResult:
        started = time.time()
        reason = scenario.skip_reason(self.settings.target)
        if not reason and not self.cloud.target.capabilities.virtual_clock:
            reason = skip_on_real_clock(scenario, self.settings.target)
        if not reason:
            reason = skip_without_faults(scenario, self.settings.target, self.cloud.target.faults)
        if reason:
            return ScenarioResult(scenario.name, scenario.file, "skipped", reason, started, tags=scenario.tags)
        result = ScenarioResult(scenario.name, scenario.file, "passed", "", started, tags=scenario.tags)
        shared = self.shares_stack(scenario)
        account: Any = None if shared else self.cloud.open_account()
        app: DeployedApp | None = None
        listener = None
        steps_started = 0.0
        ctx: StepContext | None = None
        cleanups: list[Any] = []
        try:
            if shared:
                account, app, deployed = self._shared_app()
                result.deploy = {**_deploy_info(app), "shared": True, "deployed_by_this_scenario": deployed,
                                 "kept": self.settings.keep}
            else:
                app = self._deploy(account, result)
            ctx, variables = self._prepare(account, app, scenario, result.trace, cleanups, shared=shared)
            listener = self._listen(account.account_id, ctx)
            cleanups.append(lambda: self._end_faults(account.account_id, ctx))
            steps_started = time.time()
            for step in scenario.steps:
                if self.cancelled.is_set():
                    result.status, result.reason = "failed", f"interrupted before step {step.title}"
                    break
                if not self._run_step(step, ctx, variables, result):
                    break
            self._clear_faults(account.account_id)  # the scenario's faults end with its steps
            if result.status == "passed":
                self._conserve(account, result, ctx.app, isolate_by=ctx.isolate_by)
        except HarnessError as exc:
            result.status, result.reason = "failed", f"setup failed: {exc}"
        finally:
            if listener is not None and self.cloud.target.invocations is not None:
                self.cloud.target.invocations.listeners.remove(listener)
            if self.observe and account is not None and ctx is not None and ctx.app is not None:
                result.observed = observe(account, ctx.app, result.trace)
            if account is not None:
                result.journal = [{"kind": e.kind, "at": e.at, **e.data}
                                  for e in self.cloud.journal.entries(account_id=account.account_id)
                                  if e.at >= started]
            if account is not None and ctx is not None and steps_started:
                least_privilege(self.cloud.target, self.settings, account, ctx.app, result, steps_started)
            if result.status == "failed" and ctx is not None:
                result.logs = _recent_logs(account, _functions_run(account, result.trace, ctx.app),
                                           since=started if shared else None)
            for cleanup in reversed(cleanups):
                try:
                    cleanup()
                except Exception as exc:  # keep cleaning up; the verdict stands
                    result.trace.append({"kind": "cleanup_failed", "at": time.time(), "error": str(exc)})
            result.duration_s = time.time() - started
            result.advanced_s = ctx.advanced_s if ctx is not None else 0.0
            if account is not None and not shared:
                account.close()
        return result

    def _deploy(self, account: Any, result: ScenarioResult) -> DeployedApp | None:
        """Deploy the app into the scenario's own account and serve its APIs."""
        if self.source is None:
            return None
        app = deploy_app(account, self.source, cache_dir=self.settings.cache_dir)
        result.deploy = _deploy_info(app)
        return app

    def _prepare(self, account: Any, app: DeployedApp | None, scenario: Scenario, trace: list[dict[str, Any]],
                 cleanups: list[Any], *, shared: bool) -> tuple[StepContext, dict[str, Any]]:
        """The scenario's variables and step context, and a probe on each bus it expects events on."""
        outputs = app.outputs if app is not None else {}
        run_id = run_identifier()
        now = datetime.fromtimestamp(account.clock.now(), UTC)  # the account's time (virtual on moto)
        variables: dict[str, Any] = {
            "outputs": outputs, "run_id": run_id, "account_id": account.account_id,
            "region": account.scope.region, "last": {},
            "now": now.isoformat(timespec="seconds").replace("+00:00", "Z"),
            "today": now.date().isoformat(), "yesterday": (now - timedelta(days=1)).date().isoformat(),
            "tomorrow": (now + timedelta(days=1)).date().isoformat(),
        }
        variables.update(interpolate(dict(scenario.variables), variables))
        ctx = StepContext(account, app, Path(scenario.file).parent, actions=trace, runners=RUNNERS,
                          cancelled=self.cancelled, isolate_by=run_id if shared else None)
        for bus in {interpolate(s.args["bus"], variables) for s in scenario.steps if s.kind == "expect_events"}:
            ctx.probes[bus] = self._probe(account, bus, run_id, cleanups)
        return ctx, variables

    def _probe(self, account: Any, bus: str, scenario_run: str, cleanups: list[Any]) -> str:
        """A queue and a rule that copy every event of ``bus`` into it, removed when the scenario
        ends (where runs share an account, named and tagged with the run, so a sweep finds them)."""
        sqs, events = account.client("sqs"), account.client("events")
        run = account.scope.namespace
        name = f"harness-probe-{run + '-' if run else ''}{scenario_run[:8]}-{zlib.crc32(bus.encode()) % 10**8}"
        tags = {"harness:run-id": run} if run else {}
        url = sqs.create_queue(QueueName=name, **({"tags": tags} if tags else {}))["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        rule_arn = events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps(
            {"account": [account.account_id]}), **({"Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}
                                                    if tags else {}))["RuleArn"]
        # AWS delivers to a queue only what its policy lets EventBridge send
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sqs:SendMessage",
                "Resource": arn, "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}}}]})})
        events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "probe", "Arn": arn}])

        def remove() -> None:
            events.remove_targets(Rule=name, EventBusName=bus, Ids=["probe"])
            events.delete_rule(Name=name, EventBusName=bus)
            sqs.delete_queue(QueueUrl=url)

        cleanups.append(remove)
        return str(url)

    def _end_faults(self, account_id: str, ctx: StepContext) -> None:
        """Put every fault injected into the account into the scenario's trace, then forget them."""
        registry = self.cloud.target.faults
        if registry is None:
            return
        injected = registry.injected(account_id)
        with self._lock:
            ctx.actions.extend(injection.to_json() for injection in injected)
        registry.forget(account_id)

    def _clear_faults(self, account_id: str) -> None:
        registry = self.cloud.target.faults
        if registry is not None:
            registry.clear(account_id)

    def _listen(self, account_id: str, ctx: StepContext) -> Any:
        runtime = self.cloud.target.invocations
        if runtime is None:
            return None
        marker = f":{account_id}:function:"

        def listener(spec: Any, result: Any) -> None:
            if marker in spec.function_arn:
                with self._lock:
                    ctx.actions.append({"kind": "invocation", "function": spec.name, "at": result.started_at,
                                        "duration_ms": round(result.duration_ms, 2), "cold": result.cold,
                                        "init_ms": result.init_duration_ms, "error": result.error_type,
                                        "request_id": result.request_id, "memory_mb": result.memory_mb,
                                        "tracing": spec.tracing_mode,
                                        "log_bytes": len(result.logs.encode()),
                                        **(event_facts(result) if self.observe else {})})

        runtime.listeners.append(listener)
        return listener

    def _run_step(self, step: Step, ctx: StepContext, variables: dict[str, Any], result: ScenarioResult) -> bool:
        started = time.time()
        outcome = StepResult(step.title, step.kind, str(step.location), "passed", started, 0.0)
        result.steps.append(outcome)
        try:
            args = interpolate(dict(step.args), variables)
            retry_s = ctx.account.capabilities.expectations_retry_s
            if retry_s and step.kind in RETRIED_ON_LAG and "timeout" not in args:
                value = eventually(ctx, RUNNERS[step.kind], args, timeout=retry_s, description=step.kind, interval=1.0)
            else:
                value = RUNNERS[step.kind](ctx, args)
            if isinstance(value, dict):
                variables["last"] = value
                from harness.scenarios.matchers import extract

                for name, path in (args.get("capture") or {}).items():
                    variables[name] = extract(path, value)
        except ExpectationFailed as exc:
            outcome.status, outcome.error, outcome.diff = "failed", str(exc).splitlines()[0], exc.diff
            outcome.expected, outcome.actual = exc.expected, exc.actual
        except HarnessError as exc:
            outcome.status, outcome.error = "failed", str(exc)
        except Exception as exc:  # a step's own failure (a boto3 error, a bad file): report, don't crash
            outcome.status, outcome.error = "failed", f"{type(exc).__name__}: {exc}"
            outcome.actual = traceback.format_exc(limit=3)
        outcome.duration_s = time.time() - started
        if outcome.status == "failed":
            result.status, result.reason = "failed", f"step {step.title} at {step.location}: {outcome.error}"
            return False
        return True

    def _conserve(self, account: Any, result: ScenarioResult, app: DeployedApp | None = None, *,
                  isolate_by: str | None = None) -> None:
        try:
            account.settle()
        except HarnessError as exc:
            result.status, result.reason = "failed", f"did not settle after the steps: {exc}"
            return
        sqs = account.client("sqs")
        if account.wiring is None:
            result.conservation = conserve_by_queues(account, app, isolate_by)
            if result.conservation["lost"]:
                result.status, result.reason = "failed", "; ".join(result.conservation["lost"])
            return
        entered = processed = dead = 0
        lost: list[str] = []
        batches = self.cloud.journal.entries("sqs.batch", account.account_id)
        filtered = self.cloud.journal.entries("sqs.filtered", account.account_id)
        for mapping in (account.wiring.mappings if account.wiring else []):
            if mapping.service != "sqs":
                continue
            source = mapping.source_arn
            seen = {m for e in batches if e.data["source"] == source for m in e.data["message_ids"]}
            seen |= {m for e in filtered if e.data["source"] == source for m in e.data["message_ids"]}
            done = {m for e in batches if e.data["source"] == source for m in e.data["succeeded"]}
            done |= {m for e in filtered if e.data["source"] == source for m in e.data["message_ids"]}
            name = source.rsplit(":", 1)[-1]
            url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
            redrive = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"]).get(
                "Attributes", {}).get("RedrivePolicy")
            in_dlq: set[str] = set()
            if redrive:
                dlq_name = json.loads(redrive)["deadLetterTargetArn"].rsplit(":", 1)[-1]
                in_dlq = {m["MessageId"] for m in peek(sqs, sqs.get_queue_url(QueueName=dlq_name)["QueueUrl"])}
            entered += len(seen)
            processed += len(seen & done)
            dead += len(seen & in_dlq - done)
            lost.extend(f"{name}:{m}" for m in sorted(seen - done - in_dlq))
        result.conservation = {"entered": entered, "processed": processed, "dead_lettered": dead, "lost": lost}
        if lost:
            result.status, result.reason = "failed", f"{len(lost)} message(s) lost: {', '.join(lost[:5])}"


def run_identifier() -> str:
    """A scenario run's id: 12 hex characters, the first a letter. All-digit ids (1 in 280 of random
    hex ones) changed the shape of every value built from them (``harness parity`` read "text where
    the other has digits" between two runs of the same scenario)."""
    hex_id = uuid.uuid4().hex
    return "abcdef"[int(hex_id[0], 16) % 6] + hex_id[1:12]


def _functions_run(account: Any, trace: list[dict[str, Any]], app: DeployedApp | None) -> list[str]:
    """The functions the scenario ran; where the target reports no invocations, all of the app's."""
    names = {str(e["function"]) for e in trace if e["kind"] == "invocation"}
    if not account.capabilities.reports_invocations and app is not None:
        names |= {str(s.physical_id) for s in app.record.resources.values() if s.type_name == "AWS::Lambda::Function"}
    return sorted(names)


def _deploy_info(app: DeployedApp) -> dict[str, Any]:
    return {"stack": app.record.name, "seconds": round(app.record.seconds, 3), "ready_s": app.record.ready_s,
            **({"canary": app.record.canary} if app.record.canary is not None else {})}


def _recent_logs(account: Any, functions: list[str], per_function: int = 15, since: float | None = None) -> list[str]:
    """The last log lines of each of ``functions`` (from ``since`` on, where given), for failure reports."""
    from harness.lambda_logs import read_log_events

    logs = account.client("logs")
    lines: list[str] = []
    since_ms = int(since * 1000) if since is not None else None
    for function in functions:
        try:
            events = read_log_events(logs, f"/aws/lambda/{function}", since_ms=since_ms)  # oldest first
        except Exception:  # a failed read is no reason to lose the report
            continue
        lines.extend(f"{function}: {e['message']}" for e in events[-per_function:])
    return lines
