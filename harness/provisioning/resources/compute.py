"""Lambda functions, layers, event source mappings and permissions; IAM roles and policies; log groups."""

from __future__ import annotations

from typing import Any

from harness.provisioning.errors import ProvisioningError
from harness.provisioning.resources.base import (
    Created,
    HandlerContext,
    ResourceHandler,
    ResourceState,
    ignore_missing,
    policy_json,
    rendered_variables,
    tags,
)
from harness.waiting import wait_until

_FUNCTION_CONFIG = ("Handler", "Runtime", "Role", "MemorySize", "Timeout", "Environment", "Layers",
                    "TracingConfig", "Description", "DeadLetterConfig", "EphemeralStorage",
                    "Architectures", "VpcConfig", "KmsKeyArn", "LoggingConfig")


class FunctionHandler(ResourceHandler):
    type_name = "AWS::Lambda::Function"
    properties = frozenset({"FunctionName", "Code", "PackageType", "ReservedConcurrentExecutions", "Tags",
                            *_FUNCTION_CONFIG})
    name_property = "FunctionName"

    def _config(self, props: dict[str, Any]) -> dict[str, Any]:
        config = {k: props[k] for k in _FUNCTION_CONFIG if k in props and k != "Architectures"}
        variables = (config.get("Environment") or {}).get("Variables")
        if variables:  # CloudFormation passes every value as the string the API wants
            config["Environment"] = {**config["Environment"],
                                     "Variables": rendered_variables(variables)}
        for key in ("MemorySize", "Timeout"):
            if key in config:
                config[key] = int(config[key])
        return config

    def create(self, ctx: HandlerContext, logical_id: str, props: dict[str, Any]) -> Created:
        lam = ctx.clients.client("lambda")
        name = self.name(ctx, logical_id, props)
        kwargs: dict[str, Any] = {"FunctionName": name, "Code": _code(props["Code"]), **self._config(props)}
        if props.get("Architectures"):
            kwargs["Architectures"] = props["Architectures"]
        if props.get("Tags"):
            kwargs["Tags"] = {t["Key"]: t["Value"] for t in tags(props)}
        arn = lam.create_function(**kwargs)["FunctionArn"]
        _wait_ready(lam, name)
        self._concurrency(lam, name, props)
        return Created(name, name, {"Arn": arn})

    def _concurrency(self, lam: Any, name: str, props: dict[str, Any]) -> None:
        if props.get("ReservedConcurrentExecutions") is not None:
            lam.put_function_concurrency(FunctionName=name,
                                         ReservedConcurrentExecutions=int(props["ReservedConcurrentExecutions"]))

    def update(self, ctx: HandlerContext, logical_id: str, props: dict[str, Any],
               old: ResourceState) -> Created | None:
        if props.get("FunctionName") != old.properties.get("FunctionName"):
            return None
        lam = ctx.clients.client("lambda")
        name = old.physical_id
        if props.get("Code") != old.properties.get("Code"):
            lam.update_function_code(FunctionName=name, **_code(props["Code"]))
            _wait_ready(lam, name)
        config = self._config(props)
        config.setdefault("Environment", {"Variables": {}})
        lam.update_function_configuration(FunctionName=name, **config)
        _wait_ready(lam, name)
        if props.get("ReservedConcurrentExecutions") is None and \
                old.properties.get("ReservedConcurrentExecutions") is not None:
            lam.delete_function_concurrency(FunctionName=name)
        self._concurrency(lam, name, props)
        return Created(old.physical_id, old.ref, old.attributes)

    def delete(self, ctx: HandlerContext, state: ResourceState) -> None:
        ignore_missing(("ResourceNotFoundException",), ctx.clients.client("lambda").delete_function,
                       FunctionName=state.physical_id)


