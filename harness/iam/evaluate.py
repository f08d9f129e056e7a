"""IAM's policy evaluation, for one principal, action and resource (pure).

The logic is IAM's for a request within one account: an explicit ``Deny`` in any policy that applies
wins; otherwise the request is allowed when an identity policy (inline or managed, of the role) or the
resource's policy allows it; otherwise it is implicitly denied. A resource policy grants by itself
only to a principal it names (a role, its session, a service); naming the account delegates to the
account's identity policies, as on AWS. ``Action``/``NotAction`` match case-insensitively with ``*``
and ``?``, ``Resource``/``NotResource`` case-sensitively. Conditions are evaluated where the harness
knows the key's value (``aws:SourceArn``, ``aws:SourceAccount``, ``aws:PrincipalArn``,
``aws:PrincipalAccount``, ``aws:RequestedRegion``, ``aws:SecureTransport``, and the service keys
``needs.py`` reads); a statement whose condition depends on a key it cannot tell makes the result
``not_evaluated`` (never allowed silently). Permission boundaries, session policies and SCPs are
not modelled.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Statement:
    effect: str
    actions: tuple[str, ...]
    not_actions: tuple[str, ...]
    resources: tuple[str, ...]
    not_resources: tuple[str, ...]
    principals: tuple[str, ...] | None  # resource policies: "*", ARNs, "service:<name>"; None in identity policies
    condition: Mapping[str, Mapping[str, Any]]
    source: str   # which policy: "inline Policy1 of role R", "queue policy of Q"
    sid: str = ""

    def describe(self) -> str:
        return f"{self.source}{f' (Sid {self.sid})' if self.sid else ''}"


@dataclass(frozen=True)
class Request:
    principal: str            # the role's ARN, or "service:events.amazonaws.com"
    action: str               # dynamodb:PutItem
    resource: str             # its ARN
    context: Mapping[str, Any] = field(default_factory=dict)
    account: str = ""


@dataclass(frozen=True)
class Decision:
    outcome: str              # "allowed", "denied" (implicit), "explicit_deny", "not_evaluated"
    statement: str = ""       # what decided: the allowing or denying statement, or why not evaluated
    unknown_keys: tuple[str, ...] = ()

    @property
    def allowed(self) -> bool:
        return self.outcome == "allowed"

    @property
    def denied(self) -> bool:
        return self.outcome in ("denied", "explicit_deny")


class PolicyError(ValueError):
    pass


def _listed(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(str(v) for v in value)


def _principals(value: Any) -> tuple[str, ...]:
    if value == "*" or value == {"AWS": "*"}:
        return ("*",)
    out: list[str] = []
    for kind, names in (value or {}).items():
        out += [f"service:{n}" if kind == "Service" else str(n) for n in _listed(names)]
    return tuple(out)


def parse_policy(document: str | Mapping[str, Any], source: str, *, resource_policy: bool = False) -> list[Statement]:
    """The statements of a policy document (JSON text or parsed).

    Raises:
        PolicyError: the document is not a policy (naming ``source``).
    """
    try:
        doc = json.loads(document) if isinstance(document, str) else document
    except json.JSONDecodeError as exc:
        raise PolicyError(f"{source}: not JSON: {exc}") from exc
    raw = doc.get("Statement") if isinstance(doc, Mapping) else None
    if raw is None:
        raise PolicyError(f"{source}: no Statement")
    out = []
    for entry in [raw] if isinstance(raw, Mapping) else raw:
        out.append(Statement(
            effect=str(entry.get("Effect", "")), actions=_listed(entry.get("Action")),
            not_actions=_listed(entry.get("NotAction")), resources=_listed(entry.get("Resource")),
            not_resources=_listed(entry.get("NotResource")),
            principals=_principals(entry.get("Principal")) if resource_policy else None,
            condition=entry.get("Condition") or {}, source=source, sid=str(entry.get("Sid") or "")))
    return out


def _match(pattern: str, value: str, *, case: bool) -> bool:
    if pattern == "*":
        return True
    if not case:
        pattern, value = pattern.lower(), value.lower()
    return fnmatch.fnmatchcase(value, pattern.replace("[", "[[]"))


def _applies(s: Statement, request: Request) -> bool:
    if s.actions and not any(_match(a, request.action, case=False) for a in s.actions):
        return False
    if s.not_actions and any(_match(a, request.action, case=False) for a in s.not_actions):
        return False
    if s.resources and not any(_match(r, request.resource, case=True) for r in s.resources):
        return False
    if s.not_resources and any(_match(r, request.resource, case=True) for r in s.not_resources):
        return False
    if not (s.resources or s.not_resources) and s.principals is None:
        return False  # an identity statement must name a resource
    return True


def _principal_matches(s: Statement, request: Request) -> str:
    """How a resource statement names the principal: "named", "account" (delegates to IAM) or ""."""
    for p in s.principals or ():
        if p == "*" or p == request.principal:
            return "named"
        if request.principal.startswith("arn:") and p in (request.account, f"arn:aws:iam::{request.account}:root"):
            return "account"
        if _session_of(request.principal) == p:
            return "named"
    return ""


def _session_of(principal: str) -> str:
    """The role ARN of an assumed-role session ARN (a resource policy naming the role covers it)."""
    match = re.match(r"arn:aws:sts::(\d+):assumed-role/([^/]+)/", principal)
    return f"arn:aws:iam::{match.group(1)}:role/{match.group(2)}" if match else principal


def evaluate(request: Request, identity: Sequence[Statement], resource: Sequence[Statement] = ()) -> Decision:
    """IAM's decision for ``request`` under the principal's identity policies and the resource's policy."""
    allow: Decision | None = None
    unknown: list[str] = []
    service = request.principal.startswith("service:")
    candidates: list[tuple[Statement, bool]] = [(s, True) for s in ([] if service else identity)]
    for s in resource:
        how = _principal_matches(s, request)
        if how:
            candidates.append((s, how == "named"))
    for s, grants in candidates:
        if not _applies(s, request):
            continue
        verdict = conditions_hold(s.condition, _keys(request))
        if verdict is None:
            unknown += [k for k in _unknown_keys(s.condition, _keys(request))]
            continue
        if not verdict:
            continue
        if s.effect == "Deny":
            return Decision("explicit_deny", s.describe())
        if s.effect == "Allow" and grants and allow is None:
            allow = Decision("allowed", s.describe())
    if unknown:
        keys = tuple(sorted(set(unknown)))
        return Decision("not_evaluated", f"conditions on {', '.join(keys)}", keys)
    return allow or Decision("denied", "no statement allows it")


