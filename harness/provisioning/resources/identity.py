"""Cognito user pools, clients and groups; API Gateway v2 (HTTP API) resources."""

from __future__ import annotations

import json
from typing import Any

from harness.provisioning.resources.base import (
    Created,
    HandlerContext,
    ResourceHandler,
    ResourceState,
    ignore_missing,
)

_POOL_SETTINGS = ("AccountRecoverySetting", "AdminCreateUserConfig", "EmailVerificationMessage",
                  "EmailVerificationSubject", "SmsVerificationMessage", "VerificationMessageTemplate",
                  "Policies", "Schema", "AutoVerifiedAttributes", "UsernameAttributes", "AliasAttributes",
                  "MfaConfiguration", "UsernameConfiguration", "EmailConfiguration", "DeletionProtection",
                  "UserAttributeUpdateSettings", "LambdaConfig", "SmsAuthenticationMessage")


class UserPoolHandler(ResourceHandler):
    type_name = "AWS::Cognito::UserPool"
    properties = frozenset({"UserPoolName", "UserPoolTags", *_POOL_SETTINGS})
    name_property = "UserPoolName"
    max_name_length = 128

    def create(self, ctx: HandlerContext, logical_id: str, props: dict[str, Any]) -> Created:
        kwargs = {k: props[k] for k in _POOL_SETTINGS if k in props}
        if props.get("UserPoolTags"):
            kwargs["UserPoolTags"] = props["UserPoolTags"]
        pool = ctx.clients.client("cognito-idp").create_user_pool(
            PoolName=self.name(ctx, logical_id, props), **kwargs)["UserPool"]
        pool_id = pool["Id"]
        provider = f"cognito-idp.{ctx.region}.amazonaws.com/{pool_id}"
        return Created(pool_id, pool_id, {"Arn": pool["Arn"], "ProviderName": provider,
                                          "ProviderURL": f"https://{provider}", "UserPoolId": pool_id})

    def delete(self, ctx: HandlerContext, state: ResourceState) -> None:
        ignore_missing(("ResourceNotFoundException",), ctx.clients.client("cognito-idp").delete_user_pool,
                       UserPoolId=state.physical_id)


class UserPoolClientHandler(ResourceHandler):
    type_name = "AWS::Cognito::UserPoolClient"
    properties = frozenset({"UserPoolId", "ClientName", "ExplicitAuthFlows", "GenerateSecret",
                            "AllowedOAuthFlows", "AllowedOAuthScopes", "AllowedOAuthFlowsUserPoolClient",
                            "CallbackURLs", "LogoutURLs", "SupportedIdentityProviders", "AccessTokenValidity",
                            "IdTokenValidity", "RefreshTokenValidity", "TokenValidityUnits",
                            "PreventUserExistenceErrors", "ReadAttributes", "WriteAttributes",
                            "EnableTokenRevocation"})
    name_property = "ClientName"
    max_name_length = 128

    def create(self, ctx: HandlerContext, logical_id: str, props: dict[str, Any]) -> Created:
        kwargs = {k: props[k] for k in self.properties if k in props and k not in ("UserPoolId", "ClientName")}
        client = ctx.clients.client("cognito-idp").create_user_pool_client(
            UserPoolId=props["UserPoolId"], ClientName=self.name(ctx, logical_id, props), **kwargs)["UserPoolClient"]
        attributes = {"ClientId": client["ClientId"], "Name": client["ClientName"]}
        if client.get("ClientSecret"):
            attributes["ClientSecret"] = client["ClientSecret"]
        return Created(client["ClientId"], client["ClientId"], attributes)

    def delete(self, ctx: HandlerContext, state: ResourceState) -> None:
        ignore_missing(("ResourceNotFoundException",), ctx.clients.client("cognito-idp").delete_user_pool_client,
                       UserPoolId=state.properties["UserPoolId"], ClientId=state.physical_id)


class UserPoolGroupHandler(ResourceHandler):
    type_name = "AWS::Cognito::UserPoolGroup"
    properties = frozenset({"UserPoolId", "GroupName", "Description", "Precedence", "RoleArn"})
    name_property = "GroupName"
    max_name_length = 128

    def create(self, ctx: HandlerContext, logical_id: str, props: dict[str, Any]) -> Created:
        name = self.name(ctx, logical_id, props)
        kwargs = {k: props[k] for k in ("Description", "RoleArn") if props.get(k)}
        if "Precedence" in props:
            kwargs["Precedence"] = int(props["Precedence"])
        ctx.clients.client("cognito-idp").create_group(GroupName=name, UserPoolId=props["UserPoolId"], **kwargs)
        return Created(name, name, {})

    def delete(self, ctx: HandlerContext, state: ResourceState) -> None:
        ignore_missing(("ResourceNotFoundException",), ctx.clients.client("cognito-idp").delete_group,
                       GroupName=state.physical_id, UserPoolId=state.properties["UserPoolId"])


