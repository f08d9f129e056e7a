"""EventBridge-style content filtering, as used by event source mapping FilterCriteria.

Pure functions; see https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from harness.errors import ConfigurationError


def parse_filter_criteria(criteria: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The patterns of a mapping's FilterCriteria (each ``Pattern`` is a JSON string).

    Raises:
        ConfigurationError: a pattern is not a JSON object.
    """
    patterns: list[dict[str, Any]] = []
    for item in (criteria or {}).get("Filters") or []:
        try:
            pattern = json.loads(item["Pattern"])
        except (KeyError, TypeError, json.JSONDecodeError) as exc:
            raise ConfigurationError(
                f"FilterCriteria pattern {item!r} is not valid JSON: {exc}; fix the mapping's filter"
            ) from exc
        if not isinstance(pattern, dict):
            raise ConfigurationError(f"FilterCriteria pattern {pattern!r} must be a JSON object")
        patterns.append(pattern)
    return patterns


_OPERATORS = ("prefix", "suffix", "equals-ignore-case", "wildcard", "anything-but", "numeric", "exists", "cidr")
_NUMERIC_OPS = ("<", "<=", ">", ">=", "=")


def pattern_problem(pattern: Any, path: str = "") -> str | None:
    """Why ``pattern`` is not a valid EventBridge pattern (None when it is), with the reason text
    EventBridge gives where known, without the source position AWS appends (pure). Leaves must be
    arrays of values or of operator objects."""
    if not isinstance(pattern, Mapping):
        return "Filter is not an object"
    for key, rule in pattern.items():
        where = f"{path}{key}"
        if key == "$or":
            if not isinstance(rule, list) or len(rule) < 2:
                return "$or must be an array of at least two patterns"
            for sub in rule:
                if problem := pattern_problem(sub, path):
                    return problem
        elif isinstance(rule, Mapping):
            if problem := pattern_problem(rule, f"{where}."):
                return problem
        elif isinstance(rule, list):
            if not rule:
                return "Empty arrays are not allowed"
            for value in rule:
                if problem := _value_problem(value, where):
                    return problem
        else:
            return f'"{where}" must be an object or an array'
    return None


def _value_problem(value: Any, where: str) -> str | None:
    if not isinstance(value, Mapping):
        if isinstance(value, list):
            return f'Match value must be String, number, true, false, or null at "{where}"'
        return None
    if len(value) != 1:
        return f'"{where}": an operator object has exactly one key'
    (op, arg), = value.items()
    if op not in _OPERATORS:
        return f"Unrecognized match type {op}"
    if op in ("prefix", "suffix"):
        if isinstance(arg, Mapping) and set(arg) == {"equals-ignore-case"} and isinstance(arg["equals-ignore-case"], str):
            return None
        return None if isinstance(arg, str) else f"{op} match pattern must be a string"
    if op in ("equals-ignore-case", "wildcard", "cidr"):
        return None if isinstance(arg, str) else f"{op} match pattern must be a string"
    if op == "exists":
        return None if isinstance(arg, bool) else "exists match pattern must be either true or false."
    if op == "numeric":
        if not isinstance(arg, list) or not arg or len(arg) % 2 or len(arg) > 4:
            return "Value of numeric must be an array of one or two comparisons"
        for operator, bound in zip(arg[::2], arg[1::2], strict=True):
            if operator not in _NUMERIC_OPS:
                return f"Unrecognized numeric range operator: {operator}"
            if isinstance(bound, bool) or not isinstance(bound, (int, float)):
                return f"Value of {operator} must be numeric"
        return None
    # anything-but: a value, a list of strings or of numbers, or one prefix/suffix/wildcard/equals-ignore-case
    if isinstance(arg, Mapping):
        (inner, inner_arg), = arg.items() if len(arg) == 1 else ((None, None),)
        if inner not in ("prefix", "suffix", "wildcard", "equals-ignore-case"):
            return "Unsupported anything-but pattern"
        return None if isinstance(inner_arg, (str, list)) else f"{inner} match pattern must be a string"
    if isinstance(arg, list) and len({type(v) for v in arg if not isinstance(v, bool)}) > 1:
        return "Inside anything but list, start|null|boolean is not supported."
    return None


def parse_pattern(text: Any) -> tuple[Any, str | None]:
    """The pattern ``text`` names (JSON text, or already parsed) and why it is invalid (None when
    it is valid) (pure)."""
    try:
        pattern = json.loads(text) if isinstance(text, (str, bytes)) else text
    except ValueError as exc:
        return None, f"Filter is not valid JSON: {exc}"
    return pattern, pattern_problem(pattern)


def filter_criteria_problem(criteria: Mapping[str, Any] | None) -> str | None:
    """Why a mapping's ``FilterCriteria`` is invalid (None when it is valid) (pure)."""
    for item in (criteria or {}).get("Filters") or []:
        _, problem = parse_pattern(item.get("Pattern") if isinstance(item, Mapping) else None)
        if problem:
            return problem
    return None


