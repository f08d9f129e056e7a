"""EventBridge-style content filtering, as used by event source mapping FilterCriteria.

Pure functions; see https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html
"""

from __future__ import annotations

import fnmatch
import json
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


def passes_filters(patterns: Sequence[Mapping[str, Any]], record: Mapping[str, Any]) -> bool:
    """True when there are no patterns or any pattern matches the record."""
    return not patterns or any(matches(p, record) for p in patterns)


def matches(pattern: Mapping[str, Any], event: Any) -> bool:
    """True when ``event`` matches the EventBridge ``pattern``."""
    for key, rule in pattern.items():
        if key == "$or":
            if not any(matches(p, event) for p in rule):
                return False
            continue
        present = isinstance(event, Mapping) and key in event
        value = event.get(key) if present else None
        if isinstance(rule, Mapping):
            if not (present and isinstance(value, Mapping) and matches(rule, value)):
                return False
        elif isinstance(rule, list):
            if not _matches_any(rule, value, present):
                return False
        else:
            raise ConfigurationError(
                f"filter rule for {key!r} must be a list or an object, got {rule!r}"
            )
    return True


def _matches_any(rules: list[Any], value: Any, present: bool) -> bool:
    values = value if isinstance(value, list) else [value]
    for rule in rules:
        if isinstance(rule, Mapping):
            if "exists" in rule:
                if bool(rule["exists"]) == present:
                    return True
            elif present and any(_matches_operator(rule, v) for v in values):
                return True
        elif present and any(v == rule and type(v) is type(rule) for v in values):
            return True
    return False


def _matches_operator(rule: Mapping[str, Any], value: Any) -> bool:
    (op, arg), = rule.items()
    if op == "prefix":
        return _text_op(arg, value, str.startswith)
    if op == "suffix":
        return _text_op(arg, value, str.endswith)
    if op == "equals-ignore-case":
        return isinstance(value, str) and value.lower() == str(arg).lower()
    if op == "wildcard":
        return isinstance(value, str) and fnmatch.fnmatchcase(value, str(arg))
    if op == "anything-but":
        return _anything_but(arg, value)
    if op == "numeric":
        return _numeric(arg, value)
    raise ConfigurationError(f"filter operator {op!r} is not supported; use prefix, suffix, "
                             "equals-ignore-case, wildcard, anything-but, numeric or exists")


def _text_op(arg: Any, value: Any, check: Any) -> bool:
    if isinstance(arg, Mapping) and "equals-ignore-case" in arg:
        return isinstance(value, str) and check(value.lower(), str(arg["equals-ignore-case"]).lower())
    return isinstance(value, str) and bool(check(value, str(arg)))


def _anything_but(arg: Any, value: Any) -> bool:
    if isinstance(arg, Mapping):
        return not _matches_operator(arg, value)
    excluded = arg if isinstance(arg, list) else [arg]
    return value not in excluded


def _numeric(arg: list[Any], value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    checks = {"<": float.__lt__, "<=": float.__le__, ">": float.__gt__, ">=": float.__ge__,
              "=": float.__eq__}
    pairs = zip(arg[::2], arg[1::2], strict=True)
    return all(checks[op](float(value), float(bound)) for op, bound in pairs)
