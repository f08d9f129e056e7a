"""What a call needs from IAM (harness.iam.needs, harness.iam.catalog): actions by IAM's catalogue
with the operations whose action is not their name, each on the ARN the call touches."""

from __future__ import annotations

from typing import Any

import pytest

from harness.faults.params import request_params
from harness.faults.requests import CallId
from harness.iam import catalog
from harness.iam.needs import Need, needs

A, R = "111111111111", "us-east-1"


def need(service: str, operation: str, **params: Any) -> list[tuple[str, str | None]]:
    return [(n.action, n.resource) for n in needs(service, operation, params, account=A, region=R,
                                                  lookup=lambda kind, name: f"arn:aws:secretsmanager:{R}:{A}:secret:{name}-AbCdEf")]


@pytest.mark.parametrize("service, operation, params, expected", [
    ("dynamodb", "PutItem", {"TableName": "jobs"}, [("dynamodb:PutItem", f"arn:aws:dynamodb:{R}:{A}:table/jobs")]),
    ("dynamodb", "Query", {"TableName": "jobs", "IndexName": "byUser"},
     [("dynamodb:Query", f"arn:aws:dynamodb:{R}:{A}:table/jobs/index/byUser")]),
    ("dynamodb", "BatchWriteItem", {"RequestItems": {"a": [], "b": []}},
     [("dynamodb:BatchWriteItem", f"arn:aws:dynamodb:{R}:{A}:table/a"),
      ("dynamodb:BatchWriteItem", f"arn:aws:dynamodb:{R}:{A}:table/b")]),
    ("dynamodb", "TransactWriteItems", {"TransactItems": [{"Put": {"TableName": "a"}}, {"Update": {"TableName": "b"}},
                                                          {"ConditionCheck": {"TableName": "a"}}]},
     [("dynamodb:PutItem", f"arn:aws:dynamodb:{R}:{A}:table/a"), ("dynamodb:UpdateItem", f"arn:aws:dynamodb:{R}:{A}:table/b"),
      ("dynamodb:ConditionCheckItem", f"arn:aws:dynamodb:{R}:{A}:table/a")]),
    ("dynamodbstreams", "GetRecords", {"ShardIterator": "x"}, [("dynamodb:GetRecords", None)]),  # no stream ARN in it
    ("s3", "HeadObject", {"Bucket": "b", "Key": "k/1"}, [("s3:GetObject", "arn:aws:s3:::b/k/1")]),
    ("s3", "ListObjectsV2", {"Bucket": "b", "Prefix": "k/"}, [("s3:ListBucket", "arn:aws:s3:::b")]),
    ("s3", "CopyObject", {"Bucket": "b", "Key": "new", "CopySource": "/src/old%20key"},
     [("s3:GetObject", "arn:aws:s3:::src/old key"), ("s3:PutObject", "arn:aws:s3:::b/new")]),
    ("s3", "DeleteObjects", {"Bucket": "b", "Delete": {"Objects": [{"Key": "1"}, {"Key": "2"}]}},
     [("s3:DeleteObject", "arn:aws:s3:::b/1"), ("s3:DeleteObject", "arn:aws:s3:::b/2")]),
    ("sqs", "SendMessageBatch", {"QueueUrl": f"http://127.0.0.1:1/{A}/jobs"},
     [("sqs:SendMessage", f"arn:aws:sqs:{R}:{A}:jobs")]),
    ("lambda", "Invoke", {"FunctionName": f"arn:aws:lambda:{R}:{A}:function:f", "Qualifier": "live"},
     [("lambda:InvokeFunction", f"arn:aws:lambda:{R}:{A}:function:f:live")]),
    ("events", "PutEvents", {"Entries": [{"EventBusName": "jobs"}, {"Source": "x"}]},
     [("events:PutEvents", f"arn:aws:events:{R}:{A}:event-bus/jobs"),
      ("events:PutEvents", f"arn:aws:events:{R}:{A}:event-bus/default")]),
    ("ssm", "GetParameter", {"Name": "/app/config/x"}, [("ssm:GetParameter", f"arn:aws:ssm:{R}:{A}:parameter/app/config/x")]),
    ("secretsmanager", "GetSecretValue", {"SecretId": "api-key"},
     [("secretsmanager:GetSecretValue", f"arn:aws:secretsmanager:{R}:{A}:secret:api-key-AbCdEf")]),
    ("sns", "Publish", {"TopicArn": f"arn:aws:sns:{R}:{A}:t"}, [("sns:Publish", f"arn:aws:sns:{R}:{A}:t")]),
    ("cloudwatch", "PutMetricData", {"Namespace": "n"}, [("cloudwatch:PutMetricData", "*")]),
    ("logs", "PutLogEvents", {"logGroupName": "/aws/lambda/f", "logStreamName": "s"},
     [("logs:PutLogEvents", f"arn:aws:logs:{R}:{A}:log-group:/aws/lambda/f:log-stream:s")]),
])
def test_actions_and_resources(service: str, operation: str, params: dict[str, Any],
                               expected: list[tuple[str, str | None]]) -> None:
    assert need(service, operation, **params) == expected


