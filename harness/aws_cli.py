"""``harness aws``: the AWS target's own commands (doctor, sweep), thin over ``harness.targets.aws``."""

from __future__ import annotations

import json
import os
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click

from harness.errors import HarnessError

if TYPE_CHECKING:
    from harness.provisioning.template import Template
    from harness.targets.aws.target import AwsTarget


def error_line(exc: Exception) -> str:
    """The one line printed for an error: an AWS refusal says itself, anything else is `error: ...`."""
    return str(exc) if str(exc).startswith("aws target") else f"error: {exc}"


@click.group(name="aws")
def aws() -> None:
    """Check and clean the AWS test account the AWS target uses ([tool.harness.aws])."""


def _preflight() -> AwsTarget:
    from harness.settings import HarnessSettings
    from harness.targets.aws.target import AwsTarget

    target = AwsTarget(HarnessSettings.resolve(explicit={"target": "aws"}, environ=os.environ), os.environ)
    target.preflight()
    return target


@aws.command()
@click.option("--template", type=click.Path(path_type=Path, exists=True), default=None,
              help="Lint this template (default: the [tool.harness] app, synthesized).")
def doctor(template: Path | None) -> None:
    """Preflight alone, creating nothing: account allow-listed and not root, region, profile or
    role, no endpoint override, template lint. Exit 0 when a run would start, else 2 with the reason
    and the fix."""
    from harness.provisioning.template import load_template
    from harness.targets.aws.preflight import lint_template, refuse_on

    try:
        target = _preflight()
        parsed = load_template(template) if template is not None else _app_template()
        if parsed is not None:
            _, findings = lint_template(parsed, target.config)
            for finding in findings:
                if finding.level != "refuse":
                    click.echo(f"{finding.level}: {finding.line()}")
            refuse_on(findings)
    except HarnessError as exc:
        click.echo(error_line(exc), err=True)
        sys.exit(2)
    versions = target.versions()
    click.echo(f"ok: {versions['target']} account {versions['account']} in {versions['region']}")


def _app_template() -> Template | None:
    from harness.project import load_app_source
    from harness.provisioning.synth import synthesize

    source = load_app_source(Path.cwd())
    if source is None:
        return None
    from harness.settings import HarnessSettings

    cache_dir = HarnessSettings.resolve(environ=os.environ).cache_dir
    return synthesize(source, cache_dir / "synth", dict(os.environ)).template


@aws.command()
@click.option("--older-than", default=None, help="Select by age instead of expiry: 12h, 2d, 30m.")
@click.option("--apply", is_flag=True, help="Delete what is selected (default: list it only).")
@click.option("--force", is_flag=True, help="Every harness-managed root stack, expired or not (no run active).")
@click.option("--report", "report_path", type=click.Path(path_type=Path), default=None,
              help="Also write the JSON report here.")
def sweep(older_than: str | None, apply: bool, force: bool, report_path: Path | None) -> None:
    """Stacks left by killed runs: tagged harness:managed, expired (or older than --older-than),
    never one in progress, at most 5 deleted at once. Prints a JSON report; exit 1 when any is left."""
    from harness.targets.aws.teardown import sweep as sweep_stacks

    age = _duration(older_than) if older_than else None
    try:
        target = _preflight()
        scope = target.open_account()
        report = sweep_stacks(scope, target.deployer(None, scope).wait_stack, apply=apply,  # type: ignore[arg-type]
                              now=datetime.now(UTC), older_than=age, force=force)
    except HarnessError as exc:
        click.echo(error_line(exc), err=True)
        sys.exit(2)
    text = json.dumps(report.to_json(), indent=1, default=str)
    click.echo(text)
    if report_path is not None:
        report_path.write_text(text)
    sys.exit(1 if report.left else 0)


def _duration(text: str) -> timedelta:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([mhd])", text.strip())
    if match is None:
        raise click.BadParameter(f"{text!r}: a number and m, h or d (12h, 2d, 30m)", param_hint="--older-than")
    unit = {"m": "minutes", "h": "hours", "d": "days"}[match.group(2)]
    return timedelta(**{unit: float(match.group(1))})
