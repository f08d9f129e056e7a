"""What a scenario's run would cost on AWS, from what it used (pure; prices from ``prices.json``,
dated and sourced, per region).

Lambda: a request per invocation and GB-seconds from each invocation's duration (rounded up to the
millisecond, as billed) and memory size; the other services from the units their calls used
(``harness.cost.usage``), the API requests the scenario made, the log bytes its functions wrote and
what S3 holds at the end (per month). Free tiers are not subtracted: this is the marginal cost.
"""

from __future__ import annotations

import functools
import importlib.resources
import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

from harness.errors import ConfigurationError

_GB = 1024 ** 3


@functools.cache
def price_table() -> dict[str, Any]:
    return dict(json.loads((importlib.resources.files("harness.cost") / "prices.json").read_text()))


def prices_for(region: str) -> dict[str, dict[str, Any]]:
    """The region's prices.

    Raises:
        ConfigurationError: the table has no prices for the region (naming the regions it has).
    """
    regions = price_table()["regions"]
    if region not in regions:
        raise ConfigurationError(f"harness/cost/prices.json has no prices for {region}; it has {', '.join(regions)}: "
                                 "add the region's prices (with their sources) or estimate with one of those")
    return dict(regions[region])


def estimate(usage: Mapping[str, float], invocations: Iterable[Mapping[str, Any]], *, region: str,
             api_requests: Mapping[str, int] | None = None, log_bytes: int = 0, stored_bytes: int = 0) -> dict[str, Any]:
    """The estimate: line items (quantity, unit, USD), the total and the total per 1,000 runs.

    ``invocations``: ``{"duration_ms", "memory_mb", "architecture"?}`` each; ``api_requests``:
    ``{"http": n, "rest": n}``; ``stored_bytes``: what the scenario left in S3 (priced per month).
    """
    prices = prices_for(region)
    quantities: dict[str, float] = {k: float(v) for k, v in usage.items() if v}
    for invocation in invocations:
        quantities["lambda_requests"] = quantities.get("lambda_requests", 0) + 1
        key = "lambda_gb_s_arm64" if invocation.get("architecture") == "arm64" else "lambda_gb_s_x86_64"
        billed_s = math.ceil(float(invocation.get("duration_ms") or 0)) / 1000
        quantities[key] = quantities.get(key, 0) + billed_s * float(invocation.get("memory_mb") or 128) / 1024
    for kind, count in (api_requests or {}).items():
        if count:
            quantities[f"{kind}_api_requests"] = quantities.get(f"{kind}_api_requests", 0) + count
    if log_bytes:
        quantities["logs_ingested_gb"] = log_bytes / _GB
    if stored_bytes:
        quantities["s3_gb_month"] = stored_bytes / _GB
    lines = []
    for key, quantity in sorted(quantities.items()):
        price = prices.get(key)
        if price is None or key == "s3_bytes_put":
            continue
        usd = quantity * float(price["usd"]) / float(price["per"])
        lines.append({"item": key, "quantity": round(quantity, 6), "unit": price["unit"], "usd": usd,
                      "source": price["source"]})
    total = sum(line["usd"] for line in lines)
    table = price_table()
    return {"currency": table["currency"], "region": region, "prices_compiled": table["compiled"],
            "note": table["note"], "lines": lines, "total_usd": total, "per_1000_runs_usd": total * 1000}


def merge(sections: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """A run's cost summary: per scenario its total and per 1,000 runs, and the run's total."""
    rows = [{"scenario": s.get("scenario", ""), "total_usd": s["total_usd"], "per_1000_runs_usd": s["per_1000_runs_usd"]}
            for s in sections if s]
    return {"scenarios": rows, "total_usd": sum(r["total_usd"] for r in rows)}
