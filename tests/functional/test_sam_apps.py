"""Other teams' SAM apps, written as SAM users write them, deploy and run unmodified."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cloud import CloudAccount
from harness.deployed import deploy_app
from harness.provisioning import AppSource, ProvisioningError
from harness.provisioning.layers import LayerSource
from harness.settings import HarnessSettings

APPS = Path(__file__).resolve().parents[1] / "apps"
SHARED = LayerSource("arn:aws:lambda:*:111122223333:layer:shared-utils:*", path=APPS / "shared_layer")


def test_globals_policy_templates_filters_and_layers(account: CloudAccount, harness_settings: HarnessSettings) -> None:
    source = AppSource("sam", APPS / "sam_uploads" / "template.yaml", stack="uploads", layers=(SHARED,))
    app = deploy_app(account, source, cache_dir=harness_settings.cache_dir)
    bucket, table = app.outputs["BucketName"], app.outputs["TableName"]
    s3 = account.client("s3")
    for key in ("incoming/a b.txt", "incoming/skipped.csv", "elsewhere/skipped.txt"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"hello")
    account.settle()
    items = account.client("dynamodb").scan(TableName=table)["Items"]
    # Only the key the CloudFormation-shaped filter (prefix incoming/, suffix .txt) lets through.
    assert [i["id"]["S"] for i in items] == ["incoming/a b.txt"]
    # Environment values reach the handler as the strings CloudFormation makes of them.
    assert {k: items[0][k]["S"] for k in ("sample_rate", "enabled", "retries", "tag")} == {
        "sample_rate": "0.1", "enabled": "true", "retries": "3", "tag": "from-the-shared-layer"}
    # Powertools comes from the stand-in for AWS's public layer, not from the harness's own packages.
    origin = account.invoke(app.outputs["IndexerName"], {})["Payload"]
    assert origin["powertools"].endswith("/python/aws_lambda_powertools/__init__.py")  # a layer's python/
    assert "site-packages" not in origin["powertools"]
    assert origin["shared"].endswith("/python/shared_utils.py")
    # The role's policy templates were accepted as IAM accepts them (no Version given by SAM).
    assert app.destroy() == []


def test_an_unknown_public_layer_is_one_clear_error(account: CloudAccount, harness_settings: HarnessSettings) -> None:
    source = AppSource("sam", APPS / "sam_uploads" / "template.yaml", stack="uploads-unmapped")
    with pytest.raises(ProvisioningError) as caught:
        deploy_app(account, source, cache_dir=harness_settings.cache_dir)
    message = str(caught.value)
    assert "arn:aws:lambda:us-east-1:111122223333:layer:shared-utils:4" in message
    assert "Indexer" in message and "[tool.harness.layers]" in message
    assert "arn:aws:lambda:*:111122223333:layer:shared-utils:*" in message
    assert not account.client("s3").list_buckets()["Buckets"]  # refused before anything was created


def test_a_cdk_app_with_cdks_defaults_deploys_unmodified(account: CloudAccount,
                                                         harness_settings: HarnessSettings) -> None:
    source = AppSource("cdk", APPS / "cdk_default", command="python app.py", stack="CdkDefaults")
    app = deploy_app(account, source, cache_dir=harness_settings.cache_dir)
    synthesized = next((harness_settings.cache_dir / "synth").glob("*/CdkDefaults.template.json")).read_text()
    assert "CheckBootstrapVersion" in synthesized and "cdk-hnb659fds-assets-" in synthesized  # CDK's defaults
    account.client("sqs").send_message(QueueUrl=app.outputs["QueueUrl"], MessageBody="one")
    account.settle()
    logs = account.client("logs").filter_log_events(logGroupName=f"/aws/lambda/{app.outputs['FunctionName']}")
    assert any(e["message"].strip() == "hello one" for e in logs["events"])  # the batch ran with the parameter
    assert app.destroy() == []


def test_rest_apis_lambda_proxy_with_cognito_and_an_sqs_integration(account: CloudAccount,
                                                                     harness_settings: HarnessSettings) -> None:
    import json
    import urllib.error
    import urllib.request

    app = deploy_app(account, AppSource("sam", APPS / "sam_rest" / "template.yaml", stack="rest"),
                     cache_dir=harness_settings.cache_dir)
    base, orders = app.outputs["ApiUrl"], app.outputs["OrdersUrl"]
    assert base.startswith("http://127.0.0.1:") and base.endswith("/dev")  # the stage stays in the path
    # A client reading the stack sees the app's outputs, local URLs included, on every target.
    stack = account.client("cloudformation").describe_stacks(StackName="rest")["Stacks"][0]
    assert {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]} == app.outputs
    assert [o.get("Description") for o in stack["Outputs"] if o["OutputKey"] == "TableName"] == ["the items table"]
    exports = account.client("cloudformation").list_exports()["Exports"]
    assert {e["Name"]: e["Value"] for e in exports} == {"rest-items": app.outputs["TableName"]}
    account.client("dynamodb").put_item(TableName=app.outputs["TableName"], Item={"id": {"S": "a1"}})

    def call(url: str, data: bytes | None = None, token: str | None = None) -> tuple[int, dict[str, str], bytes]:
        request = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET",
                                         headers={"Content-Type": "application/json",
                                                  **({"Authorization": token} if token else {})})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    assert call(f"{base}/items/a1")[0] == 401  # the Cognito authorizer wants a token
    token = app.users().token("alice")
    status, headers, body = call(f"{base}/items/a1?view=full", token=token)
    assert status == 200 and headers["x-served-by"] == "lambda"
    event_view = json.loads(body)
    assert event_view == {"item": {"id": "a1"}, "user": "alice", "resource": "/items/{id}", "stage": "dev",
                          "path": "/items/a1", "query": {"view": "full"}, "size": "2.0 kB"}
    assert call(f"{base}//items/a1", token=token)[0] == 200  # API Gateway treats `//` as `/`
    assert call(f"{base}/items/zz", token=token)[0] == 404
    assert call(f"{base}/nothing", token=token)[0] in (403, 404)

    status, _, body = call(orders, json.dumps({"id": "o1", "qty": 3}).encode())
    assert status == 202 and json.loads(body)["accepted"]  # the SQS message id, through the response template
    account.settle()
    stored = account.client("dynamodb").get_item(TableName=app.outputs["TableName"], Key={"id": {"S": "o1"}})
    assert stored["Item"] == {"id": {"S": "o1"}, "via": {"S": "sqs"}, "qty": {"S": "3"}}
    assert app.destroy() == []
