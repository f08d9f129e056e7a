"""Resource handlers: one class per CloudFormation type, registered in ``HANDLERS``.

A new type is a handler class (create, delete, optionally update) and one line here.
"""

from __future__ import annotations

import importlib
from typing import Any

from harness.provisioning.resources.base import ResourceHandler

HANDLERS: dict[str, str] = {
    "AWS::S3::Bucket": "storage:BucketHandler",
    "AWS::S3::BucketPolicy": "storage:BucketPolicyHandler",
    "AWS::DynamoDB::Table": "storage:TableHandler",
    "AWS::SSM::Parameter": "storage:ParameterHandler",
    "AWS::SecretsManager::Secret": "storage:SecretHandler",
    "AWS::SQS::Queue": "messaging:QueueHandler",
    "AWS::SQS::QueuePolicy": "messaging:QueuePolicyHandler",
    "AWS::Events::EventBus": "messaging:EventBusHandler",
    "AWS::Events::Rule": "messaging:RuleHandler",
    "AWS::SNS::Topic": "messaging:TopicHandler",
    "AWS::SNS::Subscription": "messaging:SubscriptionHandler",
    "AWS::CloudWatch::Alarm": "messaging:AlarmHandler",
    "AWS::Scheduler::Schedule": "messaging:ScheduleHandler",
    "AWS::Scheduler::ScheduleGroup": "messaging:ScheduleGroupHandler",
    "AWS::Lambda::Function": "compute:FunctionHandler",
    "AWS::Lambda::LayerVersion": "compute:LayerVersionHandler",
    "AWS::Lambda::EventSourceMapping": "compute:EventSourceMappingHandler",
    "AWS::Lambda::Permission": "compute:PermissionHandler",
    "AWS::Lambda::EventInvokeConfig": "compute:EventInvokeConfigHandler",
    "AWS::IAM::Role": "compute:RoleHandler",
    "AWS::IAM::Policy": "compute:PolicyHandler",
    "AWS::Logs::LogGroup": "compute:LogGroupHandler",
    "AWS::Cognito::UserPool": "identity:UserPoolHandler",
    "AWS::Cognito::UserPoolClient": "identity:UserPoolClientHandler",
    "AWS::Cognito::UserPoolGroup": "identity:UserPoolGroupHandler",
    "AWS::ApiGatewayV2::Api": "identity:HttpApiHandler",
    "AWS::ApiGatewayV2::Route": "identity:RouteHandler",
    "AWS::ApiGatewayV2::Integration": "identity:IntegrationHandler",
    "AWS::ApiGatewayV2::Authorizer": "identity:AuthorizerHandler",
    "AWS::ApiGatewayV2::Stage": "identity:StageHandler",
    "AWS::ApiGateway::RestApi": "restapi:RestApiHandler",
    "AWS::ApiGateway::Resource": "restapi:RestResourceHandler",
    "AWS::ApiGateway::Method": "restapi:MethodHandler",
    "AWS::ApiGateway::Authorizer": "restapi:RestAuthorizerHandler",
    "AWS::ApiGateway::Deployment": "restapi:DeploymentHandler",
    "AWS::ApiGateway::Stage": "restapi:StageHandler",
}
_cache: dict[str, ResourceHandler] = {}


def handler_for(type_name: str) -> ResourceHandler | None:
    """The handler of a resource type, or None when no handler is registered."""
    if type_name not in _cache:
        entry = HANDLERS.get(type_name)
        if entry is None:
            return None
        module_name, _, class_name = entry.partition(":")
        module = importlib.import_module(f"harness.provisioning.resources.{module_name}")
        cls: Any = getattr(module, class_name)
        _cache[type_name] = cls()
    return _cache[type_name]
