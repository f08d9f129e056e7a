"""The seams by which the harness takes over Lambda execution inside a moto server process.

moto runs every Lambda invocation path (Invoke, async Invoke, S3 and SNS notifications) through
``LambdaFunction.invoke`` -> ``LambdaFunction._invoke_lambda``; both are replaced so that the
handler runs in the process runtime. Two more seams replace moto's low-fidelity wiring:
``LambdaBackend.create_event_source_mapping`` detaches the mapping from the queue, table or stream
(the harness's pollers serve it through the public API), and ``Rule.send_to_targets`` hands Lambda
targets, which moto does not support, to the harness's async invoker.

Only one set of seams can be installed per process: moto's backends are process-global.
"""

from __future__ import annotations

import copy
import hashlib
import inspect
import json
import logging
import threading
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from harness.clock import Clocks
from harness.errors import HarnessError, ThrottledError
from harness.faults import FaultRegistry
from harness.invocations import AsyncDispatcher, AsyncInvocation
from harness.lambda_runtime.pool import FunctionPackage, ProcessRuntime
from harness.lambda_runtime.spec import FunctionSpec, InvocationResult, LayerRef
from harness.stacks import StackService
from harness.targets import moto_s3_events
from harness.targets.moto_clock import install_clock, uninstall_clock
from harness.targets.moto_cloudformation import install_cloudformation
from harness.targets.moto_delivery import OrderedDelivery
from harness.targets.moto_fixes import install_fixes
from harness.targets.moto_schedules import ScheduleFiring
from harness.wiring.async_invoke import REQUEST_ID_HEADER
from harness.wiring.eventbridge import build_target_input
from harness.wiring.filters import filter_criteria_problem

LOG = logging.getLogger(__name__)
_INSTALL_LOCK = threading.Lock()
_installed: MotoSeams | None = None
_INHERITED = object()


