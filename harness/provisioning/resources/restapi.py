"""API Gateway REST APIs (``AWS::ApiGateway::*``): the API, its resource tree, methods with their
integrations, authorizers, deployments and stages.

The local gateway (``harness.gateway.rest``) serves them from the stack record: a ``Body``
(SAM's ``AWS::Serverless::Api`` and ``Events: Type: Api``, OpenAPI or Swagger) or the resource and
method tree (CDK's ``RestApi``). The same calls are made on the target so clients see the API.
"""

from __future__ import annotations

from typing import Any

from harness.provisioning.errors import ProvisioningError
from harness.provisioning.resources.base import (
    Created,
    HandlerContext,
    ResourceHandler,
    ResourceState,
    ignore_missing,
)

_GONE = ("NotFoundException",)


def _client(ctx: HandlerContext) -> Any:
    return ctx.clients.client("apigateway")


class RestApiHandler(ResourceHandler):
    type_name = "AWS::ApiGateway::RestApi"
    properties = frozenset({"Name", "Description", "Body", "EndpointConfiguration", "BinaryMediaTypes",
                            "FailOnWarnings", "Parameters", "Policy", "Tags", "ApiKeySourceType",
                            "MinimumCompressionSize", "DisableExecuteApiEndpoint", "Mode"})
    name_property = "Name"

    def create(self, ctx: HandlerContext, logical_id: str, props: dict[str, Any]) -> Created:
        body = props.get("Body")
        if body is not None and not isinstance(body, dict):
            raise ProvisioningError(f"{logical_id}: Body must be an OpenAPI/Swagger object (a mapping)")
        _check_authorizers(logical_id, body or {})
        title = ((body or {}).get("info") or {}).get("title")
        kwargs: dict[str, Any] = {"name": str(props.get("Name") or title or self.name(ctx, logical_id, props))}
        if props.get("Description"):
            kwargs["description"] = props["Description"]
        if props.get("BinaryMediaTypes"):
            kwargs["binaryMediaTypes"] = props["BinaryMediaTypes"]
        if props.get("EndpointConfiguration"):
            kwargs["endpointConfiguration"] = {"types": props["EndpointConfiguration"].get("Types", ["EDGE"])}
        if props.get("Tags"):
            kwargs["tags"] = {t["Key"]: t["Value"] for t in props["Tags"]}
        client = _client(ctx)
        api = client.create_rest_api(**kwargs)
        root = next(r["id"] for r in client.get_resources(restApiId=api["id"])["items"] if r["path"] == "/")
        if body is not None:  # the definition's resources and methods exist on the target too
            _define(client, api["id"], root, body)
        return Created(api["id"], api["id"], {"RootResourceId": root, "RestApiId": api["id"]})

    def delete(self, ctx: HandlerContext, state: ResourceState) -> None:
        ignore_missing(_GONE, _client(ctx).delete_rest_api, restApiId=state.physical_id)


def _check_authorizers(logical_id: str, body: dict[str, Any]) -> None:
    """Refuse authorizers the local gateway cannot enforce (a route would be open that AWS protects)."""
    schemes = dict(body.get("securityDefinitions") or {})
    schemes.update((body.get("components") or {}).get("securitySchemes") or {})
    for name, scheme in schemes.items():
        kind = str((scheme.get("x-amazon-apigateway-authorizer") or {}).get("type", "")).lower()
        if kind and kind != "cognito_user_pools":
            raise ProvisioningError(f"{logical_id}: authorizer {name} is a {kind} (Lambda) authorizer, which the local "
                                    "gateway does not run; use a Cognito authorizer locally "
                                    "([tool.harness.local_overrides]) or remove it")