def _wait_ready(lam: Any, name: str, timeout: float = 120.0) -> None:
    """Wait until the function is Active and its last update finished, as CloudFormation does
    (AWS and LocalStack prepare functions asynchronously; moto's are ready at once).

    Raises:
        ProvisioningError: the function failed to become ready (with Lambda's reason).
    """
    def ready(config: dict[str, Any]) -> bool:
        return config.get("State", "Active") != "Pending" and config.get("LastUpdateStatus") != "InProgress"

    config = wait_until(lambda: lam.get_function_configuration(FunctionName=name), ready, timeout=timeout,
                        interval=0.05, description=f"function {name} to become Active")
    if config.get("State") == "Failed" or config.get("LastUpdateStatus") == "Failed":
        raise ProvisioningError(f"function {name} failed to become Active: "
                                f"{config.get('StateReason') or config.get('LastUpdateStatusReason')}")


def _code(code: dict[str, Any]) -> dict[str, Any]:
    if "ZipFile" in code:
        import io
        import zipfile

        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:  # inline code is index.py (python)
            archive.writestr("index.py", code["ZipFile"])
        return {"ZipFile": buffer.getvalue()}
    return {k: code[k] for k in ("S3Bucket", "S3Key", "S3ObjectVersion", "ImageUri") if k in code}


class LayerVersionHandler(ResourceHandler):
    type_name = "AWS::Lambda::LayerVersion"
    properties = frozenset({"LayerName", "Content", "CompatibleRuntimes", "CompatibleArchitectures",
                            "Description", "LicenseInfo"})
    name_property = "LayerName"
    max_name_length = 140

    def create(self, ctx: HandlerContext, logical_id: str, props: dict[str, Any]) -> Created:
        kwargs = {k: props[k] for k in ("CompatibleRuntimes", "CompatibleArchitectures", "Description",
                                        "LicenseInfo") if props.get(k)}
        response = ctx.clients.client("lambda").publish_layer_version(
            LayerName=self.name(ctx, logical_id, props), Content=_code(props["Content"]), **kwargs)
        arn = response["LayerVersionArn"]
        return Created(arn, arn, {"LayerVersionArn": arn})

    def delete(self, ctx: HandlerContext, state: ResourceState) -> None:
        layer, _, number = state.physical_id.rpartition(":")
        ignore_missing(("ResourceNotFoundException",), ctx.clients.client("lambda").delete_layer_version,
                       LayerName=layer, VersionNumber=int(number))


