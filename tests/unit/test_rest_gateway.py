"""REST APIs in the local gateway: the model read from a stack, mapping templates, REST payloads."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from harness.gateway import local_url
from harness.gateway.events import HttpRequest, RequestContext, build_event_rest
from harness.gateway.integrations import TemplateError, render
from harness.gateway.rest import rest_apis_of
from harness.gateway.routing import match_route
from harness.provisioning.deployer import StackRecord
from harness.provisioning.resources.base import ResourceState

FN = "arn:aws:lambda:us-east-1:111111111111:function:f"
URI = f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{FN}/invocations"
CTX = RequestContext("111111111111", "api1", "v1", "req-1", "api1.execute-api.localhost",
                     datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))


def _state(logical_id: str, type_name: str, ref: str, props: dict, attributes: dict | None = None) -> ResourceState:
    return ResourceState(logical_id, type_name, ref, ref, attributes or {}, props)


def _record(*states: ResourceState) -> StackRecord:
    record = StackRecord("s", "111111111111", "us-east-1")
    for state in states:
        record.resources[state.logical_id] = state
        record.order.append(state.logical_id)
    return record


def test_a_resource_tree_becomes_routes_with_full_paths() -> None:
    record = _record(
        _state("Api", "AWS::ApiGateway::RestApi", "api1", {"Name": "shop"}, {"RootResourceId": "root"}),
        _state("Items", "AWS::ApiGateway::Resource", "r1", {"RestApiId": "api1", "ParentId": "root", "PathPart": "items"}),
        _state("Item", "AWS::ApiGateway::Resource", "r2", {"RestApiId": "api1", "ParentId": "r1", "PathPart": "{id}"}),
        _state("Get", "AWS::ApiGateway::Method", "m1", {"RestApiId": "api1", "ResourceId": "r2", "HttpMethod": "GET",
                                                        "Integration": {"Type": "AWS_PROXY", "Uri": URI}}),
        _state("Options", "AWS::ApiGateway::Method", "m2", {
            "RestApiId": "api1", "ResourceId": "r1", "HttpMethod": "OPTIONS", "Integration": {
                "Type": "MOCK", "IntegrationResponses": [{"StatusCode": "204", "ResponseParameters": {
                    "method.response.header.Access-Control-Allow-Origin": "'*'"}}]}}),
        _state("Stage", "AWS::ApiGateway::Stage", "v1", {"RestApiId": "api1", "StageName": "v1", "DeploymentId": "d"}),
        _state("Undeployed", "AWS::ApiGateway::RestApi", "api2", {"Name": "draft"}, {"RootResourceId": "root2"}))
    (api,) = rest_apis_of(record)  # an API without a stage is served by nobody
    assert (api.kind, api.stage, api.name) == ("rest", "v1", "shop")
    found = match_route(api.routes, "GET", "/items/42")
    assert found is not None and found.route.function_arn == FN and found.path_parameters == {"id": "42"}
    options = match_route(api.routes, "OPTIONS", "/items")
    assert options is not None and options.route.integration is not None
    assert options.route.integration.kind == "MOCK" and options.route.integration.responses[0][0] == "204"


def test_a_swagger_body_with_a_cognito_authorizer() -> None:
    body = {"swagger": "2.0", "paths": {"/items/{id}": {"get": {
        "security": [{"Pool": []}],
        "x-amazon-apigateway-integration": {"type": "aws_proxy", "httpMethod": "POST", "uri": URI}}}},
        "securityDefinitions": {"Pool": {"type": "apiKey", "x-amazon-apigateway-authorizer": {
            "type": "cognito_user_pools", "providerARNs": ["arn:aws:cognito-idp:us-east-1:111111111111:userpool/us-east-1_P"]}}}}
    record = _record(
        _state("Api", "AWS::ApiGateway::RestApi", "api1", {"Body": body}, {"RootResourceId": "root"}),
        _state("Client", "AWS::Cognito::UserPoolClient", "client1", {"UserPoolId": "us-east-1_P"}),
        _state("Deployment", "AWS::ApiGateway::Deployment", "d1", {"RestApiId": "api1", "StageName": "Stage"}))
    (api,) = rest_apis_of(record)
    route = api.routes[0]
    assert (route.method, route.path, route.function_arn) == ("GET", "/items/{id}", FN)
    assert route.authorizer is not None
    assert route.authorizer.issuer == "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_P"
    assert route.authorizer.audience == ("client1",)  # any app client of the pool


def test_mapping_templates_render_the_common_references() -> None:
    request = HttpRequest("POST", "/orders", "mode=fast", (("Content-Type", "application/json"),),
                          json.dumps({"id": "o 1", "n": 2}).encode())
    assert render("Action=SendMessage&MessageBody=$util.urlEncode($input.body)", request, CTX, {}) == \
        "Action=SendMessage&MessageBody=%7B%22id%22%3A+%22o+1%22%2C+%22n%22%3A+2%7D"
    assert render('{"id": "$input.path(\'$.id\')", "all": $input.json(\'$\'), "mode": "$input.params(\'mode\')", '
                  '"req": "$context.requestId"}', request, CTX, {}) == \
        '{"id": "o 1", "all": {"id": "o 1", "n": 2}, "mode": "fast", "req": "req-1"}'
    with pytest.raises(TemplateError, match="VTL directives"):
        render("#set($x = 1)\n$x", request, CTX, {})
    with pytest.raises(TemplateError, match=r"\$util.parseJson"):
        render("$util.parseJson($input.body)", request, CTX, {})


def test_rest_proxy_event_shape() -> None:
    from harness.gateway.model import Route

    route = Route("GET", "/items/{id}", "GET /items/{id}", FN, "1.0")
    request = HttpRequest("GET", "/items/7", "a=1&a=2", (("Host", "x"),), b"")
    event = build_event_rest(request, route, {"id": "7"}, CTX)
    assert "version" not in event and event["resource"] == "/items/{id}" and event["path"] == "/items/7"
    assert event["requestContext"]["path"] == "/v1/items/7" and event["requestContext"]["stage"] == "v1"
    assert "authorizer" not in event["requestContext"]
    assert event["requestContext"]["identity"]["sourceIp"] == "127.0.0.1"
    assert event["requestContext"]["identity"]["cognitoIdentityId"] is None
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "2"]}
    assert event["queryStringParameters"] == {"a": "2"}


def test_public_urls_naming_their_stage_map_to_the_server_root() -> None:
    public = "https://api1.execute-api.us-east-1.amazonaws.com/v1/orders"
    assert local_url(public, "api1", "", "http://127.0.0.1:9/v1", "http://127.0.0.1:9") == "http://127.0.0.1:9/v1/orders"
    assert local_url("api1", "api1", "", "http://127.0.0.1:9/v1", "http://127.0.0.1:9") == "http://127.0.0.1:9/v1"
