"""StackDeployer: creates, updates and deletes a template's resources through the public APIs.

The deployer reads a plan (validated, ordered), resolves each resource's properties with what was
created before it, and calls the resource's handler. Independent resources are created in parallel.
The result is a StackRecord, which a later deploy updates and ``destroy`` removes.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from harness.provisioning.coerce import ProvisioningClients, provisioning
from harness.provisioning.errors import ProvisioningError
from harness.provisioning.intrinsics import ResolveContext, resolve
from harness.provisioning.plan import levels, plan
from harness.provisioning.resources import handler_for
from harness.provisioning.resources.base import Clients, Created, HandlerContext, ResourceState
from harness.provisioning.rules import check_rules
from harness.provisioning.template import Template

LOG = logging.getLogger(__name__)


@dataclass
class StackRecord:
    """What a deployment created: resources by logical id, in creation order, and the outputs."""

    name: str
    account_id: str
    region: str
    resources: dict[str, ResourceState] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    exports: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    stack_id: str | None = None  # where the target keeps a stack of its own (AWS): deleted by id
    # False where properties are the template's with only Ref resolved (AWS): readers ask the services
    resolved: bool = True
    # where the target takes time after the deploy before traffic flows (AWS): seconds waited for it
    ready_s: float | None = None
    canary: dict[str, Any] | None = None  # the entry points checked once ready (AWS), see targets.aws.readiness

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "account_id": self.account_id, "region": self.region,
                "order": self.order, "outputs": self.outputs, "exports": self.exports, "stack_id": self.stack_id,
                "resolved": self.resolved, "ready_s": self.ready_s, "canary": self.canary,
                "resources": {k: v.to_json() for k, v in self.resources.items()}}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StackRecord:
        return cls(data["name"], data["account_id"], data["region"],
                   {k: ResourceState.from_json(v) for k, v in data["resources"].items()},
                   list(data["order"]), dict(data["outputs"]), dict(data.get("exports") or {}),
                   stack_id=data.get("stack_id"), resolved=bool(data.get("resolved", True)), ready_s=data.get("ready_s"),
                   canary=data.get("canary"))

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), indent=1, default=str))

    @classmethod
    def load(cls, path: Path) -> StackRecord | None:
        return cls.from_json(json.loads(path.read_text())) if path.is_file() else None


@dataclass(frozen=True)
class ResourceEvent:
    """One resource's status change during a deployment, as CloudFormation's events report them."""

    logical_id: str
    type_name: str
    status: str  # CREATE_IN_PROGRESS, CREATE_COMPLETE, CREATE_FAILED, UPDATE_..., DELETE_...
    physical_id: str | None = None
    reason: str | None = None


ResourceListener = Callable[[ResourceEvent], None]


def _ignore(event: ResourceEvent) -> None:
    """The default listener."""


class Deployer(Protocol):
    """What deploys templates into one account of a target (``Target.deployer``).

    ``asset_bucket``: where ``deploy_source`` publishes the app's assets (and points its template),
    or None to publish them where the template says (the local targets).
    """

    asset_bucket: str | None

    def deploy(self, template: Template, *, stack_name: str, parameters: Mapping[str, Any] | None = None,
               previous: StackRecord | None = None) -> StackRecord:
        """Create or update the stack; returns the record of what exists."""

    def destroy(self, record: StackRecord) -> list[str]:
        """Delete the stack's resources; returns what could not be deleted."""

    def publish_outputs(self, record: StackRecord) -> None:
        """Make the outputs a client reads from the stack (``DescribeStacks``) ``record.outputs``,
        after the harness changed them (an API's public URL rewritten to the local gateway's)."""


class DeploymentFailedError(ProvisioningError):
    """A resource failed; ``record`` holds what exists so far (so it can be destroyed)."""

    def __init__(self, message: str, record: StackRecord) -> None:
        super().__init__(message)
        self.record = record


