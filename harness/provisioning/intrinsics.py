"""Resolving CloudFormation intrinsic functions (pure).

Supports Ref, Fn::GetAtt, Fn::Sub, Fn::Join, Fn::Select, Fn::Split, Fn::If, Fn::Equals, Fn::And,
Fn::Or, Fn::Not, Condition, Fn::FindInMap, Fn::ImportValue, Fn::GetAZs, Fn::Base64 and the
pseudo parameters.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.provisioning.errors import ProvisioningError

NO_VALUE = object()
_SUB = re.compile(r"\$\{([^}]+)\}")


@dataclass
class ResolveContext:
    """What references resolve to: resources created so far, parameters, pseudo parameters."""

    account_id: str
    region: str
    stack_name: str
    parameters: Mapping[str, Any] = field(default_factory=dict)
    refs: dict[str, Any] = field(default_factory=dict)
    attributes: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    conditions: Mapping[str, Any] = field(default_factory=dict)
    mappings: Mapping[str, Any] = field(default_factory=dict)
    exports: Mapping[str, Any] = field(default_factory=dict)
    _condition_values: dict[str, bool] = field(default_factory=dict)

    def pseudo(self) -> dict[str, Any]:
        return {
            "AWS::AccountId": self.account_id, "AWS::Region": self.region,
            "AWS::StackName": self.stack_name, "AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackId": f"arn:aws:cloudformation:{self.region}:{self.account_id}:stack/{self.stack_name}/harness",
            "AWS::NoValue": NO_VALUE, "AWS::NotificationARNs": [],
        }

    def condition(self, name: str, where: str) -> bool:
        if name not in self._condition_values:
            if name not in self.conditions:
                raise ProvisioningError(f"{where}: condition {name!r} is not defined in Conditions")
            self._condition_values[name] = bool(resolve(self.conditions[name], self, where))
        return self._condition_values[name]


def resolve(value: Any, ctx: ResolveContext, where: str) -> Any:
    """Resolve every intrinsic inside ``value``; ``where`` names the resource for errors.

    Raises:
        ProvisioningError: a reference cannot be resolved (names ``where`` and the reference).
    """
    if isinstance(value, list):
        items = [resolve(v, ctx, where) for v in value]
        return [v for v in items if v is not NO_VALUE]
    if not isinstance(value, Mapping):
        return value
    if len(value) == 1:
        (name, arg), = value.items()
        handler = _FUNCTIONS.get(name)
        if handler is not None:
            return handler(arg, ctx, where)
    out = {k: resolve(v, ctx, where) for k, v in value.items()}
    return {k: v for k, v in out.items() if v is not NO_VALUE}


def _ref(arg: Any, ctx: ResolveContext, where: str) -> Any:
    name = str(arg)
    pseudo = ctx.pseudo()
    if name in pseudo:
        return pseudo[name]
    if name in ctx.parameters:
        return ctx.parameters[name]
    if name in ctx.refs:
        return ctx.refs[name]
    raise ProvisioningError(f"{where}: Ref {name!r} names no parameter or created resource")


def _get_att(arg: Any, ctx: ResolveContext, where: str) -> Any:
    logical, attribute = (arg.split(".", 1) if isinstance(arg, str) else resolve(arg, ctx, where))
    attrs = ctx.attributes.get(logical)
    if attrs is None:
        raise ProvisioningError(f"{where}: Fn::GetAtt {logical}.{attribute}: {logical} is not a created resource")
    if attribute not in attrs:
        raise ProvisioningError(f"{where}: Fn::GetAtt {logical}.{attribute}: {logical} has no attribute "
                                f"{attribute} (it has {', '.join(sorted(attrs)) or 'none'})")
    return attrs[attribute]


def _sub(arg: Any, ctx: ResolveContext, where: str) -> str:
    text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], resolve(arg[1], ctx, where))

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("!"):
            return "${" + name[1:] + "}"
        if name in variables:
            return str(variables[name])
        if "." in name and name.split(".", 1)[0] in ctx.attributes:
            return str(_get_att(name, ctx, where))
        return str(_ref(name, ctx, where))

    return _SUB.sub(replace, text)


def _join(arg: Any, ctx: ResolveContext, where: str) -> str:
    delimiter, items = arg
    values = resolve(items, ctx, where)
    return str(delimiter).join(str(v) for v in values)


def _select(arg: Any, ctx: ResolveContext, where: str) -> Any:
    index, items = resolve(arg[0], ctx, where), resolve(arg[1], ctx, where)
    try:
        return items[int(index)]
    except (IndexError, ValueError, TypeError) as exc:
        raise ProvisioningError(f"{where}: Fn::Select index {index} out of {items!r}") from exc


def _split(arg: Any, ctx: ResolveContext, where: str) -> list[str]:
    delimiter, text = arg[0], resolve(arg[1], ctx, where)
    return str(text).split(delimiter)


def _if(arg: Any, ctx: ResolveContext, where: str) -> Any:
    name, yes, no = arg
    return resolve(yes if ctx.condition(name, where) else no, ctx, where)


def _equals(arg: Any, ctx: ResolveContext, where: str) -> bool:
    left, right = resolve(arg[0], ctx, where), resolve(arg[1], ctx, where)
    return bool(str(left) == str(right))


def _find_in_map(arg: Any, ctx: ResolveContext, where: str) -> Any:
    name, top, second = (resolve(a, ctx, where) for a in arg)
    try:
        return ctx.mappings[name][top][second]
    except KeyError as exc:
        raise ProvisioningError(f"{where}: Fn::FindInMap {name}/{top}/{second} is not in Mappings") from exc


def _import_value(arg: Any, ctx: ResolveContext, where: str) -> Any:
    name = resolve(arg, ctx, where)
    if name not in ctx.exports:
        raise ProvisioningError(f"{where}: Fn::ImportValue {name!r}: no deployed stack exports it")
    return ctx.exports[name]


_FUNCTIONS: dict[str, Callable[[Any, ResolveContext, str], Any]] = {
    "Ref": _ref,
    "Fn::GetAtt": _get_att,
    "Fn::Sub": _sub,
    "Fn::Join": _join,
    "Fn::Select": _select,
    "Fn::Split": _split,
    "Fn::If": _if,
    "Fn::Equals": _equals,
    "Fn::And": lambda a, c, w: all(resolve(x, c, w) for x in a),
    "Fn::Or": lambda a, c, w: any(resolve(x, c, w) for x in a),
    "Fn::Not": lambda a, c, w: not resolve(a[0], c, w),
    "Condition": lambda a, c, w: c.condition(a, w),
    "Fn::FindInMap": _find_in_map,
    "Fn::ImportValue": _import_value,
    "Fn::GetAZs": lambda a, c, w: [f"{c.region}{s}" for s in "abc"],
    "Fn::Base64": lambda a, c, w: base64.b64encode(str(resolve(a, c, w)).encode()).decode(),
    "Fn::ToJsonString": lambda a, c, w: json.dumps(resolve(a, c, w)),
}


def references(value: Any) -> set[str]:
    """Logical ids that ``value`` refers to (Ref, GetAtt, Sub), pseudo parameters excluded."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= references(item)
    elif isinstance(value, Mapping):
        for key, arg in value.items():
            if key == "Ref" and isinstance(arg, str) and not arg.startswith("AWS::"):
                found.add(arg)
            elif key == "Fn::GetAtt":
                found.add(arg.split(".", 1)[0] if isinstance(arg, str) else str(arg[0]))
            elif key == "Fn::Sub":
                text = arg if isinstance(arg, str) else arg[0]
                found |= {m.split(".", 1)[0] for m in _SUB.findall(text)
                          if not m.startswith(("AWS::", "!"))}
                if not isinstance(arg, str):
                    found |= references(arg[1])
                    found -= set(arg[1])
            else:
                found |= references(arg)
    return found
