"""Provisioning cores on small templates: intrinsics, plans, templates, SAM (no target needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.provisioning.errors import ProvisioningError
from harness.provisioning.intrinsics import ResolveContext, references, resolve
from harness.provisioning.plan import levels, plan, validate
from harness.provisioning.sam import transform_sam
from harness.provisioning.synth import AppSource, apply_overrides, source_hash
from harness.provisioning.template import Template, load_template

HERE = Path(__file__).parent


def ctx(**kwargs: object) -> ResolveContext:
    context = ResolveContext("111122223333", "eu-west-1", "Demo", parameters={"Env": "dev"},
                             conditions={"IsDev": {"Fn::Equals": [{"Ref": "Env"}, "dev"]},
                                         "IsProd": {"Fn::Not": [{"Condition": "IsDev"}]}},
                             mappings={"Sizes": {"dev": {"Memory": 128}}}, exports={"shared-bus": "bus-1"})
    context.refs.update({"Queue": "https://q/url"})
    context.attributes.update({"Queue": {"Arn": "arn:aws:sqs:eu-west-1:111122223333:q", "QueueName": "q"}})
    for key, value in kwargs.items():
        setattr(context, key, value)
    return context


def test_intrinsics_resolve() -> None:
    c = ctx()
    assert resolve({"Ref": "Queue"}, c, "X") == "https://q/url"
    assert resolve({"Fn::GetAtt": ["Queue", "Arn"]}, c, "X").endswith(":q")
    assert resolve({"Fn::GetAtt": "Queue.QueueName"}, c, "X") == "q"
    assert resolve({"Fn::Sub": "${AWS::StackName}-${Queue.QueueName}-${Env}-${!Literal}"}, c, "X") == "Demo-q-dev-${Literal}"
    assert resolve({"Fn::Sub": ["${A}/${AWS::Region}", {"A": {"Ref": "Env"}}]}, c, "X") == "dev/eu-west-1"
    assert resolve({"Fn::Join": [":", ["a", {"Ref": "AWS::AccountId"}]]}, c, "X") == "a:111122223333"
    assert resolve({"Fn::Select": [1, {"Fn::Split": [",", "a,b,c"]}]}, c, "X") == "b"
    assert resolve({"Fn::If": ["IsProd", "big", "small"]}, c, "X") == "small"
    assert resolve({"Fn::FindInMap": ["Sizes", {"Ref": "Env"}, "Memory"]}, c, "X") == 128
    assert resolve({"Fn::ImportValue": "shared-bus"}, c, "X") == "bus-1"
    assert resolve({"A": {"Ref": "AWS::NoValue"}, "B": [1, {"Ref": "AWS::NoValue"}]}, c, "X") == {"B": [1]}


@pytest.mark.parametrize(("value", "message"), [
    ({"Ref": "Missing"}, "Res: Ref 'Missing' names no parameter or created resource"),
    ({"Fn::GetAtt": ["Queue", "Nope"]}, "Queue has no attribute Nope (it has Arn, QueueName)"),
    ({"Fn::If": ["Unknown", 1, 2]}, "condition 'Unknown' is not defined"),
    ({"Fn::ImportValue": "nobody"}, "no deployed stack exports it"),
])
def test_intrinsic_errors_name_the_resource(value: object, message: str) -> None:
    with pytest.raises(ProvisioningError, match=message.replace("(", r"\(").replace(")", r"\)")):
        resolve(value, ctx(), "Res")


def test_references_find_dependencies() -> None:
    props = {"A": {"Ref": "Table"}, "B": {"Fn::GetAtt": "Fn.Arn"}, "C": {"Fn::Sub": "${Bucket}/${AWS::Region}"},
             "D": {"Fn::Sub": ["${X}", {"X": {"Ref": "Topic"}}]}, "E": {"Ref": "AWS::AccountId"}}
    assert references(props) == {"Table", "Fn", "Bucket", "Topic"}


def template(resources: dict[str, object], **extra: object) -> Template:
    return Template.from_dict({"Resources": resources, **extra}, source="test.yaml")


def test_plan_orders_dependencies_first_and_groups_levels() -> None:
    t = template({
        "Fn": {"Type": "AWS::Lambda::Function", "Properties": {"Role": {"Fn::GetAtt": ["Role", "Arn"]}}},
        "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}}},
        "Queue": {"Type": "AWS::SQS::Queue"},
        "Mapping": {"Type": "AWS::Lambda::EventSourceMapping", "DependsOn": "Queue",
                    "Properties": {"FunctionName": {"Ref": "Fn"}}},
        "Meta": {"Type": "AWS::CDK::Metadata"},
    })
    deployment = plan(t)
    order = list(deployment.order)
    assert order.index("Role") < order.index("Fn") < order.index("Mapping")
    assert order.index("Queue") < order.index("Mapping") and "Meta" not in order
    assert levels(deployment) == [["Role", "Queue"], ["Fn"], ["Mapping"]]


def test_validation_names_every_unsupported_type_and_property() -> None:
    t = template({
        "Db": {"Type": "AWS::RDS::DBInstance", "Properties": {}},
        "Q": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": 5, "Magic": True}},
        "Cr": {"Type": "Custom::Thing", "Properties": {}},
    })
    with pytest.raises(ProvisioningError) as caught:
        validate(t)
    text = str(caught.value)
    assert "resource Db has type AWS::RDS::DBInstance" in text
    assert "resource Q (AWS::SQS::Queue) sets property Magic" in text
    assert "resource Cr is a custom resource (Custom::Thing)" in text


def test_cycles_and_dangling_references_are_errors() -> None:
    with pytest.raises(ProvisioningError, match="circular dependency between A, B"):
        plan(template({"A": {"Type": "AWS::SQS::Queue", "DependsOn": "B"},
                       "B": {"Type": "AWS::SQS::Queue", "DependsOn": "A"}}))
    with pytest.raises(ProvisioningError, match="resource A refers to Ghost"):
        plan(template({"A": {"Type": "AWS::SQS::QueuePolicy", "Properties": {"Queues": [{"Ref": "Ghost"}]}}}))


def test_yaml_short_tags_and_parse_errors(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("Resources:\n  Q:\n    Type: AWS::SQS::Queue\n    Properties:\n"
                    "      QueueName: !Sub '${AWS::StackName}-q'\n      Tags: [!GetAtt Other.Arn]\n")
    loaded = load_template(path)
    props = loaded.resources["Q"]["Properties"]
    assert props["QueueName"] == {"Fn::Sub": "${AWS::StackName}-q"}
    assert props["Tags"] == [{"Fn::GetAtt": ["Other", "Arn"]}]
    path.write_text("Resources:\n  Q:\n   Type: [\n")
    with pytest.raises(ProvisioningError, match=r"t.yaml:\d+: invalid YAML"):
        load_template(path)
    path.write_text("{}")
    with pytest.raises(ProvisioningError, match="no Resources section"):
        load_template(path)


def test_sam_template_becomes_cloudformation_with_a_code_asset() -> None:
    t, assets = transform_sam(HERE / "sam_app" / "template.yaml", region="us-east-1")
    types = sorted(r["Type"] for r in t.resources.values())
    assert types == ["AWS::IAM::Role", "AWS::Lambda::EventSourceMapping", "AWS::Lambda::Function", "AWS::SQS::Queue"]
    code = t.resources["Worker"]["Properties"]["Code"]
    (asset,) = assets
    assert code["S3Key"] == asset.key and asset.packaging == "zip"
    plan(t)  # everything SAM produced is deployable


def test_local_overrides_and_source_hash(tmp_path: Path) -> None:
    t = template({"Q": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": 30}},
                  "F": {"Type": "AWS::SQS::QueuePolicy", "Properties": {}}})
    out = apply_overrides(t, {"AWS::SQS::Queue": {"VisibilityTimeout": 2}})
    assert out.resources["Q"]["Properties"]["VisibilityTimeout"] == 2
    assert t.resources["Q"]["Properties"]["VisibilityTimeout"] == 30
    (tmp_path / "a.py").write_text("x = 1\n")
    source = AppSource("cdk", tmp_path, command="python app.py", watch=(tmp_path,))
    first = source_hash(source)
    (tmp_path / "a.py").write_text("x = 2\n")
    assert source_hash(source) != first
    with pytest.raises(ProvisioningError, match="app kind 'terraform'"):
        AppSource("terraform", tmp_path)
