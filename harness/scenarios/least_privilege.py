"""A scenario's IAM and cost sections (``harness.iam.collect``), and its verdict on them: a call
or a delivery AWS would deny fails a scenario that passed."""

from __future__ import annotations

import logging
from typing import Any

from harness.iam.collect import sections as collect_sections
from harness.scenarios.observe import function_names

LOG = logging.getLogger(__name__)


def least_privilege(target: Any, settings: Any, account: Any, app: Any, result: Any, started: float) -> None:
    """Fill ``result.iam`` and ``result.cost`` from what the account saw since ``started``."""
    recorder = target.calls
    if recorder is None:
        why = ("iam = \"off\"" if settings.iam == "off" else
               f"the {target.name} target answers its calls out of the harness's sight (on AWS "
               "IAM itself denies what a role lacks: such a call fails the scenario there)")
        result.iam = result.cost = {"observed": False, "why": why}
        return
    resources = list(app.record.resources.values()) if app is not None else None
    try:
        result.iam, result.cost = collect_sections(
            recorder, account.account_id, started=started, steps=result.steps, trace=result.trace,
            journal=result.journal, names=function_names(resources or ()), mode=settings.iam,
            http_apis=[gateway.api for gateway in app.gateways.values()] if app is not None else [],
            resources=resources)
    except Exception as exc:  # an observation must not hide the scenario's own verdict
        LOG.warning("IAM and cost sections of %s failed", result.name, exc_info=True)
        result.iam = result.cost = {"observed": False, "why": f"{type(exc).__name__}: {exc}"}
        return
    denied = result.iam.get("denied") or []
    refused = (result.iam.get("deliveries") or {}).get("denied") or []
    if (denied or refused) and result.status == "passed":
        result.status = "failed"
        what = [f"{len(denied)} call(s)"] * bool(denied) + [f"{len(refused)} delivery(ies)"] * bool(refused)
        result.reason = (f"IAM: AWS would deny {' and '.join(what)}: "
                         + "; ".join(d["message"] for d in [*refused, *denied][:3]))
