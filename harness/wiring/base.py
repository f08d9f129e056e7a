"""What every event source poller shares: its mapping, its protocol, and one batch invocation."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from botocore.config import Config
from botocore.exceptions import ClientError

from harness.accounts import AccountScope, ScopeFor
from harness.journal import Journal
from harness.settings import HarnessSettings
from harness.wiring.filters import parse_filter_criteria
from harness.wiring.pattern_match import Pattern

# Invocations by the harness itself: a function may run 15 minutes, and a throttle or error is
# handled by the caller's own retry rules, never by the SDK's.
INVOKE_CONFIG = Config(read_timeout=960, retries={"total_max_attempts": 1, "mode": "standard"})


@dataclass(frozen=True)
class PollerContext:
    """Everything a poller needs besides its mapping."""

    scope: AccountScope
    scope_for: ScopeFor
    journal: Journal
    lambda_client: Any
    settings: HarnessSettings
    virtual_clock: bool = False  # messages waiting for a timeout wait for the clock, not for settle


@dataclass(frozen=True)
class MappingConfig:
    """An event source mapping as ListEventSourceMappings reports it (the fields pollers use)."""

    uuid: str
    function_arn: str
    source_arn: str
    enabled: bool
    batch_size: int
    batching_window_s: float = 0.0
    report_item_failures: bool = False
    filters: tuple[Pattern, ...] = ()
    max_concurrency: int | None = None
    starting_position: str = "TRIM_HORIZON"
    max_retry_attempts: int = -1
    bisect_on_error: bool = False
    on_failure: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @property
    def service(self) -> str:
        return self.source_arn.split(":")[2]

    @classmethod
    def from_api(cls, item: Mapping[str, Any]) -> MappingConfig:
        """Parse one item of ListEventSourceMappings.

        Raises:
            ConfigurationError: the FilterCriteria is malformed.
        """
        on_failure = ((item.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
        retries = item.get("MaximumRetryAttempts")
        return cls(
            uuid=item["UUID"],
            function_arn=item["FunctionArn"],
            source_arn=item["EventSourceArn"],
            enabled=item.get("State", "Enabled") in ("Enabled", "Enabling", "Updating", "Creating"),
            batch_size=int(item.get("BatchSize") or 10),
            batching_window_s=float(item.get("MaximumBatchingWindowInSeconds") or 0),
            report_item_failures="ReportBatchItemFailures" in (item.get("FunctionResponseTypes") or []),
            filters=tuple(parse_filter_criteria(item.get("FilterCriteria"))),
            max_concurrency=(item.get("ScalingConfig") or {}).get("MaximumConcurrency"),
            starting_position=item.get("StartingPosition") or "TRIM_HORIZON",
            max_retry_attempts=-1 if retries is None else int(retries),
            bisect_on_error=bool(item.get("BisectBatchOnFunctionError")),
            on_failure=on_failure or None,
            raw=dict(item),
        )


class EventPoller(Protocol):
    """A poller serving one event source mapping; built as ``Poller(mapping, context)``."""

    mapping: MappingConfig

    def start(self) -> None: ...

    def update(self, mapping: MappingConfig) -> None: ...

    def poke(self) -> None:
        """Poll now (settle calls this before it checks ``pending``)."""

    def stop(self) -> None: ...

    def pending(self, since: float) -> list[str]:
        """Work not finished, or not re-checked since monotonic time ``since`` (empty: drained)."""


@dataclass(frozen=True)
class BatchOutcome:
    """The result of handing one batch to the function."""

    ok: bool
    function_error: str | None = None
    throttled: bool = False
    failed_ids: tuple[str, ...] | None = None  # None: whole batch failed or succeeded as one
    response: Any = None
    error: str = ""


def invoke_batch(lambda_client: Any, mapping: MappingConfig, event: Mapping[str, Any]) -> BatchOutcome:
    """Invoke the mapping's function synchronously with ``event``; never raises for handler errors."""
    try:
        response = lambda_client.invoke(
            FunctionName=mapping.function_arn, InvocationType="RequestResponse",
            Payload=json.dumps(event).encode(),
        )
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        return BatchOutcome(ok=False, throttled=code == "TooManyRequestsException", error=str(exc))
    body = response["Payload"].read()
    if response.get("FunctionError"):
        return BatchOutcome(ok=False, function_error=response["FunctionError"], response=body)
    return BatchOutcome(ok=True, response=body)


def item_failures(body: bytes, valid_ids: list[str]) -> tuple[str, ...] | None:
    """The failed item ids of a ReportBatchItemFailures response.

    Returns ``()`` when all succeeded, the ids when some failed, and None when the response is
    invalid (Lambda then treats the whole batch as failed).
    """
    try:
        response = json.loads(body) if body else None
    except json.JSONDecodeError:
        return None
    if not isinstance(response, dict) or response.get("batchItemFailures") in (None, []):
        return ()
    failures = response["batchItemFailures"]
    if not isinstance(failures, list):
        return None
    ids: list[str] = []
    for failure in failures:
        item = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not item or item not in valid_ids:
            return None
        ids.append(item)
    return tuple(ids)
