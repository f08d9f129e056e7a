"""Pure parts of the harness's CloudFormation: documents, changes, coercion, policy conditions."""

from __future__ import annotations

import botocore.session
import pytest

from harness.provisioning.coerce import coerce_to_shape
from harness.provisioning.template import Template
from harness.stacks.changes import compute_changes
from harness.stacks.documents import (
    StackApiError,
    check_capabilities,
    parameter_values,
    read_document,
    required_capabilities,
    s3_location,
)
from harness.targets.moto_policy_fix import conditions_apply

_SESSION = botocore.session.get_session()


def _input(service: str, operation: str) -> object:
    return _SESSION.get_service_model(service).operation_model(operation).input_shape


def test_property_values_become_the_api_types_cloudformation_sends() -> None:
    block = coerce_to_shape({"Bucket": "b", "PublicAccessBlockConfiguration": {
        "BlockPublicAcls": "true", "IgnorePublicAcls": "False", "BlockPublicPolicy": True}},
        _input("s3", "PutPublicAccessBlock"))
    assert block["PublicAccessBlockConfiguration"] == {"BlockPublicAcls": True, "IgnorePublicAcls": False,
                                                       "BlockPublicPolicy": True}
    mapping = coerce_to_shape({"FunctionName": "f", "BatchSize": "10", "MaximumBatchingWindowInSeconds": 2.0,
                               "Enabled": "false"}, _input("lambda", "CreateEventSourceMapping"))
    assert mapping["BatchSize"] == 10 and mapping["MaximumBatchingWindowInSeconds"] == 2
    assert mapping["Enabled"] is False
    function = coerce_to_shape({"Environment": {"Variables": {"RATE": 0.1, "ON": True, "N": 3}}, "Timeout": "30"},
                               _input("lambda", "CreateFunction"))
    assert function == {"Environment": {"Variables": {"RATE": "0.1", "ON": "true", "N": "3"}}, "Timeout": 30}
    # What cannot be converted is left for the API to reject with its own message.
    assert coerce_to_shape({"BatchSize": "ten"}, _input("lambda", "CreateEventSourceMapping")) == {"BatchSize": "ten"}


def test_conditions_on_keys_a_request_lacks_do_not_apply() -> None:
    secure = {"Bool": {"aws:SecureTransport": "false"}}
    assert not conditions_apply(secure, {})  # IAM: a missing key makes the condition false
    assert conditions_apply(secure, {"aws:SecureTransport": "false"})  # present: moto's operator decides
    assert conditions_apply({"StringEqualsIfExists": {"aws:SourceAccount": "1"}}, {})
    assert conditions_apply({"Null": {"aws:SourceArn": "true"}}, {})
    assert not conditions_apply({"Null": {"aws:SourceArn": "false"}}, {})


def test_changes_list_adds_modifies_with_replacement_and_removes() -> None:
    old = Template.from_dict({"Resources": {
        "Q": {"Type": "AWS::SQS::Queue", "Properties": {"DelaySeconds": 1}},
        "T": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "a"}},
        "Gone": {"Type": "AWS::SQS::Queue"}}})
    new = Template.from_dict({"Resources": {
        "Q": {"Type": "AWS::SQS::Queue", "Properties": {"DelaySeconds": 2}},
        "T": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "b"}},
        "New": {"Type": "AWS::SQS::Queue"}}})
    changes = {c["ResourceChange"]["LogicalResourceId"]: c["ResourceChange"]
               for c in compute_changes(old, new, [{"LogicalResourceId": "Q", "PhysicalResourceId": "url"}])}
    assert {k: v["Action"] for k, v in changes.items()} == {"Q": "Modify", "T": "Modify", "New": "Add",
                                                           "Gone": "Remove"}
    assert changes["Q"]["Replacement"] == "False" and changes["Q"]["PhysicalResourceId"] == "url"
    assert changes["Q"]["Scope"] == ["Properties"]
    assert changes["T"]["Replacement"] == "True"  # a new name is a new topic
    assert compute_changes(new, new, []) == []


def test_template_urls_in_every_s3_form() -> None:
    assert s3_location("https://b.s3.amazonaws.com/k/t.yaml") == ("b", "k/t.yaml")
    assert s3_location("https://b.s3.eu-west-1.amazonaws.com/t.yaml") == ("b", "t.yaml")
    assert s3_location("https://s3.amazonaws.com/b/a%20b.yaml") == ("b", "a b.yaml")
    assert s3_location("http://127.0.0.1:5000/b/t.yaml") == ("b", "t.yaml")
    assert s3_location("s3://b/t.yaml") == ("b", "t.yaml")
    with pytest.raises(StackApiError, match="names no bucket and key"):
        s3_location("https://example.com/")


