"""``${name}`` and ``${outputs.Name}`` interpolation (pure)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from harness.errors import HarnessError

_VAR = re.compile(r"\$\{([A-Za-z_][\w.\-]*)\}")


class VariableError(HarnessError):
    pass


def lookup(path: str, variables: Mapping[str, Any]) -> Any:
    """The value at a dotted path; raises VariableError naming the missing part."""
    current: Any = variables
    walked = []
    for part in path.split("."):
        walked.append(part)
        if isinstance(current, Mapping) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            raise VariableError(f"unknown variable ${{{'.'.join(walked)}}}")
    return current


def interpolate(value: Any, variables: Mapping[str, Any]) -> Any:
    """Replace ``${...}`` everywhere; a string that is one whole reference keeps the value's type."""
    if isinstance(value, str):
        whole = _VAR.fullmatch(value)
        if whole:
            return lookup(whole.group(1), variables)
        return _VAR.sub(lambda m: str(lookup(m.group(1), variables)), value)
    if isinstance(value, list):
        return [interpolate(v, variables) for v in value]
    if isinstance(value, Mapping):
        return {k: interpolate(v, variables) for k, v in value.items()}
    return value


def references(value: Any) -> set[str]:
    """The top-level names ``value`` refers to."""
    if isinstance(value, str):
        return {m.split(".", 1)[0] for m in _VAR.findall(value)}
    if isinstance(value, list):
        return set().union(*(references(v) for v in value)) if value else set()
    if isinstance(value, Mapping):
        return set().union(*(references(v) for v in value.values())) if value else set()
    return set()