class HttpApiHandler(ResourceHandler):
    type_name = "AWS::ApiGatewayV2::Api"
    properties = frozenset({"Name", "ProtocolType", "CorsConfiguration", "Description", "Tags",
                            "DisableExecuteApiEndpoint", "RouteSelectionExpression", "ApiKeySelectionExpression",
                            "Body", "FailOnWarnings"})
    name_property = "Name"

    def create(self, ctx: HandlerContext, logical_id: str, props: dict[str, Any]) -> Created:
        kwargs = {k: props[k] for k in ("CorsConfiguration", "Description", "Tags", "DisableExecuteApiEndpoint",
                                        "RouteSelectionExpression", "ApiKeySelectionExpression") if k in props}
        client = ctx.clients.client("apigatewayv2")
        body = props.get("Body")
        name = props.get("Name") or ((body or {}).get("info") or {}).get("title") or self.name(ctx, logical_id, props)
        api = client.create_api(Name=str(name), ProtocolType=props.get("ProtocolType", "HTTP"), **kwargs)
        if body is not None:  # an OpenAPI definition (the SAM HttpApi form): routes come from it
            client.reimport_api(ApiId=api["ApiId"], Body=json.dumps(body),
                                FailOnWarnings=bool(props.get("FailOnWarnings", False)))
        endpoint = f"https://{api['ApiId']}.execute-api.{ctx.region}.amazonaws.com"
        return Created(api["ApiId"], api["ApiId"], {"ApiId": api["ApiId"], "ApiEndpoint": endpoint})

    def delete(self, ctx: HandlerContext, state: ResourceState) -> None:
        ignore_missing(("NotFoundException",), ctx.clients.client("apigatewayv2").delete_api,
                       ApiId=state.physical_id)


class _ApiChild(ResourceHandler):
    """Routes, integrations, authorizers and stages: created with the API's id."""

    create_call = ""
    delete_call = ""
    id_key = ""
    id_param = ""

    def create(self, ctx: HandlerContext, logical_id: str, props: dict[str, Any]) -> Created:
        kwargs = {k: props[k] for k in self.properties if k in props}
        response = getattr(ctx.clients.client("apigatewayv2"), self.create_call)(**kwargs)
        child_id = str(response[self.id_key])
        return Created(f"{props['ApiId']}|{child_id}", child_id, {self.id_key: child_id})

    def update(self, ctx: HandlerContext, logical_id: str, props: dict[str, Any],
               old: ResourceState) -> Created | None:
        return None

    def delete(self, ctx: HandlerContext, state: ResourceState) -> None:
        api_id, _, child_id = state.physical_id.partition("|")
        ignore_missing(("NotFoundException",), getattr(ctx.clients.client("apigatewayv2"), self.delete_call),
                       ApiId=api_id, **{self.id_param: child_id})


class RouteHandler(_ApiChild):
    type_name = "AWS::ApiGatewayV2::Route"
    properties = frozenset({"ApiId", "RouteKey", "Target", "AuthorizationType", "AuthorizerId",
                            "AuthorizationScopes", "OperationName", "ApiKeyRequired"})
    create_call, delete_call, id_key, id_param = "create_route", "delete_route", "RouteId", "RouteId"


class IntegrationHandler(_ApiChild):
    type_name = "AWS::ApiGatewayV2::Integration"
    properties = frozenset({"ApiId", "IntegrationType", "IntegrationUri", "PayloadFormatVersion",
                            "IntegrationMethod", "TimeoutInMillis", "Description", "RequestParameters",
                            "ConnectionType", "CredentialsArn"})
    create_call, delete_call, id_key, id_param = ("create_integration", "delete_integration", "IntegrationId",
                                                  "IntegrationId")


class AuthorizerHandler(_ApiChild):
    type_name = "AWS::ApiGatewayV2::Authorizer"
    properties = frozenset({"ApiId", "Name", "AuthorizerType", "IdentitySource", "JwtConfiguration",
                            "AuthorizerUri", "AuthorizerPayloadFormatVersion", "EnableSimpleResponses",
                            "AuthorizerResultTtlInSeconds", "AuthorizerCredentialsArn"})
    create_call, delete_call, id_key, id_param = "create_authorizer", "delete_authorizer", "AuthorizerId", "AuthorizerId"


class StageHandler(_ApiChild):
    type_name = "AWS::ApiGatewayV2::Stage"
    properties = frozenset({"ApiId", "StageName", "AutoDeploy", "Description", "StageVariables",
                            "AccessLogSettings", "DefaultRouteSettings", "RouteSettings", "Tags"})
    create_call, delete_call, id_key, id_param = "create_stage", "delete_stage", "StageName", "StageName"