def _define(client: Any, api_id: str, root: str, body: dict[str, Any]) -> None:
    """Create the resources and methods of a Swagger 2.0 or OpenAPI 3 definition, as an import does
    (moto's import takes OpenAPI 3 only; SAM writes Swagger 2.0)."""
    ids = {"/": root}
    for path in sorted(body.get("paths") or {}, key=lambda p: p.count("/")):
        parent = "/"
        for part in [p for p in str(path).split("/") if p]:
            here = parent.rstrip("/") + "/" + part
            if here not in ids:
                ids[here] = client.create_resource(restApiId=api_id, parentId=ids[parent], pathPart=part)["id"]
            parent = here
        for method, operation in (body["paths"][path] or {}).items():
            integration = operation.get("x-amazon-apigateway-integration") if isinstance(operation, dict) else None
            if not integration:
                continue
            verb = "ANY" if method == "x-amazon-apigateway-any-method" else method.upper()
            client.put_method(restApiId=api_id, resourceId=ids[parent], httpMethod=verb, authorizationType="NONE")
            args = {"type": str(integration.get("type", "aws_proxy")).upper()}
            if integration.get("uri"):
                args["uri"] = str(integration["uri"])
            if integration.get("httpMethod"):
                args["integrationHttpMethod"] = str(integration["httpMethod"])
            client.put_integration(restApiId=api_id, resourceId=ids[parent], httpMethod=verb, **args)


class RestResourceHandler(ResourceHandler):
    type_name = "AWS::ApiGateway::Resource"
    properties = frozenset({"RestApiId", "ParentId", "PathPart"})

    def create(self, ctx: HandlerContext, logical_id: str, props: dict[str, Any]) -> Created:
        created = _client(ctx).create_resource(restApiId=props["RestApiId"], parentId=props["ParentId"],
                                               pathPart=str(props["PathPart"]))
        return Created(f"{props['RestApiId']}|{created['id']}", created["id"], {"ResourceId": created["id"]})

    def delete(self, ctx: HandlerContext, state: ResourceState) -> None:
        ignore_missing(_GONE, _client(ctx).delete_resource, restApiId=state.properties["RestApiId"],
                       resourceId=state.ref)


class MethodHandler(ResourceHandler):
    type_name = "AWS::ApiGateway::Method"
    properties = frozenset({"RestApiId", "ResourceId", "HttpMethod", "AuthorizationType", "AuthorizerId",
                            "AuthorizationScopes", "ApiKeyRequired", "Integration", "MethodResponses",
                            "RequestParameters", "RequestModels", "RequestValidatorId", "OperationName"})

    def create(self, ctx: HandlerContext, logical_id: str, props: dict[str, Any]) -> Created:
        client = _client(ctx)
        api, resource, method = props["RestApiId"], props["ResourceId"], str(props["HttpMethod"]).upper()
        kwargs: dict[str, Any] = {"authorizationType": str(props.get("AuthorizationType") or "NONE")}
        for key, arg in (("AuthorizerId", "authorizerId"), ("AuthorizationScopes", "authorizationScopes"),
                         ("ApiKeyRequired", "apiKeyRequired"), ("RequestParameters", "requestParameters"),
                         ("OperationName", "operationName")):
            if key in props:
                kwargs[arg] = props[key]
        client.put_method(restApiId=api, resourceId=resource, httpMethod=method, **kwargs)
        integration = props.get("Integration")
        if integration:
            args: dict[str, Any] = {"type": str(integration.get("Type", "AWS_PROXY"))}
            for key, arg in (("IntegrationHttpMethod", "integrationHttpMethod"), ("Uri", "uri"),
                             ("Credentials", "credentials"), ("RequestTemplates", "requestTemplates"),
                             ("RequestParameters", "requestParameters"),
                             ("PassthroughBehavior", "passthroughBehavior"), ("ContentHandling", "contentHandling"),
                             ("TimeoutInMillis", "timeoutInMillis")):
                if key in integration:
                    args[arg] = integration[key]
            client.put_integration(restApiId=api, resourceId=resource, httpMethod=method, **args)
        return Created(f"{api}|{resource}|{method}", f"{api}-{resource}-{method}")

    def update(self, ctx: HandlerContext, logical_id: str, props: dict[str, Any],
               old: ResourceState) -> Created | None:
        self.delete(ctx, old)
        return self.create(ctx, logical_id, props)

    def delete(self, ctx: HandlerContext, state: ResourceState) -> None:
        api, resource, method = str(state.physical_id).split("|")
        ignore_missing(_GONE, _client(ctx).delete_method, restApiId=api, resourceId=resource, httpMethod=method)


