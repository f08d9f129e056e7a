"""EventBridge event patterns, compiled once and matched many times (pure).

``compile_pattern`` turns a (valid) pattern into a ``Pattern``: each leaf rule becomes one path and
one predicate (a set for exact values, small closures for the operators), so matching an event walks
only the paths the pattern names instead of flattening the whole event, and never re-reads the
pattern. Semantics are EventBridge's (see ``filters.matches`` for the list); validation is
``filters.pattern_problem``'s.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from harness.errors import ConfigurationError

Predicate = Callable[[Any], bool]


def _key(value: Any) -> Any:
    """A hashable key under which equal values meet: numbers by value, ``True`` never ``1``."""
    return ("bool", value) if value.__class__ is bool else value


class _Path:
    """A dotted path; an event's keys may themselves hold dots (``{"a.b": 1}`` is ``a`` -> ``b``)."""

    __slots__ = ("size", "steps")

    def __init__(self, segments: Sequence[str]) -> None:
        self.size = len(segments)
        # steps[i]: the event keys that can stand at position i, and the position after each
        self.steps = tuple(tuple((".".join(segments[i:j]), j) for j in range(i + 1, self.size + 1))
                           for i in range(self.size))

    def values(self, event: Any) -> list[Any]:
        # the common case without recursion: objects down to one scalar, one key matching at each step
        node, at, size, steps = event, 0, self.size, self.steps
        while at < size and isinstance(node, dict):
            found = [(key, after) for key, after in steps[at] if key in node]
            if len(found) != 1:
                if not found:
                    return []
                break
            key, at = found[0]
            node = node[key]
        else:
            if at == size and not isinstance(node, (dict, list)):
                return [node]
        out: list[Any] = []
        self._walk(node, at, out)
        return out

    def _walk(self, node: Any, at: int, out: list[Any]) -> None:
        if isinstance(node, list):
            for item in node:
                self._walk(item, at, out)
        elif at == self.size:
            if not isinstance(node, Mapping):
                out.append(node)
        elif isinstance(node, Mapping):
            for key, after in self.steps[at]:
                if key in node:
                    self._walk(node[key], after, out)


_SCALARS = frozenset({str, int, float, bool, type(None)})
_MISSING = object()


class _Leaf:
    """One leaf rule: a path and what its values may be (any one value matching any one rule)."""

    __slots__ = ("exact", "exists", "operators", "path", "top")

    def __init__(self, path: _Path, rules: list[Any]) -> None:
        self.path = path
        self.top = path.steps[0][0][0] if path.size == 1 else None  # a top-level key: looked up directly
        self.exact = frozenset(_key(rule) for rule in rules if not isinstance(rule, Mapping))
        self.operators = tuple(_operator(rule) for rule in rules if isinstance(rule, Mapping) and "exists" not in rule)
        self.exists = frozenset(bool(rule["exists"]) for rule in rules if isinstance(rule, Mapping) and "exists" in rule)

    def matches(self, event: Any) -> bool:
        if self.top is not None and event.__class__ is dict:
            value = event.get(self.top, _MISSING)
            if value.__class__ in _SCALARS:  # _scalar, inlined: this is the hot path of every bus
                if (("bool", value) if value.__class__ is bool else value) in self.exact or True in self.exists:
                    return True
                for operator in self.operators:
                    if operator(value):
                        return True
                return False
        values = self.path.values(event)
        if self.exists and bool(values) in self.exists:
            return True
        return any(self._scalar(value) for value in values)

    def _scalar(self, value: Any) -> bool:
        if True in self.exists or _key(value) in self.exact:
            return True
        return any(operator(value) for operator in self.operators)


