"""What each step kind does: one function per kind, declared (with its schema and doc) in ``kinds.py``.

Actions return a result (for ``capture`` and the trace); expectations raise ExpectationFailed with
the expected/actual difference.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from harness.cloud import CloudAccount
from harness.deployed import DeployedApp
from harness.errors import HarnessError, WaitTimeoutError
from harness.naming import physical_name
from harness.provisioning.resources.base import ResourceState
from harness.scenarios.matchers import differences
from harness.waiting import wait_until

_ser, _de = TypeSerializer(), TypeDeserializer()


class ExpectationFailed(HarnessError):
    def __init__(self, message: str, diff: list[str] | None = None, expected: Any = None, actual: Any = None) -> None:
        super().__init__(message + ("\n  " + "\n  ".join(diff) if diff else ""))
        self.diff = diff or []
        self.expected = expected
        self.actual = actual


@dataclass
class StepContext:
    """What steps work with: the account, the deployed stack, users, gateways and the trace."""

    account: CloudAccount
    app: DeployedApp | None
    base_dir: Path
    probes: dict[str, str] = field(default_factory=dict)   # bus name -> probe queue url
    runners: Mapping[str, Callable[[StepContext, Mapping[str, Any]], Any]] = field(default_factory=dict)
    actions: list[dict[str, Any]] = field(default_factory=list)
    started_at: float = field(default_factory=time.time)
    cancelled: threading.Event = field(default_factory=threading.Event)  # the run was interrupted
    # Where scenarios share a stack: the scenario's run id. Queue, invocation and log expectations
    # then count only messages, invocations and lines that mention it (see ``mine``).
    isolate_by: str | None = None
    advanced_s: float = 0.0  # time let pass on a virtual clock by advance_clock (not waited for)

    @property
    def resources(self) -> Mapping[str, ResourceState]:
        """The deployed stack's resources by logical id (none when no app is deployed)."""
        return self.app.record.resources if self.app is not None else {}

    def client(self, service: str) -> Any:
        return self.account.client(service)

    def deployed(self, what: str) -> DeployedApp:
        """The deployed app, or an error saying that ``what`` needs one."""
        if self.app is None:
            raise HarnessError(f"{what} needs a deployed app: add [tool.harness] to pyproject.toml")
        return self.app

    def physical(self, name: str, type_name: str) -> str:
        """A resource's physical id from its physical name, logical id or logical-id prefix."""
        return physical_name(name, [(s.logical_id, str(s.physical_id)) for s in self.resources.values()
                                    if s.type_name == type_name])

    def mine(self, text: str) -> bool:
        """Whether ``text`` (a message body, a log line) belongs to this scenario: always where it has
        the stack to itself, else when it mentions the scenario's run id."""
        return self.isolate_by is None or self.isolate_by in text

    def record(self, kind: str, **data: Any) -> None:
        self.actions.append({"at": time.time(), "kind": kind, **data})

    def timeout(self, args: Mapping[str, Any], default: float) -> float:
        """A step's ``timeout`` on this target, in seconds.

        ``timeout: 40`` (or none: ``default``) is scaled by the target's ``timeout_scale``;
        ``timeout: {aws: 180, default: 40}`` gives this target's own value, unscaled.
        """
        value = args.get("timeout")
        target = self.account.cloud.target.name
        if isinstance(value, Mapping):
            if target in value:
                return float(value[target])
            value = value.get("default")
        seconds = float(value) if value is not None else default
        return seconds * self.account.capabilities.timeout_scale

    def log_events(self, function_name: str) -> list[dict[str, Any]]:
        """The function's CloudWatch Logs events since the scenario started."""
        from harness.lambda_logs import read_log_events

        return read_log_events(self.client("logs"), f"/aws/lambda/{function_name}",
                               since_ms=int(self.started_at * 1000))


