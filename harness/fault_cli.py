"""``harness fault add|list|clear``: fault rules of a running ``harness up``, through its control API
(``harness/faults/front.py``)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click
import yaml

from harness.envfile import read_env_file
from harness.errors import TargetError
from harness.faults import FaultRuleError, parse_rule
from harness.faults.remote import RemoteFaults
from harness.naming import physical_name

ENV_FILE = click.option("--env-file", type=click.Path(path_type=Path), default=Path(".harness/env"), show_default=True,
                        help="The env file `harness up` wrote.")


@click.group(name="fault")
def fault() -> None:
    """Inject faults into a running `harness up` (moto, LocalStack in host mode): calls that fail, slow
    down or drop, invocations that time out, crash, are throttled or start slowly."""


def _faults(env_file: Path) -> tuple[RemoteFaults, str]:
    """The running target's fault rules and the env file's account."""
    if not env_file.exists():
        raise click.ClickException(f"{env_file} does not exist: start one with `harness up --env-file {env_file}`")
    env = read_env_file(env_file)
    endpoint, account = env.get("AWS_ENDPOINT_URL"), env.get("HARNESS_ACCOUNT_ID")
    if not endpoint or not account:
        raise click.ClickException(f"{env_file} names no endpoint or account (AWS_ENDPOINT_URL, HARNESS_ACCOUNT_ID)")
    return RemoteFaults(endpoint), account


@fault.command()
@ENV_FILE
@click.argument("settings", nargs=-1, required=True)
def add(env_file: Path, settings: tuple[str, ...]) -> None:
    """Add a rule given as KEY=VALUE settings, e.g.

        harness fault add service=dynamodb operation=PutItem error=ProvisionedThroughputExceededException count=2
    """
    rule: dict[str, Any] = {}
    for setting in settings:
        key, sep, value = setting.partition("=")
        if not sep:
            raise click.BadParameter(f"{setting!r} is not KEY=VALUE", param_hint="SETTINGS")
        rule[key] = yaml.safe_load(value)
    faults, account = _faults(env_file)
    try:
        if rule.get("function"):
            rule["function"] = _function_name(env_file, str(rule["function"]))
        added = faults.add(account, parse_rule(rule))  # checked here first, then by the target
    except (FaultRuleError, TargetError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"fault {added.id}: {added.describe}")


def _function_name(env_file: Path, name: str) -> str:
    """The function's name in the env file's stack (a logical id or its prefix names it), else ``name``."""
    import boto3

    env = read_env_file(env_file)
    if not env.get("HARNESS_STACK_NAME"):
        return name
    session = boto3.session.Session(aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                                    aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
                                    aws_session_token=env.get("AWS_SESSION_TOKEN"),
                                    region_name=env.get("AWS_DEFAULT_REGION"))
    cloudformation = session.client("cloudformation", endpoint_url=env["AWS_ENDPOINT_URL"])
    pages = cloudformation.get_paginator("list_stack_resources").paginate(StackName=env["HARNESS_STACK_NAME"])
    functions = [(r["LogicalResourceId"], r["PhysicalResourceId"]) for page in pages
                 for r in page["StackResourceSummaries"] if r["ResourceType"] == "AWS::Lambda::Function"]
    return physical_name(name, functions)


@fault.command(name="list")
@ENV_FILE
def list_(env_file: Path) -> None:
    """The account's rules and the faults injected so far."""
    faults, account = _faults(env_file)
    try:
        answer = faults.listing(account)
    except TargetError as exc:
        raise click.ClickException(str(exc)) from exc
    for rule in answer["rules"]:
        click.echo(f"{rule['id']}  {rule['describe']}  (matched {rule['matched']}, injected {rule['injected']})")
    if not answer["rules"]:
        click.echo("no fault rules")
    click.echo(f"{len(answer['injected'])} fault(s) injected")
    for item in answer["injected"][-20:]:
        when = time.strftime("%H:%M:%S", time.gmtime(item["at"]))
        click.echo(f"  {when}Z rule {item['rule']}: {item['service']}.{item['operation']} from "
                   f"{item['caller'] or 'a client'} -> {item['effect']}")


@fault.command()
@ENV_FILE
@click.option("--id", "rule_id", default=None, help="Only this rule.")
def clear(env_file: Path, rule_id: str | None) -> None:
    """Remove the account's rules (or one)."""
    faults, account = _faults(env_file)
    try:
        cleared = faults.clear(account, rule_id)
    except TargetError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{cleared} rule(s) cleared")
