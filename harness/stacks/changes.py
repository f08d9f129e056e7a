"""A change set's changes: what executing it adds, modifies and removes (pure)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from harness.provisioning.template import Template

# Property changes that replace the resource (its name or identity changes), by type.
_REPLACING = {
    "AWS::S3::Bucket": {"BucketName"}, "AWS::SQS::Queue": {"QueueName", "FifoQueue"},
    "AWS::DynamoDB::Table": {"TableName", "KeySchema"}, "AWS::Lambda::Function": {"FunctionName"},
    "AWS::IAM::Role": {"RoleName", "Path"}, "AWS::SNS::Topic": {"TopicName", "FifoTopic"},
    "AWS::Events::Rule": {"Name", "EventBusName"}, "AWS::Logs::LogGroup": {"LogGroupName"},
}


def compute_changes(old: Template | None, new: Template,
                    existing: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Add, Modify and Remove changes from ``old`` to ``new`` (``existing``: the stack's resources)."""
    physical = {str(r["LogicalResourceId"]): str(r.get("PhysicalResourceId") or "") for r in existing}
    before = dict(old.resources) if old is not None else {}
    changes = []
    for logical_id, resource in new.resources.items():
        type_name = str(resource["Type"])
        previous = before.get(logical_id)
        if previous is None:
            changes.append(_change("Add", logical_id, type_name))
        elif _canonical(previous) != _canonical(resource):
            changes.append(_change("Modify", logical_id, type_name, physical.get(logical_id),
                                   _replacement(previous, resource), _scope(previous, resource)))
    for logical_id, resource in before.items():
        if logical_id not in new.resources:
            changes.append(_change("Remove", logical_id, str(resource["Type"]), physical.get(logical_id)))
    return changes


def _change(action: str, logical_id: str, type_name: str, physical_id: str | None = None,
            replacement: str | None = None, scope: list[str] | None = None) -> dict[str, Any]:
    change: dict[str, Any] = {"Action": action, "LogicalResourceId": logical_id, "ResourceType": type_name,
                              "Scope": scope or [], "Details": []}
    if physical_id:
        change["PhysicalResourceId"] = physical_id
    if replacement:
        change["Replacement"] = replacement
    return {"Type": "Resource", "ResourceChange": change}


def _replacement(old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    if old.get("Type") != new.get("Type"):
        return "True"
    changed = _changed_properties(old, new)
    return "True" if changed & _REPLACING.get(str(new["Type"]), set()) else "False"


def _scope(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    scope = []
    if _changed_properties(old, new):
        scope.append("Properties")
    for key in ("Metadata", "DeletionPolicy", "UpdateReplacePolicy", "CreationPolicy", "UpdatePolicy"):
        if _canonical(old.get(key)) != _canonical(new.get(key)):
            scope.append(key)
    return scope


def _changed_properties(old: Mapping[str, Any], new: Mapping[str, Any]) -> set[str]:
    before, after = old.get("Properties") or {}, new.get("Properties") or {}
    return {k for k in set(before) | set(after) if _canonical(before.get(k)) != _canonical(after.get(k))}


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)
