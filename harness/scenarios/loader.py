"""Scenario files -> Scenario objects, strictly: every error names file, line and column.

Unknown keys get a "did you mean"; unknown ``${variables}`` are errors before anything runs.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from harness.errors import HarnessError
from harness.scenarios.kinds import KINDS
from harness.scenarios.model import Location, Scenario, Step
from harness.scenarios.schema import STEPS, step_schema
from harness.scenarios.variables import references

TOP_LEVEL = ("name", "description", "tags", "targets", "exclusive", "variables", "steps")
BUILTIN_VARIABLES = ("outputs", "run_id", "account_id", "region", "last", "now", "today", "yesterday",
                     "tomorrow")


class ScenarioError(HarnessError):
    """A scenario file is invalid; ``location`` says where."""

    def __init__(self, location: Location, message: str) -> None:
        super().__init__(f"{location}: {message}")
        self.location = location


def _construct(node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        return {_construct(k): _construct(v) for k, v in node.value}
    if isinstance(node, yaml.SequenceNode):
        return [_construct(v) for v in node.value]
    loader = yaml.SafeLoader("")
    return loader.construct_object(node, deep=True)


def _where(file: str, node: yaml.Node) -> Location:
    return Location(file, node.start_mark.line + 1, node.start_mark.column + 1)


def _mapping(file: str, node: yaml.Node, what: str) -> dict[str, tuple[yaml.Node, yaml.Node]]:
    if not isinstance(node, yaml.MappingNode):
        raise ScenarioError(_where(file, node), f"{what} must be a mapping")
    return {str(k.value): (k, v) for k, v in node.value}


def _unknown(file: str, key_node: yaml.Node, key: str, allowed: Iterable[str], what: str) -> ScenarioError:
    allowed = list(allowed)
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else f"; expected one of {', '.join(allowed)}"
    return ScenarioError(_where(file, key_node), f"unknown {what} {key!r}{hint}")


def _check_type(file: str, node: yaml.Node, value: Any, schema: dict[str, Any], name: str) -> None:
    if "oneOf" in schema:  # a timeout: seconds, or seconds per target name
        for option in schema["oneOf"]:
            try:
                _check_type(file, node, value, option, name)
                if isinstance(value, dict):
                    for key, item in value.items():
                        _check_type(file, node, item, option.get("additionalProperties") or {}, f"{name}.{key}")
                return
            except ScenarioError:
                continue
        raise ScenarioError(_where(file, node), f"{name} must be a number or a mapping of target name to number "
                            f"(e.g. {{aws: 180, default: 40}}), got {value!r}")
    expected = schema.get("type")
    types: dict[str, type | tuple[type, ...]] = {"string": str, "object": dict, "number": (int, float),
                                                 "integer": int, "boolean": bool, "array": list}
    if (expected and not isinstance(value, types[expected])) or (expected in ("number", "integer") and isinstance(value, bool)):
        raise ScenarioError(_where(file, node), f"{name} must be a {expected}, got {type(value).__name__}")
    if "minimum" in schema and isinstance(value, int | float) and value < schema["minimum"]:
        raise ScenarioError(_where(file, node), f"{name} must be at least {schema['minimum']}, got {value!r}")
    if "enum" in schema and value not in schema["enum"]:
        raise ScenarioError(_where(file, node), f"{name} must be one of {', '.join(schema['enum'])}, got {value!r}")


def _step(file: str, node: yaml.Node, known_vars: set[str], index: int) -> Step:
    entries = _mapping(file, node, f"step {index}")
    name = ""
    if "name" in entries:
        name = str(_construct(entries.pop("name")[1]))
    kinds = [k for k in entries if k in STEPS]
    unknown = [k for k in entries if k not in STEPS]
    if unknown:
        raise _unknown(file, entries[unknown[0]][0], unknown[0], STEPS, "step kind")
    if len(kinds) != 1:
        raise ScenarioError(_where(file, node), f"step {index} must have exactly one kind, has {len(kinds)}")
    kind = kinds[0]
    key_node, value_node = entries[kind]
    schema = step_schema(kind)
    args_nodes = _mapping(file, value_node, f"{kind} step") if not (
        isinstance(value_node, yaml.ScalarNode) and value_node.value in ("", "~", "null")) else {}
    for key, (k_node, v_node) in args_nodes.items():
        if key not in schema["properties"]:
            raise _unknown(file, k_node, key, schema["properties"], f"{kind} key")
        _check_type(file, v_node, _construct(v_node), schema["properties"][key], f"{kind}.{key}")
    missing = [r for r in schema["required"] if r not in args_nodes]
    if missing:
        raise ScenarioError(_where(file, key_node), f"{kind} needs {', '.join(missing)}")
    alternatives = [option["required"][0] for option in schema.get("oneOf", ())]
    if alternatives and sum(key in args_nodes for key in alternatives) != 1:
        raise ScenarioError(_where(file, key_node), f"{kind} takes exactly one of {', '.join(alternatives)}")
    args = {key: _construct(v) for key, (_, v) in args_nodes.items()}
    check = KINDS[kind].check
    if check is not None:
        try:
            check(args)
        except HarnessError as exc:
            raise ScenarioError(_where(file, key_node), f"{kind}: {exc}") from exc
    for key, (_, v_node) in args_nodes.items():
        for ref in references(args[key]) - known_vars:
            close = difflib.get_close_matches(ref, sorted(known_vars), n=1)
            hint = f"; did you mean ${{{close[0]}}}?" if close else ""
            raise ScenarioError(_where(file, v_node), f"unknown variable ${{{ref}}}{hint}")
    for capture_key in ("capture",):
        known_vars.update(args.get(capture_key, {}) or {})
    if kind == "invoke" or kind == "api":
        known_vars.add("last")
    return Step(kind, args, _where(file, node), name)


def load_scenario(path: Path) -> Scenario:
    """Read and check one scenario file.

    Raises:
        ScenarioError: with file, line and column (and a suggestion where one fits).
    """
    file = str(path)
    try:
        root = yaml.compose(path.read_text(), Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark else 1
        raise ScenarioError(Location(file, line, (mark.column + 1) if mark else 1),
                            f"invalid YAML: {exc.problem}") from exc
    except OSError as exc:
        raise ScenarioError(Location(file, 1), f"cannot read: {exc}") from exc
    if root is None:
        raise ScenarioError(Location(file, 1), "the file is empty")
    top = _mapping(file, root, "a scenario")
    for key, (k_node, _) in top.items():
        if key not in TOP_LEVEL:
            raise _unknown(file, k_node, key, TOP_LEVEL, "key")
    for required in ("name", "steps"):
        if required not in top:
            raise ScenarioError(_where(file, root), f"a scenario needs {required!r}")
    variables = _construct(top["variables"][1]) if "variables" in top else {}
    if not isinstance(variables, dict):
        raise ScenarioError(_where(file, top["variables"][1]), "variables must be a mapping")
    known = set(BUILTIN_VARIABLES) | set(variables)
    steps_node = top["steps"][1]
    if not isinstance(steps_node, yaml.SequenceNode) or not steps_node.value:
        raise ScenarioError(_where(file, steps_node), "steps must be a non-empty list")
    steps = tuple(_step(file, node, known, i + 1) for i, node in enumerate(steps_node.value))
    targets: dict[str, str | None] = {}
    if "targets" in top:
        for name, spec in (_construct(top["targets"][1]) or {}).items():
            targets[str(name)] = (spec or {}).get("skip") if isinstance(spec, dict) or spec is None else None
    tags = _construct(top["tags"][1]) if "tags" in top else []
    exclusive = _construct(top["exclusive"][1]) if "exclusive" in top else False
    if not isinstance(exclusive, bool):
        raise ScenarioError(_where(file, top["exclusive"][1]), "exclusive must be true or false")
    return Scenario(name=str(_construct(top["name"][1])), file=file, steps=steps,
                    description=str(_construct(top["description"][1])) if "description" in top else "",
                    tags=tuple(str(t) for t in tags or []), targets=targets, variables=variables,
                    location=_where(file, root), exclusive=exclusive)


def scenario_files(paths: Iterable[Path]) -> list[Path]:
    """The ``*.yaml``/``*.yml`` files named or found (recursively) under ``paths``, sorted."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml")))
        elif path.exists():
            found.append(path)
        else:
            raise ScenarioError(Location(str(path), 1), "no such file or folder")
    return found