class StackDeployer:
    """Deploys templates into one account of a target."""

    asset_bucket: str | None = None

    def __init__(self, clients: Clients, *, account_id: str, region: str, workers: int = 8,
                 exports: Mapping[str, Any] | None = None, listener: ResourceListener = _ignore) -> None:
        self.clients = ProvisioningClients(clients)
        self.listener = listener
        self.account_id = account_id
        self.region = region
        self.workers = workers
        self.exports = dict(exports or {})

    def deploy(self, template: Template, *, stack_name: str, parameters: Mapping[str, Any] | None = None,
               previous: StackRecord | None = None,
               external: Mapping[str, ResourceState] | None = None) -> StackRecord:
        """Create or update the stack; returns the new record.

        ``external`` holds resources created elsewhere (another engine) that this template refers to.

        Raises:
            ProvisioningError: the template is invalid (nothing was created).
            DeploymentFailedError: a resource failed (the record lists what exists).
        """
        started = time.perf_counter()
        deployment = plan(template, frozenset(external or ()))
        values = self._parameters(template, parameters or {})
        check_rules(template.rules, values, template.source)
        ctx = ResolveContext(self.account_id, self.region, stack_name, parameters=values,
                             conditions=template.conditions, mappings=template.mappings, exports=self.exports)
        handler_ctx = HandlerContext(self.clients, self.account_id, self.region, stack_name)
        for logical_id, state in (external or {}).items():
            ctx.refs[logical_id] = state.ref
            ctx.attributes[logical_id] = state.attributes
        record = StackRecord(stack_name, self.account_id, self.region)
        old = previous.resources if previous else {}
        with ThreadPoolExecutor(self.workers, thread_name_prefix="provision") as pool:
            for group in levels(deployment):
                work = []
                for logical_id in group:
                    resource = template.resources[logical_id]
                    if "Condition" in resource and not ctx.condition(resource["Condition"], logical_id):
                        continue
                    try:
                        props = resolve(resource.get("Properties") or {}, ctx, logical_id)
                    except ProvisioningError as exc:
                        self._failed(record, old, stack_name, [(logical_id, str(resource["Type"]), exc)])
                    work.append((logical_id, str(resource["Type"]), props))
                futures = []
                for logical_id, type_name, props in work:
                    before = old.get(logical_id)
                    action = _action(before, type_name, props)
                    if action:
                        self.listener(ResourceEvent(logical_id, type_name, f"{action}_IN_PROGRESS",
                                                    before.physical_id if before and action == "UPDATE" else None))
                    futures.append(((logical_id, type_name, props, action),
                                    pool.submit(self._apply, handler_ctx, logical_id, type_name, props, before)))
                failures: list[tuple[str, str, Exception]] = []
                for (logical_id, type_name, props, action), future in futures:
                    try:
                        created = future.result()
                    except (ClientError, BotoCoreError, ProvisioningError, ValueError, KeyError) as exc:
                        self.listener(ResourceEvent(logical_id, type_name, f"{action or 'UPDATE'}_FAILED",
                                                    reason=str(exc)))
                        failures.append((logical_id, type_name, exc))
                        continue
                    state = ResourceState(logical_id, type_name, created.physical_id,
                                          created.ref if created.ref is not None else created.physical_id,
                                          dict(created.attributes), props)
                    if action:
                        self.listener(ResourceEvent(logical_id, type_name, f"{action}_COMPLETE", physical_id_of(state)))
                    record.resources[logical_id] = state
                    record.order.append(logical_id)
                    ctx.refs[logical_id] = state.ref
                    ctx.attributes[logical_id] = state.attributes
                if failures:
                    self._failed(record, old, stack_name, failures)
        self._delete_removed(handler_ctx, record, previous)
        for name, output in template.outputs.items():
            if "Condition" in output and not ctx.condition(output["Condition"], f"output {name}"):
                continue
            record.outputs[name] = resolve(output["Value"], ctx, f"output {name}")
            export = output.get("Export", {}).get("Name")
            if export:
                record.exports[str(resolve(export, ctx, f"output {name}"))] = record.outputs[name]
        record.seconds = time.perf_counter() - started
        return record

    def _failed(self, record: StackRecord, old: Mapping[str, ResourceState], stack_name: str,
                failures: list[tuple[str, str, Exception]]) -> NoReturn:
        self._keep_untouched(record, old)
        lines = [f"{logical_id} ({type_name}): {exc}" for logical_id, type_name, exc in failures]
        raise DeploymentFailedError(f"deploying stack {stack_name} failed:\n  - " + "\n  - ".join(lines), record)

    def _apply(self, ctx: HandlerContext, logical_id: str, type_name: str, props: dict[str, Any],
               old: ResourceState | None) -> Created:
        with provisioning():
            return self._apply_now(ctx, logical_id, type_name, props, old)

    def _apply_now(self, ctx: HandlerContext, logical_id: str, type_name: str, props: dict[str, Any],
                   old: ResourceState | None) -> Created:
        handler = handler_for(type_name)
        assert handler is not None  # plan() validated the types
        if old is None or old.type_name != type_name:
            if old is not None:
                self._delete(ctx, old)
            return handler.create(ctx, logical_id, props)
        if _same(old.properties, props):
            return Created(old.physical_id, old.ref, old.attributes)
        updated = handler.update(ctx, logical_id, props, old)
        if updated is not None:
            return updated
        handler.delete(ctx, old)  # replacement: names are stable, so the old one goes first
        return handler.create(ctx, logical_id, props)

    def _keep_untouched(self, record: StackRecord, old: Mapping[str, ResourceState]) -> None:
        for logical_id, state in old.items():
            if logical_id not in record.resources:
                record.resources[logical_id] = state
                record.order.insert(0, logical_id)

    def _delete_removed(self, ctx: HandlerContext, record: StackRecord, previous: StackRecord | None) -> None:
        if previous is None:
            return
        for logical_id in reversed(previous.order):
            if logical_id not in record.resources:
                self._delete(ctx, previous.resources[logical_id])

    def _delete(self, ctx: HandlerContext, state: ResourceState) -> None:
        handler = handler_for(state.type_name)
        physical_id = physical_id_of(state)
        self.listener(ResourceEvent(state.logical_id, state.type_name, "DELETE_IN_PROGRESS", physical_id))
        try:
            if handler is not None:
                with provisioning():
                    handler.delete(ctx, state)
        except Exception as exc:
            self.listener(ResourceEvent(state.logical_id, state.type_name, "DELETE_FAILED", physical_id, str(exc)))
            raise
        self.listener(ResourceEvent(state.logical_id, state.type_name, "DELETE_COMPLETE", physical_id))

    def destroy(self, record: StackRecord) -> list[str]:
        """Delete every resource of the record, dependents first; returns what could not be deleted."""
        ctx = HandlerContext(self.clients, self.account_id, self.region, record.name)
        failed = []
        for logical_id in reversed(record.order):
            state = record.resources[logical_id]
            try:
                self._delete(ctx, state)
            except Exception as exc:  # keep deleting the rest; report at the end
                failed.append(f"{logical_id} ({state.type_name}): {exc}")
        return failed

    def publish_outputs(self, record: StackRecord) -> None:
        """Nothing to do: no client sees this deployer's stacks except through ``record``."""

    def _parameters(self, template: Template, given: Mapping[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, spec in template.parameters.items():
            if name in given:
                value = given[name]
            elif "Default" in spec:
                value = spec["Default"]
            else:
                raise ProvisioningError(f"{template.source}: parameter {name} has no Default and no value was "
                                        f"given; pass it as --parameter {name}=VALUE")
            kind = str(spec.get("Type", "String"))
            if kind.startswith("AWS::SSM::Parameter::Value"):
                try:
                    value = self.clients.client("ssm").get_parameter(Name=value)["Parameter"]["Value"]
                except ClientError as exc:
                    raise ProvisioningError(
                        f"{template.source}: parameter {name} reads SSM parameter {value!r}, which cannot be read "
                        f"in account {self.account_id} ({exc.response['Error']['Code']}); create it, or pass "
                        f"--parameter {name}=VALUE") from exc
            if kind.startswith("List<") or kind == "CommaDelimitedList":
                value = value if isinstance(value, list) else [v.strip() for v in str(value).split(",")]
            allowed = spec.get("AllowedValues")
            if allowed and value not in allowed:
                raise ProvisioningError(f"{template.source}: parameter {name}={value!r} is not one of {allowed}")
            values[name] = value
        return values


def physical_id_of(state: ResourceState) -> str:
    """The PhysicalResourceId CloudFormation reports: the Ref value where it is a string (pure)."""
    return state.ref if isinstance(state.ref, str) and state.ref else str(state.physical_id)


def _action(old: ResourceState | None, type_name: str, props: Mapping[str, Any]) -> str:
    """CREATE, UPDATE or "" (unchanged: CloudFormation reports nothing for it) (pure)."""
    if old is None or old.type_name != type_name:
        return "CREATE"
    return "" if _same(old.properties, props) else "UPDATE"


def _same(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    return json.dumps(old, sort_keys=True, default=str) == json.dumps(new, sort_keys=True, default=str)