class RestAuthorizerHandler(ResourceHandler):
    type_name = "AWS::ApiGateway::Authorizer"
    properties = frozenset({"RestApiId", "Name", "Type", "ProviderARNs", "IdentitySource",
                            "AuthorizerUri", "AuthorizerResultTtlInSeconds", "IdentityValidationExpression",
                            "AuthorizerCredentials"})

    def create(self, ctx: HandlerContext, logical_id: str, props: dict[str, Any]) -> Created:
        kind = str(props.get("Type", "TOKEN"))
        if kind != "COGNITO_USER_POOLS":
            raise ProvisioningError(f"{logical_id}: authorizer Type {kind} is not served by the local gateway "
                                    "(COGNITO_USER_POOLS is); use a Cognito authorizer or leave the method open")
        kwargs: dict[str, Any] = {"restApiId": props["RestApiId"], "name": str(props.get("Name") or logical_id),
                                  "type": kind, "providerARNs": props.get("ProviderARNs") or [],
                                  "identitySource": str(props.get("IdentitySource") or "method.request.header.Authorization")}
        created = _client(ctx).create_authorizer(**kwargs)
        return Created(f"{props['RestApiId']}|{created['id']}", created["id"], {"AuthorizerId": created["id"]})

    def delete(self, ctx: HandlerContext, state: ResourceState) -> None:
        ignore_missing(_GONE, _client(ctx).delete_authorizer, restApiId=state.properties["RestApiId"],
                       authorizerId=state.ref)


class DeploymentHandler(ResourceHandler):
    type_name = "AWS::ApiGateway::Deployment"
    properties = frozenset({"RestApiId", "Description", "StageName", "StageDescription"})

    def create(self, ctx: HandlerContext, logical_id: str, props: dict[str, Any]) -> Created:
        kwargs: dict[str, Any] = {"restApiId": props["RestApiId"]}
        if props.get("StageName"):
            kwargs["stageName"] = props["StageName"]
        if props.get("Description"):
            kwargs["description"] = props["Description"]
        created = _client(ctx).create_deployment(**kwargs)
        return Created(f"{props['RestApiId']}|{created['id']}", created["id"], {"DeploymentId": created["id"]})

    def delete(self, ctx: HandlerContext, state: ResourceState) -> None:
        ignore_missing((*_GONE, "BadRequestException"), _client(ctx).delete_deployment,
                       restApiId=state.properties["RestApiId"], deploymentId=state.ref)


class StageHandler(ResourceHandler):
    type_name = "AWS::ApiGateway::Stage"
    properties = frozenset({"RestApiId", "DeploymentId", "StageName", "Description", "Variables",
                            "MethodSettings", "TracingEnabled", "Tags", "CacheClusterEnabled",
                            "CacheClusterSize", "AccessLogSetting"})

    def create(self, ctx: HandlerContext, logical_id: str, props: dict[str, Any]) -> Created:
        name = str(props.get("StageName") or logical_id)
        kwargs: dict[str, Any] = {"restApiId": props["RestApiId"], "stageName": name,
                                  "deploymentId": props["DeploymentId"]}
        if props.get("Variables"):
            kwargs["variables"] = props["Variables"]
        if props.get("Description"):
            kwargs["description"] = props["Description"]
        if "TracingEnabled" in props:
            kwargs["tracingEnabled"] = props["TracingEnabled"]
        _client(ctx).create_stage(**kwargs)
        return Created(f"{props['RestApiId']}|{name}", name)

    def delete(self, ctx: HandlerContext, state: ResourceState) -> None:
        ignore_missing(_GONE, _client(ctx).delete_stage, restApiId=state.properties["RestApiId"],
                       stageName=state.ref)
