"""Compare payloads by shape (keys and value types), the way golden AWS events are asserted."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

EVENTS = Path(__file__).parent / "events"


def golden(name: str) -> Any:
    return json.loads((EVENTS / name).read_text())


def shape(value: Any) -> Any:
    """Keys and JSON types of ``value``; lists are represented by their first element."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if value is None:
        return "null"
    return type(value).__name__


_FORMATS = (
    ("arn", re.compile(r"arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:\d{0,12}:.+")),
    ("url", re.compile(r"https?://\S+")),
    ("uuid", re.compile(r"[0-9a-z]{8}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{12}")),
    ("md5", re.compile(r"[0-9a-f]{32}")),
    ("digits", re.compile(r"\d+")),
)
_ISO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)?")


def string_format(value: str) -> str:
    """The format class of a string: an ISO time with its fraction digits and zone (``iso8601.3Z``),
    an ARN, a URL, a UUID-shaped id, an md5, digits, or text."""
    if match := _ISO_TIME.fullmatch(value):
        return f"iso8601.{len(match.group(1) or '')}{match.group(2) or ''}"
    return next((name for name, regex in _FORMATS if regex.fullmatch(value)), "text")


def conformance_problems(actual: Any, golden: Any, path: str = "", maps: frozenset[str] = frozenset()) -> list[str]:
    """Where ``actual`` differs from the ``golden`` AWS payload in field set, JSON type or string
    format, each as ``path: what``; list elements are compared with the golden's first. ``maps``:
    the paths of objects whose keys are the caller's (headers, claims), values compared by type with
    the golden's first."""
    where = path or "(top)"
    if isinstance(golden, dict):
        if not isinstance(actual, dict):
            return [f"{where}: {shape(actual)!r} where AWS has an object"]
        if path in maps:
            sample = shape(next(iter(golden.values()), None))
            return [f"{path}.{key}: {shape(item)} where AWS has {sample}" for key, item in actual.items()
                    if golden and shape(item) != sample]
        problems = [f"{path}.{key}: missing (AWS sends it)".lstrip(".") for key in golden if key not in actual]
        problems += [f"{path}.{key}: extra (AWS never sends it)".lstrip(".") for key in actual if key not in golden]
        for key in golden.keys() & actual.keys():
            problems += conformance_problems(actual[key], golden[key], f"{path}.{key}".lstrip("."), maps)
        return problems
    if isinstance(golden, list):
        if not isinstance(actual, list):
            return [f"{where}: {shape(actual)!r} where AWS has an array"]
        if not golden:
            return [] if not actual else [f"{where}: {len(actual)} element(s) where AWS has none"]
        return [problem for index, item in enumerate(actual)
                for problem in conformance_problems(item, golden[0], f"{path}[{index}]", maps)]
    if shape(actual) != shape(golden):
        return [f"{where}: {shape(actual)} where AWS has {shape(golden)}"]
    if isinstance(golden, str) and string_format(actual) != string_format(golden):
        return [f"{where}: {string_format(actual)} {actual!r} where AWS has {string_format(golden)} {golden!r}"]
    return []
