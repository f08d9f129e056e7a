"""The AWS target's settings: ``[tool.harness.aws]``, each key overridable by ``HARNESS_AWS_<KEY>`` (pure).

    [tool.harness.aws]
    allowed_accounts = ["111122223333"]   # exact ids; required, never empty
    region = "eu-west-1"                   # required
    profile = "harness-tests"              # or ci_role_arn_pattern for CI's assumed role
    prefix = "hx"                          # every stack, bucket and tag value starts with it
    ttl_hours = 6                          # stacks expire (for `harness aws sweep`) after this
    rewrite_retain = false                 # Retain/Snapshot deletion policies: refuse, or rewrite to Delete
    timeout_scale = 10                     # settle waits: the local ones times this

``HARNESS_AWS_SIMULATE_ENDPOINT=http://127.0.0.1:PORT`` runs the whole AWS code path against a local
harness (``harness up --no-deploy``) standing in for AWS; only loopback addresses are accepted.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from harness.errors import ConfigurationError

_KEYS = ("allowed_accounts", "region", "profile", "ci_role_arn_pattern", "prefix", "ttl_hours", "rewrite_retain",
         "simulate_endpoint", "poll_min_s", "poll_max_s", "timeout_scale")
_ACCOUNT = re.compile(r"^\d{12}$")
_PREFIX = re.compile(r"^[a-z][a-z0-9]{1,9}$")
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


class AwsRefusal(ConfigurationError):
    """The AWS target refuses to start (exit 2); the message is one line: the reason and the fix."""

    exit_code = 2


@dataclass(frozen=True)
class AwsConfig:
    allowed_accounts: tuple[str, ...]
    region: str
    profile: str | None = None
    ci_role_arn_pattern: str | None = None
    prefix: str = "hx"
    ttl_hours: float = 6.0
    rewrite_retain: bool = False
    simulate_endpoint: str | None = None
    # Stack polling: 2 s rising to 10 s on AWS (CloudFormation's read limit is ~5 calls/s per account).
    poll_min_s: float = 2.0
    poll_max_s: float = 10.0
    # Settle waits are the local ones times this (the template's real timeouts apply on AWS).
    timeout_scale: float = 10.0

    @property
    def simulated(self) -> bool:
        return self.simulate_endpoint is not None

    @property
    def asset_bucket_prefix(self) -> str:
        return f"{self.prefix}-assets"


def load_aws_config(table: Mapping[str, Any], environ: Mapping[str, str], *, source: str = "pyproject.toml",
                    ) -> AwsConfig:
    """``[tool.harness.aws]`` (``table``) with ``HARNESS_AWS_*`` overrides from ``environ``.

    Raises:
        AwsRefusal: a required key is missing or a value is malformed (names the key and the fix).
    """
    unknown = sorted(set(table) - set(_KEYS))
    if unknown:
        raise AwsRefusal(f"{source}: [tool.harness.aws] has unknown key(s) {', '.join(unknown)}; "
                         f"known: {', '.join(_KEYS)}")
    raw: dict[str, Any] = dict(table)
    for key in _KEYS:
        value = environ.get(f"HARNESS_AWS_{key.upper()}")
        if value:
            raw[key] = value
    accounts = raw.get("allowed_accounts")
    if isinstance(accounts, str):
        accounts = [a.strip() for a in accounts.split(",") if a.strip()]
    if not accounts:
        raise AwsRefusal("no AWS account is allow-listed: set allowed_accounts = [\"<12-digit id>\"] in "
                         f"[tool.harness.aws] of {source} or HARNESS_AWS_ALLOWED_ACCOUNTS")
    bad = [str(a) for a in accounts if not _ACCOUNT.match(str(a))]
    if bad:
        raise AwsRefusal(f"allowed_accounts has {', '.join(bad)}: each entry must be an exact 12-digit "
                         "account id (no wildcards, no aliases)")
    region = raw.get("region")
    if not region:
        raise AwsRefusal(f"no region for the AWS target: set region = \"...\" in [tool.harness.aws] of {source} "
                         "or HARNESS_AWS_REGION")
    prefix = str(raw.get("prefix", "hx"))
    if not _PREFIX.match(prefix):
        raise AwsRefusal(f"prefix {prefix!r}: 2-10 lower-case letters and digits, starting with a letter "
                         "(it starts bucket and stack names)")
    endpoint = raw.get("simulate_endpoint")
    if endpoint and urlparse(str(endpoint)).hostname not in _LOOPBACK:
        raise AwsRefusal(f"HARNESS_AWS_SIMULATE_ENDPOINT={endpoint} is not a loopback address: simulation "
                         "only talks to a harness on this machine (http://127.0.0.1:PORT)")
    try:
        ttl = float(raw.get("ttl_hours", 6))
        poll = (float(raw.get("poll_min_s", 2.0)), float(raw.get("poll_max_s", 10.0)))
        scale = float(raw.get("timeout_scale", 10.0))
    except ValueError as exc:
        raise AwsRefusal(f"[tool.harness.aws]: {exc}; ttl_hours, poll_min_s, poll_max_s and timeout_scale are "
                         "numbers") from exc
    rewrite = raw.get("rewrite_retain", False)
    return AwsConfig(
        allowed_accounts=tuple(str(a) for a in accounts), region=str(region),
        profile=str(raw["profile"]) if raw.get("profile") else None,
        ci_role_arn_pattern=str(raw["ci_role_arn_pattern"]) if raw.get("ci_role_arn_pattern") else None,
        prefix=prefix, ttl_hours=ttl,
        rewrite_retain=rewrite if isinstance(rewrite, bool) else str(rewrite).lower() in ("1", "true", "yes"),
        simulate_endpoint=str(endpoint) if endpoint else None, poll_min_s=poll[0], poll_max_s=poll[1],
        timeout_scale=scale,
    )
