"""``harness fault add|list|clear``: fault rules of a running ``harness up``, through its control API
(``harness/faults/front.py``)."""

from __future__ import annotations

import json
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import click
import yaml

from harness.envfile import read_env_file
from harness.faults import FaultRuleError, parse_rule
from harness.faults.front import CONTROL_PATH
from harness.naming import physical_name

ENV_FILE = click.option("--env-file", type=click.Path(path_type=Path), default=Path(".harness/env"), show_default=True,
                        help="The env file `harness up` wrote.")


@click.group(name="fault")
def fault() -> None:
    """Inject faults into a running `harness up` (moto, LocalStack in host mode): calls that fail, slow
    down or drop, invocations that time out, crash, are throttled or start slowly."""


def _target(env_file: Path) -> tuple[str, str]:
    if not env_file.exists():
        raise click.ClickException(f"{env_file} does not exist: start one with `harness up --env-file {env_file}`")
    env = read_env_file(env_file)
    endpoint, account = env.get("AWS_ENDPOINT_URL"), env.get("HARNESS_ACCOUNT_ID")
    if not endpoint or not account:
        raise click.ClickException(f"{env_file} names no endpoint or account (AWS_ENDPOINT_URL, HARNESS_ACCOUNT_ID)")
    return endpoint.rstrip("/") + CONTROL_PATH, account


def _call(method: str, url: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            answer: dict[str, Any] = json.loads(response.read())
            return answer
    except urllib.error.HTTPError as exc:
        detail = json.loads(exc.read() or b"{}").get("message", exc.reason)
        if exc.code == 404:
            detail = "this target has no fault injection (moto and LocalStack in host mode have)"
        raise click.ClickException(f"{method} {url}: {detail}") from exc
    except OSError as exc:
        raise click.ClickException(f"{url} does not answer ({exc}); is `harness up` running?") from exc


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
    try:
        parse_rule(rule)  # the same check the target makes, said before asking it
    except FaultRuleError as exc:
        raise click.ClickException(str(exc)) from exc
    url, account = _target(env_file)
    if rule.get("function"):
        rule["function"] = _function_name(env_file, str(rule["function"]))
    answer = _call("POST", url, {"account": account, "rule": rule})
    click.echo(f"fault {answer['id']}: {answer['describe']}")


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
    url, account = _target(env_file)
    answer = _call("GET", f"{url}?account={account}")
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
    url, account = _target(env_file)
    answer = _call("DELETE", f"{url}?account={account}" + (f"&id={rule_id}" if rule_id else ""))
    click.echo(f"{answer['cleared']} rule(s) cleared", file=sys.stdout)
