"""The IAM and cost parts of report.html (pure): per scenario the calls AWS would deny, the calls
whose decision could not be told, each function's used actions, unused grants and suggested policy,
and the cost estimate's lines; for the run, the denials and the cost per 1,000 runs."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from typing import Any


def _esc(value: Any) -> str:
    return html.escape(str(value))


def _source(url: str) -> str:
    """A price's source, shown without its scheme: the page stays self-contained (nothing it loads)."""
    return url.split("://", 1)[-1]


def iam_html(section: Mapping[str, Any]) -> str:
    if not section:
        return ""
    if section.get("observed") is False:
        return f"<h3>IAM</h3><p class='iam skipped'>calls not observed: {_esc(section.get('why', ''))}</p>"
    parts = [f"<h3>IAM <small>({_esc(section.get('mode', 'report'))})</small></h3>"]
    denied = section.get("denied") or []
    if denied:
        rows = "".join(f"<tr><td>{_esc(d['function'])}</td><td>{_esc(d['action'])}</td><td>{_esc(d['resource'])}</td>"
                       f"<td>{d['calls']}</td><td>{_esc(d.get('via', ''))}</td><td>{_esc(d['why'])}</td></tr>"
                       for d in denied)
        parts.append("<table class='iam-denied'><tr><th class='failed'>denied: function</th><th>action</th>"
                     f"<th>resource</th><th>calls</th><th>via</th><th>why</th></tr>{rows}</table>")
    else:
        parts.append("<p class='iam passed'>no call AWS would deny</p>")
    refused = (section.get("deliveries") or {}).get("denied") or []
    if refused:
        rows = "".join(f"<tr><td>{_esc(d['via'])}</td><td>{_esc(d['target'])}</td><td>{_esc(d['principal'])}</td>"
                       f"<td>{_esc(d['action'])}</td><td>{_esc(d['message'])}</td></tr>" for d in refused)
        parts.append("<table class='iam-deliveries'><tr><th class='failed'>refused delivery</th><th>to</th>"
                     f"<th>by</th><th>action</th><th>on AWS, and the fix</th></tr>{rows}</table>")
    elif section.get("deliveries"):
        parts.append(f"<p class='iam passed'>{section['deliveries'].get('checked', 0)} deliveries checked "
                     "against their targets' resource policies: all allowed</p>")
    unknown = section.get("not_evaluated") or []
    if unknown:
        rows = "".join(f"<tr><td>{_esc(u['function'])}</td><td>{_esc(u['action'])}</td><td>{_esc(u['resource'])}</td>"
                       f"<td>{_esc(u['why'])}</td></tr>" for u in unknown)
        parts.append("<table class='iam-unknown'><tr><th>not evaluated: function</th><th>action</th><th>resource</th>"
                     f"<th>why</th></tr>{rows}</table>")
    for name, entry in sorted((section.get("functions") or {}).items()):
        used = ", ".join(sorted(entry.get("used") or ()))
        unused = ", ".join(g["action"] for g in entry.get("unused_grants") or ())
        parts.append(f"<details class='iam-function'><summary>{_esc(name)}: {len(entry.get('used') or ())} actions used, "
                     f"{len(entry.get('unused_grants') or ())} grants unused</summary>"
                     f"<p>role {_esc(entry.get('role', ''))}</p><p>used: {_esc(used)}</p>"
                     f"<p>granted, never used: {_esc(unused or 'none')}</p>"
                     "<p>least privilege for what it did:</p><pre>"
                     + _esc(json.dumps(entry.get("suggested_policy"), indent=1)) + "</pre></details>")
    return "".join(parts)


def cost_html(section: Mapping[str, Any]) -> str:
    if not section or section.get("observed") is False:
        return ""
    rows = "".join(f"<tr><td>{_esc(line['unit'])}</td><td>{line['quantity']:g}</td><td>${line['usd']:.8f}</td>"
                   f"<td>{_esc(_source(line['source']))}</td></tr>" for line in section.get("lines") or ())
    return (f"<h3>Cost estimate</h3><p class='cost'>${section['total_usd']:.6f} per run · "
            f"<b>${section['per_1000_runs_usd']:.4f} per 1,000 runs</b> ({_esc(section['region'])}, prices compiled "
            f"{_esc(section['prices_compiled'])}). {_esc(section.get('note', ''))}</p>"
            f"<table class='cost-lines'><tr><th>what</th><th>quantity</th><th>USD</th><th>price source</th></tr>{rows}</table>")


def run_summary_html(meta: Mapping[str, Any]) -> str:
    """One line for the run: denials, unused grants, the suite's cost per 1,000 runs."""
    iam, cost = meta.get("iam") or {}, meta.get("cost") or {}
    if not iam.get("functions") and not cost.get("scenarios"):
        return ""
    summary = iam.get("summary") or {}
    denied, refused = summary.get("denied", 0), summary.get("deliveries_denied", 0)
    deliveries = f" and {refused} delivery(ies)" if refused else ""
    return (f"<p class='iam-summary'>IAM: <b class='{'failed' if denied or refused else 'passed'}'>{denied} call(s)"
            f"{deliveries} AWS would deny</b> · {summary.get('unused_grants', 0)} grants no scenario "
            "used · cost of the suite: "
            f"${cost.get('total_usd', 0) * 1000:.4f} per 1,000 runs (estimate)</p>")
