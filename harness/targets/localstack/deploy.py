"""Deploying onto LocalStack: its own CloudFormation for what it has, the harness for the rest.

LocalStack's free edition has no HTTP APIs (apigatewayv2) and no Cognito. Those resources, and REST
APIs (so that one gateway serves every API the same way on both local targets), are created by the
harness's deployer on the target's side services (an embedded moto server, with the harness's
gateway in front of the APIs); everything else goes through LocalStack's CloudFormation. ``harness.provisioning.split`` decides who creates what.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from harness.accounts import AccountScope
from harness.errors import WaitTimeoutError
from harness.provisioning.deployer import DeploymentFailedError, StackDeployer, StackRecord
from harness.provisioning.resources.base import Clients, ResourceState
from harness.provisioning.split import TemplateSplit, split_template
from harness.provisioning.template import Template, template_document, with_string_variables
from harness.waiting import wait_until

LOG = logging.getLogger(__name__)
SIDE_TYPE_PREFIXES = ("AWS::ApiGatewayV2::", "AWS::ApiGateway::", "AWS::Cognito::")
_CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
_DONE = ("CREATE_COMPLETE", "UPDATE_COMPLETE")
_FAILED = ("CREATE_FAILED", "ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "UPDATE_ROLLBACK_COMPLETE",
           "UPDATE_ROLLBACK_FAILED", "UPDATE_FAILED", "DELETE_COMPLETE")


def is_side_type(type_name: str) -> bool:
    return type_name.startswith(SIDE_TYPE_PREFIXES)


class HybridDeployer:
    """Deploys one stack into one account of the LocalStack target (see the module docstring)."""

    asset_bucket: str | None = None

    def __init__(self, clients: Clients, scope: AccountScope, *, timeout_s: float = 300.0) -> None:
        self.clients = clients
        self.account_id = scope.account_id
        self.region = scope.region
        self.timeout_s = timeout_s
        self._side = StackDeployer(clients, account_id=self.account_id, region=self.region)

    def deploy(self, template: Template, *, stack_name: str, parameters: Mapping[str, Any] | None = None,
               previous: StackRecord | None = None) -> StackRecord:
        """Create or update the stack; returns one record of all its resources.

        Raises:
            ProvisioningError: the split found a cycle; DeploymentFailedError: a resource failed
            (with LocalStack's reason for each failed resource).
        """
        started = time.perf_counter()
        # LocalStack's engine renders a YAML `true` as "True" (CloudFormation: "true").
        split = split_template(with_string_variables(template), is_side_type)
        given = dict(parameters or {})
        before = self._side.deploy(split.before, stack_name=stack_name, parameters=given,
                                   previous=_subset(previous, split.before))
        injected = {name: _value(before.resources[lid], attr) for name, (lid, attr) in split.injected.items()
                    if lid in before.resources}
        main_states, main_outputs = self._deploy_main(split.main, split, stack_name, {**given, **injected},
                                                      previous)
        after = self._side.deploy(split.after, stack_name=stack_name, parameters=given,
                                  previous=_subset(previous, split.after),
                                  external={**before.resources, **main_states})
        if split.late is not None:  # main resources that needed the side resources just created
            injected.update({name: _value(after.resources[lid], attr) for name, (lid, attr)
                             in split.injected.items() if lid in after.resources})
            main_states, main_outputs = self._deploy_main(split.late, split, stack_name, {**given, **injected},
                                                          main_states)
        record = StackRecord(stack_name, self.account_id, self.region)
        for part in (before.resources, main_states, after.resources):
            record.resources.update(part)
        record.order = [*before.order, *main_states, *after.order]
        record.outputs = {k: v for k, v in main_outputs.items() if k not in split.exported}
        record.outputs.update(after.outputs)
        record.exports = {**before.exports, **self._main_exports(stack_name), **after.exports}
        self._publish(stack_name, _output_entries(template, record))
        record.seconds = time.perf_counter() - started
        return record

    def _main_exports(self, stack_name: str) -> dict[str, Any]:
        cfn = self.clients.client("cloudformation")
        stack_id = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]["StackId"]
        return {e["Name"]: e["Value"] for page in cfn.get_paginator("list_exports").paginate()
                for e in page.get("Exports", []) if e.get("ExportingStackId") == stack_id}

    def publish_outputs(self, record: StackRecord) -> None:
        """Set the outputs of LocalStack's stack to ``record.outputs``, keeping each one's description
        and export (see ``_publish``)."""
        document = _template_document(self.clients.client("cloudformation"), record.name)
        current = document.get("Outputs") or {}
        entries = {key: {**(current.get(key) or {}), "Value": _param(value)} for key, value in record.outputs.items()}
        self._publish(record.name, entries, document)

    def _publish(self, stack_name: str, entries: dict[str, dict[str, Any]],
                 document: dict[str, Any] | None = None) -> None:
        """Replace the outputs of LocalStack's stack with ``entries`` (literal values).

        LocalStack's stack holds the main part of the template only: its own outputs are those the
        main part computes, plus the values handed to the side resources. The app's outputs (those of
        side resources included, and the local URLs of its APIs) are set as literal outputs by an
        outputs-only update, which creates or changes no resource, so ``DescribeStacks`` answers
        what the app's template declares. ``document``: the stack's current template, when read already.
        """
        cfn = self.clients.client("cloudformation")
        stack = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
        shown = {o["OutputKey"]: o.get("OutputValue") for o in stack.get("Outputs", [])}
        if shown == {k: e["Value"] for k, e in entries.items()}:
            return
        document = document if document is not None else _template_document(cfn, stack_name)
        document["Outputs"] = entries
        if not entries:
            document.pop("Outputs")
        cfn.update_stack(StackName=stack_name, TemplateBody=json.dumps(document), Capabilities=_CAPABILITIES,
                         Parameters=[{"ParameterKey": p["ParameterKey"], "UsePreviousValue": True}
                                     for p in stack.get("Parameters", [])])
        self._wait(cfn, stack_name)

    def _deploy_main(self, template: Template, split: TemplateSplit, stack_name: str,
                     parameters: Mapping[str, Any], previous: StackRecord | Mapping[str, ResourceState] | None,
                     ) -> tuple[dict[str, ResourceState], dict[str, Any]]:
        cfn = self.clients.client("cloudformation")
        args = {"StackName": stack_name, "TemplateBody": json.dumps(template_document(template)),
                "Parameters": [{"ParameterKey": k, "ParameterValue": _param(v)} for k, v in parameters.items()
                               if k in template.parameters],
                "Capabilities": _CAPABILITIES}
        states = previous.resources if isinstance(previous, StackRecord) else previous or {}
        exists = any(not is_side_type(s.type_name) for s in states.values())
        for attempt in (1, 2, 3):
            try:
                cfn.update_stack(**args) if exists else cfn.create_stack(**args)
            except ClientError as exc:
                if "No updates are to be performed" not in str(exc):
                    raise
            try:
                stack = self._wait(cfn, stack_name)
                break
            except DeploymentFailedError as exc:
                # LocalStack's engine sometimes runs a resource's create twice under load (seen with
                # event source mappings: "ResourceConflictException ... already exists"). A new
                # attempt gets new physical names, so it does not conflict again.
                if exists or attempt == 3 or not _transient(str(exc)):
                    raise
                LOG.warning("retrying stack %s after a LocalStack conflict (attempt %d): %s", stack_name, attempt, exc)
                cfn.delete_stack(StackName=stack_name)
                wait_until(lambda: _gone(cfn, stack_name), timeout=self.timeout_s, interval=0.2,
                           description=f"deleting failed stack {stack_name}")
        outputs = {o["OutputKey"]: o.get("OutputValue") for o in stack.get("Outputs", [])}
        result: dict[str, ResourceState] = {}
        for item in cfn.describe_stack_resources(StackName=stack_name)["StackResources"]:
            logical_id = item["LogicalResourceId"]
            resource = template.resources.get(logical_id, {})
            ref = outputs.get(f"Main{logical_id}Ref", item.get("PhysicalResourceId"))
            attributes = {attr: outputs[name] for name, (lid, attr) in split.exported.items()
                          if lid == logical_id and attr and name in outputs}
            result[logical_id] = ResourceState(logical_id, item["ResourceType"], str(item.get("PhysicalResourceId")),
                                               ref, attributes, dict(resource.get("Properties") or {}))
        return result, outputs

    def _wait(self, cfn: Any, stack_name: str) -> dict[str, Any]:
        def status() -> dict[str, Any]:
            stack: dict[str, Any] = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
            return stack

        def finished(stack: dict[str, Any]) -> bool:
            return str(stack["StackStatus"]) in _DONE + _FAILED

        try:
            stack = wait_until(status, finished, timeout=self.timeout_s, interval=0.1,
                               description=f"LocalStack stack {stack_name}")
        except WaitTimeoutError as exc:
            raise DeploymentFailedError(f"stack {stack_name} did not finish in {self.timeout_s:g} s; "
                                        "see the LocalStack log", StackRecord(stack_name, self.account_id,
                                                                              self.region)) from exc
        if stack["StackStatus"] in _DONE:
            return stack
        failures = [f"{e['LogicalResourceId']} ({e.get('ResourceType')}): {e.get('ResourceStatusReason')}"
                    for e in cfn.describe_stack_events(StackName=stack_name)["StackEvents"]
                    if str(e.get("ResourceStatus", "")).endswith("FAILED")]
        raise DeploymentFailedError(
            f"LocalStack's CloudFormation could not deploy {stack_name} ({stack['StackStatus']}):\n  - "
            + "\n  - ".join(failures or [str(stack.get("StackStatusReason"))]),
            StackRecord(stack_name, self.account_id, self.region))

    def destroy(self, record: StackRecord) -> list[str]:
        """Delete the side resources and LocalStack's stack; returns what could not be deleted."""
        side = StackRecord(record.name, record.account_id, record.region,
                           {k: v for k, v in record.resources.items() if is_side_type(v.type_name)},
                           [k for k in record.order if is_side_type(record.resources[k].type_name)])
        failed = self._side.destroy(side)
        cfn = self.clients.client("cloudformation")
        try:
            cfn.delete_stack(StackName=record.name)
            wait_until(lambda: _gone(cfn, record.name), timeout=self.timeout_s, interval=0.2,
                       description=f"deleting stack {record.name}")
        except (ClientError, WaitTimeoutError) as exc:
            failed.append(f"stack {record.name}: {exc}")
        return failed


