"""Split a template between a target's own CloudFormation and the harness's deployer (pure).

Some targets deploy most of a template themselves but lack some services (LocalStack's free
edition has no HTTP APIs and no Cognito). The resources of those services ("side" resources) are
created by the harness elsewhere, in three phases:

1. ``before``: side resources that need nothing from the main stack (a user pool, an API);
2. ``main``: everything else, for the target's CloudFormation; each reference to a ``before``
   resource becomes a template parameter (``injected``), and every main value a side resource or
   an output needs becomes a stack output (``exported``);
3. ``after``: side resources that refer to main ones (an integration naming a function).

A main resource that needs an ``after`` resource would be a cycle across engines: an error.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from harness.provisioning.errors import ProvisioningError
from harness.provisioning.intrinsics import references
from harness.provisioning.template import Template

_SUB = re.compile(r"\$\{([^}]+)\}")


@dataclass(frozen=True)
class TemplateSplit:
    before: Template
    main: Template
    after: Template
    injected: Mapping[str, tuple[str, str | None]]  # main parameter -> (side logical id, attribute)
    exported: Mapping[str, tuple[str, str | None]]  # main output -> (main logical id, attribute)
    late: Template | None = None  # the whole main stack, late resources included, when there are any


def value_name(prefix: str, logical_id: str, attribute: str | None) -> str:
    """An alphanumeric name for a Ref or GetAtt value (parameter and output names allow no dots)."""
    attr = re.sub(r"[^A-Za-z0-9]", "", attribute or "")
    return f"{prefix}{logical_id}{'Att' + attr if attribute else 'Ref'}"


def _dependencies(template: Template) -> dict[str, set[str]]:
    deps: dict[str, set[str]] = {}
    for logical_id, resource in template.resources.items():
        found = references(resource.get("Properties") or {})
        depends_on = resource.get("DependsOn") or []
        found |= {depends_on} if isinstance(depends_on, str) else set(depends_on)
        deps[logical_id] = {d for d in found if d in template.resources}
    return deps


def split_template(template: Template, is_side: Callable[[str], bool]) -> TemplateSplit:
    """Split ``template``; ``is_side(type_name)`` says which resources the harness creates.

    Raises:
        ProvisioningError: a main resource depends on a side resource that depends on the main stack.
    """
    deps = _dependencies(template)
    side = {k for k, r in template.resources.items() if is_side(str(r["Type"]))}
    before: set[str] = set()
    changed = True
    while changed:
        changed = False
        for logical_id in sorted(side - before):
            if deps[logical_id] <= before:
                before.add(logical_id)
                changed = True
    after = side - before
    main = set(template.resources) - side
    late: set[str] = set()
    changed = True
    while changed:
        changed = False
        for logical_id in sorted(main - late):
            if deps[logical_id] & (after | late):
                late.add(logical_id)
                changed = True
    for logical_id in sorted(after):
        cycle = sorted(deps[logical_id] & late)
        if cycle:
            raise ProvisioningError(
                f"{template.source}: resource {logical_id} needs {', '.join(cycle)}, which need {logical_id} in "
                "turn through resources this target's CloudFormation cannot create; break the cycle (for "
                "instance, pass the value as a parameter or an environment variable set later)")
    injected: dict[str, tuple[str, str | None]] = {}
    main_resources = {k: _rewrite(template.resources[k], before, injected) for k in template.resources
                      if k in main - late}
    exported: dict[str, tuple[str, str | None]] = {}
    for logical_id in after:
        _collect(template.resources[logical_id].get("Properties") or {}, main - late, exported)
    main_outputs: dict[str, Any] = {}
    outputs_after: dict[str, Mapping[str, Any]] = {}
    late_outputs: dict[str, Any] = {}
    for name, output in template.outputs.items():
        needed = references(output.get("Value"))
        if needed & late and not needed & side:
            late_outputs[name] = output
        elif needed & side:
            outputs_after[name] = output
            _collect(output.get("Value"), main - late, exported)
        else:
            main_outputs[name] = output
    for name, (logical_id, attribute) in exported.items():
        value: Any = {"Fn::GetAtt": [logical_id, attribute]} if attribute else {"Ref": logical_id}
        main_outputs[name] = {"Value": value}
    parameters = dict(template.parameters)
    for name in injected:
        parameters[name] = {"Type": "String"}

    def pick(ids: set[str]) -> dict[str, Mapping[str, Any]]:
        return {k: v for k, v in template.resources.items() if k in ids}

    late_template = None
    if late:
        late_injected: dict[str, tuple[str, str | None]] = {}
        everything = {k: _rewrite(template.resources[k], side, late_injected) for k in template.resources
                      if k in main}
        late_parameters = {**parameters, **{name: {"Type": "String"} for name in late_injected}}
        late_template = Template(everything, late_parameters, template.conditions, template.mappings,
                                 {**main_outputs, **late_outputs}, template.transform, template.source)
        injected.update(late_injected)
    return TemplateSplit(
        before=Template(pick(before), template.parameters, template.conditions, template.mappings, {},
                        source=template.source),
        main=Template(main_resources, parameters, template.conditions, template.mappings, main_outputs,
                      template.transform, template.source),
        after=Template(pick(after), template.parameters, template.conditions, template.mappings, outputs_after,
                       source=template.source),
        injected=injected, exported=exported, late=late_template,
    )


def _rewrite(value: Any, before: set[str], injected: dict[str, tuple[str, str | None]]) -> Any:
    """``value`` with references to ``before`` (side) resources turned into parameter references."""
    if isinstance(value, list):
        return [_rewrite(v, before, injected) for v in value]
    if not isinstance(value, Mapping):
        return value
    if set(value) == {"Ref"} and value["Ref"] in before:
        name = value_name("Side", value["Ref"], None)
        injected[name] = (value["Ref"], None)
        return {"Ref": name}
    if set(value) == {"Fn::GetAtt"}:
        arg = value["Fn::GetAtt"]
        logical_id, attribute = (arg.split(".", 1) if isinstance(arg, str) else (arg[0], arg[1]))
        if logical_id in before:
            name = value_name("Side", logical_id, attribute)
            injected[name] = (logical_id, attribute)
            return {"Ref": name}
    if set(value) == {"Fn::Sub"}:
        arg = value["Fn::Sub"]
        text, variables = (arg, None) if isinstance(arg, str) else (arg[0], arg[1])

        def replace(match: re.Match[str]) -> str:
            token = match.group(1)
            logical_id, _, attribute = token.partition(".")
            if logical_id not in before or (variables and token in variables):
                return match.group(0)
            name = value_name("Side", logical_id, attribute or None)
            injected[name] = (logical_id, attribute or None)
            return "${" + name + "}"

        text = _SUB.sub(replace, text)
        return {"Fn::Sub": text if variables is None else [text, _rewrite(variables, before, injected)]}
    result: dict[str, Any] = {}
    for key, item in value.items():
        if key == "DependsOn":
            kept = [d for d in ([item] if isinstance(item, str) else item) if d not in before]
            if kept:
                result[key] = kept
            continue
        result[key] = _rewrite(item, before, injected)
    return result


def _collect(value: Any, main: set[str], exported: dict[str, tuple[str, str | None]]) -> None:
    """Record every Ref/GetAtt/Sub reference of ``value`` to a ``main`` resource."""
    if isinstance(value, list):
        for item in value:
            _collect(item, main, exported)
        return
    if not isinstance(value, Mapping):
        return
    for key, arg in value.items():
        if key == "Ref" and isinstance(arg, str) and arg in main:
            exported[value_name("Main", arg, None)] = (arg, None)
        elif key == "Fn::GetAtt":
            logical_id, attribute = (arg.split(".", 1) if isinstance(arg, str) else (arg[0], arg[1]))
            if logical_id in main:
                exported[value_name("Main", logical_id, attribute)] = (logical_id, attribute)
        elif key == "Fn::Sub":
            text = arg if isinstance(arg, str) else arg[0]
            for token in _SUB.findall(text):
                logical_id, _, attribute = token.partition(".")
                if logical_id in main:
                    exported[value_name("Main", logical_id, attribute or None)] = (logical_id, attribute or None)
            if not isinstance(arg, str):
                _collect(arg[1], main, exported)
        else:
            _collect(arg, main, exported)
