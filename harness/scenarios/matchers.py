"""Partial matching of expected against actual values, with a readable list of differences (pure).

Expected values match partially: a mapping's keys are a subset of the actual's; lists match item
by item and length. Operators: ``{"$regex": "..."}``, ``{"$any": true}``, ``{"$absent": true}``,
``{"$contains": [...]}`` (each item matches some actual item), ``{"$len": n}``, ``{"$gte": n}``,
``{"$lte": n}``, ``{"$json": expected}`` (the actual is a JSON string; match its content).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

OPERATORS = ("$regex", "$any", "$absent", "$contains", "$len", "$gte", "$lte", "$json")


def _is_operator(value: Any) -> bool:
    return isinstance(value, Mapping) and len(value) >= 1 and all(k in OPERATORS for k in value)


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return None


def differences(expected: Any, actual: Any, path: str = "$") -> list[str]:
    """Why ``actual`` does not match ``expected`` (empty when it matches)."""
    if _is_operator(expected):
        return _operator(expected, actual, path)
    if isinstance(expected, Mapping):
        if not isinstance(actual, Mapping):
            return [f"{path}: expected an object, got {actual!r}"]
        found: list[str] = []
        for key, item in expected.items():
            if isinstance(item, Mapping) and item.get("$absent"):
                if key in actual:
                    found.append(f"{path}.{key}: expected absent, got {actual[key]!r}")
            elif key not in actual:
                found.append(f"{path}.{key}: missing (expected {item!r})")
            else:
                found.extend(differences(item, actual[key], f"{path}.{key}"))
        return found
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [f"{path}: expected a list, got {actual!r}"]
        if len(expected) != len(actual):
            return [f"{path}: expected {len(expected)} item(s), got {len(actual)}: {actual!r}"]
        return [d for i, (e, a) in enumerate(zip(expected, actual, strict=True)) for d in differences(e, a, f"{path}[{i}]")]
    if isinstance(expected, (int, float)) and not isinstance(expected, bool) and _number(actual) is not None:
        return [] if _number(expected) == _number(actual) else [f"{path}: expected {expected!r}, got {actual!r}"]
    return [] if expected == actual else [f"{path}: expected {expected!r}, got {actual!r}"]


def _operator(spec: Mapping[str, Any], actual: Any, path: str) -> list[str]:
    found: list[str] = []
    for op, arg in spec.items():
        if op == "$any":
            continue
        if op == "$regex" and not (isinstance(actual, str) and re.search(str(arg), actual)):
            found.append(f"{path}: {actual!r} does not match /{arg}/")
        elif op == "$contains":
            items = actual if isinstance(actual, list) else []
            for wanted in arg:
                if not any(not differences(wanted, item) for item in items):
                    found.append(f"{path}: no item matches {wanted!r}")
        elif op == "$len" and (not hasattr(actual, "__len__") or len(actual) != int(arg)):
            found.append(f"{path}: expected length {arg}, got {actual!r}")
        elif op in ("$gte", "$lte"):
            number = _number(actual)
            ok = number is not None and (number >= Decimal(str(arg)) if op == "$gte" else number <= Decimal(str(arg)))
            if not ok:
                found.append(f"{path}: expected {'>=' if op == '$gte' else '<='} {arg}, got {actual!r}")
        elif op == "$json":
            try:
                found.extend(differences(arg, json.loads(actual), path))
            except (TypeError, ValueError):
                found.append(f"{path}: expected a JSON string, got {actual!r}")
    return found


def extract(path: str, value: Any) -> Any:
    """A value from ``value`` by a dotted path (``body.items.0.jobId``); None when absent."""
    current = value
    for part in path.split("."):
        if isinstance(current, Mapping):
            current = current.get(part)
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return None
    return current
