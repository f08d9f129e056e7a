"""A template's ``Rules`` section, checked against the stack's parameter values as CloudFormation
checks it before creating anything (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.provisioning.errors import ProvisioningError


def check_rules(rules: Mapping[str, Any], parameters: Mapping[str, Any], source: str = "template") -> None:
    """Raises ProvisioningError with the failing rule's AssertDescription (and how to fix it)."""
    for name, rule in rules.items():
        if "RuleCondition" in rule and not _truth(_value(rule["RuleCondition"], parameters, name), name):
            continue
        for assertion in rule.get("Assertions") or []:
            if not _truth(_value(assertion["Assert"], parameters, name), name):
                description = assertion.get("AssertDescription") or "its assertion does not hold"
                raise ProvisioningError(f"{source}: rule {name} failed: {description} (parameters: "
                                        f"{dict(parameters)}); change the parameter values or the rule")


def _value(node: Any, parameters: Mapping[str, Any], rule: str) -> Any:
    if isinstance(node, list):
        return [_value(v, parameters, rule) for v in node]
    if not isinstance(node, Mapping):
        return node
    if len(node) != 1:
        raise ProvisioningError(f"rule {rule}: {node} is not one function")
    (function, args), = node.items()
    if function == "Ref":
        if args not in parameters:
            raise ProvisioningError(f"rule {rule}: Ref {args} is not a parameter (rules see parameters only)")
        return parameters[args]
    values = _value(args, parameters, rule)
    if function == "Fn::Not":
        return not _truth(values[0], rule)
    if function == "Fn::And":
        return all(_truth(v, rule) for v in values)
    if function == "Fn::Or":
        return any(_truth(v, rule) for v in values)
    if function == "Fn::Equals":
        return str(values[0]) == str(values[1])
    if function == "Fn::Contains":
        return str(values[1]) in [str(v) for v in values[0]]
    if function == "Fn::EachMemberEquals":
        return all(str(v) == str(values[1]) for v in _list(values[0]))
    if function == "Fn::EachMemberIn":
        return all(str(v) in [str(a) for a in values[1]] for v in _list(values[0]))
    raise ProvisioningError(f"rule {rule}: {function} is not a rule function the harness evaluates "
                            "(Fn::And, Fn::Contains, Fn::EachMemberEquals, Fn::EachMemberIn, Fn::Equals, Fn::Not, "
                            "Fn::Or, Ref)")


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [v.strip() for v in str(value).split(",")]


def _truth(value: Any, rule: str) -> bool:
    if isinstance(value, bool):
        return value
    if str(value).lower() in ("true", "false"):
        return str(value).lower() == "true"
    raise ProvisioningError(f"rule {rule}: {value!r} is not a condition")