class Pattern:
    """A compiled pattern: every leaf must match, and one branch of every ``$or``."""

    __slots__ = ("alternatives", "leaves", "source")

    def __init__(self, source: Mapping[str, Any], leaves: tuple[_Leaf, ...],
                 alternatives: tuple[tuple[Pattern, ...], ...]) -> None:
        self.source, self.leaves, self.alternatives = source, leaves, alternatives

    def matches(self, event: Any) -> bool:
        for leaf in self.leaves:
            if not leaf.matches(event):
                return False
        if not self.alternatives:
            return True
        return all(any(branch.matches(event) for branch in options) for options in self.alternatives)

    def __repr__(self) -> str:
        return f"Pattern({dict(self.source)!r})"


def compile_pattern(pattern: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> Pattern:
    """``pattern`` compiled (pure).

    Raises:
        ConfigurationError: a rule is neither an array nor an object, or names an unknown operator.
    """
    leaves: list[_Leaf] = []
    alternatives: list[tuple[Pattern, ...]] = []

    def visit(node: Mapping[str, Any], at: tuple[str, ...]) -> None:
        for key, rule in node.items():
            if key == "$or":
                alternatives.append(tuple(compile_pattern(sub, at) for sub in rule))
                continue
            path = (*at, *str(key).split("."))
            if isinstance(rule, Mapping):
                visit(rule, path)
            elif isinstance(rule, list):
                leaves.append(_Leaf(_Path(path), rule))
            else:
                raise ConfigurationError(f"filter rule for {key!r} must be a list or an object, got {rule!r}")

    visit(pattern, prefix)
    leaves.sort(key=lambda leaf: leaf.path.size)  # top-level keys (source, detail-type) first: cheapest
    return Pattern(pattern, tuple(leaves), tuple(alternatives))


def _is_text(value: Any) -> bool:
    return isinstance(value, str)


def _operator(rule: Mapping[str, Any]) -> Predicate:
    (op, arg), = rule.items()
    if op in ("prefix", "suffix"):
        test = str.startswith if op == "prefix" else str.endswith
        if isinstance(arg, Mapping) and "equals-ignore-case" in arg:
            folded = str(arg["equals-ignore-case"]).lower()
            return lambda v: _is_text(v) and test(v.lower(), folded)
        text = str(arg)
        return lambda v: _is_text(v) and test(v, text)
    if op == "equals-ignore-case":
        folded = str(arg).lower()
        return lambda v: _is_text(v) and v.lower() == folded
    if op == "wildcard":
        full = wildcard_regex(str(arg)).fullmatch
        return lambda v: _is_text(v) and full(v) is not None
    if op == "anything-but":
        return _anything_but(arg)
    if op == "numeric":
        return _numeric(arg)
    if op == "cidr":
        network = ipaddress.ip_network(str(arg), strict=False)
        return lambda v: _in_network(network, v)
    raise ConfigurationError(f"filter operator {op!r} is not supported; use prefix, suffix, "
                             "equals-ignore-case, wildcard, anything-but, numeric, cidr or exists")


def wildcard_regex(pattern: str) -> re.Pattern[str]:
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


def _in_network(network: Any, value: Any) -> bool:
    if not _is_text(value):
        return False
    try:
        return ipaddress.ip_address(value) in network
    except ValueError:
        return False


def _anything_but(arg: Any) -> Predicate:
    if isinstance(arg, Mapping):
        (op, inner), = arg.items()
        excluded = tuple(_operator({op: option}) for option in (inner if isinstance(inner, list) else [inner]))
        return lambda v: not any(test(v) for test in excluded)
    values = frozenset(_key(item) for item in (arg if isinstance(arg, list) else [arg]))
    return lambda v: _key(v) not in values


_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "<": float.__lt__, "<=": float.__le__, ">": float.__gt__, ">=": float.__ge__, "=": float.__eq__}


def _numeric(arg: list[Any]) -> Predicate:
    checks = tuple((_COMPARE[op], float(bound)) for op, bound in zip(arg[::2], arg[1::2], strict=True))

    def test(value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        number = float(value)
        return all(compare(number, bound) for compare, bound in checks)

    return test
