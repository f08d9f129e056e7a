"""The reference app, deployed from its CDK app to moto, end to end."""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from harness.cloud import CloudAccount, LocalCloud
from harness.deployed import deploy_app
from harness.project import load_app_source
from harness.provisioning import StackRecord
from harness.settings import HarnessSettings
from tests.functional.conftest import drain
from tests.http_api import http_event

ROOT = Path(__file__).resolve().parents[2]
USER = {"sub": "user-1", "cognito:groups": "[operators]"}
INVOICE = b"vendor: ACME Ltd\ndate: 2026-01-02\ntotal: 1500.50\n"


@pytest.fixture(scope="module")
def app(harness_cloud: LocalCloud, harness_settings: HarnessSettings) -> Iterator[tuple[CloudAccount, StackRecord]]:
    source = load_app_source(ROOT)
    assert source is not None
    account = harness_cloud.open_account()
    app = deploy_app(account, source, cache_dir=harness_settings.cache_dir)
    yield account, app.record
    assert app.destroy() == []
    account.close()


def _function(record: StackRecord, prefix: str) -> str:
    (name,) = [s.physical_id for lid, s in record.resources.items()
               if s.type_name == "AWS::Lambda::Function" and lid.startswith(prefix)]
    return name


def _api(account: CloudAccount, record: StackRecord, event: dict[str, Any]) -> tuple[int, Any]:
    response = account.invoke(_function(record, "ApiHandler"), event)["Payload"]
    return response["statusCode"], json.loads(response["body"]) if response.get("body") else None


def _job(account: CloudAccount, record: StackRecord, job_id: str, claims: dict[str, Any] = USER) -> tuple[int, Any]:
    return _api(account, record, http_event("GET", f"/jobs/{job_id}", route="/jobs/{jobId}",
                                            path_parameters={"jobId": job_id}, claims=claims))


def test_outputs_are_complete(app: tuple[CloudAccount, StackRecord]) -> None:
    _, record = app
    for name in ("DocumentBucket", "JobsTable", "EventBus", "ApiUrl", "UserPoolId", "UserPoolClientId",
                 *(f"{t}{k}" for t in ("Invoice", "Receipt", "Contract") for k in ("Queue", "DeadLetterQueue"))):
        assert record.outputs.get(name), name


def test_submitted_invoice_is_done_and_found_by_all_four_patterns(app: tuple[CloudAccount, StackRecord]) -> None:
    account, record = app
    started = (datetime.now(UTC) - timedelta(seconds=5)).isoformat()
    status, created = _api(account, record, http_event("POST", "/jobs", body={"type": "invoice", "fileName": "inv.txt"},
                                                       claims=USER))
    assert status == 201 and re.fullmatch(r"[0-9A-Z]{26}", created["jobId"])
    # an explicit type: moto parses a form-encoded body (urllib's default) as a form and stores nothing
    request = urllib.request.Request(created["uploadUrl"], data=INVOICE, method="PUT",
                                     headers={"Content-Type": "text/plain"})
    with urllib.request.urlopen(request) as response:
        assert response.status == 200
    account.settle(timeout=30)
    status, job = _job(account, record, created["jobId"])
    item = account.client("dynamodb").get_item(TableName=record.outputs["JobsTable"],
                                               Key={"PK": {"S": f"JOB#{created['jobId']}"}, "SK": {"S": "JOB"}})
    assert status == 200 and job["status"] == "DONE" and job["userId"] == "user-1", item["Item"].get("error")
    assert job["result"] == {"vendor": "ACME Ltd", "date": "2026-01-02", "total": "1500.50", "needsReview": True}
    listings = [
        {"type": "invoice", "status": "DONE"}, {"user": "me"},
        {"from": started, "to": (datetime.now(UTC) + timedelta(seconds=5)).isoformat()},
    ]
    for query in listings:
        status, page = _api(account, record, http_event("GET", "/jobs", query=query, claims=USER))
        assert status == 200, page
        assert created["jobId"] in [i["jobId"] for i in page["items"]], query


def test_another_users_job_is_not_found_and_listings_need_operators(app: tuple[CloudAccount, StackRecord]) -> None:
    account, record = app
    _, created = _api(account, record, http_event("POST", "/jobs", body={"type": "receipt", "fileName": "r.txt"},
                                                  claims=USER))
    stranger = {"sub": "user-2"}
    assert _job(account, record, created["jobId"], stranger)[0] == 404
    assert _api(account, record, http_event("GET", "/jobs", query={"type": "receipt", "status": "PENDING"},
                                            claims=stranger))[0] == 403
    assert _api(account, record, http_event("GET", "/jobs", query={"user": "me"}, claims=stranger))[1]["items"] == []
    assert _api(account, record, http_event("POST", "/jobs", body={"type": "poem", "fileName": "x"},
                                            claims=USER))[0] == 400