def queue_url(ctx: StepContext, queue: str) -> str:
    """A queue's URL from its URL, ARN, name, or logical id in the stack."""
    if queue.startswith("http"):
        return queue
    if queue.startswith("arn:"):
        account, name = queue.split(":")[4:6]
        return str(ctx.client("sqs").get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"])
    physical = ctx.physical(queue, "AWS::SQS::Queue")  # a queue's physical id is its URL
    if physical.startswith("http"):
        return physical
    return str(ctx.client("sqs").get_queue_url(QueueName=queue)["QueueUrl"])


def put_object(ctx: StepContext, args: Mapping[str, Any]) -> Any:
    body = args.get("body", "")
    if "file" in args:
        data = (ctx.base_dir / args["file"]).read_bytes()
    else:
        data = (body if isinstance(body, str) else json.dumps(body)).encode()
    keys = []
    for n in range(int(args.get("count", 1))):
        key = args["key"].replace("{n}", str(n))
        ctx.client("s3").put_object(Bucket=args["bucket"], Key=key, Body=data,
                                    ContentType=args.get("content_type", "text/plain"))
        keys.append(key)
    ctx.record("s3.put_object", bucket=args["bucket"], keys=keys[:20], count=len(keys))
    return {"keys": keys}


def upload(ctx: StepContext, args: Mapping[str, Any]) -> Any:
    """PUT a body to a (pre-signed) URL, as a browser or curl would."""
    import urllib.request

    body = args["body"] if isinstance(args["body"], str) else json.dumps(args["body"])
    request = urllib.request.Request(args["url"], data=body.encode(), method="PUT",
                                     headers={"Content-Type": args.get("content_type", "text/plain")})
    with urllib.request.urlopen(request) as response:
        status = response.status
    ctx.record("http.upload", url=args["url"].split("?", 1)[0], status=status)
    if status != 200:
        raise ExpectationFailed(f"upload answered {status}")
    return {"status": status}


def delete_object(ctx: StepContext, args: Mapping[str, Any]) -> Any:
    ctx.client("s3").delete_object(Bucket=args["bucket"], Key=args["key"])
    ctx.record("s3.delete_object", bucket=args["bucket"], key=args["key"])


def _message_options(args: Mapping[str, Any], **parameters: str) -> dict[str, Any]:
    """The API parameters of the step's optional arguments that are set (``group_id`` ->
    ``MessageGroupId`` ...), and its ``attributes`` as SQS and SNS take them (each a String)."""
    out: dict[str, Any] = {parameter: args[name] for name, parameter in parameters.items() if args.get(name)}
    if args.get("attributes"):
        out["MessageAttributes"] = {k: {"DataType": "String", "StringValue": str(v)}
                                    for k, v in args["attributes"].items()}
    return out


def send_message(ctx: StepContext, args: Mapping[str, Any]) -> Any:
    body = args["body"] if isinstance(args["body"], str) else json.dumps(args["body"])
    kwargs = {"QueueUrl": queue_url(ctx, args["queue"]), "MessageBody": body,
              **_message_options(args, group_id="MessageGroupId", dedup_id="MessageDeduplicationId")}
    message_id = ctx.client("sqs").send_message(**kwargs)["MessageId"]
    ctx.record("sqs.send_message", queue=kwargs["QueueUrl"], message_id=message_id)
    return {"message_id": message_id}


def publish(ctx: StepContext, args: Mapping[str, Any]) -> Any:
    topic = str(args["topic"]) if str(args["topic"]).startswith("arn:") else ctx.physical(args["topic"], "AWS::SNS::Topic")
    if not topic.startswith("arn:"):  # a topic's name: its ARN in the account
        sns = ctx.client("sns")
        topic = f"arn:aws:sns:{sns.meta.region_name}:{ctx.account.account_id}:{topic}"
    message = args["message"] if isinstance(args["message"], str) else json.dumps(args["message"])
    kwargs = {"TopicArn": topic, "Message": message,
              **_message_options(args, subject="Subject", group_id="MessageGroupId")}
    message_id = ctx.client("sns").publish(**kwargs)["MessageId"]
    ctx.record("sns.publish", topic=topic, message_id=message_id)
    return {"message_id": message_id}


def put_events(ctx: StepContext, args: Mapping[str, Any]) -> Any:
    entry = {"Source": args["source"], "DetailType": args["detail_type"],
             "Detail": args["detail"] if isinstance(args["detail"], str) else json.dumps(args["detail"]),
             "EventBusName": args.get("bus", "default")}
    response = ctx.client("events").put_events(Entries=[entry])
    ctx.record("events.put_events", bus=entry["EventBusName"], detail_type=args["detail_type"])
    return {"failed": response.get("FailedEntryCount", 0)}


def put_item(ctx: StepContext, args: Mapping[str, Any]) -> Any:
    ctx.client("dynamodb").put_item(TableName=args["table"], Item=_typed(args["item"]))
    ctx.record("dynamodb.put_item", table=args["table"])


def update_item(ctx: StepContext, args: Mapping[str, Any]) -> Any:
    """Set attributes of an existing item (``set: {attr: value}``)."""
    names = {f"#a{i}": k for i, k in enumerate(args["set"])}
    values = {f":v{i}": _ser.serialize(v) for i, v in enumerate(args["set"].values())}
    expression = "SET " + ", ".join(f"#a{i} = :v{i}" for i in range(len(names)))
    ctx.client("dynamodb").update_item(TableName=args["table"], Key=_typed(args["key"]), UpdateExpression=expression,
                                       ExpressionAttributeNames=names, ExpressionAttributeValues=values)
    ctx.record("dynamodb.update_item", table=args["table"], attributes=sorted(args["set"]))


def invoke(ctx: StepContext, args: Mapping[str, Any]) -> Any:
    name = ctx.physical(args["function"], "AWS::Lambda::Function")
    if args.get("async"):
        ctx.client("lambda").invoke(FunctionName=name, InvocationType="Event",
                                    Payload=json.dumps(args.get("payload", {})).encode())
        ctx.record("lambda.invoke", function=name, invocation="Event")
        return {"status": 202}
    result = ctx.account.invoke(name, args.get("payload", {}))
    ctx.record("lambda.invoke", function=name, error=result["FunctionError"])
    outcome = {"payload": result["Payload"], "error": result["FunctionError"]}
    expect_match(args.get("expect"), outcome, f"invoke {name}")
    return outcome


def api(ctx: StepContext, args: Mapping[str, Any]) -> Any:
    import urllib.error
    import urllib.parse
    import urllib.request

    app = ctx.deployed("an api step")
    urls = app.api_urls
    if not urls:
        raise HarnessError(f"stack {app.stack_name} has no HTTP API to call")
    if args.get("api") and args["api"] not in urls:
        raise HarnessError(f"stack {app.stack_name} has no API {args['api']!r}; its APIs: {', '.join(urls)}")
    if not args.get("api") and len(urls) > 1:
        raise HarnessError(f"stack {app.stack_name} has several APIs ({', '.join(urls)}); name one with `api:`")
    chosen = args["api"] if args.get("api") else next(iter(urls))
    base_url = urls[chosen]
    headers = {str(k): str(v) for k, v in (args.get("headers") or {}).items()}
    mode = args.get("token")
    if args.get("user") and mode != "none":
        users = app.users(args.get("pool"))
        headers["Authorization"] = f"Bearer {users.token(args['user'], tuple(args.get('groups') or ()))}"
    body = args.get("body")
    data = None if body is None else (body if isinstance(body, str) else json.dumps(body)).encode()
    if data is not None:
        headers.setdefault("Content-Type", "application/json")
    query = "?" + urllib.parse.urlencode(args["query"]) if args.get("query") else ""
    request = urllib.request.Request(f"{base_url.rstrip('/')}{args['path']}{query}", data=data, method=args["method"],
                                     headers=headers)
    try:
        with urllib.request.urlopen(request) as response:
            status, raw, got = response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as error:
        status, raw, got = error.code, error.read(), dict(error.headers)
    try:
        parsed: Any = json.loads(raw) if raw else None
    except ValueError:
        parsed = raw.decode(errors="replace")
    outcome = {"status": status, "headers": {k.lower(): v for k, v in got.items()}, "body": parsed}
    ctx.record("api.request", method=args["method"], path=args["path"], user=args.get("user"), status=status,
               api=chosen, api_kind=app.api_kind(chosen))
    expect_match(args.get("expect"), outcome, f"{args['method']} {args['path']}")
    return outcome


def set_parameter(ctx: StepContext, args: Mapping[str, Any]) -> Any:
    ctx.client("ssm").put_parameter(Name=args["name"], Value=str(args["value"]), Type="String", Overwrite=True)
    ctx.record("ssm.put_parameter", name=args["name"])


def set_secret(ctx: StepContext, args: Mapping[str, Any]) -> Any:
    value = args["value"] if isinstance(args["value"], str) else json.dumps(args["value"])
    ctx.client("secretsmanager").put_secret_value(SecretId=args["id"], SecretString=value)
    ctx.record("secretsmanager.put_secret_value", id=args["id"])


def settle(ctx: StepContext, args: Mapping[str, Any]) -> Any:
    seconds = ctx.timeout(args, ctx.account.cloud.settings.settle_timeout_s)  # already scaled where due
    ctx.account.settle(timeout=seconds, scale=False)


def pause(ctx: StepContext, args: Mapping[str, Any]) -> Any:
    if ctx.cancelled.wait(float(args["seconds"])):
        raise HarnessError("the run was interrupted during the pause")
    ctx.record("pause", seconds=args["seconds"], reason=args["reason"])


def wait_until_step(ctx: StepContext, args: Mapping[str, Any]) -> Any:
    (kind, inner), = args["expect"].items()
    return eventually(ctx, ctx.runners[kind], inner, timeout=ctx.timeout(args, 30), description=kind)


def eventually(ctx: StepContext, runner: Callable[[StepContext, Mapping[str, Any]], Any], args: Mapping[str, Any],
               *, timeout: float, description: str, interval: float = 0.1) -> Any:
    """``runner``'s result once its expectation holds; its last failure after ``timeout`` seconds."""
    last: list[Exception] = []
    value: list[Any] = []

    def attempt() -> bool:
        try:
            value[:] = [runner(ctx, args)]
            return True
        except ExpectationFailed as exc:
            last[:] = [exc]
            return False

    try:
        wait_until(attempt, timeout=timeout, interval=interval, description=description)
    except WaitTimeoutError as exc:
        raise (last[0] if last else exc) from exc
    return value[0]


def expect_item(ctx: StepContext, args: Mapping[str, Any]) -> Any:
    got = ctx.client("dynamodb").get_item(TableName=args["table"], Key=_typed(args["key"]), ConsistentRead=True)
    item = _plain(got["Item"]) if "Item" in got else None
    if args.get("absent"):
        if item is not None:
            raise ExpectationFailed(f"expected no item at {args['key']}", actual=item)
        return None
    if item is None:
        raise ExpectationFailed(f"no item at {args['key']} in {args['table']}", expected=args.get("match"))
    expect_match(args.get("match"), item, "item")
    return item


def expect_query(ctx: StepContext, args: Mapping[str, Any]) -> Any:
    (name, value), = args["partition"].items()
    kwargs: dict[str, Any] = {"TableName": args["table"], "KeyConditionExpression": "#p = :v",
                              "ExpressionAttributeNames": {"#p": name}, "ExpressionAttributeValues": {":v": _ser.serialize(value)}}
    if args.get("index"):
        kwargs["IndexName"] = args["index"]
    items = [_plain(i) for i in ctx.client("dynamodb").query(**kwargs).get("Items", [])]
    if "count" in args and len(items) != args["count"]:
        raise ExpectationFailed(f"expected {args['count']} item(s) in partition {value}, got {len(items)}", actual=items)
    if "match" in args:
        expect_match({"$contains": args["match"]} if isinstance(args["match"], list) else args["match"], items, "items")
    return {"items": items, "count": len(items)}


def expect_alarm(ctx: StepContext, args: Mapping[str, Any]) -> Any:
    """The alarm's state as CloudWatch reports it. Where the target evaluates alarms itself (AWS),
    the state is polled until it matches or the timeout passes; elsewhere the harness evaluates
    SQS-depth alarms from the queues first (emulators publish no metrics)."""
    from harness.wiring.alarms import evaluate_sqs_alarms

    name = ctx.physical(args["alarm"], "AWS::CloudWatch::Alarm")
    cloudwatch = ctx.client("cloudwatch")
    evaluated_here = not ctx.account.capabilities.evaluates_alarms

    sampler = ctx.account.alarms

    def state() -> str | None:
        if evaluated_here:
            evaluate_sqs_alarms(ctx.account, sampler, ctx.account.clock.now)
        alarms = cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"]
        return str(alarms[0]["StateValue"]) if alarms else None

    timeout = ctx.timeout(args, 0 if evaluated_here else 600)
    try:
        current = wait_until(state, lambda value: value == args["state"], timeout=timeout, interval=1.0,
                             description=f"alarm {name} to be {args['state']}")
    except WaitTimeoutError as exc:
        raise ExpectationFailed(f"alarm {args['alarm']} is {exc.last}, expected {args['state']}") from exc
    return {"state": current}


def expect_match(expected: Any, actual: Any, what: str) -> None:
    if expected is None:
        return
    diff = differences(expected, actual)
    if diff:
        raise ExpectationFailed(f"{what} did not match", diff, expected, actual)


def _typed(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _ser.serialize(v) for k, v in item.items()}


def _plain(item: Mapping[str, Any]) -> dict[str, Any]:
    plain: dict[str, Any] = json.loads(json.dumps({k: _de.deserialize(v) for k, v in item.items()}, default=_decimal))
    return plain


def _decimal(value: Any) -> Any:
    return int(value) if value == int(value) else float(value)


def json_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text
