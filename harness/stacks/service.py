"""The harness's CloudFormation: stacks and change sets backed by its strict provisioner.

``harness.stacks.api.call(service, account, region, action, params)`` answers CloudFormation API
operations with the shapes botocore's model names (a target serves them on its endpoint, see
``harness.targets.moto_cloudformation``); ``deploy``/``destroy`` are the same operations for the
harness's own callers (``harness up``, the pytest fixtures), so every stack the harness deploys is
one a client can describe. Operations run as CloudFormation runs them: CreateStack returns at
once, the stack goes through CREATE_IN_PROGRESS to CREATE_COMPLETE, and a failed create rolls back.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from harness.provisioning.deployer import DeploymentFailedError, ResourceEvent, StackDeployer, StackRecord
from harness.provisioning.errors import ProvisioningError
from harness.provisioning.resources.base import Clients
from harness.provisioning.template import Template, parse_document, template_document
from harness.stacks.changes import compute_changes
from harness.stacks.documents import (
    check_capabilities,
    fetch_template_url,
    parameter_values,
    processed,
    read_document,
    required_capabilities,
    validation_error,
)
from harness.stacks.model import NO_CHANGES, UPDATABLE, ChangeSet, Stack, now, stack_arn

LOG = logging.getLogger(__name__)
TemplatePreparer = Callable[[Template, Clients, str, str], Template]


def _unchanged(template: Template, clients: Clients, account_id: str, region: str) -> Template:
    return template


class StackService:
    """CloudFormation stacks of every account and region of one target."""

    def __init__(self, clients_for: Callable[[str, str], Clients], *, prepare: TemplatePreparer = _unchanged,
                 workers: int = 4) -> None:
        self._clients_for = clients_for
        self._prepare = prepare
        self._stacks: dict[tuple[str, str], list[Stack]] = {}
        self._lock = threading.RLock()
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="stack-operation")

    def close(self) -> None:
        """Wait for running operations, then stop the workers."""
        self._pool.shutdown(wait=True)

    # -- the in-process verbs ----------------------------------------------------------------------
    def deploy(self, account_id: str, region: str, name: str, template: Template,
               parameters: Mapping[str, Any] | None = None) -> StackRecord:
        """Create or update stack ``name`` now; returns its record.

        Raises:
            DeploymentFailedError: a resource failed (the stack was rolled back, as CloudFormation does).
        """
        stack = self.find(account_id, region, name)
        if stack is not None and stack.status in ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "CREATE_FAILED"):
            self._delete(stack)  # what `cloudformation deploy` asks the user to do first
            stack = None
        values = {k: str(v) for k, v in (parameters or {}).items()}
        body = json.dumps(template_document(template), default=str)
        if stack is None or stack.status == "REVIEW_IN_PROGRESS":
            stack = stack or self.new_stack(account_id, region, name)
            self._create(stack, body, template, values, [])
        else:
            self._update(stack, body, template, values, stack.tags)
        if not stack.status.endswith("COMPLETE") or stack.status.startswith(("ROLLBACK", "UPDATE_ROLLBACK")):
            raise DeploymentFailedError(f"deploying stack {name} failed ({stack.status}):\n  - "
                                        + "\n  - ".join(self._failures(stack)), stack.record or
                                        StackRecord(name, account_id, region))
        assert stack.record is not None
        return stack.record

    def destroy(self, account_id: str, region: str, name: str) -> list[str]:
        """Delete stack ``name`` now; returns what could not be deleted."""
        stack = self.find(account_id, region, name)
        return self._delete(stack) if stack is not None else []

    def find(self, account_id: str, region: str, name_or_id: str) -> Stack | None:
        """The stack by name (the live one) or by stack id (deleted ones too)."""
        with self._lock:
            stacks = self._stacks.get((account_id, region), [])
            if name_or_id.startswith("arn:"):
                return next((s for s in stacks if s.stack_id == name_or_id), None)
            return next((s for s in reversed(stacks) if s.name == name_or_id and s.deleted is None), None)

    # -- the API -----------------------------------------------------------------------------------
    def stacks(self, account_id: str, region: str) -> list[Stack]:
        with self._lock:
            return list(self._stacks.get((account_id, region), []))

    def require(self, account_id: str, region: str, name_or_id: str) -> Stack:
        stack = self.find(account_id, region, name_or_id)
        if stack is None:
            raise validation_error(f"Stack with id {name_or_id} does not exist")
        return stack

    def read(self, account_id: str, region: str, params: Mapping[str, Any], previous: Stack | None = None,
             *, capabilities_for: str = "stack") -> tuple[str, dict[str, Any], Template]:
        """TemplateBody / TemplateURL / UsePreviousTemplate as text, document and deployable template;
        the capabilities a ``stack`` or ``change_set`` needs are checked (``none``: not checked)."""
        if params.get("UsePreviousTemplate"):
            if previous is None or previous.template is None:
                raise validation_error("UsePreviousTemplate needs an existing stack with a template")
            text = previous.body
            document = parse_document(text)
        else:
            text, document = read_document(params.get("TemplateBody"), params.get("TemplateURL"),
                                           lambda url: fetch_template_url(url, self._clients_for(account_id, region)))
        template = processed(document, region=region)
        if capabilities_for != "none":
            needed, _ = required_capabilities(document, template)
            check_capabilities(needed, list(params.get("Capabilities") or []),
                               change_set=capabilities_for == "change_set")
        return text, document, template

    def start(self, operation: Callable[..., Any], *args: Any) -> None:
        """Run a stack operation in the background, as CloudFormation does."""
        def run() -> None:
            try:
                operation(*args)
            except Exception:  # an operation must never leave a stack IN_PROGRESS silently
                LOG.exception("stack operation %s failed", getattr(operation, "__name__", operation))

        self._pool.submit(run)

    def new_stack(self, account_id: str, region: str, name: str, status: str = "CREATE_IN_PROGRESS") -> Stack:
        stack = Stack(stack_arn(region, account_id, name), name, account_id, region, status)
        with self._lock:
            self._stacks.setdefault((account_id, region), []).append(stack)
        return stack

    # -- operations (run in the background for the API, in the caller for deploy/destroy) ----------
    def _create(self, stack: Stack, body: str, template: Template, parameters: dict[str, str],
                capabilities: list[str], tags: list[dict[str, str]] | None = None) -> None:
        stack.body, stack.template, stack.parameters = body, template, parameters
        stack.capabilities, stack.tags = capabilities, list(tags or [])
        stack.begin("CREATE_IN_PROGRESS")  # unless the API began it (see Stack.begin)
        deployer = self._deployer(stack)
        try:
            stack.record = deployer.deploy(self._prepared(stack, template), stack_name=stack.name,
                                           parameters=parameters)
        except (DeploymentFailedError, ProvisioningError) as exc:
            stack.record = getattr(exc, "record", None)
            failed = self._failures(stack) or [str(exc)]
            reason = f"The following resource(s) failed to create: [{', '.join(self._failed_ids(stack))}]. "
            if stack.disable_rollback:
                stack.set_status("CREATE_FAILED", reason.strip() if self._failed_ids(stack) else failed[0])
                return
            # OnFailure DELETE leaves no ROLLBACK_COMPLETE husk: the stack itself goes.
            phase = "DELETE" if stack.delete_on_failure else "ROLLBACK"
            stack.set_status(f"{phase}_IN_PROGRESS",
                             reason.strip() if stack.delete_on_failure else reason + "Rollback requested by user.")
            left = deployer.destroy(stack.record) if stack.record is not None else []
            stack.set_status(f"{phase}_FAILED" if left else f"{phase}_COMPLETE", "; ".join(left) if left else None)
            return
        stack.set_status("CREATE_COMPLETE")

    def _update(self, stack: Stack, body: str, template: Template, parameters: dict[str, str],
                tags: list[dict[str, str]], capabilities: list[str] | None = None) -> None:
        old = (stack.body, stack.template, stack.parameters, stack.record)
        stack.body, stack.template, stack.parameters, stack.tags = body, template, parameters, tags
        stack.capabilities = capabilities if capabilities is not None else stack.capabilities
        stack.updated = now()
        stack.begin("UPDATE_IN_PROGRESS")  # unless the API began it (see Stack.begin)
        deployer = self._deployer(stack)
        try:
            stack.record = deployer.deploy(self._prepared(stack, template), stack_name=stack.name,
                                           parameters=parameters, previous=old[3])
        except (DeploymentFailedError, ProvisioningError) as exc:
            stack.record = getattr(exc, "record", None) or old[3]
            failed = self._failed_ids(stack)
            stack.set_status("UPDATE_ROLLBACK_IN_PROGRESS",
                             f"The following resource(s) failed to update: [{', '.join(failed)}]. " if failed
                             else str(exc))
            stack.body, stack.template, stack.parameters = old[0], old[1], old[2]
            try:
                assert old[1] is not None
                stack.record = deployer.deploy(self._prepared(stack, old[1]), stack_name=stack.name,
                                               parameters=old[2], previous=stack.record)
            except (DeploymentFailedError, ProvisioningError) as again:
                stack.record = getattr(again, "record", stack.record)
                stack.set_status("UPDATE_ROLLBACK_FAILED", str(again))
                return
            stack.set_status("UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS")
            stack.set_status("UPDATE_ROLLBACK_COMPLETE")
            return
        stack.set_status("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
        stack.set_status("UPDATE_COMPLETE")

    def _delete(self, stack: Stack) -> list[str]:
        stack.begin("DELETE_IN_PROGRESS")  # unless the API began it (see Stack.begin)
        left = self._deployer(stack).destroy(stack.record) if stack.record is not None else []
        if left:
            stack.set_status("DELETE_FAILED", "The following resource(s) failed to delete: " + "; ".join(left))
        else:
            stack.set_status("DELETE_COMPLETE")
        return left

    def execute(self, change_set: ChangeSet) -> None:
        stack = change_set.stack
        change_set.execution_status = "EXECUTE_IN_PROGRESS"
        if change_set.kind == "CREATE":
            self._create(stack, change_set.body, change_set.template, change_set.parameters,
                         change_set.capabilities, change_set.tags)
        else:
            self._update(stack, change_set.body, change_set.template, change_set.parameters,
                         change_set.tags or stack.tags, change_set.capabilities)
        good = stack.status in ("CREATE_COMPLETE", "UPDATE_COMPLETE")
        change_set.execution_status = "EXECUTE_COMPLETE" if good else "EXECUTE_FAILED"
        stack.change_sets.clear()  # CloudFormation deletes a stack's change sets once one is executed

    def change_set(self, stack: Stack, name: str, kind: str, body: str, document: Mapping[str, Any],
                   template: Template, parameters: dict[str, str], params: Mapping[str, Any]) -> ChangeSet:
        """A change set of ``stack`` with its changes (FAILED with CloudFormation's reason if none)."""
        changes = compute_changes(stack.template if kind == "UPDATE" else None, template,
                                  stack.resources() if kind == "UPDATE" else [])
        change_set = ChangeSet(f"arn:aws:cloudformation:{stack.region}:{stack.account_id}:changeSet/{name}/"
                               + stack.stack_id.rsplit("/", 1)[-1], name, stack, kind, body, template, parameters,
                               list(params.get("Tags") or stack.tags), list(params.get("Capabilities") or []),
                               changes, params.get("Description"))
        if kind == "UPDATE" and not changes and parameters == stack.parameters:
            change_set.status, change_set.status_reason = "FAILED", NO_CHANGES
            change_set.execution_status = "UNAVAILABLE"
        if kind == "UPDATE" and stack.status not in UPDATABLE:
            raise validation_error(f"Stack:{stack.stack_id} is in {stack.status} state and can not be updated.")
        stack.change_sets[name] = change_set
        return change_set

    def parameters_for(self, template: Template, params: Mapping[str, Any], previous: Stack | None) -> dict[str, str]:
        return parameter_values(template, list(params.get("Parameters") or []),
                                previous.parameters if previous is not None else None)


    # -- helpers -----------------------------------------------------------------------------------
    def _deployer(self, stack: Stack) -> StackDeployer:
        def listener(event: ResourceEvent) -> None:
            stack.resource_event(event.logical_id, event.type_name, event.status, event.physical_id, event.reason)

        return StackDeployer(self._clients_for(stack.account_id, stack.region), account_id=stack.account_id,
                             region=stack.region, exports=self._exports(stack), listener=listener)

    def _prepared(self, stack: Stack, template: Template) -> Template:
        return self._prepare(template, self._clients_for(stack.account_id, stack.region), stack.account_id,
                             stack.region)

    def _exports(self, stack: Stack) -> dict[str, Any]:
        exports: dict[str, Any] = {}
        for other in self.stacks(stack.account_id, stack.region):
            if other is not stack and other.deleted is None and other.record is not None:
                exports.update(other.record.exports)
        return exports

    def exports(self, account_id: str, region: str) -> list[dict[str, str]]:
        return [{"ExportingStackId": s.stack_id, "Name": name, "Value": str(value)}
                for s in self.stacks(account_id, region) if s.deleted is None and s.record is not None
                for name, value in s.record.exports.items()]

    @staticmethod
    def _failed_ids(stack: Stack) -> list[str]:
        return list(dict.fromkeys(lid for lid, _, _ in stack.failures()))

    @staticmethod
    def _failures(stack: Stack) -> list[str]:
        return [f"{lid} ({type_name}): {reason}" for lid, type_name, reason in stack.failures()]


class StackServiceDeployer:
    """The Deployer protocol over a StackService: deploys are stack operations clients can see."""

    asset_bucket: str | None = None

    def __init__(self, service: StackService, account_id: str, region: str) -> None:
        self.service, self.account_id, self.region = service, account_id, region

    def deploy(self, template: Template, *, stack_name: str, parameters: Mapping[str, Any] | None = None,
               previous: StackRecord | None = None) -> StackRecord:
        """Create or update the stack (the service knows its previous state, so ``previous`` is unused)."""
        return self.service.deploy(self.account_id, self.region, stack_name, template, parameters)

    def destroy(self, record: StackRecord) -> list[str]:
        return self.service.destroy(self.account_id, self.region, record.name)

    def publish_outputs(self, record: StackRecord) -> None:
        """Nothing to do: the service's stack answers ``DescribeStacks`` from this very record."""


class CachedClients:
    """One client per service over a Clients (creating a boto3 client costs milliseconds)."""

    def __init__(self, clients: Clients) -> None:
        self._clients = clients
        self._cache: dict[str, Any] = {}
        self._lock = threading.Lock()

    def client(self, service: str) -> Any:
        with self._lock:
            if service not in self._cache:
                self._cache[service] = self._clients.client(service)
            return self._cache[service]
