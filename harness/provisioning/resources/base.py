"""What a resource handler is, and the pieces every handler shares."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Created:
    """A created (or updated) resource: its Ref value and its GetAtt attributes."""

    physical_id: str
    ref: Any = None
    attributes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ResourceState:
    """A deployed resource as the stack record keeps it."""

    logical_id: str
    type_name: str
    physical_id: str
    ref: Any
    attributes: Mapping[str, Any]
    properties: Mapping[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"logical_id": self.logical_id, "type": self.type_name, "physical_id": self.physical_id,
                "ref": self.ref, "attributes": dict(self.attributes), "properties": dict(self.properties)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ResourceState:
        return cls(data["logical_id"], data["type"], data["physical_id"], data["ref"],
                   data["attributes"], data["properties"])


class Clients(Protocol):
    """Where handlers get boto3 clients (a CloudAccount)."""

    def client(self, service: str) -> Any: ...


@dataclass(frozen=True)
class HandlerContext:
    clients: Clients
    account_id: str
    region: str
    stack_name: str


class ResourceHandler:
    """Base of the handlers: subclasses set ``type_name`` and ``properties`` and implement
    ``create`` and ``delete``; ``update`` returns None to ask for a replacement."""

    type_name = ""
    properties: frozenset[str] = frozenset()
    name_property: str | None = None
    max_name_length = 64

    def create(self, ctx: HandlerContext, logical_id: str, props: dict[str, Any]) -> Created:
        raise NotImplementedError

    def update(self, ctx: HandlerContext, logical_id: str, props: dict[str, Any],
               old: ResourceState) -> Created | None:
        return None

    def delete(self, ctx: HandlerContext, state: ResourceState) -> None:
        raise NotImplementedError

    def name(self, ctx: HandlerContext, logical_id: str, props: Mapping[str, Any], *,
             lower: bool = False, suffix: str = "") -> str:
        """The resource's own name, or a generated one as CloudFormation makes it."""
        if self.name_property and props.get(self.name_property):
            return str(props[self.name_property])
        return physical_name(ctx, logical_id, self.max_name_length - len(suffix), lower=lower) + suffix


def physical_name(ctx: HandlerContext, logical_id: str, limit: int, *, lower: bool = False) -> str:
    """``<stack>-<logical>-<hash>``: stable per account and stack, unique across accounts."""
    digest = hashlib.sha256(f"{ctx.account_id}/{ctx.region}/{ctx.stack_name}/{logical_id}".encode())
    token = digest.hexdigest()[:12].upper()
    base = f"{ctx.stack_name}-{logical_id}"[: max(1, limit - len(token) - 1)]
    name = f"{base}-{token}"
    if lower:
        name = re.sub(r"[^a-z0-9.-]", "-", name.lower())
    return name


def as_json(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


# SAM's policy templates make policies without a Version; IAM accepts them (reading them as the
# 2008-10-17 language), moto refuses anything older than 2012-10-17. The two languages differ only
# in policy variables (${aws:username} ...), which the local targets do not evaluate: 2012-10-17.
DEFAULT_POLICY_VERSION = "2012-10-17"


def policy_json(document: Any) -> str:
    """A policy document as IAM's API takes it, given a Version when it has none (pure)."""
    if isinstance(document, str):
        document = json.loads(document)
    if isinstance(document, Mapping) and "Version" not in document:
        document = {"Version": DEFAULT_POLICY_VERSION, **document}
    return json.dumps(document)


def rendered_variables(variables: Mapping[str, Any]) -> dict[str, Any]:
    """Lambda environment variables with scalars rendered as CloudFormation renders them;
    intrinsics (not yet resolved) are left as they are (pure)."""
    return {str(k): api_string(v) if isinstance(v, (bool, int, float)) else v for k, v in variables.items()}


def api_string(value: Any) -> str:
    """A template value as CloudFormation passes it to a string-typed API field (pure):
    ``true`` -> "true", ``0.1`` -> "0.1", ``5`` -> "5"."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def arn_name(arn: str) -> str:
    return arn.rsplit(":", 1)[-1].rsplit("/", 1)[-1]


def tags(props: Mapping[str, Any]) -> list[dict[str, str]]:
    return [{"Key": api_string(t["Key"]), "Value": api_string(t["Value"])} for t in props.get("Tags") or []]


def ignore_missing(error_codes: tuple[str, ...], call: Any, *args: Any, **kwargs: Any) -> None:
    """Run a delete call; a resource that is already gone is not an error."""
    from botocore.exceptions import ClientError

    try:
        call(*args, **kwargs)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in error_codes:
            raise