def _keys(request: Request) -> dict[str, Any]:
    keys: dict[str, Any] = {"aws:SecureTransport": "true", **request.context}
    if request.principal.startswith("arn:"):
        keys.setdefault("aws:PrincipalArn", _session_of(request.principal))
        keys.setdefault("aws:PrincipalAccount", request.account)
    else:
        keys.setdefault("aws:PrincipalServiceName", request.principal.removeprefix("service:"))
    return {k.lower(): v for k, v in keys.items()}


# Keys the harness models: absent from a request's context means absent from the request on AWS too.
MODELED_KEYS = frozenset({"aws:sourcearn", "aws:sourceaccount", "aws:sourceowner", "aws:principalarn", "aws:principalaccount",
                          "aws:principalservicename", "aws:securetransport", "aws:requestedregion",
                          "s3:prefix", "s3:delimiter", "dynamodb:leadingkeys"})


def _unknown_keys(condition: Mapping[str, Mapping[str, Any]], keys: Mapping[str, Any]) -> Iterable[str]:
    for operator, tests in condition.items():
        for key in tests:
            if key.lower() not in keys and key.lower() not in MODELED_KEYS and operator != "Null":
                yield key


def conditions_hold(condition: Mapping[str, Mapping[str, Any]], keys: Mapping[str, Any]) -> bool | None:
    """Whether every condition holds (True/False), or None when one needs a key the harness cannot tell."""
    for operator, tests in condition.items():
        for key, expected in tests.items():
            name = key.lower()
            if name not in keys and name not in MODELED_KEYS and operator != "Null":
                return None
            result = _test(operator, keys.get(name), _listed(expected) if not isinstance(expected, bool)
                           else (str(expected).lower(),), name in keys)
            if result is None or result is False:
                return result
    return True


def _arn_like(value: str, pattern: str) -> bool:
    values, patterns = value.split(":", 5), pattern.split(":", 5)
    return len(values) == len(patterns) and all(
        fnmatch.fnmatchcase(v, p.replace("[", "[[]")) for v, p in zip(values, patterns, strict=True))


_STRING: dict[str, Callable[[str, str], bool]] = {
    "StringEquals": lambda v, e: v == e, "StringNotEquals": lambda v, e: v != e,
    "StringEqualsIgnoreCase": lambda v, e: v.lower() == e.lower(),
    "StringNotEqualsIgnoreCase": lambda v, e: v.lower() != e.lower(),
    "StringLike": lambda v, e: fnmatch.fnmatchcase(v, e), "StringNotLike": lambda v, e: not fnmatch.fnmatchcase(v, e),
    # IAM: ArnEquals is ArnLike, each of an ARN's six parts matched on its own, wildcards in any
    "ArnEquals": lambda v, e: _arn_like(v, e), "ArnNotEquals": lambda v, e: not _arn_like(v, e),
    "ArnLike": lambda v, e: _arn_like(v, e), "ArnNotLike": lambda v, e: not _arn_like(v, e),
    "Bool": lambda v, e: v.lower() == e.lower(),
}
_NEGATED = {"StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "ArnNotEquals", "ArnNotLike"}


def _test(operator: str, value: Any, expected: tuple[str, ...], present: bool) -> bool | None:
    quantifier, _, op = operator.rpartition(":")
    if_exists = op.endswith("IfExists")
    op = op.removesuffix("IfExists")
    if op == "Null":
        return (not present) == (expected[0].lower() == "true")
    if not present:  # IAM: an absent key matches nothing, so a negated operator holds
        return True if if_exists or op in _NEGATED else False
    values = [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]
    if op.startswith("Numeric"):
        compare = {"NumericEquals": float.__eq__, "NumericNotEquals": float.__ne__, "NumericLessThan": float.__lt__,
                   "NumericLessThanEquals": float.__le__, "NumericGreaterThan": float.__gt__,
                   "NumericGreaterThanEquals": float.__ge__}.get(op)
        if compare is None:
            return None
        return any(compare(float(v), float(e)) for v in values for e in expected)
    check = _STRING.get(op)
    if check is None:
        return None  # Date*, IpAddress, Binary ...: not evaluated
    if op in _NEGATED:
        per_value = [all(check(v, e) for e in expected) for v in values]
    else:
        per_value = [any(check(v, e) for e in expected) for v in values]
    if quantifier == "ForAllValues":
        return all(per_value)
    return any(per_value)