def passes_filters(patterns: Sequence[Mapping[str, Any]], record: Mapping[str, Any]) -> bool:
    """True when there are no patterns or any pattern matches the record."""
    return not patterns or any(matches(p, record) for p in patterns)


def matches(pattern: Mapping[str, Any], event: Any) -> bool:
    """True when ``event`` matches the EventBridge ``pattern``, with EventBridge's semantics: the
    event is flattened to leaf values by dotted path (``{"a": {"b": 1}}`` and ``{"a.b": 1}`` are the
    same, arrays of objects match through every element), ``exists`` is about leaf values (an
    object, an empty array or a missing parent does not exist), numbers equal by value."""
    return _match(pattern, _leaves(event), "")


def _leaves(event: Any) -> dict[str, list[Any]]:
    """Every leaf value of ``event`` by dotted path; an array gives each of its elements (pure)."""
    out: dict[str, list[Any]] = {}

    def walk(value: Any, path: str) -> None:
        if isinstance(value, Mapping):
            for key, item in value.items():
                walk(item, f"{path}.{key}" if path else str(key))
        elif isinstance(value, list):
            for item in value:
                walk(item, path)
        else:
            out.setdefault(path, []).append(value)

    walk(event, "")
    return out


def _match(pattern: Mapping[str, Any], leaves: Mapping[str, list[Any]], prefix: str) -> bool:
    for key, rule in pattern.items():
        if key == "$or":
            if not any(_match(sub, leaves, prefix) for sub in rule):
                return False
            continue
        path = f"{prefix}{key}"
        if isinstance(rule, Mapping):
            if not _match(rule, leaves, f"{path}."):
                return False
        elif isinstance(rule, list):
            if not _matches_any(rule, leaves.get(path) or []):
                return False
        else:
            raise ConfigurationError(
                f"filter rule for {key!r} must be a list or an object, got {rule!r}"
            )
    return True


def _matches_any(rules: list[Any], values: list[Any]) -> bool:
    for rule in rules:
        if isinstance(rule, Mapping):
            if "exists" in rule:
                if bool(rule["exists"]) == bool(values):
                    return True
            elif any(_matches_operator(rule, v) for v in values):
                return True
        elif any(_equal(v, rule) for v in values):
            return True
    return False


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _equal(value: Any, expected: Any) -> bool:
    """Exact matching: numbers by value (300 is 300.0), everything else by value and type."""
    if _is_number(value) and _is_number(expected):
        return float(value) == float(expected)
    return bool(value == expected and type(value) is type(expected))


def _matches_operator(rule: Mapping[str, Any], value: Any) -> bool:
    (op, arg), = rule.items()
    if op == "prefix":
        return _text_op(arg, value, str.startswith)
    if op == "suffix":
        return _text_op(arg, value, str.endswith)
    if op == "equals-ignore-case":
        return isinstance(value, str) and value.lower() == str(arg).lower()
    if op == "wildcard":
        return isinstance(value, str) and _wildcard(str(arg)).fullmatch(value) is not None
    if op == "anything-but":
        return _anything_but(arg, value)
    if op == "numeric":
        return _numeric(arg, value)
    if op == "cidr":
        return _in_cidr(str(arg), value)
    raise ConfigurationError(f"filter operator {op!r} is not supported; use prefix, suffix, "
                             "equals-ignore-case, wildcard, anything-but, numeric, cidr or exists")


def _wildcard(pattern: str) -> re.Pattern[str]:
    """EventBridge's wildcard: ``*`` is any run of characters, ``\\*`` a literal star, nothing else special."""
    parts, escaped = [], False
    for char in pattern:
        if escaped:
            parts.append(re.escape(char))
            escaped = False
        elif char == "\\":
            escaped = True
        else:
            parts.append(".*" if char == "*" else re.escape(char))
    return re.compile("".join(parts), re.DOTALL)


def _in_cidr(network: str, value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        return ipaddress.ip_address(value) in ipaddress.ip_network(network, strict=False)
    except ValueError:
        return False


def _text_op(arg: Any, value: Any, check: Any) -> bool:
    if isinstance(arg, Mapping) and "equals-ignore-case" in arg:
        return isinstance(value, str) and check(value.lower(), str(arg["equals-ignore-case"]).lower())
    return isinstance(value, str) and bool(check(value, str(arg)))


def _anything_but(arg: Any, value: Any) -> bool:
    if isinstance(arg, Mapping):
        (op, inner), = arg.items()
        options = inner if isinstance(inner, list) else [inner]
        return not any(_matches_operator({op: option}, value) for option in options)
    excluded = arg if isinstance(arg, list) else [arg]
    return not any(_equal(value, item) for item in excluded)


def _numeric(arg: list[Any], value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    checks = {"<": float.__lt__, "<=": float.__le__, ">": float.__gt__, ">=": float.__ge__,
              "=": float.__eq__}
    pairs = zip(arg[::2], arg[1::2], strict=True)
    return all(checks[op](float(value), float(bound)) for op, bound in pairs)