def test_calls_that_need_no_permission_and_operations_the_catalogue_lacks() -> None:
    assert need("sts", "GetCallerIdentity") == []
    (unmapped,) = needs("dynamodb", "ExecuteStatement", {}, account=A, region=R)
    assert unmapped.resource is None and "harness:unmapped" in unmapped.context


def test_condition_keys_the_request_sets() -> None:
    (listing,) = needs("s3", "ListObjectsV2", {"Bucket": "b", "Prefix": "home/me/"}, account=A, region=R)
    assert listing.context == {"s3:prefix": "home/me/"}
    (get,) = needs("dynamodb", "GetItem", {"TableName": "t", "Key": {"pk": {"S": "user#1"}}}, account=A, region=R)
    assert get.context == {"dynamodb:LeadingKeys": ["user#1"]}


def test_catalogue_expands_a_pattern_to_the_actions_it_grants() -> None:
    gets = catalog.expand("dynamodb:Get*")
    assert {"dynamodb:GetItem", "dynamodb:GetRecords", "dynamodb:GetShardIterator"} <= set(gets)
    assert "dynamodb:PutItem" not in gets
    assert catalog.expand("nosuchservice:Do") == ["nosuchservice:Do"]


def test_parameters_are_read_from_each_protocol() -> None:
    json_call = CallId("AKIA", R, "dynamodb", "PutItem", "json")
    assert request_params(json_call, "/", "", {}, b'{"TableName": "t"}') == {"TableName": "t"}
    query_call = CallId("AKIA", R, "sns", "Publish", "query")
    assert request_params(query_call, "/", "", {}, b"Action=Publish&TopicArn=arn%3Aaws%3Asns%3Ar%3A1%3At&"
                          b"MessageAttributes.entry.1.Name=x")["TopicArn"] == "arn:aws:sns:r:1:t"
    rest_xml = CallId("AKIA", R, "s3", "ListObjectsV2", "rest-xml")
    assert request_params(rest_xml, "/bucket", "list-type=2&prefix=a%2Fb", {}, b"") == {
        "Bucket": "bucket", "Prefix": "a/b"}
    copy = CallId("AKIA", R, "s3", "CopyObject", "rest-xml")
    assert request_params(copy, "/b/dir/new%20file", "", {"x-amz-copy-source": "/src/k"}, b"") == {
        "Bucket": "b", "Key": "dir/new file", "CopySource": "/src/k"}
    rest_json = CallId("AKIA", R, "lambda", "Invoke", "rest-json")
    assert request_params(rest_json, "/2015-03-31/functions/f/invocations", "Qualifier=live", {}, b'{"FunctionName": "event"}') == {
        "FunctionName": "f", "Qualifier": "live"}


def test_a_need_is_a_value() -> None:
    assert Need("s3:GetObject", "arn:aws:s3:::b/k") == Need("s3:GetObject", "arn:aws:s3:::b/k")
