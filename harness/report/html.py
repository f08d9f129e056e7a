"""report.html: one self-contained page (no network): summary, and per scenario a timeline of the
event flow (actions, deliveries and Lambda invocations, cold ones marked), failed steps with the
expected/actual difference, the IAM and cost sections, and the trace (pure; returns the page as a string)."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from typing import Any

from harness.report.html_iam import cost_html, iam_html, run_summary_html
from harness.scenarios.engine import ScenarioResult

CSS = """body{font-family:system-ui,sans-serif;margin:2em;color:#222}h1{margin-bottom:.2em}
.passed{color:#17803d}.failed{color:#b42318}.skipped{color:#777}table{border-collapse:collapse}
td,th{padding:.25em .8em;border-bottom:1px solid #ddd;text-align:left}section{margin:2em 0;padding-top:1em;
border-top:2px solid #eee}pre{background:#f6f6f6;padding:.6em;overflow:auto;font-size:12px}
svg text{font-size:11px;font-family:monospace}.lane{fill:#fafafa}.warm{fill:#3b82f6}.cold{fill:#f59e0b}
.err{fill:#dc2626}.act{fill:#10b981}.dlv{fill:#8b5cf6}"""


def render_html(results: Sequence[ScenarioResult], meta: Mapping[str, Any]) -> str:
    rows = "".join(
        f"<tr><td><a href='#s{i}'>{html.escape(r.name)}</a></td><td class='{r.status}'>{r.status}</td>"
        f"<td>{r.duration_s:.2f} s</td><td>{html.escape(r.reason)}</td></tr>" for i, r in enumerate(results))
    summary = meta.get("summary", {})
    body = [f"<h1>Scenario report</h1><p>target <b>{html.escape(str(meta.get('target')))}</b> · "
            f"{summary.get('passed', 0)} passed · {summary.get('failed', 0)} failed · "
            f"{summary.get('skipped', 0)} skipped · {meta.get('duration_s', 0)} s</p>",
            *(f"<p class='note'>note: {html.escape(str(note))}</p>" for note in meta.get("notes") or ()),
            run_summary_html(meta),
            f"<table><tr><th>scenario</th><th>status</th><th>time</th><th>reason</th></tr>{rows}</table>"]
    body.extend(_scenario(i, r) for i, r in enumerate(results))
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>Scenario report</title>"
            f"<style>{CSS}</style></head><body>{''.join(body)}</body></html>")


def _scenario(index: int, result: ScenarioResult) -> str:
    parts = [f"<section id='s{index}'><h2 class='{result.status}'>{html.escape(result.name)}</h2>"
             f"<p>{html.escape(result.file)} · {result.status} · {result.duration_s:.2f} s"
             + (f" (virtual clock: {result.duration_s + result.advanced_s:.2f} s)" if result.advanced_s else "")
             + "</p>"]
    if result.status != "skipped":
        parts.append(timeline_svg(result))
    steps = "".join(
        f"<tr><td>{html.escape(s.title)}</td><td class='{s.status}'>{s.status}</td><td>{s.duration_s * 1000:.0f} ms</td>"
        f"<td>{html.escape(s.location)}</td></tr>" for s in result.steps)
    if steps:
        parts.append(f"<table class='steps'><tr><th>step</th><th>status</th><th>time</th><th>where</th></tr>{steps}</table>")
    failed = result.failed_step
    if failed is not None:
        parts.append(f"<h3>Failed: {html.escape(failed.title)}</h3><pre>{html.escape(failed.error or '')}\n"
                     + html.escape("\n".join(failed.diff)) + "</pre>")
        if failed.expected is not None or failed.actual is not None:
            parts.append("<pre>expected: " + html.escape(json.dumps(failed.expected, indent=1, default=str)) +
                         "\nactual: " + html.escape(json.dumps(failed.actual, indent=1, default=str)[:4000]) + "</pre>")
    if result.logs:
        parts.append("<h3>Logs of the functions that ran</h3><pre>" + html.escape("\n".join(result.logs)) + "</pre>")
    if result.conservation:
        parts.append(f"<p>conservation: {html.escape(json.dumps(result.conservation))}</p>")
    parts.append(iam_html(result.iam) + cost_html(result.cost))
    parts.append("</section>")
    return "".join(parts)


def short_name(physical: str) -> str:
    """``Stack-LogicalIdHASH-SUFFIX`` -> ``LogicalId``: generated names, readable in a lane label."""
    import re

    parts = physical.split("-")
    core = parts[1] if len(parts) >= 3 else physical
    return re.sub(r"[0-9A-F]{8}$", "", core)[:30] or physical[:30]


def timeline_svg(result: ScenarioResult, width: int = 900) -> str:
    """Lanes: the scenario's own actions, deliveries by source, and each function's invocations."""
    # the clock starts with the first step (deploying the app before it is not the scenario's flow)
    start = min([s.started for s in result.steps] or [result.started])
    end = max([start + 0.001] + [s.started + s.duration_s for s in result.steps] + [e["at"] for e in result.trace]
              + [e["at"] for e in result.journal])
    span = max(end - start, 0.001)
    lanes: dict[str, list[str]] = {"scenario": []}
    label_w = 220

    def x(at: float) -> float:
        return float(label_w + (at - start) / span * (width - label_w - 10))

    for event in result.trace:
        if event["kind"] == "invocation":
            lane = lanes.setdefault(f"λ {short_name(event['function'])}", [])
            cls = "err" if event["error"] else ("cold" if event["cold"] else "warm")
            w = max(2.0, event["duration_ms"] / 1000 / span * (width - label_w - 10))
            lane.append(f"<rect class='{cls}' x='{x(event['at']):.1f}' y='{{y}}' width='{w:.1f}' height='12'>"
                        f"<title>{html.escape(event['function'])} {event['duration_ms']} ms"
                        f"{' cold' if event['cold'] else ''}{' ' + str(event['error']) if event['error'] else ''}</title></rect>")
        elif event["kind"] == "fault.injected":
            lanes.setdefault("⚡ injected faults", []).append(
                f"<circle class='err' cx='{x(event['at']):.1f}' cy='{{cy}}' r='4'><title>"
                f"{html.escape(str(event['fault']))} on {html.escape(str(event['service']))}."
                f"{html.escape(str(event['operation']))} from {html.escape(str(event['caller'] or 'a client'))}: "
                f"{html.escape(str(event['effect']))}</title></circle>")
        else:
            lanes["scenario"].append(f"<circle class='act' cx='{x(event['at']):.1f}' cy='{{cy}}' r='4'>"
                                     f"<title>{html.escape(json.dumps(event, default=str)[:300])}</title></circle>")
    for entry in result.journal:
        if entry["kind"] in ("sqs.batch", "stream.batch"):
            source = str(entry.get("source", "")).rsplit(":", 1)[-1]
            source = source.split("/")[1] if source.startswith("table/") else source
            lanes.setdefault(f"→ {short_name(source)}", []).append(
                f"<circle class='dlv' cx='{x(entry['at']):.1f}' cy='{{cy}}' r='4'>"
                f"<title>{html.escape(entry['kind'])}: {len(entry.get('message_ids') or entry.get('sequence_numbers') or [])}"
                f" record(s), failed {len(entry.get('failed') or [])}</title></circle>")
    rows = []
    for n, (name, marks) in enumerate(lanes.items()):
        y = 10 + n * 22
        rows.append(f"<rect class='lane' x='0' y='{y - 3}' width='{width}' height='18'/>"
                    f"<text x='4' y='{y + 10}'>{html.escape(name)}</text>")
        rows.extend(m.replace("{y}", str(y)).replace("{cy}", str(y + 6)) for m in marks)
    height = 20 + len(lanes) * 22
    axis = f"<text x='{label_w}' y='{height - 2}'>0 s</text><text x='{width - 60}' y='{height - 2}'>{span:.2f} s</text>"
    return (f"<svg class='timeline' xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height + 12}'>"
            f"{''.join(rows)}{axis}</svg>")


def render_parity(parity: Mapping[str, Any], reports: Mapping[str, Mapping[str, Any]]) -> str:
    """The parity page: per scenario the differences between two targets, known ones with their
    reason, and a link to each target's own report (``<target>/report.html``)."""
    summary = parity["summary"]
    left, right = parity["targets"]
    links = " · ".join(f"<a href='{html.escape(t)}/report.html'>{html.escape(t)}</a>: "
                       f"{r['summary']['passed']} passed, {r['summary']['failed']} failed"
                       for t, r in reports.items())
    rows = []
    for scenario in parity["scenarios"]:
        mine = [d for d in parity["differences"] if d["scenario"] == scenario["name"]]
        state = ("skipped" if not scenario["compared"] else "failed" if scenario.get("unexplained") else "passed")
        detail = html.escape(scenario.get("why", "")) or "".join(
            f"<div class='{'skipped' if d['known'] else 'failed'}'><code>{html.escape(d['difference'])}</code>: "
            f"{html.escape(d['detail'])}{' (known: ' + html.escape(d['known']) + ')' if d['known'] else ''}</div>"
            for d in mine) or "same"
        rows.append(f"<tr><td>{html.escape(scenario['name'])}</td><td class='{state}'>{state}</td><td>{detail}</td></tr>")
    body = (f"<h1>Parity: {html.escape(left)} and {html.escape(right)}</h1><p>{summary['compared']} scenarios "
            f"compared · {summary['differences']} differences · {summary['known']} known · "
            f"<b class='{'failed' if summary['unexplained'] else 'passed'}'>{summary['unexplained']} unexplained</b>"
            f"</p><p>{links}</p><section><table><tr><th>scenario</th><th>parity</th><th>differences</th></tr>"
            f"{''.join(rows)}</table></section>")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>Parity report</title>"
            f"<style>{CSS}</style></head><body>{body}</body></html>")
