"""``harness iam`` and ``harness cost``: a run's least-privilege and cost summaries, read from the
``report.json`` a run wrote (``harness run --report-dir D``, ``make demo``: build/report)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

REPORT_DIR = click.option("--report-dir", type=click.Path(path_type=Path), default=Path("build/report"),
                          show_default=True, help="Where the run wrote report.json.")


def _report(report_dir: Path) -> dict[str, Any]:
    path = report_dir / "report.json"
    if not path.is_file():
        raise click.ClickException(f"{path} does not exist: write one with `harness run scenarios/ --report-dir "
                                   f"{report_dir}` (or `make demo` for build/report)")
    try:
        return dict(json.loads(path.read_text()))
    except ValueError as exc:
        raise click.ClickException(f"{path} is not a report: {exc}") from exc


@click.command(name="iam")
@REPORT_DIR
@click.option("--policies", is_flag=True, help="Print each function's suggested least-privilege policy too.")
def iam(report_dir: Path, policies: bool) -> None:
    """What AWS would deny and what each function's role grants but no scenario used; exit 1 on a denial."""
    report = _report(report_dir)
    scenarios = [s for s in report.get("scenarios", []) if s.get("iam")]
    if not scenarios or all(s["iam"].get("observed") is False for s in scenarios):
        why = next((s["iam"].get("why") for s in scenarios if s["iam"].get("why")), "no scenario has an IAM section")
        click.echo(f"the calls of this run were not observed ({report.get('target')}): {why}")
        return
    summary = report.get("iam") or {}
    for refusal in summary.get("deliveries_denied") or []:
        click.echo(f"DELIVERY REFUSED (scenarios {', '.join(map(repr, refusal['scenarios']))}): {refusal['message']}")
    for denial in summary.get("denied") or []:
        click.echo(f"DENIED in {denial.get('scenario', '?')!r}: {denial['message']}")
    for name, entry in sorted((summary.get("functions") or {}).items()):
        unused = entry.get("unused_grants") or []
        click.echo(f"{name}: used {len(entry.get('used_actions') or [])} actions; "
                   + (f"granted, never used: {', '.join(g['action'] for g in unused)}" if unused else "no unused grant"))
        if policies:
            latest = next((s["iam"]["functions"][name] for s in reversed(scenarios)
                           if name in (s["iam"].get("functions") or {})), None)
            if latest is not None:
                click.echo(json.dumps(latest["suggested_policy"], indent=1))
    denied, refused = len(summary.get("denied") or []), len(summary.get("deliveries_denied") or [])
    unused = sum(len(f.get("unused_grants") or []) for f in (summary.get("functions") or {}).values())
    click.echo(f"{denied} call(s){f' and {refused} delivery(ies)' if refused else ''} AWS would deny; {unused}"
               f" grants no scenario used ({len(scenarios)} scenarios, target {report.get('target')})")
    sys.exit(1 if denied or refused else 0)


@click.command(name="cost")
@REPORT_DIR
def cost(report_dir: Path) -> None:
    """What each scenario would cost on AWS, per run and per 1,000 runs (an estimate)."""
    report = _report(report_dir)
    sections = [(s["name"], s["cost"]) for s in report.get("scenarios", []) if (s.get("cost") or {}).get("lines")]
    if not sections:
        click.echo(f"no cost estimate in {report_dir / 'report.json'}: the calls of the run were not observed")
        return
    width = max(len(name) for name, _ in sections)
    for name, section in sections:
        click.echo(f"{name:<{width}}  ${section['total_usd']:.6f}/run  ${section['per_1000_runs_usd']:.4f}/1,000 runs")
    first = sections[0][1]
    total = sum(section["total_usd"] for _, section in sections)
    click.echo(f"{'all scenarios':<{width}}  ${total:.6f}/run  ${total * 1000:.4f}/1,000 runs")
    click.echo(f"prices: {first['region']}, compiled {first['prices_compiled']}. {first['note']}")
