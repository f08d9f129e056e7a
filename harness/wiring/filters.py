"""EventBridge event patterns: validation with EventBridge's messages, matching (compiled by
``pattern_match``), and event source mappings' FilterCriteria.

Pure functions; see https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping, Sequence
from typing import Any

from harness.errors import ConfigurationError
from harness.wiring.pattern_match import Pattern, compile_pattern


def parse_filter_criteria(criteria: Mapping[str, Any] | None) -> list[Pattern]:
    """The compiled patterns of a mapping's FilterCriteria (each ``Pattern`` is a JSON string).

    Raises:
        ConfigurationError: a pattern is not valid JSON or not a valid pattern.
    """
    patterns: list[Pattern] = []
    for item in (criteria or {}).get("Filters") or []:
        text = item.get("Pattern") if isinstance(item, Mapping) else None
        pattern, problem = parse_pattern(text)
        if problem:
            raise ConfigurationError(f"FilterCriteria pattern {text!r} is invalid: {problem}; fix the mapping's filter")
        patterns.append(compile_pattern(pattern))
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
        if not isinstance(arg, str):
            return f"{op} match pattern must be a string"
        if op == "wildcard" and "**" in arg:
            return f"Consecutive wildcard characters at pos {arg.index('**') + 1}"
        if op == "cidr" and not _is_network(arg):
            return f"Nonstandard IP address: {arg}"
        return None
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
    kinds = {"string" if isinstance(v, str) else "number" if isinstance(v, (int, float)) and not isinstance(v, bool)
             else "other" for v in (arg if isinstance(arg, list) else [])}
    if "other" in kinds or len(kinds) > 1:  # only strings, or only numbers
        return "Inside anything but list, start|null|boolean is not supported."
    return None


def _is_network(text: str) -> bool:
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        return False
    return True


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


def passes_filters(patterns: Sequence[Mapping[str, Any] | Pattern], record: Mapping[str, Any]) -> bool:
    """True when there are no patterns or any pattern matches the record."""
    return not patterns or any(matches(p, record) for p in patterns)


def matches(pattern: Mapping[str, Any] | Pattern, event: Any) -> bool:
    """True when ``event`` matches the EventBridge ``pattern``, with EventBridge's semantics: leaf
    values by dotted path (``{"a": {"b": 1}}`` and ``{"a.b": 1}`` are the same, arrays of objects
    match through every element), ``exists`` is about leaf values (an object, an empty array or a
    missing parent does not exist), numbers equal by value, wildcard with only ``*`` special.
    Compile a pattern matched often once (``compile_pattern``) and pass the ``Pattern``."""
    return (pattern if isinstance(pattern, Pattern) else compile_pattern(pattern)).matches(event)
