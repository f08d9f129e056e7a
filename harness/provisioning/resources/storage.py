"""S3 buckets, DynamoDB tables, SSM parameters and Secrets Manager secrets."""

from __future__ import annotations

import json
import secrets as random_secrets
import string
from collections.abc import Mapping
from typing import Any

from harness.provisioning.errors import ProvisioningError
from harness.provisioning.resources.base import (
    Created,
    HandlerContext,
    ResourceHandler,
    ResourceState,
    as_json,
    ignore_missing,
    policy_json,
    tags,
)


class BucketHandler(ResourceHandler):
    type_name = "AWS::S3::Bucket"
    properties = frozenset({"BucketName", "NotificationConfiguration", "PublicAccessBlockConfiguration",
                            "VersioningConfiguration", "Tags", "CorsConfiguration", "LifecycleConfiguration",
                            "BucketEncryption", "OwnershipControls"})
    name_property = "BucketName"
    max_name_length = 63

    def create(self, ctx: HandlerContext, logical_id: str, props: dict[str, Any]) -> Created:
        s3 = ctx.clients.client("s3")
        name = self.name(ctx, logical_id, props, lower=True)
        kwargs: dict[str, Any] = {"Bucket": name}
        if ctx.region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": ctx.region}
        s3.create_bucket(**kwargs)
        self._configure(s3, name, props)
        return Created(name, name, {
            "Arn": f"arn:aws:s3:::{name}", "DomainName": f"{name}.s3.amazonaws.com",
            "RegionalDomainName": f"{name}.s3.{ctx.region}.amazonaws.com",
            "WebsiteURL": f"http://{name}.s3-website-{ctx.region}.amazonaws.com"})

    def _configure(self, s3: Any, name: str, props: dict[str, Any]) -> None:
        notification = props.get("NotificationConfiguration")
        if notification:
            config: dict[str, Any] = {}
            if notification.get("EventBridgeConfiguration", {}).get("EventBridgeEnabled") in (True, "true"):
                config["EventBridgeConfiguration"] = {}
            for source, target in (("QueueConfigurations", "Queue"), ("TopicConfigurations", "Topic"),
                                   ("LambdaConfigurations", "Function")):
                items = notification.get(source) or []
                key = {"Queue": "QueueArn", "Topic": "TopicArn", "Function": "LambdaFunctionArn"}[target]
                name_key = "LambdaFunctionConfigurations" if target == "Function" else source
                config[name_key] = [{key: i[target], "Events": [i["Event"]],
                                     **({"Filter": s3_filter(i["Filter"])} if "Filter" in i else {})} for i in items]
                if not config[name_key]:
                    del config[name_key]
            s3.put_bucket_notification_configuration(Bucket=name, NotificationConfiguration=config)
        if props.get("PublicAccessBlockConfiguration"):
            s3.put_public_access_block(Bucket=name,
                                       PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"])
        if props.get("VersioningConfiguration"):
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration=props["VersioningConfiguration"])
        if props.get("Tags"):
            s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": tags(props)})
        if props.get("CorsConfiguration"):
            s3.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": props["CorsConfiguration"]["CorsRules"]})

    def update(self, ctx: HandlerContext, logical_id: str, props: dict[str, Any],
               old: ResourceState) -> Created | None:
        if props.get("BucketName") != old.properties.get("BucketName"):
            return None
        self._configure(ctx.clients.client("s3"), old.physical_id, props)
        return Created(old.physical_id, old.ref, old.attributes)

    def delete(self, ctx: HandlerContext, state: ResourceState) -> None:
        s3 = ctx.clients.client("s3")
        paginator = s3.get_paginator("list_object_versions")
        try:
            for page in paginator.paginate(Bucket=state.physical_id):
                objects = [{"Key": o["Key"], "VersionId": o["VersionId"]}
                           for o in page.get("Versions", []) + page.get("DeleteMarkers", [])]
                if objects:
                    s3.delete_objects(Bucket=state.physical_id, Delete={"Objects": objects})
        except s3.exceptions.NoSuchBucket:
            return
        ignore_missing(("NoSuchBucket",), s3.delete_bucket, Bucket=state.physical_id)


