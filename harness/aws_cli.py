"""``harness aws``: the AWS target's own commands (doctor, sweep, exec), thin over ``harness.targets.aws``."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

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


@aws.command(name="exec", context_settings={"ignore_unknown_options": True})
@click.option("--simulate", is_flag=True, help="Start a local harness standing in for AWS (moto, nothing "
              "deployed), point the AWS target at it, run COMMAND, then check the stand-in holds nothing of the run.")
@click.option("--skip-unconfigured", is_flag=True, help="Exit 0 with the reason, without running COMMAND, when "
              "no AWS account is allow-listed (CI without an account).")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def exec_(simulate: bool, skip_unconfigured: bool, command: tuple[str, ...]) -> None:
    """Run COMMAND (after --) against AWS: `harness aws exec --simulate -- harness run scenarios
    --target aws`. Exits with COMMAND's status, or 1 when the stand-in holds resources afterwards."""
    import subprocess
    import tempfile

    if simulate:
        from harness.background import start_background, stop_background

        with tempfile.TemporaryDirectory(prefix="harness-aws-sim-") as tmp:
            env_file = Path(tmp) / "stand-in.env"
            try:
                started = start_background("moto", env_file, deploy=False, timeout=180.0)
            except HarnessError as exc:
                click.echo(error_line(exc), err=True)
                sys.exit(2)
            click.echo(f"stand-in for AWS: {started.values['AWS_ENDPOINT_URL']}, account "
                       f"{started.values['HARNESS_ACCOUNT_ID']} (log: {started.log_path})")
            try:
                environ = simulated_environment(os.environ, started.values)
                status = subprocess.call(list(command), env=environ)
                left = stand_in_leftovers(environ)
                for line in left:
                    click.echo(f"left on the stand-in after the run: {line}", err=True)
                if left and status == 0:
                    status = 1
            finally:
                stop_background(env_file, timeout=20.0)
        sys.exit(status)
    if skip_unconfigured and not _configured(os.environ):
        click.echo("SKIPPED aws: no AWS account is allow-listed (set allowed_accounts and region in "
                   "[tool.harness.aws] or HARNESS_AWS_ALLOWED_ACCOUNTS / HARNESS_AWS_REGION to run against AWS)")
        sys.exit(0)
    sys.exit(subprocess.call(list(command)))


def _configured(environ: Mapping[str, str]) -> bool:
    from harness.targets.aws.target import aws_table

    accounts = environ.get("HARNESS_AWS_ALLOWED_ACCOUNTS") or aws_table(Path.cwd()).get("allowed_accounts")
    return bool(accounts)


def simulated_environment(environ: Mapping[str, str], stand_in: dict[str, str]) -> dict[str, str]:
    """The environment of a command run against the stand-in as if it were AWS (pure): its
    credentials, the AWS target's simulate endpoint, account and region; no endpoint override."""
    env = {k: v for k, v in environ.items() if not k.startswith("AWS_ENDPOINT_URL") and k != "HARNESS_TARGET"}
    env.update({k: v for k, v in stand_in.items() if k.startswith("AWS_") and not k.startswith("AWS_ENDPOINT_URL")})
    env["HARNESS_AWS_SIMULATE_ENDPOINT"] = stand_in["AWS_ENDPOINT_URL"]
    env["HARNESS_AWS_ALLOWED_ACCOUNTS"] = stand_in["HARNESS_ACCOUNT_ID"]
    env["HARNESS_AWS_REGION"] = stand_in.get("AWS_DEFAULT_REGION", "us-east-1")
    env.setdefault("HARNESS_AWS_POLL_MIN_S", "0.1")  # a local stand-in answers at once
    env.setdefault("HARNESS_AWS_POLL_MAX_S", "1")
    return env


def stand_in_leftovers(environ: dict[str, str]) -> list[str]:
    """Stacks, buckets (but the harness's asset bucket), queues, tables and functions the stand-in
    still holds."""
    import boto3

    session = boto3.session.Session(aws_access_key_id=environ["AWS_ACCESS_KEY_ID"],
                                    aws_secret_access_key=environ["AWS_SECRET_ACCESS_KEY"],
                                    region_name=environ["HARNESS_AWS_REGION"])
    endpoint = environ["HARNESS_AWS_SIMULATE_ENDPOINT"]

    def client(name: str) -> Any:
        return session.client(name, endpoint_url=endpoint)  # type: ignore[call-overload]

    prefix = environ.get("HARNESS_AWS_PREFIX", "hx")
    left = [f"stack {s['StackName']}" for s in client("cloudformation").describe_stacks()["Stacks"]]
    left += [f"bucket {b['Name']}" for b in client("s3").list_buckets()["Buckets"]
             if not b["Name"].startswith(f"{prefix}-assets-")]
    left += [f"queue {q}" for q in client("sqs").list_queues().get("QueueUrls", [])]
    left += [f"table {t}" for t in client("dynamodb").list_tables()["TableNames"]]
    left += [f"function {f['FunctionName']}" for f in client("lambda").list_functions()["Functions"]]
    return left


@aws.command(name="print-policy")
@click.option("--template", type=click.Path(path_type=Path, exists=True), default=None,
              help="Derive from this template (default: the [tool.harness] app, synthesized).")
@click.option("--scenarios", "scenario_dir", type=click.Path(path_type=Path), default=Path("scenarios"),
              show_default=True, help="Add what these scenarios' steps call.")
@click.option("--account", default=None, help="Account id in ARNs (default: the first allow-listed one).")
def print_policy(template: Path | None, scenario_dir: Path, account: str | None) -> None:
    """The IAM policy a CI role needs to run the app's tests and scenarios on AWS: CloudFormation's
    permissions for each resource type of the template (from the types' registry schemas), the
    harness's own calls (scoped to the prefix) and the steps' calls. Printed as JSON; notes on stderr."""
    from harness.provisioning.template import load_template
    from harness.scenarios import load_scenario, scenario_files
    from harness.targets.aws.config import load_aws_config
    from harness.targets.aws.policy import ci_policy
    from harness.targets.aws.target import aws_table

    try:
        config = load_aws_config(aws_table(Path.cwd()), os.environ)
        parsed = load_template(template) if template is not None else _app_template()
        if parsed is None:
            raise HarnessError("no template: pass --template or add [tool.harness] to pyproject.toml")
        files = scenario_files((scenario_dir,)) if scenario_dir.exists() else []
        kinds = {step.kind for f in files for step in load_scenario(f).steps}
    except HarnessError as exc:
        click.echo(error_line(exc), err=True)
        sys.exit(2)
    policy, notes = ci_policy(parsed, config, kinds, account=account or config.allowed_accounts[0])
    for note in notes:
        click.echo(f"note: {note}", err=True)
    click.echo(json.dumps(policy, indent=1))