class MotoSeams:
    """Installs and removes the harness's hooks into moto's Lambda, events and ESM models."""

    def __init__(
        self,
        runtime: ProcessRuntime,
        dispatch_async: AsyncDispatcher,
        on_mappings_changed: Callable[[str], None] = lambda account_id: None,
        stacks: StackService | None = None,
        clocks: Clocks | None = None,
        faults: FaultRegistry | None = None,
    ) -> None:
        self.stacks = stacks
        self.clocks = clocks
        self.faults = faults
        self.runtime = runtime
        self.dispatch_async = dispatch_async
        self.on_mappings_changed = on_mappings_changed
        self._originals: list[tuple[Any, str, Any]] = []
        self._sha_cache: dict[tuple[str, str], str] = {}
        self._cloudformation = False
        self.deliveries = OrderedDelivery("s3-notifications")  # S3 events, after the request returns
        self.schedules = ScheduleFiring(dispatch_async)  # scheduled rules and Scheduler schedules

    def install(self) -> None:
        global _installed
        from moto.awslambda.models import LambdaBackend, LambdaFunction
        from moto.events.models import Rule

        with _INSTALL_LOCK:
            if _installed is not None:
                raise HarnessError(
                    "moto seams are already installed in this process: run one MotoTarget per "
                    "process (stop the other one first)"
                )
            seams = self
            self._patch(LambdaFunction, "invoke", lambda fn, body, req, resp: seams._invoke(fn, body, req, resp))
            self._patch(LambdaFunction, "_invoke_lambda", lambda fn, event=None: seams._invoke_lambda(fn, event))
            original_create = LambdaBackend.create_event_source_mapping
            self._patch(
                LambdaBackend, "create_event_source_mapping",
                lambda backend, spec: seams._create_mapping(original_create, backend, spec),
            )
            original_send = Rule.send_to_targets
            self._patch(
                Rule, "send_to_targets",
                lambda rule, event, transform_input=True: seams._send_to_targets(
                    original_send, rule, event, transform_input
                ),
            )
            install_fixes(self._patch)
            if self.clocks is not None and self.clocks.virtual:
                install_clock(self._patch, self.clocks)
            self.schedules.install(self._patch)
            self._patch(moto_s3_events, "DELIVER", self.deliveries.start().submit)
            _installed = self

    def on_backend(self, service: str) -> None:
        """Called by the server before it first serves ``service``: CloudFormation's seam is
        installed then, since importing moto's CloudFormation imports all of moto's models (~0.4 s
        of every start, for a service most runs never call)."""
        if service != "cloudformation" or self.stacks is None:
            return
        with _INSTALL_LOCK:
            if _installed is self and not self._cloudformation:
                install_cloudformation(self._patch, self.stacks)
                self._cloudformation = True

    def uninstall(self) -> None:
        global _installed
        with _INSTALL_LOCK:
            for owner, name, original in reversed(self._originals):
                if original is _INHERITED:
                    delattr(owner, name)
                else:
                    setattr(owner, name, original)
            self._originals.clear()
            uninstall_clock()
            self._cloudformation = False
            self.deliveries.stop()
            if _installed is self:
                _installed = None

    def original(self, owner: Any, name: str) -> Any:
        """What ``owner.name`` was before these seams replaced it (itself when not replaced)."""
        for patched_owner, patched_name, original in self._originals:
            if patched_owner is owner and patched_name == name:
                if original is not _INHERITED:
                    return original
                return next(vars(base)[name] for base in owner.__mro__[1:] if name in vars(base))
        return inspect.getattr_static(owner, name)

    def _patch(self, owner: Any, name: str, replacement: Any) -> None:
        # A method the class inherits is restored by deleting the replacement.
        self._originals.append((owner, name, vars(owner).get(name, _INHERITED)))
        setattr(owner, name, replacement)

    # --- Lambda -------------------------------------------------------------------------------
    def package_of(self, fn: Any) -> FunctionPackage:
        """Describe a moto ``LambdaFunction`` as a FunctionPackage for the runtime."""
        from moto.awslambda.utils import get_backend

        backend = get_backend(fn.account_id, fn.region)
        layers: list[LayerRef] = []
        loaders: dict[str, Callable[[], bytes]] = {}
        for layer in fn.layers:
            version = backend.layers_versions_by_arn(layer["Arn"])
            if version is None:
                raise HarnessError(f"layer version {layer['Arn']} of {fn.function_arn} no longer exists; "
                                   "update the function's Layers")
            sha = self._sha(version.arn, version.code_sha_256, version.code_bytes)
            layers.append(LayerRef(version.arn, sha))
            loaders[sha] = _bytes_of(version)
        reserved = fn.reserved_concurrency
        spec = FunctionSpec(
            function_arn=fn.function_arn, name=fn.function_name, handler=fn.handler or "",
            runtime=fn.run_time or "", role_arn=fn.role, region=fn.region,
            account_id=fn.account_id,
            code_sha256=self._sha(fn.function_arn, fn.code_sha_256, fn.code_bytes),
            memory_mb=int(fn.memory_size), timeout_s=float(fn.timeout),
            environment={k: str(v) for k, v in (fn.environment_vars or {}).items()},
            layers=tuple(layers),
            reserved_concurrency=None if reserved in (None, "") else int(reserved),
            tracing_mode=(fn.tracing_config or {}).get("Mode", "PassThrough"),
        )
        return FunctionPackage(spec, lambda: bytes(fn.code_bytes), loaders)

    def _sha(self, key: str, moto_digest: str, data: bytes) -> str:
        cached = self._sha_cache.get((key, moto_digest))
        if cached is None:
            cached = hashlib.sha256(data).hexdigest()
            self._sha_cache[(key, moto_digest)] = cached
        return cached

    def run(self, fn: Any, payload: bytes, request_id: str | None = None) -> InvocationResult:
        fault: tuple[str, float] | None = None
        active = self.faults.for_invocation(fn.account_id, fn.function_name) if self.faults is not None else None
        if active is not None and self.faults is not None:
            effect = str(active.rule.invocation)
            self.faults.record(active, service="lambda", operation="Invoke", caller=fn.function_name, effect=effect)
            if effect == "throttle":
                raise ThrottledError(fn.function_name, None)
            fault = (effect, active.rule.seconds)
        return self.runtime.invoke(self.package_of(fn), payload or b"{}", request_id=request_id, fault=fault)

    def _invoke(self, fn: Any, body: Any, request_headers: Any, response_headers: Any) -> bytes:
        headers = {str(k).lower(): v for k, v in dict(request_headers or {}).items()}
        # Service-initiated calls (S3, SNS notifications) pass no headers: AWS invokes those async.
        invocation_type = headers.get("x-amz-invocation-type") or (
            "RequestResponse" if headers else "Event"
        )
        payload = body.encode() if isinstance(body, str) else bytes(body or b"")
        if invocation_type == "DryRun":
            return b""
        if invocation_type == "Event":
            request_id = str(uuid.uuid4())  # the handler's aws_request_id and its destination record's
            self.dispatch_async(AsyncInvocation(
                account_id=fn.account_id, region=fn.region, function_arn=fn.function_arn,
                payload=payload or b"{}", request_id=request_id,
            ))
            response_headers["x-amzn-requestid"] = request_id
            return b""
        try:
            result = self.run(fn, payload, headers.get(REQUEST_ID_HEADER.lower()))
        except ThrottledError as exc:
            raise _too_many_requests(str(exc)) from exc
        except HarnessError as exc:
            raise _service_exception(str(exc)) from exc
        except Exception as exc:  # the edge of the server: report, don't answer with HTML
            LOG.exception("invoking %s failed in the harness", fn.function_arn)
            raise _service_exception(f"harness failed to invoke {fn.function_arn}: {exc!r}") from exc
        if result.function_error:
            response_headers["x-amz-function-error"] = result.function_error
        response_headers["x-amz-log-result"] = result.log_tail_base64()
        response_headers["x-amzn-requestid"] = result.request_id  # the handler's aws_request_id
        response_headers["x-amz-executed-version"] = fn.version if fn.version != 1 else "$LATEST"
        return result.payload

    def _invoke_lambda(self, fn: Any, event: Any = None) -> tuple[str, bool, str]:
        payload = json.dumps(event if event is not None else {}).encode()
        result = self.run(fn, payload)
        return result.payload.decode(), result.function_error is not None, result.logs

    # --- Event source mappings ------------------------------------------------------------------
    def _create_mapping(self, original: Any, backend: Any, spec: dict[str, Any]) -> Any:
        from moto.awslambda.exceptions import InvalidParameterValueException
        from moto.dynamodb.models import dynamodb_backends
        from moto.kinesis.models import kinesis_backends
        from moto.sqs.models import sqs_backends

        if filter_criteria_problem(spec.get("FilterCriteria")):  # AWS refuses it at creation (moto did not)
            raise InvalidParameterValueException("Invalid filter pattern definition.")
        esm = original(backend, spec)
        account, region = backend.account_id, backend.region_name
        holders: list[Any] = list(sqs_backends[account][region].queues.values())
        holders += list(dynamodb_backends[account][region].tables.values())
        holders += list(kinesis_backends[account][region].streams.values())
        for holder in holders:
            mappings = holder.lambda_event_source_mappings
            for key in [k for k, v in mappings.items() if v is esm]:
                del mappings[key]
        self.on_mappings_changed(account)
        return esm

    # --- EventBridge ----------------------------------------------------------------------------
    def _send_to_targets(self, original: Any, rule: Any, event: Any, transform_input: bool) -> None:
        """Lambda targets are invoked asynchronously by the harness; SQS targets get what the
        harness's transformer builds (moto's leaves string values unquoted, invalid JSON, and
        builds even the plain envelope through eight JSONPath parsers: ~1 ms an event); every
        other target goes to moto."""
        lambda_targets = [t for t in rule.targets if ":lambda:" in t["Arn"]]
        shaped = [t for t in rule.targets if ":sqs:" in t["Arn"] and transform_input]
        if not lambda_targets and not shaped:
            original(rule, event, transform_input)
            return
        if not rule.event_pattern.matches_event(event):
            return
        for target in rule.targets:
            if target in shaped:
                _send_to_queue(target, build_target_input(event, target))
            elif target in lambda_targets:
                payload = build_target_input(event, target if transform_input else {})
                arn = target["Arn"]
                parts = arn.split(":")
                self.dispatch_async(AsyncInvocation(
                    account_id=parts[4], region=parts[3], function_arn=":".join(parts[:7]),
                    payload=json.dumps(payload).encode(), request_id=str(uuid.uuid4()),
                ))
            else:
                single = copy.copy(rule)
                single.targets = [target]
                original(single, event, transform_input)


