"""Frozen harness settings, resolved once from explicit values > HARNESS_* environment > ini > default.

Nothing here reads the environment at import time: callers pass the mapping they want resolved
(``os.environ`` at the CLI or plugin edge, a dict in tests).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, cast

from harness.errors import ConfigurationError

ISOLATION_MODES = ("session", "worker", "test")
LOCALSTACK_MODES = ("auto", "host", "container")
IAM_MODES = ("report", "enforce", "off")


@dataclass(frozen=True)
class HarnessSettings:
    """Every knob of the harness, with AWS-like defaults scaled for local testing."""

    target: str = "moto"
    region: str = "us-east-1"
    isolation: str = "session"
    state_dir: Path = Path(".harness")
    cache_dir: Path = Path(".harness/cache")  # synth output and zipped assets, shared by workers
    # Lambda runtime
    idle_ttl_s: float = 300.0
    init_timeout_s: float = 10.0
    interpreters: Mapping[str, str] = field(default_factory=dict)
    # A runtime with no interpreter of its version is an error instead of running on the nearest one.
    strict_runtimes: bool = False
    # Cold starts fork a pre-started interpreter that has imported boto3 (harness.lambda_runtime.zygote).
    prestart_interpreters: bool = True
    # Event sources
    poll_interval_s: float = 0.02
    mapping_refresh_s: float = 0.5
    sqs_pollers: int = 5
    # Async invocations: AWS waits 1, then 2 minutes before retrying. On a virtual clock (moto) the
    # time passes when a scenario lets it (advance_clock); on LocalStack it is waited out.
    async_retry_delays_s: tuple[float, ...] = (60.0, 120.0)
    # LocalStack's clock is real and its settle cannot see a retry coming: after any function error it
    # waits out 3x this delay (LAMBDA_RETRY_BASE_DELAY_SECONDS), so it stays short there.
    localstack_retry_base_s: int = 1
    settle_timeout_s: float = 30.0
    # LocalStack target: "auto" runs the image where a Docker engine answers, else host mode.
    localstack_mode: str = "auto"
    # A LocalStack already running (a compose service, a CI service container, one started apart):
    # the target uses it instead of starting one (HARNESS_LOCALSTACK_URL, --harness-localstack-url).
    localstack_url: str = ""
    # Keep the stack the scenarios (or a pytest session) shared after the run, and reuse a kept one:
    # updated in place instead of created (aws; it still expires after ttl_hours).
    keep: bool = False
    # The target was named by an option (--target, --harness-target), not inherited from HARNESS_TARGET:
    # the AWS target runs only when chosen so. Set by ``resolve``, never read from the environment.
    target_explicit: bool = False
    # Every AWS call observed on the local targets: "report" (each scenario's IAM section; calls AWS
    # would deny fail it), "enforce" (and such calls get AWS's AccessDenied), "off".
    iam: str = "report"

    def __post_init__(self) -> None:
        if self.isolation not in ISOLATION_MODES:
            raise ConfigurationError(
                f"isolation={self.isolation!r} is not one of {', '.join(ISOLATION_MODES)}; "
                "set HARNESS_ISOLATION or --harness-isolation to one of them"
            )
        if self.iam not in IAM_MODES:
            raise ConfigurationError(
                f"iam={self.iam!r} is not one of {', '.join(IAM_MODES)}; fix [tool.harness] iam or HARNESS_IAM"
            )
        if self.localstack_url and not self.localstack_url.startswith(("http://", "https://")):
            raise ConfigurationError(
                f"localstack_url={self.localstack_url!r} is not an http(s) URL; set HARNESS_LOCALSTACK_URL "
                "or --harness-localstack-url to LocalStack's edge URL, e.g. http://127.0.0.1:4566"
            )
        if self.localstack_mode not in LOCALSTACK_MODES:
            raise ConfigurationError(
                f"localstack_mode={self.localstack_mode!r} is not one of {', '.join(LOCALSTACK_MODES)}; "
                "fix HARNESS_LOCALSTACK_MODE"
            )

    @classmethod
    def resolve(
        cls,
        explicit: Mapping[str, Any] | None = None,
        environ: Mapping[str, str] | None = None,
        ini: Mapping[str, Any] | None = None,
    ) -> HarnessSettings:
        """Build settings; explicit values win over ``HARNESS_<NAME>`` variables, then ini.

        Raises:
            ConfigurationError: a value cannot be converted to the field's type.
        """
        values: dict[str, Any] = {"target_explicit": (explicit or {}).get("target") is not None}
        for f in fields(cls):
            if f.name == "target_explicit":
                continue
            raw = _first(f.name, explicit or {}, environ or {}, ini or {})
            if raw is not None:
                values[f.name] = _convert(f, raw)
        return cls(**values)


def _first(
    name: str, explicit: Mapping[str, Any], environ: Mapping[str, str], ini: Mapping[str, Any]
) -> Any:
    if explicit.get(name) is not None:
        return explicit[name]
    env_name = f"HARNESS_{name.upper()}"
    if environ.get(env_name):
        return environ[env_name]
    return ini.get(name) or None


def _convert(f: dataclasses.Field[Any], raw: Any) -> Any:
    factory = cast(Callable[[], Any], f.default_factory)
    default = f.default if f.default is not dataclasses.MISSING else factory()
    try:
        if isinstance(default, bool):
            return raw if isinstance(raw, bool) else str(raw).lower() in ("1", "true", "yes")
        if isinstance(default, (int, float)) and not isinstance(raw, (int, float)):
            return type(default)(raw)
        if isinstance(default, Path):
            return Path(raw)
        if isinstance(default, tuple) and isinstance(raw, str):
            return tuple(float(x) for x in raw.split(",") if x.strip())
        if isinstance(default, Mapping) and isinstance(raw, str):
            pairs = (item.split("=", 1) for item in raw.split(",") if item.strip())
            return {k.strip(): v.strip() for k, v in pairs}
    except ValueError as exc:
        raise ConfigurationError(
            f"setting {f.name}={raw!r} is not a valid {type(default).__name__}: {exc}; "
            f"fix HARNESS_{f.name.upper()} or the option that set it"
        ) from exc
    return raw
