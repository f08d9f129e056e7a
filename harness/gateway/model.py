"""HTTP APIs as data, read from a deployed stack's ApiGatewayV2 resources (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.provisioning.deployer import StackRecord


@dataclass(frozen=True)
class JwtAuthorizer:
    name: str
    issuer: str
    audience: tuple[str, ...]
    identity_source: str = "$request.header.Authorization"


@dataclass(frozen=True)
class ServiceIntegration:
    """A REST API integration that is not a Lambda proxy: an AWS service (``AWS``) or ``MOCK``."""

    kind: str                      # AWS or MOCK
    uri: str = ""                  # arn:aws:apigateway:REGION:sqs:path/ACCOUNT/QUEUE ...
    request_templates: tuple[tuple[str, str], ...] = ()      # (content type, template)
    request_parameters: tuple[tuple[str, str], ...] = ()     # (integration.request.x, source)
    responses: tuple[tuple[str, str, tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]], ...] = ()
    # (status, selection pattern, response parameters, response templates)


@dataclass(frozen=True)
class Route:
    method: str          # GET, POST ... or ANY; "$default" routes use method "ANY" and path None
    path: str | None
    route_key: str
    function_arn: str
    payload_version: str = "2.0"
    authorizer: JwtAuthorizer | None = None
    scopes: tuple[str, ...] = ()
    integration: ServiceIntegration | None = None  # REST APIs: an AWS service or MOCK instead of Lambda
    credentials: str = ""  # the integration's role (API Gateway invokes with it, not by the function's policy)


@dataclass(frozen=True)
class Cors:
    allow_origins: tuple[str, ...] = ()
    allow_methods: tuple[str, ...] = ()
    allow_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    allow_credentials: bool = False
    max_age: int | None = None


@dataclass(frozen=True)
class HttpApiDefinition:
    logical_id: str
    api_id: str
    name: str
    stage: str
    routes: tuple[Route, ...]
    cors: Cors | None = None
    endpoint: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    kind: str = "http"  # http (API Gateway v2) or rest (API Gateway v1: REST payloads, stage in the path)


def apis_of(record: StackRecord) -> list[HttpApiDefinition]:
    """Every HTTP API in the stack record, with its routes, integrations and JWT authorizers."""
    by_type: dict[str, list[Any]] = {}
    for state in record.resources.values():
        by_type.setdefault(state.type_name, []).append(state)
    apis = []
    for api in by_type.get("AWS::ApiGatewayV2::Api", []):
        if api.properties.get("ProtocolType", "HTTP") != "HTTP":
            continue
        api_id = api.ref
        if api.properties.get("Body"):
            apis.append(_openapi(api))
            continue
        children = {t: [s for s in by_type.get(f"AWS::ApiGatewayV2::{t}", []) if s.properties.get("ApiId") == api_id]
                    for t in ("Route", "Integration", "Authorizer", "Stage")}
        integrations = {s.ref: s.properties for s in children["Integration"]}
        authorizers = {s.ref: authorizer_of(s.properties) for s in children["Authorizer"]}
        routes = tuple(route_of(r.properties, integrations, authorizers) for r in children["Route"])
        stages = [s.properties.get("StageName", "$default") for s in children["Stage"]] or ["$default"]
        stage = "$default" if "$default" in stages else stages[0]
        apis.append(HttpApiDefinition(api.logical_id, api_id, str(api.properties.get("Name", api.logical_id)),
                                      stage, tuple(r for r in routes if r is not None),
                                      cors_of(api.properties.get("CorsConfiguration")),
                                      str(api.attributes.get("ApiEndpoint", ""))))
    return apis


def authorizer_of(props: dict[str, Any]) -> JwtAuthorizer | None:
    if props.get("AuthorizerType") != "JWT":
        return None
    config = props.get("JwtConfiguration") or {}
    sources = props.get("IdentitySource") or ["$request.header.Authorization"]
    return JwtAuthorizer(str(props.get("Name", "jwt")), str(config.get("Issuer", "")),
                         tuple(str(a) for a in config.get("Audience") or []), str(sources[0]))


def route_of(props: dict[str, Any], integrations: dict[str, Any], authorizers: dict[str, Any]) -> Route | None:
    key = str(props["RouteKey"])
    target = str(props.get("Target", ""))
    integration = integrations.get(target.removeprefix("integrations/"))
    if integration is None:
        return None
    if key == "$default":
        method, path = "ANY", None
    else:
        method, _, path = key.partition(" ")
    authorizer = authorizers.get(str(props.get("AuthorizerId"))) if props.get("AuthorizationType") == "JWT" else None
    return Route(method.upper(), path, key, function_arn(str(integration.get("IntegrationUri", ""))),
                 str(integration.get("PayloadFormatVersion", "2.0")), authorizer,
                 tuple(props.get("AuthorizationScopes") or ()), credentials=str(integration.get("CredentialsArn") or ""))


def cors_of(config: dict[str, Any] | None) -> Cors | None:
    if not config:
        return None
    return Cors(tuple(config.get("AllowOrigins") or ()), tuple(m.upper() for m in config.get("AllowMethods") or ()),
                tuple(h.lower() for h in config.get("AllowHeaders") or ()),
                tuple(h.lower() for h in config.get("ExposeHeaders") or ()),
                bool(config.get("AllowCredentials", False)),
                int(config["MaxAge"]) if config.get("MaxAge") is not None else None)


def function_arn(uri: str) -> str:
    """A Lambda ARN from an integration URI, plain or ``arn:aws:apigateway:...:functions/ARN/invocations``."""
    if ":apigateway:" in uri and "/functions/" in uri:
        return uri.split("/functions/", 1)[1].removesuffix("/invocations")
    return uri


def _openapi(api: Any) -> HttpApiDefinition:
    """An HTTP API defined by an OpenAPI body (SAM's HttpApi, or Body on the resource)."""
    body = api.properties["Body"]
    schemes = ((body.get("components") or {}).get("securitySchemes") or {})
    authorizers = {}
    for name, scheme in schemes.items():
        spec = scheme.get("x-amazon-apigateway-authorizer") or {}
        config = spec.get("jwtConfiguration") or {}
        if spec.get("type") == "jwt":
            authorizers[name] = JwtAuthorizer(name, str(config.get("issuer", "")),
                                              tuple(str(a) for a in config.get("audience") or []),
                                              str(spec.get("identitySource", "$request.header.Authorization")))
    routes = []
    for path, operations in (body.get("paths") or {}).items():
        for method, operation in operations.items():
            integration = operation.get("x-amazon-apigateway-integration") if isinstance(operation, dict) else None
            if not integration:
                continue
            verb = "ANY" if method == "x-amazon-apigateway-any-method" else method.upper()
            default = path == "$default"
            security = operation.get("security") or body.get("security") or []
            authorizer, scopes = None, ()
            for requirement in security:
                for name, wanted in requirement.items():
                    if name in authorizers:
                        authorizer, scopes = authorizers[name], tuple(wanted or ())
            routes.append(Route(verb, None if default else path, "$default" if default else f"{verb} {path}",
                                function_arn(str(integration.get("uri", ""))),
                                str(integration.get("payloadFormatVersion", "2.0")), authorizer, scopes,
                                credentials=str(integration.get("credentials") or "")))
    cors = body.get("x-amazon-apigateway-cors")
    return HttpApiDefinition(api.logical_id, api.ref, str((body.get("info") or {}).get("title", api.logical_id)),
                             "$default", tuple(routes), cors_of(_cfn_cors(cors)) if cors else None,
                             str(api.attributes.get("ApiEndpoint", "")))


def _cfn_cors(cors: dict[str, Any]) -> dict[str, Any]:
    keys = {"allowOrigins": "AllowOrigins", "allowMethods": "AllowMethods", "allowHeaders": "AllowHeaders",
            "exposeHeaders": "ExposeHeaders", "allowCredentials": "AllowCredentials", "maxAge": "MaxAge"}
    return {keys.get(k, k): v for k, v in cors.items()}
