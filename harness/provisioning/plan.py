"""Deployment plans (pure): validate a template against the handlers and order its resources."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from harness.provisioning.errors import (
    ProvisioningError,
    UnsupportedPropertyError,
    UnsupportedResourceError,
)
from harness.provisioning.intrinsics import references
from harness.provisioning.resources import HANDLERS, handler_for
from harness.provisioning.template import Template

# Types that describe the template rather than create anything.
METADATA_TYPES = frozenset({"AWS::CDK::Metadata"})


@dataclass(frozen=True)
class DeploymentPlan:
    """Resources in creation order and what each depends on."""

    order: tuple[str, ...]
    dependencies: Mapping[str, frozenset[str]]

    def reverse(self) -> tuple[str, ...]:
        return tuple(reversed(self.order))


def validate(template: Template) -> None:
    """Every type has a handler and every property is applied, or one error lists all problems.

    Raises:
        ProvisioningError: naming each logical id, type and property that cannot be deployed.
    """
    problems: list[str] = []
    for logical_id, resource in template.resources.items():
        type_name = str(resource["Type"])
        if type_name in METADATA_TYPES:
            continue
        if type_name.startswith("Custom::") or type_name == "AWS::CloudFormation::CustomResource":
            problems.append(f"resource {logical_id} is a custom resource ({type_name}); custom resources run "
                            "Lambda code at deploy time, which the harness does not emulate: replace it "
                            "with a native resource or a property override")
            continue
        handler = handler_for(type_name)
        if handler is None:
            problems.append(str(UnsupportedResourceError(logical_id, type_name, list(HANDLERS))))
            continue
        for prop in resource.get("Properties") or {}:
            if prop not in handler.properties:
                problems.append(str(UnsupportedPropertyError(logical_id, type_name, prop, list(handler.properties))))
    if problems:
        raise ProvisioningError(f"{template.source} cannot be deployed:\n  - " + "\n  - ".join(problems))


def plan(template: Template, known: frozenset[str] = frozenset()) -> DeploymentPlan:
    """Validate and order the template's resources (dependencies first, template order otherwise).

    ``known`` names resources that exist already (created by another engine) and may be referred to.

    Raises:
        ProvisioningError: validation failed, a reference names no resource, or a cycle exists.
    """
    validate(template)
    resources = {k: v for k, v in template.resources.items() if v["Type"] not in METADATA_TYPES}
    params = set(template.parameters)
    dependencies: dict[str, frozenset[str]] = {}
    for logical_id, resource in resources.items():
        refs = references(resource.get("Properties") or {}) - params
        depends_on = resource.get("DependsOn") or []
        refs |= {depends_on} if isinstance(depends_on, str) else set(depends_on)
        unknown = sorted(r for r in refs if r not in resources and r not in template.resources and r not in known)
        if unknown:
            raise ProvisioningError(f"{template.source}: resource {logical_id} refers to {', '.join(unknown)}, "
                                    "which is neither a resource nor a parameter")
        dependencies[logical_id] = frozenset(r for r in refs if r in resources)
    return DeploymentPlan(_topological(list(resources), dependencies, template.source), dependencies)


def _topological(ids: list[str], dependencies: Mapping[str, frozenset[str]], source: str) -> tuple[str, ...]:
    done: list[str] = []
    placed: set[str] = set()
    remaining = list(ids)
    while remaining:
        ready = [i for i in remaining if dependencies[i] <= placed]
        if not ready:
            raise ProvisioningError(f"{source}: circular dependency between {', '.join(sorted(remaining))}")
        for logical_id in ready:
            done.append(logical_id)
            placed.add(logical_id)
        remaining = [i for i in remaining if i not in placed]
    return tuple(done)


def levels(deployment: DeploymentPlan) -> list[list[str]]:
    """Resources grouped so that each group depends only on earlier groups (for parallel creation)."""
    depth: dict[str, int] = {}
    for logical_id in deployment.order:
        deps = deployment.dependencies[logical_id]
        depth[logical_id] = 1 + max((depth[d] for d in deps), default=-1)
    grouped: list[list[str]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for logical_id in deployment.order:
        grouped[depth[logical_id]].append(logical_id)
    return grouped