class BucketPolicyHandler(ResourceHandler):
    type_name = "AWS::S3::BucketPolicy"
    properties = frozenset({"Bucket", "PolicyDocument"})

    def create(self, ctx: HandlerContext, logical_id: str, props: dict[str, Any]) -> Created:
        bucket = str(props["Bucket"])
        ctx.clients.client("s3").put_bucket_policy(Bucket=bucket, Policy=policy_json(props["PolicyDocument"]))
        return Created(bucket)

    def update(self, ctx: HandlerContext, logical_id: str, props: dict[str, Any],
               old: ResourceState) -> Created | None:
        if props["Bucket"] != old.properties.get("Bucket"):
            return None
        return self.create(ctx, logical_id, props)

    def delete(self, ctx: HandlerContext, state: ResourceState) -> None:
        ignore_missing(("NoSuchBucket", "NoSuchBucketPolicy"), ctx.clients.client("s3").delete_bucket_policy,
                       Bucket=state.physical_id)


class TableHandler(ResourceHandler):
    type_name = "AWS::DynamoDB::Table"
    properties = frozenset({"TableName", "AttributeDefinitions", "KeySchema", "BillingMode",
                            "GlobalSecondaryIndexes", "LocalSecondaryIndexes", "StreamSpecification",
                            "TimeToLiveSpecification", "ProvisionedThroughput", "Tags",
                            "PointInTimeRecoverySpecification", "SSESpecification", "DeletionProtectionEnabled"})
    name_property = "TableName"
    max_name_length = 255

    def create(self, ctx: HandlerContext, logical_id: str, props: dict[str, Any]) -> Created:
        ddb = ctx.clients.client("dynamodb")
        name = self.name(ctx, logical_id, props)
        kwargs: dict[str, Any] = {"TableName": name, "AttributeDefinitions": props["AttributeDefinitions"],
                                  "KeySchema": props["KeySchema"],
                                  "BillingMode": props.get("BillingMode", "PROVISIONED")}
        for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes", "ProvisionedThroughput"):
            if props.get(key):
                kwargs[key] = props[key]
        sse = props.get("SSESpecification")
        if sse:  # CloudFormation's SSEEnabled is the API's Enabled
            kwargs["SSESpecification"] = {("Enabled" if k == "SSEEnabled" else k): v for k, v in sse.items()}
        stream = props.get("StreamSpecification")
        if stream:
            kwargs["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
        if props.get("Tags"):
            kwargs["Tags"] = tags(props)
        description = ddb.create_table(**kwargs)["TableDescription"]
        ttl = props.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled") in (True, "true"):
            ddb.update_time_to_live(TableName=name, TimeToLiveSpecification={
                "Enabled": True, "AttributeName": ttl["AttributeName"]})
        attributes = {"Arn": description["TableArn"]}
        if description.get("LatestStreamArn"):
            attributes["StreamArn"] = description["LatestStreamArn"]
        return Created(name, name, attributes)

    def delete(self, ctx: HandlerContext, state: ResourceState) -> None:
        ddb = ctx.clients.client("dynamodb")
        ignore_missing(("ResourceNotFoundException",), ddb.delete_table, TableName=state.physical_id)


class ParameterHandler(ResourceHandler):
    type_name = "AWS::SSM::Parameter"
    properties = frozenset({"Name", "Type", "Value", "Description", "Tier", "AllowedPattern", "DataType", "Tags"})
    name_property = "Name"
    max_name_length = 128

    def create(self, ctx: HandlerContext, logical_id: str, props: dict[str, Any]) -> Created:
        name = self.name(ctx, logical_id, props)
        self._put(ctx, name, props, overwrite=False)
        return Created(name, name, {"Type": props.get("Type", "String"), "Value": props["Value"]})

    def _put(self, ctx: HandlerContext, name: str, props: dict[str, Any], *, overwrite: bool) -> None:
        kwargs = {k: props[k] for k in ("Description", "Tier", "AllowedPattern", "DataType") if props.get(k)}
        ctx.clients.client("ssm").put_parameter(Name=name, Type=props.get("Type", "String"),
                                                Value=str(props["Value"]), Overwrite=overwrite, **kwargs)

    def update(self, ctx: HandlerContext, logical_id: str, props: dict[str, Any],
               old: ResourceState) -> Created | None:
        if props.get("Name") != old.properties.get("Name"):
            return None
        self._put(ctx, old.physical_id, props, overwrite=True)
        return Created(old.physical_id, old.ref, {"Type": props.get("Type", "String"), "Value": props["Value"]})

    def delete(self, ctx: HandlerContext, state: ResourceState) -> None:
        ssm = ctx.clients.client("ssm")
        ignore_missing(("ParameterNotFound",), ssm.delete_parameter, Name=state.physical_id)


class SecretHandler(ResourceHandler):
    type_name = "AWS::SecretsManager::Secret"
    properties = frozenset({"Name", "Description", "SecretString", "GenerateSecretString", "KmsKeyId", "Tags"})
    name_property = "Name"
    max_name_length = 256

    def create(self, ctx: HandlerContext, logical_id: str, props: dict[str, Any]) -> Created:
        name = self.name(ctx, logical_id, props)
        if "SecretString" in props and "GenerateSecretString" in props:
            raise ProvisioningError(f"resource {logical_id} ({self.type_name}) sets both SecretString and "
                                    "GenerateSecretString; keep one")
        value = props.get("SecretString")
        if value is None:
            value = generate_secret(props.get("GenerateSecretString") or {})
        kwargs: dict[str, Any] = {"Name": name, "SecretString": as_json(value)}
        if props.get("Description"):
            kwargs["Description"] = props["Description"]
        if props.get("Tags"):
            kwargs["Tags"] = tags(props)
        arn = ctx.clients.client("secretsmanager").create_secret(**kwargs)["ARN"]
        return Created(arn, arn, {"Id": arn})

    def delete(self, ctx: HandlerContext, state: ResourceState) -> None:
        client = ctx.clients.client("secretsmanager")
        ignore_missing(("ResourceNotFoundException",), client.delete_secret, SecretId=state.physical_id,
                       ForceDeleteWithoutRecovery=True)


def generate_secret(spec: dict[str, Any]) -> str:
    """A password as GenerateSecretString describes it (optionally inside a JSON template)."""
    alphabet = ""
    if not spec.get("ExcludeLowercase"):
        alphabet += string.ascii_lowercase
    if not spec.get("ExcludeUppercase"):
        alphabet += string.ascii_uppercase
    if not spec.get("ExcludeNumbers"):
        alphabet += string.digits
    if not spec.get("ExcludePunctuation"):
        alphabet += "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
    if spec.get("IncludeSpace"):
        alphabet += " "
    alphabet = "".join(c for c in alphabet if c not in (spec.get("ExcludeCharacters") or ""))
    password = "".join(random_secrets.choice(alphabet) for _ in range(int(spec.get("PasswordLength", 32))))
    template = spec.get("SecretStringTemplate")
    if template:
        data = json.loads(template)
        data[spec["GenerateStringKey"]] = password
        return json.dumps(data)
    return password


def s3_filter(cfn_filter: Mapping[str, Any]) -> dict[str, Any]:
    """A notification filter in CloudFormation's shape (``S3Key.Rules``) as the S3 API takes it
    (``Key.FilterRules``); a filter already in the API's shape passes through (pure)."""
    if "S3Key" not in cfn_filter:
        return dict(cfn_filter)
    rules = cfn_filter["S3Key"].get("Rules") or []
    return {"Key": {"FilterRules": [{"Name": str(r["Name"]), "Value": str(r["Value"])} for r in rules]}}
