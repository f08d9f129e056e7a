"""CloudFormation API operations over a ``StackService``: request members in, response shapes out.

One function per operation, registered in ``OPERATIONS`` by its API name. Each validates what
CloudFormation validates synchronously and raises ``StackApiError`` with its error code; long work
(create, update, delete, execute) runs in the background and is observed through DescribeStacks.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from harness.provisioning.template import Template, template_document
from harness.stacks.documents import (
    StackApiError,
    declared_parameters,
    required_capabilities,
    validation_error,
)
from harness.stacks.model import ChangeSet, Stack
from harness.stacks.service import StackService

Params = Mapping[str, Any]
Operation = Callable[[StackService, str, str, Params], dict[str, Any]]


def create_stack(svc: StackService, account: str, region: str, p: Params) -> dict[str, Any]:
    name = str(p["StackName"])
    existing = svc.find(account, region, name)
    if existing is not None and existing.status != "REVIEW_IN_PROGRESS":
        raise StackApiError("AlreadyExistsException", f"Stack [{name}] already exists")
    body, _, template = svc.read(account, region, p)
    values = svc.parameters_for(template, p, None)
    stack = existing or svc.new_stack(account, region, name)
    stack.disable_rollback = bool(p.get("DisableRollback")) or p.get("OnFailure") == "DO_NOTHING"
    stack.delete_on_failure = p.get("OnFailure") == "DELETE"
    stack.begin("CREATE_IN_PROGRESS")
    svc.start(svc._create, stack, body, template, values, list(p.get("Capabilities") or []),
              list(p.get("Tags") or []))
    return {"StackId": stack.stack_id}


def update_stack(svc: StackService, account: str, region: str, p: Params) -> dict[str, Any]:
    stack = svc.require(account, region, str(p["StackName"]))
    _updatable(stack)
    body, _, template = svc.read(account, region, p, previous=stack)
    values = svc.parameters_for(template, p, stack)
    if body == stack.body and values == stack.parameters and not p.get("Tags"):
        raise validation_error("No updates are to be performed.")
    stack.begin("UPDATE_IN_PROGRESS")
    svc.start(svc._update, stack, body, template, values, list(p.get("Tags") or stack.tags),
              list(p.get("Capabilities") or []))
    return {"StackId": stack.stack_id}


def delete_stack(svc: StackService, account: str, region: str, p: Params) -> dict[str, Any]:
    stack = svc.find(account, region, str(p["StackName"]))
    if stack is not None and stack.deleted is None and not stack.busy:
        stack.begin("DELETE_IN_PROGRESS")
        svc.start(svc._delete, stack)
    return {}  # deleting a stack that does not exist succeeds, as in CloudFormation


def describe_stacks(svc: StackService, account: str, region: str, p: Params) -> dict[str, Any]:
    name = p.get("StackName")
    if name:
        return {"Stacks": [svc.require(account, region, str(name)).to_api()]}
    return {"Stacks": [s.to_api() for s in reversed(svc.stacks(account, region)) if s.deleted is None]}


def list_stacks(svc: StackService, account: str, region: str, p: Params) -> dict[str, Any]:
    wanted = set(p.get("StackStatusFilter") or [])
    return {"StackSummaries": [s.summary() for s in reversed(svc.stacks(account, region))
                               if not wanted or s.status in wanted]}


def describe_stack_events(svc: StackService, account: str, region: str, p: Params) -> dict[str, Any]:
    stack = svc.require(account, region, str(p["StackName"]))
    return {"StackEvents": [e.to_api() for e in reversed(stack.events)]}


def list_stack_resources(svc: StackService, account: str, region: str, p: Params) -> dict[str, Any]:
    stack = svc.require(account, region, str(p["StackName"]))
    keys = ("LogicalResourceId", "PhysicalResourceId", "ResourceType", "LastUpdatedTimestamp", "ResourceStatus",
            "ResourceStatusReason")
    return {"StackResourceSummaries": [{**{k: r[k] for k in keys if k in r},
                                        "DriftInformation": {"StackResourceDriftStatus": "NOT_CHECKED"}}
                                       for r in stack.resources()]}


def describe_stack_resources(svc: StackService, account: str, region: str, p: Params) -> dict[str, Any]:
    logical, physical = p.get("LogicalResourceId"), p.get("PhysicalResourceId")
    if p.get("StackName"):
        stacks = [svc.require(account, region, str(p["StackName"]))]
    elif physical:
        stacks = [s for s in svc.stacks(account, region) if s.deleted is None]
    else:
        raise validation_error("Either StackName or PhysicalResourceId must be specified.")
    rows = [_resource(s, r) for s in stacks for r in s.resources()
            if (not logical or r["LogicalResourceId"] == logical)
            and (not physical or r["PhysicalResourceId"] == physical)]
    if physical and not rows:
        raise validation_error(f"Stack for {physical} does not exist")
    for row in rows:
        row.pop("LastUpdatedTimestamp", None)
    return {"StackResources": rows}


def describe_stack_resource(svc: StackService, account: str, region: str, p: Params) -> dict[str, Any]:
    stack = svc.require(account, region, str(p["StackName"]))
    logical = str(p["LogicalResourceId"])
    for row in stack.resources():
        if row["LogicalResourceId"] == logical:
            detail = _resource(stack, row)
            detail.pop("Timestamp", None)
            return {"StackResourceDetail": {**detail, "Metadata": json.dumps(_metadata(stack, logical))}}
    raise validation_error(f"Resource {logical} does not exist for stack {stack.name}")


def get_template(svc: StackService, account: str, region: str, p: Params) -> dict[str, Any]:
    if p.get("ChangeSetName"):
        body = _change_set(svc, account, region, p).body
        return {"TemplateBody": body, "StagesAvailable": ["Original", "Processed"]}
    stack = svc.require(account, region, str(p["StackName"]))
    body = stack.body
    if p.get("TemplateStage") == "Processed" and stack.template is not None:
        body = json.dumps(template_document(stack.template), default=str)
    return {"TemplateBody": body, "StagesAvailable": ["Original", "Processed"]}


def validate_template(svc: StackService, account: str, region: str, p: Params) -> dict[str, Any]:
    _, document, template = svc.read(account, region, p, capabilities_for="none")
    return _summary(document, template)


def get_template_summary(svc: StackService, account: str, region: str, p: Params) -> dict[str, Any]:
    if p.get("StackName"):
        p = {"TemplateBody": svc.require(account, region, str(p["StackName"])).body}
    _, document, template = svc.read(account, region, p, capabilities_for="none")
    types = sorted({str(r.get("Type")) for r in (document.get("Resources") or {}).values()})
    return {**_summary(document, template), "ResourceTypes": types,
            "Version": str(document.get("AWSTemplateFormatVersion", "2010-09-09"))}


def _summary(document: Mapping[str, Any], template: Template) -> dict[str, Any]:
    """What ValidateTemplate reports: parameters, description, capabilities, transforms (pure)."""
    result: dict[str, Any] = {"Parameters": declared_parameters(document)}
    if document.get("Description") is not None:
        result["Description"] = str(document["Description"])
    needed, reason = required_capabilities(document, template)
    needed = [c for c in needed if c != "CAPABILITY_AUTO_EXPAND"]
    if needed:
        result.update(Capabilities=needed, CapabilitiesReason=reason)
    transform = document.get("Transform")
    if transform:
        result["DeclaredTransforms"] = transform if isinstance(transform, list) else [transform]
    return result


def create_change_set(svc: StackService, account: str, region: str, p: Params) -> dict[str, Any]:
    name, kind = str(p["StackName"]), str(p.get("ChangeSetType") or "UPDATE")
    change_set_name = str(p["ChangeSetName"])
    stack = svc.find(account, region, name)
    if kind == "CREATE" and stack is not None and stack.status != "REVIEW_IN_PROGRESS":
        raise validation_error(f"Stack [{name}] already exists and cannot be created again with the changeSet "
                               f"[{change_set_name}].")
    if kind == "UPDATE" and stack is None:
        raise validation_error(f"Stack [{name}] does not exist")
    if stack is not None and change_set_name in stack.change_sets:
        raise StackApiError("AlreadyExistsException", f"ChangeSet [{change_set_name}] already exists")
    body, document, template = svc.read(account, region, p, previous=stack, capabilities_for="change_set")
    values = svc.parameters_for(template, p, stack if kind == "UPDATE" else None)
    if stack is None:
        stack = svc.new_stack(account, region, name, "REVIEW_IN_PROGRESS")
        stack.set_status("REVIEW_IN_PROGRESS", "User Initiated")
    change_set = svc.change_set(stack, change_set_name, kind, body, document, template, values, p)
    if kind == "CREATE":
        stack.delete_on_failure = p.get("OnStackFailure") == "DELETE"
        stack.disable_rollback = p.get("OnStackFailure") == "DO_NOTHING"
    return {"Id": change_set.change_set_id, "StackId": stack.stack_id}


def describe_change_set(svc: StackService, account: str, region: str, p: Params) -> dict[str, Any]:
    return _change_set(svc, account, region, p).to_api()


def execute_change_set(svc: StackService, account: str, region: str, p: Params) -> dict[str, Any]:
    change_set = _change_set(svc, account, region, p)
    if change_set.execution_status != "AVAILABLE":
        raise StackApiError("InvalidChangeSetStatus", f"ChangeSet [{change_set.change_set_id}] cannot be executed "
                            f"in its current status of [{change_set.status}]")
    if p.get("DisableRollback") is not None:
        change_set.stack.disable_rollback = bool(p.get("DisableRollback"))
    change_set.execution_status = "EXECUTE_IN_PROGRESS"
    change_set.stack.begin("CREATE_IN_PROGRESS" if change_set.kind == "CREATE" else "UPDATE_IN_PROGRESS")
    svc.start(svc.execute, change_set)
    return {}


def delete_change_set(svc: StackService, account: str, region: str, p: Params) -> dict[str, Any]:
    change_set = _change_set(svc, account, region, p)
    if change_set.execution_status == "EXECUTE_IN_PROGRESS":
        raise StackApiError("InvalidChangeSetStatus", "a change set cannot be deleted while it executes")
    change_set.stack.change_sets.pop(change_set.name, None)
    return {}


def list_change_sets(svc: StackService, account: str, region: str, p: Params) -> dict[str, Any]:
    stack = svc.require(account, region, str(p["StackName"]))
    return {"Summaries": [c.summary() for c in stack.change_sets.values()]}


def list_exports(svc: StackService, account: str, region: str, p: Params) -> dict[str, Any]:
    return {"Exports": svc.exports(account, region)}


def _change_set(svc: StackService, account: str, region: str, p: Params) -> ChangeSet:
    name = str(p["ChangeSetName"])
    if name.startswith("arn:"):
        for stack in svc.stacks(account, region):
            for change_set in stack.change_sets.values():
                if change_set.change_set_id == name:
                    return change_set
    elif p.get("StackName"):
        owner = svc.find(account, region, str(p["StackName"]))
        if owner is not None and name in owner.change_sets:
            return owner.change_sets[name]
    else:
        raise validation_error("StackName must be specified if ChangeSetName is not specified as an ARN.")
    raise StackApiError("ChangeSetNotFound", f"ChangeSet [{name}] does not exist")


def _updatable(stack: Stack) -> None:
    if stack.busy or stack.status in ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "CREATE_FAILED", "DELETE_FAILED",
                                      "REVIEW_IN_PROGRESS"):
        raise validation_error(f"Stack:{stack.stack_id} is in {stack.status} state and can not be updated.")


def _resource(stack: Stack, row: Mapping[str, Any]) -> dict[str, Any]:
    return {"StackName": stack.name, "StackId": stack.stack_id, **row,
            "DriftInformation": {"StackResourceDriftStatus": "NOT_CHECKED"}}


def _metadata(stack: Stack, logical_id: str) -> Any:
    resource = (stack.template.resources.get(logical_id) if stack.template is not None else None) or {}
    return resource.get("Metadata") or {}


OPERATIONS: dict[str, Operation] = {
    "CreateStack": create_stack, "UpdateStack": update_stack, "DeleteStack": delete_stack,
    "DescribeStacks": describe_stacks, "ListStacks": list_stacks, "DescribeStackEvents": describe_stack_events,
    "ListStackResources": list_stack_resources, "DescribeStackResources": describe_stack_resources,
    "DescribeStackResource": describe_stack_resource, "GetTemplate": get_template,
    "ValidateTemplate": validate_template, "GetTemplateSummary": get_template_summary,
    "CreateChangeSet": create_change_set, "DescribeChangeSet": describe_change_set,
    "ExecuteChangeSet": execute_change_set, "DeleteChangeSet": delete_change_set,
    "ListChangeSets": list_change_sets, "ListExports": list_exports,
}


def call(service: StackService, account_id: str, region: str, action: str, params: Params) -> dict[str, Any]:
    """Answer one CloudFormation API operation.

    Raises:
        StackApiError: with CloudFormation's error code (ValidationError, AlreadyExistsException ...).
    """
    operation = OPERATIONS.get(action)
    if operation is None:
        raise StackApiError("InvalidAction", f"the harness's CloudFormation does not implement {action}; it "
                            f"implements {', '.join(sorted(OPERATIONS))}")
    return operation(service, account_id, region, params)
