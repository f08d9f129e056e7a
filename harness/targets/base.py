"""The Target protocol: a place AWS APIs answer (an emulator or a real account), and what it can do.

A target *declares* its capabilities (``TargetCapabilities``); callers read the declaration
instead of probing attributes. The values that cross layers live in neutral modules:
``harness.accounts`` (AccountScope, Account) and ``harness.invocations`` (hooks, async
invocations, listeners), so no layer imports upward.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from harness.accounts import AccountScope
from harness.invocations import InvocationSource, TargetHooks

if TYPE_CHECKING:
    from harness.faults import FaultRules
    from harness.iam.recorder import CallRecorder
    from harness.lambda_runtime.pool import ProcessRuntime
    from harness.provisioning.deployer import Deployer
    from harness.provisioning.resources.base import Clients

ISOLATION_UNITS = ("account", "stack")


@dataclass(frozen=True)
class TargetCapabilities:
    """What a target does by itself, and so what the harness must add around it.

    Attributes:
        delivers_events: runs its own event source mappings, rules and notifications; when False
            the harness's pollers serve them (and keep the journal conservation is proven from).
        serves_http_apis: answers HTTP and REST API traffic itself; when False the harness's local
            gateway serves every API of a deployed stack.
        accepts_local_overrides: ``[tool.harness.local_overrides]`` may be applied to templates.
        evaluates_alarms: CloudWatch evaluates alarms from real metrics; when False the harness
            evaluates SQS-depth alarms itself when a test asks for an alarm's state.
        reports_invocations: ``invocations`` tells which invocations run and ran.
        isolation_unit: what one test's isolation costs: a fresh ``account`` or a ``stack``.
        public_layers: other accounts' published layers (Powertools') resolve; when False the
            harness stands in local packages for them (``[tool.harness.layers]``).
        cdk_bootstrapped: accounts have what ``cdk bootstrap`` creates; when False the harness
            stands in for it (the bootstrap version parameter, the asset buckets).
        timeout_scale: how much longer than locally waits take here (AWS: visibility timeouts as
            the template sets them, metrics and logs that arrive late); timeouts given for this
            target by name (``timeout: {aws: 180}``) are not scaled.
        expectations_retry_s: how long scenario expectations on state (items, queries, queues,
            events) are retried before they fail; 0 where ``settle`` leaves nothing in motion,
            more where reads lag or consumers settle cannot see (AWS: stream consumers).
        injects_faults: ``faults`` (``FaultRules``) applies fault rules to the calls and
            invocations of its accounts (where it is None, scenarios with faults are skipped).
        virtual_clock: each account's clock is the harness's to move (``harness.clock``): the
            target's timers (visibility timeouts, delays, TTL) follow it and ``next_due`` names
            them; when False, time is real and letting it pass means waiting.
        observes_calls: ``calls`` (``CallRecorder``) records every AWS call its accounts see, with
            the caller's role, for the IAM and cost sections of reports (``[tool.harness] iam``);
            where it is None, reports say the calls were not observed.
    """

    delivers_events: bool
    serves_http_apis: bool
    accepts_local_overrides: bool
    evaluates_alarms: bool
    reports_invocations: bool
    isolation_unit: str = "account"
    public_layers: bool = False
    cdk_bootstrapped: bool = False
    timeout_scale: float = 1.0
    expectations_retry_s: float = 0.0
    virtual_clock: bool = False
    injects_faults: bool = False
    observes_calls: bool = False

    def __post_init__(self) -> None:
        if self.isolation_unit not in ISOLATION_UNITS:
            raise ValueError(f"isolation_unit {self.isolation_unit!r} is not one of {ISOLATION_UNITS}")


@runtime_checkable
class Target(Protocol):
    """What every target (moto, LocalStack, AWS) provides to the rest of the harness."""

    name: str
    region: str
    capabilities: TargetCapabilities

    @property
    def endpoint_url(self) -> str | None: ...

    @property
    def runtime(self) -> ProcessRuntime | None:
        """The harness's Lambda runtime when this target runs functions through it in-process."""

    @property
    def invocations(self) -> InvocationSource | None:
        """Invocations the target ran (None unless ``capabilities.reports_invocations``)."""

    def settle(self, scope: AccountScope, timeout: float) -> None:
        """Wait until the target's own event sources are drained (targets that deliver events)."""

    def pending_work(self, account_id: str) -> list[str]:
        """What the target itself still has in motion for the account that the harness's pollers
        cannot see (moto: S3 notifications being delivered), one line each; [] when nothing is."""

    @property
    def faults(self) -> FaultRules | None:
        """The fault rules the target applies (None unless ``capabilities.injects_faults``)."""

    @property
    def calls(self) -> CallRecorder | None:
        """The calls the target observed (None unless ``capabilities.observes_calls`` and the
        settings' ``iam`` mode is not ``off``)."""

    def next_due(self, account_id: str) -> float | None:
        """The earliest time on the account's clock at which something the target holds comes due
        (a message becomes visible, a delay ends, an item's TTL passes); None when nothing waits
        on the clock, or where the clock is not the harness's (``capabilities.virtual_clock``)."""

    def run_due(self, account_id: str) -> None:
        """Do what the account's clock has made due that the target would not do by itself
        (moto: delete expired DynamoDB items, as DynamoDB's TTL process does)."""

    def deployer(self, clients: Clients, scope: AccountScope) -> Deployer:
        """What deploys stacks into the account of ``scope`` on this target."""

    def start(self, hooks: TargetHooks) -> None: ...

    def stop(self) -> None: ...

    def healthy(self) -> bool: ...

    def open_account(self, account_id: str | None = None, *, keep: bool = False) -> AccountScope:
        """An isolated account (a fresh one unless ``account_id`` is given). ``keep``: it outlives
        the run and a later run asking to keep reuses it, where the target can (aws); elsewhere
        nothing outlives the process and ``keep`` changes nothing."""

    def client_scope(self, scope: AccountScope) -> AccountScope:
        """The same account as processes outside the harness reach it (SDKs, the AWS CLI, the env
        file): credentials instead of harness-only headers where the target needs them."""

    def close_account(self, scope: AccountScope) -> None: ...

    def versions(self) -> dict[str, str]: ...


class RealTime:
    """What a target whose clock and services are real (LocalStack, AWS) answers about the harness's
    time and faults: no timers of its own that the harness moves, no faults injected."""

    @property
    def faults(self) -> FaultRules | None:
        """None: the target's own services answer every call."""
        return None

    @property
    def calls(self) -> CallRecorder | None:
        """None: the target's own services see the calls; the harness does not."""
        return None

    def next_due(self, account_id: str) -> float | None:
        """None: the target runs its timers on real time, which the harness cannot move."""
        return None

    def run_due(self, account_id: str) -> None:
        """Nothing: the target runs its own timers (TTL, visibility timeouts, schedules)."""