def _transient(reason: str) -> bool:
    return "ResourceConflictException" in reason or "already exists" in reason


def _gone(cfn: Any, name: str) -> bool:
    try:
        stacks = cfn.describe_stacks(StackName=name)["Stacks"]
    except ClientError:
        return True
    return not stacks or stacks[0]["StackStatus"] == "DELETE_COMPLETE"


def _template_document(cfn: Any, stack_name: str) -> dict[str, Any]:
    body = cfn.get_template(StackName=stack_name)["TemplateBody"]
    return dict(body) if isinstance(body, Mapping) else dict(json.loads(body))


def _output_entries(template: Template, record: StackRecord) -> dict[str, dict[str, Any]]:
    """The app's outputs as literal template outputs, with their descriptions and export names (pure)."""
    export_names = {str(value): name for name, value in record.exports.items()}
    entries: dict[str, dict[str, Any]] = {}
    for key, value in record.outputs.items():
        spec = template.outputs.get(key) or {}
        entry: dict[str, Any] = {"Value": _param(value)}
        if isinstance(spec.get("Description"), str):
            entry["Description"] = spec["Description"]
        if spec.get("Export") and str(value) in export_names:
            entry["Export"] = {"Name": export_names[str(value)]}
        entries[key] = entry
    return entries


def _subset(previous: StackRecord | None, template: Template) -> StackRecord | None:
    if previous is None:
        return None
    keep = [k for k in previous.order if k in template.resources]
    return StackRecord(previous.name, previous.account_id, previous.region,
                       {k: previous.resources[k] for k in keep}, keep)


def _value(state: ResourceState, attribute: str | None) -> Any:
    return state.attributes[attribute] if attribute else state.ref


def _param(value: Any) -> str:
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)
