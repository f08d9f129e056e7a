"""Stacks, their events and change sets as CloudFormation's API reports them (pure).

Each ``to_api`` returns the shape botocore's CloudFormation model names for it (``Stack``,
``StackEvent``, ``StackResourceSummary`` ...), so any serializer driven by that model can send it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from harness.provisioning.deployer import StackRecord, physical_id_of
from harness.provisioning.template import Template

# Stack statuses an operation can end in, and those from which a stack can still be updated.
IN_PROGRESS_SUFFIXES = ("_IN_PROGRESS",)
UPDATABLE = frozenset({"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE"})
NO_CHANGES = ("The submitted information didn't contain changes. Submit different information to create a "
              "change set.")


def now() -> datetime:
    return datetime.now(UTC)


def stack_arn(region: str, account_id: str, name: str) -> str:
    return f"arn:aws:cloudformation:{region}:{account_id}:stack/{name}/{uuid.uuid4()}"


@dataclass(frozen=True)
class StackEvent:
    stack_id: str
    stack_name: str
    logical_id: str
    type_name: str
    status: str
    physical_id: str = ""
    reason: str | None = None
    timestamp: datetime = field(default_factory=now)
    event_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def to_api(self) -> dict[str, Any]:
        event = {"StackId": self.stack_id, "EventId": self.event_id, "StackName": self.stack_name,
                 "LogicalResourceId": self.logical_id, "PhysicalResourceId": self.physical_id,
                 "ResourceType": self.type_name, "Timestamp": self.timestamp, "ResourceStatus": self.status}
        if self.reason:
            event["ResourceStatusReason"] = self.reason
        return event


@dataclass
class ChangeSet:
    change_set_id: str
    name: str
    stack: Stack
    kind: str  # CREATE or UPDATE
    body: str
    template: Template
    parameters: dict[str, str]
    tags: list[dict[str, str]]
    capabilities: list[str]
    changes: list[dict[str, Any]]
    description: str | None = None
    status: str = "CREATE_COMPLETE"
    status_reason: str | None = None
    execution_status: str = "AVAILABLE"
    created: datetime = field(default_factory=now)

    def summary(self) -> dict[str, Any]:
        summary = {"StackId": self.stack.stack_id, "StackName": self.stack.name, "ChangeSetId": self.change_set_id,
                   "ChangeSetName": self.name, "ExecutionStatus": self.execution_status, "Status": self.status,
                   "CreationTime": self.created}
        if self.status_reason:
            summary["StatusReason"] = self.status_reason
        if self.description:
            summary["Description"] = self.description
        return summary

    def to_api(self) -> dict[str, Any]:
        return {**self.summary(), "Parameters": parameters_api(self.parameters), "Tags": self.tags,
                "Capabilities": self.capabilities, "Changes": self.changes, "NotificationARNs": [],
                "RollbackConfiguration": {}, "IncludeNestedStacks": False}


@dataclass
class Stack:
    """One stack of one account and region; ``record`` is what the provisioner created for it."""

    stack_id: str
    name: str
    account_id: str
    region: str
    status: str
    body: str = ""
    template: Template | None = None
    parameters: dict[str, str] = field(default_factory=dict)
    tags: list[dict[str, str]] = field(default_factory=list)
    capabilities: list[str] = field(default_factory=list)
    disable_rollback: bool = False
    delete_on_failure: bool = False  # OnFailure / OnStackFailure DELETE: a failed create leaves no stack
    record: StackRecord | None = None
    status_reason: str | None = None
    events: list[StackEvent] = field(default_factory=list)
    change_sets: dict[str, ChangeSet] = field(default_factory=dict)
    resource_status: dict[str, tuple[str, datetime, str | None]] = field(default_factory=dict)
    created: datetime = field(default_factory=now)
    updated: datetime | None = None
    deleted: datetime | None = None
    operation_start: int = 0  # index of the current operation's first event

    def begin(self, status: str) -> None:
        """Start an operation (CREATE, UPDATE, DELETE): its first event, "User Initiated". The API
        begins it before the call returns, as CloudFormation does (a waiter polling right after
        DeleteStack must not read the old, finished status); the operation's own call is then a no-op."""
        if self.status == status and self.status_reason == "User Initiated":
            return
        self.operation_start = len(self.events)
        self.set_status(status, "User Initiated")

    def failures(self) -> list[tuple[str, str, str]]:
        """(logical id, type, reason) of each resource that failed in the current operation."""
        return [(e.logical_id, e.type_name, e.reason or "") for e in self.events[self.operation_start:]
                if e.status.endswith("_FAILED") and e.type_name != "AWS::CloudFormation::Stack"]

    @property
    def busy(self) -> bool:
        return self.status.endswith(IN_PROGRESS_SUFFIXES) and self.status != "REVIEW_IN_PROGRESS"

    def set_status(self, status: str, reason: str | None = None) -> None:
        """The stack's own status change, with its stack event."""
        self.status, self.status_reason = status, reason
        self.events.append(StackEvent(self.stack_id, self.name, self.name, "AWS::CloudFormation::Stack", status,
                                      self.stack_id, reason))
        if status == "DELETE_COMPLETE":
            self.deleted = now()

    def resource_event(self, logical_id: str, type_name: str, status: str, physical_id: str | None,
                       reason: str | None) -> None:
        self.events.append(StackEvent(self.stack_id, self.name, logical_id, type_name, status,
                                      physical_id or "", reason))
        self.resource_status[logical_id] = (status, now(), reason)

    def to_api(self) -> dict[str, Any]:
        stack: dict[str, Any] = {
            "StackId": self.stack_id, "StackName": self.name, "CreationTime": self.created,
            "StackStatus": self.status, "Parameters": parameters_api(self.parameters), "Tags": self.tags,
            "Capabilities": self.capabilities, "Outputs": self.outputs(), "NotificationARNs": [],
            "DisableRollback": self.disable_rollback, "EnableTerminationProtection": False,
            "RollbackConfiguration": {}, "DriftInformation": {"StackDriftStatus": "NOT_CHECKED"}}
        for key, value in (("StackStatusReason", self.status_reason), ("LastUpdatedTime", self.updated),
                           ("DeletionTime", self.deleted), ("Description", self.description)):
            if value:
                stack[key] = value
        return stack

    def summary(self) -> dict[str, Any]:
        summary: dict[str, Any] = {"StackId": self.stack_id, "StackName": self.name, "CreationTime": self.created,
                                   "StackStatus": self.status,
                                   "DriftInformation": {"StackDriftStatus": "NOT_CHECKED"}}
        for key, value in (("StackStatusReason", self.status_reason), ("LastUpdatedTime", self.updated),
                           ("DeletionTime", self.deleted), ("TemplateDescription", self.description)):
            if value:
                summary[key] = value
        return summary

    @property
    def description(self) -> str | None:
        return self.template.description if self.template is not None else None

    def outputs(self) -> list[dict[str, Any]]:
        if self.record is None or self.template is None or not self.status.endswith("_COMPLETE") \
                or self.status.startswith(("DELETE", "ROLLBACK")):
            return []
        outputs = []
        exports = {str(v): k for k, v in self.record.exports.items()}
        for key, value in self.record.outputs.items():
            output = {"OutputKey": key, "OutputValue": _string(value)}
            description = (self.template.outputs.get(key) or {}).get("Description")
            if description:
                output["Description"] = str(description)
            export = exports.get(str(value)) if (self.template.outputs.get(key) or {}).get("Export") else None
            if export:
                output["ExportName"] = export
            outputs.append(output)
        return outputs

    def resources(self) -> list[dict[str, Any]]:
        """Each resource with its physical id, type and status, in creation order."""
        states = self.record.resources if self.record is not None else {}
        order = list(self.record.order) if self.record is not None else []
        order += [lid for lid in self.resource_status if lid not in states]
        rows = []
        for logical_id in order:
            state = states.get(logical_id)
            status, at, reason = self.resource_status.get(logical_id, ("CREATE_COMPLETE", self.created, None))
            type_name = state.type_name if state is not None else self._type_of(logical_id)
            rows.append({"LogicalResourceId": logical_id, "ResourceType": type_name, "ResourceStatus": status,
                         "PhysicalResourceId": physical_id_of(state) if state is not None else "",
                         "Timestamp": at, "LastUpdatedTimestamp": at,
                         **({"ResourceStatusReason": reason} if reason else {})})
        return rows

    def _type_of(self, logical_id: str) -> str:
        resource = (self.template.resources.get(logical_id) if self.template is not None else None) or {}
        return str(resource.get("Type", ""))


def parameters_api(values: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"ParameterKey": k, "ParameterValue": v} for k, v in values.items()]


def _string(value: Any) -> str:
    return ",".join(str(v) for v in value) if isinstance(value, list) else str(value)
