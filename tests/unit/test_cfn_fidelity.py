"""CloudFormation's own conversions, done as CloudFormation does them (pure)."""

from __future__ import annotations

import json

import pytest

from harness.gateway import local_url
from harness.provisioning.errors import ProvisioningError
from harness.provisioning.layers import (
    LayerSource,
    builtin_layers,
    foreign_layers,
    match_layer,
    parse_layer_settings,
)
from harness.provisioning.resources.base import api_string, policy_json
from harness.provisioning.resources.storage import s3_filter
from harness.provisioning.template import Template


def test_s3_key_filters_in_cloudformation_shape_become_the_api_shape() -> None:
    cfn = {"S3Key": {"Rules": [{"Name": "prefix", "Value": "in/"}, {"Name": "suffix", "Value": ".txt"}]}}
    assert s3_filter(cfn) == {"Key": {"FilterRules": [{"Name": "prefix", "Value": "in/"},
                                                      {"Name": "suffix", "Value": ".txt"}]}}
    api = {"Key": {"FilterRules": [{"Name": "prefix", "Value": "x"}]}}
    assert s3_filter(api) == api


@pytest.mark.parametrize(("value", "expected"), [(True, "true"), (False, "false"), (0.1, "0.1"), (3, "3"),
                                                 ("text", "text"), ({"a": 1}, '{"a": 1}')])
def test_values_are_passed_to_string_fields_as_cloudformation_renders_them(value: object, expected: str) -> None:
    assert api_string(value) == expected


def test_policies_without_a_version_get_the_one_iam_assumes() -> None:
    statement = [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]
    assert json.loads(policy_json({"Statement": statement})) == {"Version": "2012-10-17", "Statement": statement}
    explicit = {"Version": "2008-10-17", "Statement": statement}
    assert json.loads(policy_json(json.dumps(explicit))) == explicit


def test_outputs_naming_an_api_are_rewritten_to_the_local_url() -> None:
    local = "http://127.0.0.1:9000"
    assert local_url("abc123", "abc123", "", local) == local
    assert local_url("https://abc123.execute-api.eu-west-1.amazonaws.com/Prod/items", "abc123", "", local) == \
        local + "/Prod/items"
    assert local_url("https://other.execute-api.eu-west-1.amazonaws.com", "abc123", "", local).startswith("https://other")
    assert local_url(42, "abc123", "", local) == 42


TEMPLATE = Template.from_dict({"Resources": {
    "Own": {"Type": "AWS::Lambda::LayerVersion", "Properties": {}},
    "Fn": {"Type": "AWS::Lambda::Function", "Properties": {"Layers": [
        {"Ref": "Own"},
        {"Fn::Sub": "arn:aws:lambda:${AWS::Region}:017000801446:layer:AWSLambdaPowertoolsPythonV3-python313-x86_64:7"},
        "arn:aws:lambda:us-east-1:123456789012:layer:mine:1"]}},
}})


def test_foreign_layers_are_those_of_other_accounts() -> None:
    assert foreign_layers(TEMPLATE, "123456789012", "eu-west-1") == {
        "arn:aws:lambda:eu-west-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python313-x86_64:7": ["Fn"]}


def test_layer_settings_first_then_the_built_in_powertools_mapping(tmp_path: object) -> None:
    from pathlib import Path

    root = Path(str(tmp_path))
    mine = parse_layer_settings({"arn:aws:lambda:*:017000801446:layer:*": "layers/x",
                                 "arn:aws:lambda:*:*:layer:pandas:*": {"requirements": ["pandas==2.2.3"]}}, root, "p")
    arn = "arn:aws:lambda:eu-west-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python313-x86_64:7"
    assert match_layer(arn, (*mine, *builtin_layers())) == LayerSource(mine[0].pattern, path=root / "layers" / "x")
    assert match_layer(arn, builtin_layers()).requirements[0].startswith("aws-lambda-powertools")  # type: ignore[union-attr]
    # Each major version of the public layer by its name, with X-Ray's SDK as the layers bring it.
    v1 = match_layer("arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPython:9", builtin_layers())
    v2 = match_layer("arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV2:40", builtin_layers())
    assert v1 is not None and v1.requirements == ("aws-lambda-powertools>=1.25,<2", "aws-xray-sdk", "fastjsonschema")
    assert v2 is not None and v2.requirements == ("aws-lambda-powertools[tracer,validation]>=2,<3",)
    assert match_layer("arn:aws:lambda:us-east-1:1:layer:pandas:3", mine) == mine[1]
    with pytest.raises(ProvisioningError, match=r"\[tool.harness.layers\] 'bad' must be a path"):
        parse_layer_settings({"bad": 3}, root, "p")


def test_scalar_environment_values_are_rendered_before_another_engine_sees_them() -> None:
    from harness.provisioning.template import with_string_variables

    template = Template.from_dict({"Resources": {"Fn": {"Type": "AWS::Lambda::Function", "Properties": {
        "Environment": {"Variables": {"A": True, "B": 0.1, "C": {"Ref": "X"}, "D": "d"}}}}}})
    variables = with_string_variables(template).resources["Fn"]["Properties"]["Environment"]["Variables"]
    assert variables == {"A": "true", "B": "0.1", "C": {"Ref": "X"}, "D": "d"}


def test_table_sse_specification_in_cloudformations_shape() -> None:
    from harness.provisioning.resources.storage import TableHandler

    calls: dict[str, dict] = {}

    class Ddb:
        def create_table(self, **kwargs: object) -> dict:
            calls["create_table"] = dict(kwargs)
            return {"TableDescription": {"TableArn": "arn:aws:dynamodb:us-east-1:1:table/t"}}

    class Clients:
        def client(self, service: str) -> Ddb:
            return Ddb()

    from harness.provisioning.resources.base import HandlerContext

    ctx = HandlerContext(Clients(), "111111111111", "us-east-1", "s")
    TableHandler().create(ctx, "T", {"TableName": "t", "AttributeDefinitions": [], "KeySchema": [],
                                     "SSESpecification": {"SSEEnabled": True, "SSEType": "KMS"}})
    assert calls["create_table"]["SSESpecification"] == {"Enabled": True, "SSEType": "KMS"}
