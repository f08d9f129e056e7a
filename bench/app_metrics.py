"""Benchmarks of the reference app on a target: provisioning, upload-to-DONE latency, throughput."""

from __future__ import annotations

import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.metrics import percentile
from harness.cloud import CloudAccount, LocalCloud
from harness.deployed import DeployedApp, deploy_app
from harness.project import load_app_source
from harness.provisioning import StackRecord
from harness.settings import HarnessSettings

ROOT = Path(__file__).resolve().parent.parent
INVOICE = b"vendor: ACME Ltd\ndate: 2026-01-02\ntotal: 120.00\n"


def _deploy_app(account: CloudAccount, settings: HarnessSettings) -> DeployedApp:
    source = load_app_source(ROOT)
    assert source is not None, "no [tool.harness] app in pyproject.toml"
    return deploy_app(account, source, cache_dir=settings.cache_dir)


def _deploy(account: CloudAccount, settings: HarnessSettings) -> StackRecord:
    return _deploy_app(account, settings).record


def provision(cloud: LocalCloud, settings: HarnessSettings, samples: int = 3) -> dict[str, Any]:
    _deploy(cloud.open_account(), settings)  # synthesizes once (cached) and zips the assets
    seconds = []
    for _ in range(samples):
        account = cloud.open_account()
        started = time.perf_counter()
        record = _deploy(account, settings)
        seconds.append(time.perf_counter() - started)
        account.close()
    return {"provision_s": round(statistics.median(seconds), 3), "provision_resources": len(record.resources)}


def _job(account: CloudAccount, record: StackRecord, job_id: str) -> dict[str, Any] | None:
    item: dict[str, Any] | None = account.client("dynamodb").get_item(
        TableName=record.outputs["JobsTable"], Key={"PK": {"S": f"JOB#{job_id}"}, "SK": {"S": "JOB"}},
        ConsistentRead=True).get("Item")
    return item


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def e2e_latency(cloud: LocalCloud, settings: HarnessSettings, samples: int = 30) -> dict[str, Any]:
    account = cloud.open_account()
    record = _deploy(account, settings)
    s3 = account.client("s3")
    bucket = record.outputs["DocumentBucket"]
    latencies = []
    for n in range(samples + 3):
        job_id = f"lat-{n}"
        sent = time.time()
        s3.put_object(Bucket=bucket, Key=f"incoming/invoice/bench/{job_id}/i.txt", Body=INVOICE,
                      ContentType="text/plain")
        account.settle(timeout=60)
        item = _job(account, record, job_id)
        assert item is not None and item["status"]["S"] == "DONE", item
        if n >= 3:  # the first documents warm the three functions
            latencies.append((_epoch(item["updatedAt"]["S"]) - sent) * 1000)
    account.close()
    return {"e2e_document_latency_ms": round(percentile(latencies, 0.5), 1),
            "e2e_document_latency_p95_ms": round(percentile(latencies, 0.95), 1)}


def throughput(cloud: LocalCloud, settings: HarnessSettings, documents: int = 500) -> dict[str, Any]:
    account = cloud.open_account()
    record = _deploy(account, settings)
    s3 = account.client("s3")
    bucket = record.outputs["DocumentBucket"]
    kinds = [("invoice", INVOICE), ("receipt", b"merchant: Cafe\ndate: 2026-02-03\ntotal: 4.20\n"),
             ("contract", b"parties: A, B\nstart_date: 2026-01-01\nend_date: 2027-01-01\n")]

    def upload(n: int) -> str:
        kind, body = kinds[n % 3]
        s3.put_object(Bucket=bucket, Key=f"incoming/{kind}/bench/tp-{n}/d.txt", Body=body, ContentType="text/plain")
        return f"tp-{n}"

    for n in range(-3, 0):  # warm one environment per processor
        upload(n)
    account.settle(timeout=60)
    started = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        job_ids = list(pool.map(upload, range(documents)))
    account.settle(timeout=300)
    elapsed = time.perf_counter() - started
    statuses = [(_job(account, record, j) or {}).get("status", {}).get("S") for j in job_ids]
    sqs = account.client("sqs")
    dead = sum(int(sqs.get_queue_attributes(QueueUrl=record.outputs[f"{k}DeadLetterQueue"],
                                            AttributeNames=["ApproximateNumberOfMessages"])
                   ["Attributes"]["ApproximateNumberOfMessages"]) for k in ("Invoice", "Receipt", "Contract"))
    done = statuses.count("DONE")
    account.close()
    return {"throughput_docs_per_s": round(documents / elapsed, 1), "throughput_documents": documents,
            "documents_done": done, "documents_dead_lettered": dead, "documents_lost": documents - done - dead}


def api_latency(cloud: LocalCloud, settings: HarnessSettings, samples: int = 100) -> dict[str, Any]:
    """GET /jobs/{jobId} through the local gateway with a valid token (warm), client-observed."""
    import json
    import urllib.request

    account = cloud.open_account()
    app = _deploy_app(account, settings)
    token = app.users().token("bench-user")
    (base,) = app.api_urls.values()
    request = urllib.request.Request(f"{base}/jobs", method="POST", data=json.dumps(
        {"type": "invoice", "fileName": "a.txt"}).encode(), headers={"Authorization": f"Bearer {token}",
                                                                      "Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        job_id = json.loads(response.read())["jobId"]
    get = urllib.request.Request(f"{base}/jobs/{job_id}", headers={"Authorization": f"Bearer {token}"})
    latencies = []
    for n in range(samples + 5):
        started = time.perf_counter()
        with urllib.request.urlopen(get) as response:
            response.read()
        if n >= 5:
            latencies.append((time.perf_counter() - started) * 1000)
    account.close()
    return {"api_request_latency_ms": round(percentile(latencies, 0.5), 1),
            "api_request_latency_p95_ms": round(percentile(latencies, 0.95), 1)}
