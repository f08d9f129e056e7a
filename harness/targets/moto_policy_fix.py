"""Fix to moto's policy evaluation: a condition on a key the request does not carry does not match.

moto evaluates a statement's ``Condition`` only over the context keys a request supplies, and a
bucket policy is evaluated with none, so every conditional statement applied unconditionally: the
``Deny s3:* if aws:SecureTransport is false`` that SAM CLI's managed bucket (and most hardened
buckets) carry denied every upload. IAM's rule: a condition on a missing key is false (the
statement does not apply) unless its operator ends in ``IfExists`` or is ``Null``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Patch = Callable[[Any, str, Any], None]


def conditions_apply(conditions: Mapping[str, Mapping[str, Any]], values: Mapping[str, Any]) -> bool:
    """Whether a statement's conditions can hold for a request with context ``values`` (pure).

    Only keys absent from the request are decided here (as IAM decides them); present ones are left
    to moto's own operators.
    """
    for operator, tests in conditions.items():
        for key, expected in tests.items():
            if key in values or operator.endswith("IfExists"):
                continue
            if operator == "Null":
                if str(expected).lower() != "true":
                    return False
                continue
            return False
    return True


def install_condition_fix(patch: Patch) -> None:
    """Statements whose conditions name keys the request lacks are neutral, not applied."""
    from moto.iam.access_control import IAMPolicyStatement, PermissionResult

    original = IAMPolicyStatement.is_action_permitted

    def is_action_permitted(statement: Any, action: str, resource: str = "*", principal: str | None = None,
                            incoming_condition_values: dict[str, str] | None = None) -> Any:
        conditions = statement._statement.get("Condition")
        if conditions and not conditions_apply(conditions, incoming_condition_values or {}):
            return PermissionResult.NEUTRAL
        return original(statement, action, resource, principal, incoming_condition_values)

    patch(IAMPolicyStatement, "is_action_permitted", is_action_permitted)
