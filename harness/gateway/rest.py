"""REST APIs (API Gateway v1) as data, read from a deployed stack's ``AWS::ApiGateway::*`` resources
(pure): a ``Body`` (Swagger 2.0 or OpenAPI 3, as SAM writes it) or the resource and method tree
(as CDK writes it). Lambda proxy routes carry the function; ``AWS`` (service) and ``MOCK``
integrations carry a ``ServiceIntegration``; Cognito user-pool authorizers become JWT checks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.gateway.model import HttpApiDefinition, JwtAuthorizer, Route, ServiceIntegration, function_arn
from harness.provisioning.deployer import StackRecord
from harness.provisioning.resources.base import ResourceState

_ANY = "x-amazon-apigateway-any-method"


def rest_apis_of(record: StackRecord) -> list[HttpApiDefinition]:
    """Every REST API of the record that has a stage, with its routes."""
    by_type: dict[str, list[ResourceState]] = {}
    for state in record.resources.values():
        by_type.setdefault(state.type_name, []).append(state)
    clients = _pool_clients(by_type)
    apis = []
    for api in by_type.get("AWS::ApiGateway::RestApi", []):
        def of(kind: str, api_id: Any = api.ref) -> list[ResourceState]:
            return [s for s in by_type.get(f"AWS::ApiGateway::{kind}", []) if s.properties.get("RestApiId") == api_id]

        stages = [str(s.properties.get("StageName")) for s in of("Stage")]
        stages += [str(d.properties["StageName"]) for d in of("Deployment") if d.properties.get("StageName")]
        if not stages:
            continue  # never deployed: API Gateway serves nothing either
        body = api.properties.get("Body")
        routes = _body_routes(body, clients) if body else _tree_routes(api, of, clients)
        apis.append(HttpApiDefinition(api.logical_id, str(api.ref), str(api.properties.get("Name", api.logical_id)),
                                      stages[0], tuple(routes), None, "", {"region": record.region}, kind="rest"))
    return apis


def _pool_clients(by_type: Mapping[str, list[ResourceState]]) -> dict[str, tuple[str, ...]]:
    """App client ids by user pool id (a Cognito authorizer accepts any client of its pool)."""
    clients: dict[str, tuple[str, ...]] = {}
    for client in by_type.get("AWS::Cognito::UserPoolClient", []):
        pool = str(client.properties.get("UserPoolId"))
        clients[pool] = (*clients.get(pool, ()), str(client.ref))
    return clients


def _cognito(name: str, provider_arns: list[Any], clients: Mapping[str, tuple[str, ...]]) -> JwtAuthorizer | None:
    if not provider_arns:
        return None
    arn = str(provider_arns[0])  # arn:aws:cognito-idp:REGION:ACCOUNT:userpool/POOL_ID
    region, pool = arn.split(":")[3], arn.rsplit("/", 1)[-1]
    return JwtAuthorizer(name, f"https://cognito-idp.{region}.amazonaws.com/{pool}", clients.get(pool, ()),
                         "$request.header.Authorization")


def _body_routes(body: Mapping[str, Any], clients: Mapping[str, tuple[str, ...]]) -> list[Route]:
    schemes = dict(body.get("securityDefinitions") or {})
    schemes.update((body.get("components") or {}).get("securitySchemes") or {})
    authorizers = {}
    for name, scheme in schemes.items():
        spec = scheme.get("x-amazon-apigateway-authorizer") or {}
        if str(spec.get("type", "")).lower() == "cognito_user_pools":
            authorizers[name] = _cognito(name, list(spec.get("providerARNs") or []), clients)
    routes = []
    for path, operations in (body.get("paths") or {}).items():
        for method, operation in (operations or {}).items():
            integration = operation.get("x-amazon-apigateway-integration") if isinstance(operation, dict) else None
            if not integration:
                continue
            verb = "ANY" if method == _ANY else method.upper()
            authorizer, scopes = None, ()
            for requirement in operation.get("security") or body.get("security") or []:
                for name, wanted in requirement.items():
                    if authorizers.get(name) is not None:
                        authorizer, scopes = authorizers[name], tuple(wanted or ())
            kind = str(integration.get("type", "")).upper()
            service = None if kind == "AWS_PROXY" else ServiceIntegration(
                kind, str(integration.get("uri", "")), _pairs(integration.get("requestTemplates")),
                _pairs(integration.get("requestParameters")),
                tuple((str(r.get("statusCode", "200")), "" if pattern == "default" else str(pattern),
                       _pairs(r.get("responseParameters")), _pairs(r.get("responseTemplates")))
                      for pattern, r in (integration.get("responses") or {}).items()))
            routes.append(Route(verb, str(path), f"{verb} {path}",
                                function_arn(str(integration.get("uri", ""))) if service is None else "",
                                "1.0", authorizer, scopes, service, str(integration.get("credentials") or "")))
    return routes


def _tree_routes(api: ResourceState, of: Any, clients: Mapping[str, tuple[str, ...]]) -> list[Route]:
    parents = {str(r.ref): (str(r.properties.get("ParentId")), str(r.properties.get("PathPart")))
               for r in of("Resource")}
    root = str(api.attributes.get("RootResourceId"))
    authorizers = {str(a.ref): _cognito(str(a.properties.get("Name", a.logical_id)),
                                        list(a.properties.get("ProviderARNs") or []), clients)
                   for a in of("Authorizer")}

    def path_of(resource_id: str) -> str:
        parts: list[str] = []
        while resource_id != root and resource_id in parents:
            resource_id, part = parents[resource_id]
            parts.insert(0, part)
        return "/" + "/".join(parts)

    routes = []
    for method in of("Method"):
        props = method.properties
        integration = props.get("Integration") or {}
        verb = str(props.get("HttpMethod", "ANY")).upper()
        path = path_of(str(props.get("ResourceId")))
        kind = str(integration.get("Type", "MOCK")).upper()
        authorizer = authorizers.get(str(props.get("AuthorizerId"))) \
            if props.get("AuthorizationType") == "COGNITO_USER_POOLS" else None
        service = None if kind == "AWS_PROXY" else ServiceIntegration(
            kind, str(integration.get("Uri", "")), _pairs(integration.get("RequestTemplates")),
            _pairs(integration.get("RequestParameters")),
            tuple((str(r.get("StatusCode", "200")), str(r.get("SelectionPattern", "")),
                   _pairs(r.get("ResponseParameters")), _pairs(r.get("ResponseTemplates")))
                  for r in integration.get("IntegrationResponses") or []))
        routes.append(Route(verb, path, f"{verb} {path}",
                            function_arn(str(integration.get("Uri", ""))) if service is None else "", "1.0",
                            authorizer, tuple(props.get("AuthorizationScopes") or ()), service,
                            str(integration.get("Credentials") or "")))
    return routes


def _pairs(mapping: Any) -> tuple[tuple[str, str], ...]:
    return tuple((str(k), str(v)) for k, v in (mapping or {}).items())
