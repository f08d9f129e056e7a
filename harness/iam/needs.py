"""What one API call needs from IAM: its actions, each on the resource ARN(s) it touches, and the
request's condition keys the harness can tell (pure).

The ARN comes from the catalogue's template for the action's resource type, its variables read from
the call's parameters (``TableName``, ``Bucket`` and ``Key``, the last part of a ``QueueUrl``, a
function's name or ARN ...). A DynamoDB call on an index is authorised on the index's ARN
(``table/T/index/I``), a batch on each table it names, a transaction on each item's table with
the item's action; S3's ``CopyObject`` also needs ``s3:GetObject`` on the source. When a resource
cannot be told from the call, ``resource`` is None and the call is reported "not evaluated".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from harness.iam import catalog

# (kind, name) -> ARN, for resources whose ARN a name does not give (a secret's random suffix)
Lookup = Callable[[str, str], str | None]
_VARIABLE = re.compile(r"\$\{([^}]+)\}")


@dataclass(frozen=True)
class Need:
    action: str                 # dynamodb:PutItem
    resource: str | None        # the ARN, "*" for actions without resource types, None when unknown
    context: Mapping[str, Any] = field(default_factory=dict)  # condition keys of the request


def needs(service: str, operation: str, params: Mapping[str, Any], *, account: str, region: str,
          signing_name: str | None = None, lookup: Lookup | None = None) -> list[Need]:
    """The needs of a call (``service`` is botocore's name); [] when it needs no permission."""
    prefix = catalog.prefix_for(service, signing_name)
    if (prefix, operation) in catalog.NO_PERMISSION_NEEDED:
        return []
    actions = catalog.actions_for(prefix, operation)
    if not actions:
        return [Need(f"{prefix}:{operation}", None, {"harness:unmapped": "the IAM catalogue has no action for it"})]
    base = {"Partition": "aws", "Region": region, "Account": account}
    special = _SPECIAL.get(prefix)
    if special is not None:
        out = special(operation, actions, params, base, lookup)
        if out is not None:
            return out
    variables = _variables(prefix, params, lookup)
    return [Need(a, resource_arn(a, {**base, **v}), _context(prefix, operation, params)) for a in actions
            for v in variables]


def resource_arn(action: str, variables: Mapping[str, str]) -> str | None:
    """The ARN of the most specific resource type of ``action`` whose variables are all known;
    ``*`` when the action has no resource type; None when none can be filled."""
    types = catalog.resource_types(action)
    if not types:
        return "*"
    for kind in types:
        names = _VARIABLE.findall(kind.arn)
        if all(variables.get(n) for n in names):
            return _VARIABLE.sub(lambda m: str(variables[m.group(1)]), kind.arn)
    return None


def _last(value: Any, sep: str = "/") -> str:
    return str(value).rstrip(sep).rsplit(sep, 1)[-1]


def _table(value: Any) -> str:
    text = str(value)
    return text.split(":table/", 1)[1].split("/", 1)[0] if ":table/" in text else text


def _function(value: Any) -> str:
    """A function's name from a name, a partial ARN (123:function:f) or an ARN, with its qualifier."""
    text = str(value)
    return text.split(":function:", 1)[1] if ":function:" in text else text


def _variables(prefix: str, params: Mapping[str, Any], lookup: Lookup | None) -> list[dict[str, str]]:
    """The ARN variables of the resource(s) a call names (one dict per resource)."""
    p = params
    if prefix == "dynamodb":
        if isinstance(p.get("RequestItems"), Mapping):  # BatchGetItem, BatchWriteItem: each table
            return [{"TableName": _table(t)} for t in p["RequestItems"]]
        if p.get("StreamArn"):
            match = re.search(r":table/([^/]+)/stream/(.+)$", str(p["StreamArn"]))
            return [{"TableName": match.group(1), "StreamLabel": match.group(2)}] if match else [{}]
        name = p.get("TableName") or p.get("TableArn") or p.get("ResourceArn") or ""
        return [{"TableName": _table(name), **({"IndexName": str(p["IndexName"])} if p.get("IndexName") else {})}]
    if prefix == "s3":
        out = {"BucketName": str(p.get("Bucket") or "")}
        if p.get("Key"):
            out["ObjectName"] = str(p["Key"])
        return [out]
    if prefix == "sqs":
        return [{"QueueName": _last(p.get("QueueUrl") or p.get("QueueName") or "")}]
    if prefix == "sns":
        return [{"TopicName": _last(p.get("TopicArn") or p.get("TargetArn") or p.get("Name") or "", ":")}]
    if prefix == "lambda":
        return [{"FunctionName": _function(p.get("FunctionName") or "")
                 + (f":{p['Qualifier']}" if p.get("Qualifier") else "")}]
    if prefix == "events":
        if isinstance(p.get("Entries"), list):  # PutEvents: each entry names its bus (default: the default bus)
            buses = dict.fromkeys(_last(e.get("EventBusName") or "default") for e in p["Entries"] if isinstance(e, Mapping))
            return [{"EventBusName": bus} for bus in buses] or [{"EventBusName": "default"}]
        bus = _last(p.get("EventBusName") or "default")
        return [{"EventBusName": bus, **({"RuleName": str(p["Rule"])} if p.get("Rule") else {})}]
    if prefix == "ssm":
        names = p.get("Names") or [p.get("Name") or p.get("Path") or ""]
        return [{"ParameterNameWithoutLeadingSlash": str(n).lstrip("/")} for n in names]
    if prefix == "secretsmanager":
        secret = str(p.get("SecretId") or p.get("Name") or "")
        if secret and not secret.startswith("arn:") and lookup is not None:
            secret = lookup("secret", secret) or ""
        return [{"SecretId": secret.split(":secret:", 1)[1] if ":secret:" in secret else ""}]
    if prefix == "logs":
        return [{"LogGroupName": str(p.get("logGroupName") or ""), "LogStreamName": str(p.get("logStreamName") or "")}]
    if prefix == "states":
        arn = str(p.get("stateMachineArn") or p.get("executionArn") or "")
        parts = arn.split(":")
        return [{"StateMachineName": parts[6] if len(parts) > 6 else "",
                 **({"ExecutionId": parts[7]} if ":execution:" in arn and len(parts) > 7 else {})}]
    if prefix == "kinesis":
        return [{"StreamName": str(p.get("StreamName") or _last(p.get("StreamARN") or ""))}]
    if prefix == "scheduler":
        return [{"ScheduleName": str(p.get("Name") or ""), "GroupName": str(p.get("GroupName") or "default")}]
    if prefix == "cognito-idp":
        return [{"UserPoolId": str(p.get("UserPoolId") or "")}]
    return [{k: str(v) for k, v in p.items() if isinstance(v, str)}]


def _context(prefix: str, operation: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """The service-specific condition keys a request sets, where the harness can read them."""
    if prefix == "s3" and operation in ("ListObjects", "ListObjectsV2"):
        return {"s3:prefix": str(params.get("Prefix") or ""), **({"s3:delimiter": params["Delimiter"]}
                                                               if params.get("Delimiter") else {})}
    if prefix == "dynamodb":
        keys = _leading_keys(params)
        return {"dynamodb:LeadingKeys": keys} if keys else {}
    return {}


def _leading_keys(params: Mapping[str, Any]) -> list[str]:
    """The partition key values of a single-item call (the first attribute of ``Key``/``Item`` is not
    necessarily the partition key, so only ``Key`` with one attribute is read)."""
    key = params.get("Key")
    if isinstance(key, Mapping) and len(key) == 1:
        value = next(iter(key.values()))
        if isinstance(value, Mapping) and value:
            return [str(next(iter(value.values())))]
    return []


def _dynamodb(operation: str, actions: tuple[str, ...], params: Mapping[str, Any], base: dict[str, str],
              lookup: Lookup | None) -> list[Need] | None:
    if operation not in ("TransactWriteItems", "TransactGetItems"):
        return None
    out = []
    kinds = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem",
             "Get": "GetItem"}
    for item in params.get("TransactItems") or ():
        for kind, body in item.items():
            action = f"dynamodb:{kinds.get(kind, kind)}"
            out.append(Need(action, resource_arn(action, {**base, "TableName": _table(body.get("TableName", ""))})))
    return out


def _s3(operation: str, actions: tuple[str, ...], params: Mapping[str, Any], base: dict[str, str],
        lookup: Lookup | None) -> list[Need] | None:
    bucket = str(params.get("Bucket") or "")
    if operation == "DeleteObjects":
        objects = (params.get("Delete") or {}).get("Objects") or []
        return [Need("s3:DeleteObject", f"arn:aws:s3:::{bucket}/{o.get('Key')}") for o in objects] or None
    if operation == "CopyObject" and params.get("CopySource"):
        source = unquote(str(params["CopySource"]).lstrip("/")).split("?", 1)[0]
        return [Need("s3:GetObject", f"arn:aws:s3:::{source}"),
                Need("s3:PutObject", f"arn:aws:s3:::{bucket}/{params.get('Key', '')}")]
    return None


_SPECIAL: dict[str, Callable[[str, tuple[str, ...], Mapping[str, Any], dict[str, str], Lookup | None],
                             list[Need] | None]] = {"dynamodb": _dynamodb, "s3": _s3}
