"""The IAM section of a scenario's report, from the calls it made (pure, given a ``decide`` function):
per function (logical id where known) the calls AWS would deny, naming action, resource and what
is missing; the calls whose decision the harness cannot tell; the actions it used; the actions its
role grants that it never used; and the least-privilege policy its calls suggest.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from harness.iam import catalog
from harness.iam.deliveries import merge_deliveries
from harness.iam.evaluate import Decision, Statement
from harness.iam.needs import Need
from harness.iam.observer import Call

Decide = Callable[[str, Need], Decision]           # (principal, need) -> decision
Grants = Callable[[str], Sequence[Statement]]      # role ARN -> its identity statements


def _group(calls: Iterable[Call]) -> Counter[tuple[str, str, str, str, str | None]]:
    """(function, principal, via, action, resource) -> how many calls needed it."""
    counts: Counter[tuple[str, str, str, str, str | None]] = Counter()
    for call in calls:
        if call.caller is None or call.principal in ("client", "unknown"):
            continue
        for need in call.needs:
            counts[(call.caller, call.principal, call.via, need.action, need.resource)] += 1
    return counts


def iam_section(calls: Sequence[Call], decide: Decide, grants: Grants, *, mode: str,
                names: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The section; ``names`` maps physical function names to logical ids."""
    names = names or {}
    denied: list[dict[str, Any]] = []
    unknown: list[dict[str, Any]] = []
    functions: dict[str, dict[str, Any]] = {}
    contexts = {(c.caller, n.action, n.resource): n for c in calls for n in c.needs}
    for (function, principal, via, action, resource), count in sorted(_group(calls).items(),
                                                                       key=lambda kv: tuple(map(str, kv[0]))):
        need = contexts.get((function, action, resource)) or Need(action, resource)
        decision = decide(principal, need)
        logical = names.get(function, function)
        entry = functions.setdefault(logical, {"function": function, "role": principal, "used": {}, "calls": 0})
        entry["calls"] += count
        entry["used"].setdefault(action, set()).add(resource or "?")
        where = {"function": logical, "role": principal, "action": action, "resource": resource, "calls": count,
                 **({"via": via} if via else {})}
        if decision.denied:
            denied.append({**where, "decision": decision.outcome, "why": decision.statement,
                           "message": _denial(logical, principal, via, action, resource, decision)})
        elif decision.outcome == "not_evaluated":
            unknown.append({**where, "why": decision.statement})
    for entry in functions.values():
        used_actions = set(entry["used"])
        entry["unused_grants"] = unused_grants(grants(entry["role"]), used_actions)
        entry["suggested_policy"] = suggested_policy({a: sorted(r) for a, r in entry["used"].items()})
        entry["used"] = {a: sorted(r) for a, r in sorted(entry["used"].items())}
    return {"mode": mode, "denied": denied, "not_evaluated": unknown, "functions": functions,
            "summary": {"denied": len(denied), "not_evaluated": len(unknown),
                        "unused_grants": sum(len(f["unused_grants"]) for f in functions.values())}}


def _denial(function: str, role: str, via: str, action: str, resource: str | None, decision: Decision) -> str:
    who = f"{via} of function {function}" if via else f"function {function}"
    statement = json.dumps({"Effect": "Allow", "Action": action, "Resource": resource})
    if decision.outcome == "explicit_deny":
        return (f"{who} (role {role}) needs {action} on {resource}: AWS denies it explicitly by "
                f"{decision.statement}; remove or narrow that Deny")
    return (f"{who} (role {role}) needs {action} on {resource}: AWS would deny it (no statement of the role's "
            f"policies allows it); add to the role's policy: {statement}")


def unused_grants(statements: Sequence[Statement], used: set[str]) -> list[dict[str, Any]]:
    """The role's Allow statements' action patterns none of whose actions the function used."""
    out = []
    lowered = {u.lower() for u in used}
    for s in statements:
        if s.effect != "Allow":
            continue
        for pattern in s.actions:
            granted = catalog.expand(pattern)
            if not any(g.lower() in lowered for g in granted):
                out.append({"action": pattern, "grants": len(granted), "statement": s.describe(),
                            "resources": list(s.resources)})
    return out


def _general(resource: str) -> str:
    """A resource as a policy names it: an S3 object's bucket with ``/*``, a log stream's group with ``:*``."""
    if resource.startswith("arn:aws:s3:::") and "/" in resource:
        return resource.split("/", 1)[0] + "/*"
    return re.sub(r"(:log-group:[^:]+):log-stream:.*$", r"\1:*", resource)


def suggested_policy(used: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """The least-privilege policy for what was used: one statement per set of resources."""
    by_resources: dict[tuple[str, ...], list[str]] = {}
    for action, resources in used.items():
        key = tuple(sorted({_general(r) for r in resources if r and r != "?"}))
        by_resources.setdefault(key or ("*",), []).append(action)
    statements = [{"Effect": "Allow", "Action": sorted(actions) if len(actions) > 1 else actions[0],
                   "Resource": list(resources) if len(resources) > 1 else resources[0]}
                  for resources, actions in sorted(by_resources.items())]
    return {"Version": "2012-10-17", "Statement": statements}


def merge(sections: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """A run's IAM summary from its scenarios' sections: every denial, and per function (logical id)
    the actions any scenario used and the grants no scenario used (the advice worth acting on).
    Resources stay in the scenarios' sections: each scenario's account names them differently."""
    denied: list[dict[str, Any]] = []
    used: dict[str, set[str]] = {}
    grants: dict[str, dict[str, dict[str, Any]]] = {}
    sections_ = list(sections)
    for section in sections_:
        denied += [{**d, "scenario": section.get("scenario", "")} for d in section.get("denied") or []]
        for name, entry in (section.get("functions") or {}).items():
            used.setdefault(name, set()).update(entry.get("used", {}))
            for grant in entry.get("unused_grants") or []:
                grants.setdefault(name, {})[grant["action"]] = grant
    functions: dict[str, dict[str, list[Any]]] = {}
    for name in sorted(used):
        actions = {a.lower() for a in used[name]}
        unused = [{"action": g["action"], "grants": g["grants"]} for g in grants.get(name, {}).values()
                  if not any(x.lower() in actions for x in catalog.expand(g["action"]))]
        functions[name] = {"used_actions": sorted(used[name]), "unused_grants": unused}
    unused_total = sum(len(f["unused_grants"]) for f in functions.values())
    refused = merge_deliveries(sections_)
    return {"denied": denied, "deliveries_denied": refused, "functions": functions,
            "summary": {"denied": len(denied), "deliveries_denied": len(refused), "unused_grants": unused_total}}
