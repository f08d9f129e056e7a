"""The LocalStack internal names the harness relies on, checked by name (run in LocalStack's venv).

``python -m harness.targets.localstack.internals`` prints one JSON line per broken name and exits
1 when any is broken, so an upgrade of ``localstack-core`` fails a smoke test that says which name
changed instead of failing somewhere deep in a scenario.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

Check = Callable[[], None]


def _attr(module: str, name: str) -> Any:
    return getattr(importlib.import_module(module), name)


def _executor_abc() -> None:
    cls = _attr("localstack.services.lambda_.invocation.runtime_executor", "RuntimeExecutor")
    needed = {"start", "stop", "get_address", "get_endpoint_from_executor", "get_runtime_endpoint", "invoke",
              "get_logs", "prepare_version", "cleanup_version"}
    missing = needed - set(dir(cls))
    extra = set(getattr(cls, "__abstractmethods__", set())) - needed
    assert not missing and not extra, f"missing {sorted(missing)}, new abstract {sorted(extra)}"
    assert list(inspect.signature(cls.__init__).parameters) == ["self", "id", "function_version"]


def _plugin_namespace() -> None:
    plugin = _attr("localstack.services.lambda_.invocation.plugins", "RuntimeExecutorPlugin")
    assert plugin.namespace == "localstack.lambda.runtime_executor", plugin.namespace


def _executor_registered() -> None:
    manager = _attr("localstack.services.lambda_.invocation.runtime_executor", "EXECUTOR_PLUGIN_MANAGER")
    assert manager.exists("harness"), "the harness executor entry point is not visible to plux"


def _invocation_result() -> None:
    cls = _attr("localstack.services.lambda_.invocation.lambda_models", "InvocationResult")
    names = [f.name for f in dataclasses.fields(cls)]
    assert names[:4] == ["request_id", "payload", "is_error", "logs"], names


def _function_version() -> None:
    models = importlib.import_module("localstack.services.lambda_.invocation.lambda_models")
    config = {f.name for f in dataclasses.fields(models.VersionFunctionConfiguration)}
    needed = {"handler", "runtime", "code", "layers", "memory_size", "timeout", "role", "tracing_config_mode"}
    assert needed <= config, f"VersionFunctionConfiguration lost {sorted(needed - config)}"
    assert isinstance(inspect.getattr_static(models.FunctionVersion, "qualified_arn"), property)
    ids = {f.name for f in dataclasses.fields(models.VersionIdentifier)}
    assert {"function_name", "qualifier", "region", "account"} <= ids, ids
    for name in ("prepare_for_execution", "get_unzipped_code_location"):
        assert callable(getattr(models.S3Code, name, None)), f"S3Code.{name}"
    assert "code_sha256" in {f.name for f in dataclasses.fields(models.S3Code)}
    assert "code" in {f.name for f in dataclasses.fields(models.LayerVersion)}


def _config_names() -> None:
    config = importlib.import_module("localstack.config")
    for name in ("LAMBDA_RUNTIME_EXECUTOR", "LAMBDA_EVENT_SOURCE_MAPPING_POLL_INTERVAL_SEC",
                 "LAMBDA_EVENT_SOURCE_MAPPING_MAX_BACKOFF_ON_EMPTY_POLL_SEC",
                 "LAMBDA_EVENT_SOURCE_MAPPING_MAX_BACKOFF_ON_ERROR_SEC", "LAMBDA_RETRY_BASE_DELAY_SECONDS",
                 "LAMBDA_KEEPALIVE_MS", "GATEWAY_LISTEN", "SQS_ENDPOINT_STRATEGY", "DYNAMODB_LOCAL_PORT"):
        assert hasattr(config, name), f"localstack.config.{name}"
    server = inspect.getsource(importlib.import_module("localstack.services.dynamodb.server"))
    assert "DYNAMODB_IN_MEMORY" in server, "DYNAMODB_IN_MEMORY is no longer read by dynamodb/server.py"


def _dynamodb_local_layout() -> None:
    packages = importlib.import_module("localstack.services.dynamodb.packages")
    installer = packages.DynamoDBLocalPackageInstaller()
    assert installer.version == "2", f"DynamoDB Local package version {installer.version!r} (we install into 2/)"
    assert installer.java_version == "21", f"java {installer.java_version!r} (we link lib/java/21)"
    assert Path(installer._get_install_marker_path("/x")).name == "DynamoDBLocal.jar"
    assert "ddb-local-loader-0.1.jar" in inspect.getsource(installer.get_ddb_agent_jar_path)


def _filesystem_layout() -> None:
    """With OVERRIDE_IN_DOCKER=0 and FILESYSTEM_ROOT set (as host mode starts it), lib is ours."""
    config = importlib.import_module("localstack.config")
    root = os.environ.get("FILESYSTEM_ROOT")
    assert root and os.environ.get("OVERRIDE_IN_DOCKER") == "0", "run with host mode's environment"
    assert not config.is_in_docker, "OVERRIDE_IN_DOCKER=0 no longer makes LocalStack run as on a host"
    assert Path(config.dirs.var_libs) == Path(root) / "var" / "lib" / "localstack" / "lib", config.dirs.var_libs


def _catalog_cache_name() -> None:
    source = inspect.getsource(importlib.import_module("localstack.aws.spec"))
    assert 'f"service-catalog-' in source, "the service catalog cache is no longer service-catalog-* (aws/spec.py)"


def _cloudformation_describe() -> None:
    provider = _attr("localstack.services.cloudformation.v2.provider", "CloudformationProviderV2")
    assert list(inspect.signature(provider._describe_stack).parameters) == ["self", "stack"]
    assert "resolved_outputs" in inspect.getsource(provider._describe_stack)
    entities = inspect.getsource(importlib.import_module("localstack.services.cloudformation.v2.entities"))
    assert "template: dict[str, Any] | None" in entities, "Stack.template is no longer the parsed template"


def _esm_create() -> None:
    provider = _attr("localstack.services.lambda_.provider", "LambdaProvider")
    assert list(inspect.signature(provider.create_event_source_mapping_v2).parameters) == ["self", "context", "request"]
    validate = inspect.getsource(provider.validate_event_source_mapping)
    assert "return fn_arn, function_name, state, function_version, function_role" in validate
    assert "self.esm_workers = {}" in inspect.getsource(provider)


def _s3_notifications() -> None:
    notifications = importlib.import_module("localstack.services.s3.notifications")
    context = notifications.S3EventNotificationContext
    assert {"key_name", "caller", "bucket_account_id"} <= set(context.__dataclass_fields__)
    assert "key_name=quote(s3_object.key)" in inspect.getsource(context.from_request_context)
    for owner in (notifications.BaseNotifier, notifications.EventBridgeNotifier):
        assert list(inspect.signature(owner._get_event_payload).parameters) == ["ctx", "config_id"]


def _events_rules() -> None:
    provider = _attr("localstack.services.events.provider", "EventsProvider")
    assert list(inspect.signature(provider._process_rules_async).parameters) == ["self", "params"]
    assert 'rules = params["rules"]' in inspect.getsource(provider._process_rules_async)
    assert "DISABLED" in str(_attr("localstack.aws.api.events", "RuleState").DISABLED)
    assert list(inspect.signature(provider.put_rule).parameters)[:5] == [
        "self", "context", "name", "schedule_expression", "event_pattern"]
    assert list(inspect.signature(provider.test_event_pattern).parameters)[:4] == [
        "self", "context", "event_pattern", "event"]
    _attr("localstack.aws.api.events", "InvalidEventPatternException")


def _fixes_registered() -> None:
    manager = _attr("localstack.runtime.hooks", "on_infra_start").manager
    assert manager.exists("harness_fidelity"), "the harness's fidelity fixes are not visible to plux"


def _fault_chain() -> None:
    """The chain slot and exception the fault handler uses (faults.py)."""
    handlers = importlib.import_module("localstack.aws.handlers")
    assert callable(handlers.serve_custom_service_request_handlers.append), "no custom service request handlers"
    exception = _attr("localstack.aws.api", "CommonServiceException")
    assert list(inspect.signature(exception.__init__).parameters) == [
        "self", "code", "message", "status_code", "sender_fault"]
    context = _attr("localstack.aws.api", "RequestContext")
    for name in ("service", "operation", "account_id", "region", "request"):
        assert name in getattr(context, "__annotations__", {}) or hasattr(context, name), f"RequestContext lost {name}"


def _calls_chain() -> None:
    """The response chain slot and the context fields the call recorder reads (calls.py)."""
    handlers = importlib.import_module("localstack.aws.handlers")
    assert callable(handlers.run_custom_response_handlers.append), "no custom response handlers"
    context = _attr("localstack.aws.api", "RequestContext")
    for name in ("service_request", "service_response", "service_exception"):
        assert name in getattr(context, "__annotations__", {}) or hasattr(context, name), f"RequestContext lost {name}"


def _entry_module() -> None:
    importlib.import_module("localstack.runtime.main")


CHECKS: dict[str, Check] = {
    "RuntimeExecutor ABC (runtime_executor.py)": _executor_abc,
    "RuntimeExecutorPlugin.namespace (plugins.py)": _plugin_namespace,
    "harness executor entry point seen by plux": _executor_registered,
    "InvocationResult fields (lambda_models.py)": _invocation_result,
    "FunctionVersion / S3Code / LayerVersion fields (lambda_models.py)": _function_version,
    "localstack.config settings the harness sets": _config_names,
    "DynamoDB Local install layout (dynamodb/packages.py)": _dynamodb_local_layout,
    "FILESYSTEM_ROOT layout (config.dirs.var_libs)": _filesystem_layout,
    "service catalog cache name (aws/spec.py)": _catalog_cache_name,
    "entry module localstack.runtime.main": _entry_module,
    "CloudformationProviderV2._describe_stack and Stack.template (patches.output_descriptions)":
        _cloudformation_describe,
    "LambdaProvider.create_event_source_mapping_v2 and its validation (patches.atomic_event_source_mapping_create)":
        _esm_create,
    "S3 notification context and payload builders (patches.s3_event_shapes)": _s3_notifications,
    "EventsProvider rules, put_rule, test_event_pattern (patches.disabled_rules_receive_nothing, "
    "event_pattern_validation)": _events_rules,
    "harness fidelity fixes seen by plux (localstack.hooks.on_infra_start)": _fixes_registered,
    "request chain slot and CommonServiceException (faults.install)": _fault_chain,
    "response chain slot and the parsed request and answer (calls.install)": _calls_chain,
}


def broken() -> dict[str, str]:
    """Each check that fails, with why."""
    problems: dict[str, str] = {}
    for name, check in CHECKS.items():
        try:
            check()
        except Exception as exc:  # each check's own failure is the report
            problems[name] = f"{type(exc).__name__}: {exc}"
    return problems


def main() -> int:
    problems = broken()
    for name, why in problems.items():
        print(json.dumps({"name": name, "problem": why}))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