def _send_to_queue(target: Mapping[str, Any], payload: Any) -> None:
    """An EventBridge target's input into its SQS queue: a string as it is, anything else as JSON.
    A FIFO queue without content-based deduplication gets nothing, as on AWS (the invocation fails)."""
    from moto.sqs.models import sqs_backends

    _, _, _, region, account, name = str(target["Arn"]).split(":", 5)
    backend = sqs_backends[account][region]
    group = (target.get("SqsParameters") or {}).get("MessageGroupId")
    if name.endswith(".fifo") and backend.get_queue_attributes(
            queue_name=name, attribute_names=["ContentBasedDeduplication"])["ContentBasedDeduplication"] == "false":
        LOG.warning("EventBridge target %s not delivered: a FIFO queue target needs content-based deduplication",
                    target["Arn"])
        return
    backend.send_message(queue_name=name, group_id=group,
                         message_body=payload if isinstance(payload, str) else json.dumps(payload))


def _bytes_of(layer_version: Any) -> Callable[[], bytes]:
    return lambda: bytes(layer_version.code_bytes)


def _too_many_requests(message: str) -> Exception:
    from moto.core.exceptions import JsonRESTError

    error = JsonRESTError("TooManyRequestsException", message)
    error.code = 429
    return error


def _service_exception(message: str) -> Exception:
    from moto.core.exceptions import JsonRESTError

    error = JsonRESTError("ServiceException", message)
    error.code = 500
    return error


def moto_original(owner: Any, name: str) -> Any:
    """``owner.name`` as moto defines it, whether or not the seams are installed in this process."""
    with _INSTALL_LOCK:
        seams = _installed
    return seams.original(owner, name) if seams is not None else inspect.getattr_static(owner, name)
