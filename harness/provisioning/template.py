"""CloudFormation templates as data: loading JSON or YAML (short-form tags included)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from harness.provisioning.errors import ProvisioningError


@dataclass(frozen=True)
class Template:
    """The parts of a template the provisioner reads."""

    resources: Mapping[str, Mapping[str, Any]]
    parameters: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    conditions: Mapping[str, Any] = field(default_factory=dict)
    mappings: Mapping[str, Any] = field(default_factory=dict)
    outputs: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    transform: Any = None
    source: str = "<template>"
    globals: Mapping[str, Any] = field(default_factory=dict)  # SAM's Globals section
    description: str | None = None
    rules: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, body: Mapping[str, Any], source: str = "<template>") -> Template:
        """Raises ProvisioningError when Resources is missing or malformed."""
        resources = body.get("Resources")
        if not isinstance(resources, Mapping) or not resources:
            raise ProvisioningError(f"{source}: the template has no Resources section")
        for logical_id, resource in resources.items():
            if not isinstance(resource, Mapping) or "Type" not in resource:
                raise ProvisioningError(f"{source}: resource {logical_id} has no Type")
        return cls(resources=resources, parameters=body.get("Parameters") or {},
                   conditions=body.get("Conditions") or {}, mappings=body.get("Mappings") or {},
                   outputs=body.get("Outputs") or {}, transform=body.get("Transform"), source=source,
                   globals=body.get("Globals") or {},
                   description=str(body["Description"]) if body.get("Description") is not None else None,
                   rules=body.get("Rules") or {})


def template_document(template: Template) -> dict[str, Any]:
    """A Template as a CloudFormation document (pure)."""
    body: dict[str, Any] = {"AWSTemplateFormatVersion": "2010-09-09", "Resources": dict(template.resources)}
    for key, value in (("Parameters", template.parameters), ("Conditions", template.conditions),
                       ("Mappings", template.mappings), ("Outputs", template.outputs), ("Rules", template.rules)):
        if value:
            body[key] = dict(value)
    if template.transform:
        body["Transform"] = template.transform
    if template.description is not None:
        body["Description"] = template.description
    return body


def with_string_variables(template: Template) -> Template:
    """The template with scalar Lambda environment values rendered as CloudFormation renders them
    (``true`` -> "true", ``0.1`` -> "0.1"), for engines that render them otherwise (pure)."""
    from harness.provisioning.resources.base import rendered_variables

    resources: dict[str, Mapping[str, Any]] = {}
    for logical_id, resource in template.resources.items():
        variables = ((resource.get("Properties") or {}).get("Environment") or {}).get("Variables")
        if resource["Type"] == "AWS::Lambda::Function" and isinstance(variables, Mapping):
            props = resource["Properties"]
            resource = {**resource, "Properties": {**props, "Environment": {
                **props["Environment"], "Variables": rendered_variables(variables)}}}
        resources[logical_id] = resource
    return dataclasses.replace(template, resources=resources)


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form intrinsic tags (!Ref, !GetAtt, !Sub ...)."""


def _tag(loader: _CfnLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _tag)


def load_template(path: Path) -> Template:
    """Read a template file (JSON or YAML).

    Raises:
        ProvisioningError: the file is missing or cannot be parsed (with the line).
    """
    if not path.is_file():
        raise ProvisioningError(f"template {path} does not exist")
    return Template.from_dict(parse_document(path.read_text(), str(path)), source=str(path))


def parse_document(text: str, path: str = "<template>") -> dict[str, Any]:
    """A template's text (JSON or YAML with short-form tags) as a mapping (pure).

    Raises:
        ProvisioningError: the text cannot be parsed (with the line) or is not a mapping.
    """
    try:
        body = json.loads(text) if text.lstrip().startswith("{") else yaml.load(text, Loader=_CfnLoader)
    except json.JSONDecodeError as exc:
        raise ProvisioningError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ProvisioningError(f"{where}: invalid YAML: {exc}") from exc
    if not isinstance(body, Mapping):
        raise ProvisioningError(f"{path}: a template must be a mapping")
    return dict(body)
