"""The deliveries an account is wired for, read through its APIs (any target): EventBridge rules'
targets, S3 buckets' notifications, SNS subscriptions to queues and functions, and the Lambda
routes of the app's HTTP and REST APIs (from the gateway's model of them).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from harness.gateway.model import HttpApiDefinition
from harness.iam.deliveries import Delivery
from harness.provisioning.resources.base import ResourceState

LOG = logging.getLogger(__name__)
ClientFor = Callable[[str], Any]
_BY_POLICY = frozenset({"sqs", "sns", "lambda"})  # EventBridge ignores a role for these targets


def account_deliveries(client_for: ClientFor, account: str, buckets: set[str] | None = None) -> list[Delivery]:
    """Every rule target, bucket notification (of ``buckets`` only, when given: one call each)
    and subscription of the account (a service the target does not offer is skipped, with a
    debug line)."""
    out: list[Delivery] = []
    for read in (_rules, _notifications, _subscriptions):
        try:
            out += read(client_for, account, buckets)
        except Exception as exc:  # a target without the service (or the API): nothing wired there
            LOG.debug("deliveries: %s skipped: %s", read.__name__, exc)
    return out


def _rules(client_for: ClientFor, account: str, _: set[str] | None) -> Iterator[Delivery]:
    events = client_for("events")
    buses = [str(b["Name"]) for b in events.list_event_buses().get("EventBuses", [])] or ["default"]
    for bus in buses:
        for rule in _pages(events.list_rules, "Rules", EventBusName=bus):
            for target in _pages(events.list_targets_by_rule, "Targets", Rule=rule["Name"], EventBusName=bus):
                arn = str(target["Arn"])
                kind = arn.split(":")[2] if arn.count(":") >= 5 else ""
                # queues, topics and functions are reached through their policy, other targets with the
                # target's role (a bus without one: through the bus's policy)
                role = "" if kind in _BY_POLICY else str(target.get("RoleArn") or "")
                yield Delivery("events.amazonaws.com", str(rule["Arn"]), arn, f"EventBridge rule {rule['Name']}",
                               role=role, account=account)


def _notifications(client_for: ClientFor, account: str, buckets: set[str] | None) -> Iterator[Delivery]:
    s3 = client_for("s3")
    for bucket in s3.list_buckets().get("Buckets", []):
        name = str(bucket["Name"])
        if buckets is not None and name not in buckets:
            continue
        config = s3.get_bucket_notification_configuration(Bucket=name)
        for key, field in (("LambdaFunctionConfigurations", "LambdaFunctionArn"), ("QueueConfigurations", "QueueArn"),
                           ("TopicConfigurations", "TopicArn")):
            for entry in config.get(key) or []:
                yield Delivery("s3.amazonaws.com", f"arn:aws:s3:::{name}", str(entry[field]),
                               f"S3 notification of bucket {name}", account=account)


def _subscriptions(client_for: ClientFor, account: str, _: set[str] | None) -> Iterator[Delivery]:
    sns = client_for("sns")
    for sub in _pages(sns.list_subscriptions, "Subscriptions"):
        if sub.get("Protocol") in ("sqs", "lambda"):
            topic = str(sub["TopicArn"])
            yield Delivery("sns.amazonaws.com", topic, str(sub["Endpoint"]),
                           f"SNS subscription of topic {topic.rsplit(':', 1)[-1]}", account=account)


def of_stack(deliveries: Iterable[Delivery], resources: Iterable[ResourceState]) -> list[Delivery]:
    """The deliveries whose source or target is one of ``resources`` (a stack's), so that other
    stacks sharing the account (LocalStack's one account, ``harness up``) are not judged with it (pure)."""
    names = stack_names(resources)
    return [d for d in deliveries if _tail(d.source) in names or _tail(d.target) in names]


def stack_names(resources: Iterable[ResourceState]) -> set[str]:
    """The names of a stack's resources, as the last part of their ids and ARNs (pure)."""
    names = {_tail(str(r.physical_id)) for r in resources if r.physical_id}
    return names | {_tail(str(r.attributes.get("Arn"))) for r in resources if r.attributes.get("Arn")}


def logical_id(identifier: str, resources: Iterable[ResourceState]) -> str | None:
    """The logical id of the stack's resource an ARN (or id) names, None when none does (pure);
    an API route's ARN is its API's."""
    wanted = _tail(identifier)
    api = identifier.split(":", 5)[5].split("/", 1)[0] if identifier.startswith("arn:aws:execute-api:") else None
    for r in resources:
        if api is not None:
            if str(r.physical_id) == api:
                return r.logical_id
        elif wanted and wanted in (_tail(str(r.physical_id)), _tail(str(r.attributes.get("Arn") or ""))):
            return r.logical_id
    return None


def _tail(identifier: str) -> str:
    """A name from an ARN, a queue URL or an id: the part after the last ``:``, ``/`` or ``|``."""
    return re.split(r"[:/|]", identifier)[-1]


def api_deliveries(apis: Iterable[HttpApiDefinition], *, account: str, region: str) -> list[Delivery]:
    """API Gateway invoking each Lambda route's function (pure)."""
    out = []
    for api in apis:
        for route in api.routes:
            if route.integration is not None or ":function:" not in route.function_arn:
                continue
            role = route.credentials if ":role/" in route.credentials else ""
            if route.credentials and not role:
                continue  # the caller's own credentials (arn:aws:iam::*:user/*): nothing to tell here
            source = execute_api_arn(region, account, api.api_id, api.stage, route.method, route.path)
            out.append(Delivery("apigateway.amazonaws.com", source, route.function_arn,
                                f"API {api.name} route {route.route_key}", role=role, account=account))
    return out


def execute_api_arn(region: str, account: str, api_id: str, stage: str, method: str, path: str | None) -> str:
    """The ``aws:SourceArn`` of a request on a route: ``arn:aws:execute-api:R:A:API/STAGE/METHOD/PATH``,
    the route's path as defined (``/jobs/{id}``: what CDK's and Terraform's permissions name) and
    ``*`` for ``ANY``."""
    return f"arn:aws:execute-api:{region}:{account}:{api_id}/{stage}/{'*' if method == 'ANY' else method}{path or '/'}"


def _pages(call: Callable[..., dict[str, Any]], key: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    token: str | None = None
    while True:
        page = call(**kwargs, **({"NextToken": token} if token else {}))
        yield from page.get(key) or []
        token = page.get("NextToken")
        if not token:
            return