def test_malformed_document_ends_in_the_dlq_and_the_job_fails(app: tuple[CloudAccount, StackRecord]) -> None:
    account, record = app
    bucket, outputs = record.outputs["DocumentBucket"], record.outputs
    account.client("s3").put_object(Bucket=bucket, Key="incoming/invoice/user-9/import-bad/x.txt",
                                    Body=b"vendor: ACME\ntotal: lots\n")
    account.advance_clock(100)  # three receives, the template's visibility timeout apart
    account.settle(timeout=30)
    status, job = _job(account, record, "import-bad", {"sub": "user-9"})
    assert status == 200 and job["status"] == "FAILED"
    dead = drain(account, outputs["InvoiceDeadLetterQueue"])
    keys = [json.loads(m["Body"])["detail"]["object"]["key"] for m in dead]
    assert "incoming/invoice/user-9/import-bad/x.txt" in keys


def test_duplicate_delivery_is_processed_once(app: tuple[CloudAccount, StackRecord]) -> None:
    account, record = app
    bucket = record.outputs["DocumentBucket"]
    key = "incoming/contract/user-3/import-dup/c.txt"
    sqs, events = account.client("sqs"), account.client("events")
    probe = sqs.create_queue(QueueName="s3-events-probe")["QueueUrl"]
    probe_arn = sqs.get_queue_attributes(QueueUrl=probe, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="s3-probe", EventPattern=json.dumps({"source": ["aws.s3"], "detail-type": ["Object Created"]}))
    events.put_targets(Rule="s3-probe", Targets=[{"Id": "q", "Arn": probe_arn}])
    account.client("s3").put_object(Bucket=bucket, Key=key,
                                    Body=b"parties: A Corp, B Corp\nstart_date: 2026-01-01\nend_date: 2027-01-01\n")
    account.settle(timeout=30)
    (original,) = [m["Body"] for m in drain(account, probe) if key in m["Body"]]
    sqs.send_message(QueueUrl=record.outputs["ContractQueue"], MessageBody=original)  # the same event again
    account.settle(timeout=30)
    logs = account.client("logs")
    group = f"/aws/lambda/{_function(record, 'ContractProcessor')}"
    messages = [e["message"] for s in logs.describe_log_streams(logGroupName=group)["logStreams"]
                for e in logs.get_log_events(logGroupName=group, logStreamName=s["logStreamName"])["events"]]
    processed = [m for m in messages if '"document processed"' in m and "import-dup" in m]
    assert len(processed) == 1
    assert json.loads(processed[0])["correlation_id"] == "import-dup"
    if account.wiring is not None:  # the harness's own pollers journal each delivery
        deliveries = [e for e in account.cloud.journal.entries("sqs.batch", account.account_id)
                      if e.data["source"].endswith(record.outputs["ContractQueue"].rsplit("/", 1)[-1])]
        assert len(deliveries) >= 2  # delivered twice, processed once
    assert _job(account, record, "import-dup", {"sub": "user-3"})[1]["status"] == "DONE"


def test_notifier_publishes_job_events_on_the_bus(app: tuple[CloudAccount, StackRecord]) -> None:
    account, record = app
    sqs, events = account.client("sqs"), account.client("events")
    url = sqs.create_queue(QueueName="job-events-probe")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bus = record.outputs["EventBus"]
    events.put_rule(Name="probe", EventBusName=bus, EventPattern=json.dumps({"source": ["docpipeline.jobs"]}))
    events.put_targets(Rule="probe", EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}])
    account.client("s3").put_object(Bucket=record.outputs["DocumentBucket"],
                                    Key="incoming/receipt/user-4/import-note/r.txt",
                                    Body=b"merchant: Cafe\ndate: 2026-02-03\ntotal: 4.20\n")
    account.settle(timeout=30)
    published = [json.loads(m["Body"]) for m in drain(account, url)]
    mine = [e for e in published if e["detail"]["jobId"] == "import-note"]
    assert [e["detail-type"] for e in mine] == ["JobCompleted"]
    assert mine[0]["detail"]["result"]["needsReview"] is False
    assert re.fullmatch(r"[0-9a-f]{64}", mine[0]["detail"]["signature"])


def test_template_uses_only_types_the_provisioner_handles(harness_settings: HarnessSettings) -> None:
    """Guards the authoring rules: no custom resources, nothing the provisioner would drop."""
    from harness.provisioning.plan import validate
    from harness.provisioning.synth import synthesize

    source = load_app_source(ROOT)
    assert source is not None
    synth = synthesize(source, harness_settings.cache_dir / "synth", {})
    validate(synth.template)
    types = {r["Type"] for r in synth.template.resources.values()}
    assert not [t for t in types if t.startswith("Custom::")]
    assert {"AWS::ApiGatewayV2::Api", "AWS::Cognito::UserPool", "AWS::SecretsManager::Secret",
            "AWS::CloudWatch::Alarm", "AWS::SQS::QueuePolicy"} <= types