class EventSourceMappingHandler(ResourceHandler):
    type_name = "AWS::Lambda::EventSourceMapping"
    properties = frozenset({"FunctionName", "EventSourceArn", "BatchSize", "Enabled", "StartingPosition",
                            "StartingPositionTimestamp", "MaximumBatchingWindowInSeconds",
                            "FunctionResponseTypes", "FilterCriteria", "ScalingConfig", "MaximumRetryAttempts",
                            "BisectBatchOnFunctionError", "DestinationConfig", "MaximumRecordAgeInSeconds",
                            "ParallelizationFactor", "TumblingWindowInSeconds", "Tags"})
    _UPDATABLE = ("BatchSize", "Enabled", "MaximumBatchingWindowInSeconds", "FunctionResponseTypes",
                  "FilterCriteria", "ScalingConfig", "MaximumRetryAttempts", "BisectBatchOnFunctionError",
                  "DestinationConfig", "MaximumRecordAgeInSeconds", "ParallelizationFactor")

    def _kwargs(self, props: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
        out = {k: props[k] for k in keys if k in props}
        for key in ("BatchSize", "MaximumBatchingWindowInSeconds", "MaximumRetryAttempts",
                    "MaximumRecordAgeInSeconds", "ParallelizationFactor"):
            if key in out:
                out[key] = int(out[key])
        for key in ("Enabled", "BisectBatchOnFunctionError"):
            if key in out:
                out[key] = out[key] in (True, "true")
        return out

    def create(self, ctx: HandlerContext, logical_id: str, props: dict[str, Any]) -> Created:
        kwargs = self._kwargs(props, ("FunctionName", "EventSourceArn", "StartingPosition",
                                      "StartingPositionTimestamp", *self._UPDATABLE))
        uuid = ctx.clients.client("lambda").create_event_source_mapping(**kwargs)["UUID"]
        return Created(uuid, uuid, {"Id": uuid})

    def update(self, ctx: HandlerContext, logical_id: str, props: dict[str, Any],
               old: ResourceState) -> Created | None:
        fixed = ("EventSourceArn", "StartingPosition", "FunctionName")
        if any(props.get(k) != old.properties.get(k) for k in fixed):
            return None
        ctx.clients.client("lambda").update_event_source_mapping(
            UUID=old.physical_id, **self._kwargs(props, self._UPDATABLE))
        return Created(old.physical_id, old.ref, old.attributes)

    def delete(self, ctx: HandlerContext, state: ResourceState) -> None:
        ignore_missing(("ResourceNotFoundException",), ctx.clients.client("lambda").delete_event_source_mapping,
                       UUID=state.physical_id)


class PermissionHandler(ResourceHandler):
    type_name = "AWS::Lambda::Permission"
    properties = frozenset({"Action", "FunctionName", "Principal", "SourceArn", "SourceAccount",
                            "EventSourceToken", "FunctionUrlAuthType", "PrincipalOrgID"})

    def create(self, ctx: HandlerContext, logical_id: str, props: dict[str, Any]) -> Created:
        statement = f"{ctx.stack_name}-{logical_id}"[:100]
        kwargs = {k: props[k] for k in self.properties if k in props}
        ctx.clients.client("lambda").add_permission(StatementId=statement, **kwargs)
        return Created(statement, statement, {})

    def delete(self, ctx: HandlerContext, state: ResourceState) -> None:
        ignore_missing(("ResourceNotFoundException",), ctx.clients.client("lambda").remove_permission,
                       FunctionName=state.properties["FunctionName"], StatementId=state.physical_id)


class EventInvokeConfigHandler(ResourceHandler):
    type_name = "AWS::Lambda::EventInvokeConfig"
    properties = frozenset({"FunctionName", "Qualifier", "MaximumRetryAttempts", "MaximumEventAgeInSeconds",
                            "DestinationConfig"})

    def create(self, ctx: HandlerContext, logical_id: str, props: dict[str, Any]) -> Created:
        kwargs = {k: props[k] for k in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig")
                  if k in props}
        ctx.clients.client("lambda").put_function_event_invoke_config(FunctionName=props["FunctionName"], **kwargs)
        return Created(props["FunctionName"])

    def update(self, ctx: HandlerContext, logical_id: str, props: dict[str, Any],
               old: ResourceState) -> Created | None:
        return self.create(ctx, logical_id, props)

    def delete(self, ctx: HandlerContext, state: ResourceState) -> None:
        ignore_missing(("ResourceNotFoundException",),
                       ctx.clients.client("lambda").delete_function_event_invoke_config,
                       FunctionName=state.physical_id)


class RoleHandler(ResourceHandler):
    type_name = "AWS::IAM::Role"
    properties = frozenset({"RoleName", "AssumeRolePolicyDocument", "ManagedPolicyArns", "Policies", "Path",
                            "Description", "MaxSessionDuration", "PermissionsBoundary", "Tags"})
    name_property = "RoleName"

    def create(self, ctx: HandlerContext, logical_id: str, props: dict[str, Any]) -> Created:
        iam = ctx.clients.client("iam")
        name = self.name(ctx, logical_id, props)
        kwargs: dict[str, Any] = {"RoleName": name, "AssumeRolePolicyDocument": policy_json(props["AssumeRolePolicyDocument"])}
        for key in ("Path", "Description", "PermissionsBoundary"):
            if props.get(key):
                kwargs[key] = props[key]
        if props.get("MaxSessionDuration"):
            kwargs["MaxSessionDuration"] = int(props["MaxSessionDuration"])
        role = iam.create_role(**kwargs)["Role"]
        for arn in props.get("ManagedPolicyArns") or []:
            iam.attach_role_policy(RoleName=name, PolicyArn=arn)
        for policy in props.get("Policies") or []:
            iam.put_role_policy(RoleName=name, PolicyName=policy["PolicyName"],
                                PolicyDocument=policy_json(policy["PolicyDocument"]))
        return Created(name, name, {"Arn": role["Arn"], "RoleId": role["RoleId"]})

    def delete(self, ctx: HandlerContext, state: ResourceState) -> None:
        iam = ctx.clients.client("iam")
        name = state.physical_id
        missing = ("NoSuchEntity",)
        for arn in state.properties.get("ManagedPolicyArns") or []:
            ignore_missing(missing, iam.detach_role_policy, RoleName=name, PolicyArn=arn)
        for policy in state.properties.get("Policies") or []:
            ignore_missing(missing, iam.delete_role_policy, RoleName=name, PolicyName=policy["PolicyName"])
        ignore_missing(missing, iam.delete_role, RoleName=name)


class PolicyHandler(ResourceHandler):
    type_name = "AWS::IAM::Policy"
    properties = frozenset({"PolicyName", "PolicyDocument", "Roles", "Users", "Groups"})

    def create(self, ctx: HandlerContext, logical_id: str, props: dict[str, Any]) -> Created:
        iam = ctx.clients.client("iam")
        document = policy_json(props["PolicyDocument"])
        for role in props.get("Roles") or []:
            iam.put_role_policy(RoleName=role, PolicyName=props["PolicyName"], PolicyDocument=document)
        for user in props.get("Users") or []:
            iam.put_user_policy(UserName=user, PolicyName=props["PolicyName"], PolicyDocument=document)
        for group in props.get("Groups") or []:
            iam.put_group_policy(GroupName=group, PolicyName=props["PolicyName"], PolicyDocument=document)
        return Created(props["PolicyName"])

    def update(self, ctx: HandlerContext, logical_id: str, props: dict[str, Any],
               old: ResourceState) -> Created | None:
        self.delete(ctx, old)
        return self.create(ctx, logical_id, props)

    def delete(self, ctx: HandlerContext, state: ResourceState) -> None:
        iam = ctx.clients.client("iam")
        name = state.properties["PolicyName"]
        for role in state.properties.get("Roles") or []:
            ignore_missing(("NoSuchEntity",), iam.delete_role_policy, RoleName=role, PolicyName=name)
        for user in state.properties.get("Users") or []:
            ignore_missing(("NoSuchEntity",), iam.delete_user_policy, UserName=user, PolicyName=name)
        for group in state.properties.get("Groups") or []:
            ignore_missing(("NoSuchEntity",), iam.delete_group_policy, GroupName=group, PolicyName=name)


class LogGroupHandler(ResourceHandler):
    type_name = "AWS::Logs::LogGroup"
    properties = frozenset({"LogGroupName", "RetentionInDays", "Tags", "KmsKeyId"})
    name_property = "LogGroupName"
    max_name_length = 512

    def create(self, ctx: HandlerContext, logical_id: str, props: dict[str, Any]) -> Created:
        logs = ctx.clients.client("logs")
        name = self.name(ctx, logical_id, props)
        logs.create_log_group(logGroupName=name)
        if props.get("RetentionInDays"):
            logs.put_retention_policy(logGroupName=name, retentionInDays=int(props["RetentionInDays"]))
        return Created(name, name, {"Arn": f"arn:aws:logs:{ctx.region}:{ctx.account_id}:log-group:{name}:*"})

    def delete(self, ctx: HandlerContext, state: ResourceState) -> None:
        ignore_missing(("ResourceNotFoundException",), ctx.clients.client("logs").delete_log_group,
                       logGroupName=state.physical_id)
