"""HTTP APIs as the API Gateway v2 service describes them (routes, integrations, authorizers, stages).

Where a stack record holds template properties rather than deployed ones (the AWS target's record
resolves ``Ref`` only, so an integration's ``Fn::GetAtt`` function ARN or an authorizer's
``Fn::Sub`` issuer is still an expression), the local gateway reads each API from the service that
holds it instead. The service's shapes are CloudFormation's property shapes, so the same parsers
apply (``harness.gateway.model``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from harness.gateway.model import HttpApiDefinition, authorizer_of, cors_of, route_of
from harness.provisioning.deployer import StackRecord


def _items(call: Callable[..., dict[str, Any]], **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every item of a paged ``Get*`` call of API Gateway v2 (no botocore paginator for all of them)."""
    token: str | None = None
    while True:
        page = call(**kwargs, **({"NextToken": token} if token else {}))
        yield from page.get("Items", [])
        token = page.get("NextToken")
        if not token:
            return


def http_apis_from_service(client: Any, record: StackRecord) -> list[HttpApiDefinition]:
    """Every HTTP API of ``record`` read through ``client`` (an ``apigatewayv2`` client)."""
    apis = []
    for state in record.resources.values():
        if state.type_name != "AWS::ApiGatewayV2::Api":
            continue
        api_id = state.physical_id
        api = client.get_api(ApiId=api_id)
        if api.get("ProtocolType", "HTTP") != "HTTP":
            continue
        integrations = {i["IntegrationId"]: i for i in _items(client.get_integrations, ApiId=api_id)}
        found = list(_items(client.get_routes, ApiId=api_id))
        # each authorizer a route names, read by id (moto has no GetAuthorizers; AWS answers both)
        authorizers = {a: authorizer_of(client.get_authorizer(ApiId=api_id, AuthorizerId=a))
                       for a in {str(r["AuthorizerId"]) for r in found if r.get("AuthorizerId")}}
        routes = [route_of(r, integrations, authorizers) for r in found]
        stages = [str(s["StageName"]) for s in _items(client.get_stages, ApiId=api_id)] or ["$default"]
        apis.append(HttpApiDefinition(state.logical_id, api_id, str(api.get("Name", state.logical_id)),
                                      "$default" if "$default" in stages else stages[0],
                                      tuple(r for r in routes if r is not None),
                                      cors_of(api.get("CorsConfiguration")), str(api.get("ApiEndpoint", ""))))
    return apis