def test_parameters_defaults_previous_values_and_errors() -> None:
    template = Template.from_dict({"Parameters": {"A": {"Type": "String"}, "B": {"Type": "Number", "Default": 5},
                                                  "C": {"Type": "String", "AllowedValues": ["x", "y"],
                                                        "Default": "x"}},
                                   "Resources": {"Q": {"Type": "AWS::SQS::Queue"}}})
    assert parameter_values(template, [{"ParameterKey": "A", "ParameterValue": "a"}]) == {"A": "a", "B": "5",
                                                                                          "C": "x"}
    assert parameter_values(template, [{"ParameterKey": "A", "UsePreviousValue": True}], {"A": "old"})["A"] == "old"
    with pytest.raises(StackApiError, match=r"Parameters: \[A\] must have values"):
        parameter_values(template, [])
    with pytest.raises(StackApiError, match=r"Parameters: \[Z\] do not exist"):
        parameter_values(template, [{"ParameterKey": "Z", "ParameterValue": "1"}])
    with pytest.raises(StackApiError, match="AllowedValues"):
        parameter_values(template, [{"ParameterKey": "A", "ParameterValue": "a"},
                                    {"ParameterKey": "C", "ParameterValue": "z"}])


def test_capabilities_as_cloudformation_requires_them() -> None:
    _, document = read_document("Resources:\n  R: {Type: AWS::IAM::Role, Properties: {RoleName: r}}\n", None)
    needed, reason = required_capabilities(document, Template.from_dict(document))
    assert needed == ["CAPABILITY_NAMED_IAM"] and "AWS::IAM::Role" in reason
    with pytest.raises(StackApiError, match=r"Requires capabilities : \[CAPABILITY_NAMED_IAM\]") as caught:
        check_capabilities(needed, ["CAPABILITY_IAM"], change_set=False)
    assert caught.value.code == "InsufficientCapabilitiesException"
    check_capabilities(["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"], ["CAPABILITY_NAMED_IAM"], change_set=True)
    with pytest.raises(StackApiError, match="Exactly one of TemplateBody or TemplateUrl"):
        read_document(None, None)
    with pytest.raises(StackApiError, match="At least one Resources member"):
        read_document("Description: nothing\n", None)


def test_rules_are_checked_as_cloudformation_checks_them() -> None:
    from harness.provisioning.errors import ProvisioningError
    from harness.provisioning.rules import check_rules

    cdk_rule = {"CheckBootstrapVersion": {"Assertions": [{
        "Assert": {"Fn::Not": [{"Fn::Contains": [["1", "2", "3", "4", "5"], {"Ref": "BootstrapVersion"}]}]},
        "AssertDescription": "CDK bootstrap stack version 6 required."}]}}
    check_rules(cdk_rule, {"BootstrapVersion": "30"})
    with pytest.raises(ProvisioningError, match="rule CheckBootstrapVersion failed: CDK bootstrap stack version 6"):
        check_rules(cdk_rule, {"BootstrapVersion": "5"})
    conditional = {"ProdOnly": {"RuleCondition": {"Fn::Equals": [{"Ref": "Env"}, "prod"]},
                                "Assertions": [{"Assert": {"Fn::EachMemberIn": [{"Ref": "Sizes"}, ["m", "l"]]}}]}}
    check_rules(conditional, {"Env": "dev", "Sizes": "s"})  # the rule does not apply
    with pytest.raises(ProvisioningError, match="ProdOnly failed"):
        check_rules(conditional, {"Env": "prod", "Sizes": "m,s"})


def test_stack_operations_have_begun_when_the_api_call_returns() -> None:
    """A waiter polling right after DeleteStack/UpdateStack must not read the finished status of
    the operation before (the operation itself runs later, in the background)."""
    from harness.stacks import api
    from harness.stacks.model import Stack

    class Service:  # runs nothing: what the API call itself did is all there is
        def __init__(self, stack: Stack) -> None:
            self.stack, self.started = stack, 0

        def find(self, *args: object) -> Stack:
            return self.stack

        def start(self, *args: object) -> None:
            self.started += 1

        _delete = None

    stack = Stack("arn:aws:cloudformation:us-east-1:111122223333:stack/s/1", "s", "111122223333", "us-east-1",
                  "UPDATE_COMPLETE")
    service = Service(stack)
    api.delete_stack(service, "111122223333", "us-east-1", {"StackName": "s"})  # type: ignore[arg-type]
    assert (stack.status, stack.status_reason, service.started) == ("DELETE_IN_PROGRESS", "User Initiated", 1)
    api.delete_stack(service, "111122223333", "us-east-1", {"StackName": "s"})  # type: ignore[arg-type]
    assert service.started == 1 and len(stack.events) == 1  # a second delete while one runs does nothing
    stack.begin("DELETE_IN_PROGRESS")  # the operation's own begin, once it runs: no second event
    assert len(stack.events) == 1
