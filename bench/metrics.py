"""Benchmarks of the harness on one target: Lambda cold/warm, SQS -> Lambda latency and throughput."""

from __future__ import annotations

import json
import statistics
import threading
import time
from typing import Any

from harness.cloud import CloudAccount
from harness.errors import WaitTimeoutError
from harness.packaging import deploy_function
from harness.waiting import wait_until

BOTO_HANDLER = """
import time, json
import boto3  # cold starts are measured with boto3 imported, as real handlers do
def handler(event, context):
    return {"ok": True}
"""

COUNT_HANDLER = """
import json
def handler(event, context):
    print(json.dumps({"processed": [r["messageId"] for r in event["Records"]]}))
"""

STAMP_HANDLER = """
import time, json
import boto3
def handler(event, context):
    started = time.time()
    for record in event["Records"]:
        sent = json.loads(record["body"])["sent"]
        print(json.dumps({"latency_ms": (started - sent) * 1000}))
    return {"batchItemFailures": []}
"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def lambda_cold_and_warm(account: CloudAccount, cold_samples: int = 7, warm_samples: int = 200) -> dict[str, Any]:
    deploy_function(account, "bench-cold", {"app.py": BOTO_HANDLER}, Timeout=10)
    lam = account.client("lambda")
    cold: list[float] = []
    init: list[float] = []
    for i in range(cold_samples):
        # a configuration change makes the warm environment stale: the next invoke is a cold start
        lam.update_function_configuration(FunctionName="bench-cold", Environment={"Variables": {"RUN": str(i)}})
        started = time.perf_counter()
        response = lam.invoke(FunctionName="bench-cold", Payload=b"{}", LogType="Tail")
        cold.append((time.perf_counter() - started) * 1000)
        logs = _tail(response)
        init.extend(float(p.split(":")[1].split()[0]) for p in logs.split("\t") if p.startswith("Init Duration"))
    warm: list[float] = []
    for _ in range(warm_samples):
        started = time.perf_counter()
        lam.invoke(FunctionName="bench-cold", Payload=b"{}")
        warm.append((time.perf_counter() - started) * 1000)
    return {
        "lambda_cold_start_ms": round(statistics.median(cold), 1),
        "lambda_init_duration_ms": round(statistics.median(init), 1) if init else None,
        "lambda_warm_invoke_ms": round(statistics.median(warm), 2),
        "lambda_warm_invoke_p95_ms": round(percentile(warm, 0.95), 2),
    }


def _tail(response: dict[str, Any]) -> str:
    import base64

    return base64.b64decode(response.get("LogResult", "")).decode()


def _queue(account: CloudAccount, name: str, **attrs: str) -> tuple[str, str]:
    sqs = account.client("sqs")
    url = sqs.create_queue(QueueName=name, Attributes=attrs)["QueueUrl"]
    return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def idle_settle(account: CloudAccount, samples: int = 5) -> dict[str, Any]:
    """How long settle() takes on an account with nothing to do (the median of ``samples``)."""
    seconds = []
    for _ in range(samples):
        started = time.perf_counter()
        account.settle()
        seconds.append(time.perf_counter() - started)
    return {"idle_settle_s": round(percentile(seconds, 0.5), 3)}


def sqs_latency(account: CloudAccount, samples: int = 40) -> dict[str, Any]:
    url, arn = _queue(account, "bench-latency")
    deploy_function(account, "bench-latency", {"app.py": STAMP_HANDLER}, Timeout=10)
    account.client("lambda").create_event_source_mapping(
        FunctionName="bench-latency", EventSourceArn=arn, BatchSize=1,
        FunctionResponseTypes=["ReportBatchItemFailures"])
    sqs = account.client("sqs")
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"sent": time.time(), "warmup": True}))
    account.settle()
    first = _log_count(account, "bench-latency")
    for _ in range(samples):
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"sent": time.time()}))
        account.settle()
    latencies = _latencies(account, "bench-latency")[first:]
    return {"sqs_to_lambda_latency_ms": round(percentile(latencies, 0.5), 1),
            "sqs_to_lambda_latency_p95_ms": round(percentile(latencies, 0.95), 1),
            "sqs_to_lambda_samples": len(latencies)}


def _log_lines(account: CloudAccount, function: str) -> list[str]:
    logs = account.client("logs")
    group = f"/aws/lambda/{function}"
    lines: list[str] = []
    for stream in logs.describe_log_streams(logGroupName=group)["logStreams"]:
        events = logs.get_log_events(logGroupName=group, logStreamName=stream["logStreamName"],
                                     startFromHead=True)["events"]
        lines.extend(e["message"] for e in events)
    return lines


def _latencies(account: CloudAccount, function: str) -> list[float]:
    return [json.loads(line)["latency_ms"] for line in _log_lines(account, function) if "latency_ms" in line]


def _processed_batches(account: CloudAccount, function: str) -> list[list[str]]:
    """The message ids of each batch the handler logged (logs arrive asynchronously on some targets)."""
    return [json.loads(line)["processed"] for line in _log_lines(account, function) if '"processed"' in line]


def _log_count(account: CloudAccount, function: str) -> int:
    return len(_latencies(account, function))


def sqs_throughput(account: CloudAccount, messages: int = 1000, senders: int = 4) -> dict[str, Any]:
    dlq_url, dlq_arn = _queue(account, "bench-dlq")
    url, arn = _queue(account, "bench-throughput",
                      RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3}))
    # The handler logs the ids it processed: counting from logs works on every target.
    deploy_function(account, "bench-throughput", {"app.py": COUNT_HANDLER}, Timeout=10)
    mapping = account.client("lambda").create_event_source_mapping(
        FunctionName="bench-throughput", EventSourceArn=arn, BatchSize=10)
    account.invoke("bench-throughput", {"Records": []})  # one warm environment, like a steady state
    account.settle()
    sent_ids: list[str] = []
    lock = threading.Lock()

    def send(worker: int) -> None:
        sqs = account.client("sqs")
        for start in range(worker * 10, messages, senders * 10):
            entries = [{"Id": str(i), "MessageBody": json.dumps({"n": i})} for i in range(start, min(start + 10, messages))]
            ok = sqs.send_message_batch(QueueUrl=url, Entries=entries)["Successful"]
            with lock:
                sent_ids.extend(m["MessageId"] for m in ok)

    started = time.perf_counter()
    threads = [threading.Thread(target=send, args=(w,)) for w in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    account.settle(timeout=120)
    elapsed = time.perf_counter() - started
    dead = account.client("sqs").get_queue_attributes(
        QueueUrl=dlq_url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]["ApproximateNumberOfMessages"]
    try:
        batches = wait_until(lambda: _processed_batches(account, "bench-throughput"),
                             lambda found: len({m for b in found for m in b}) + int(dead) >= len(sent_ids),
                             timeout=30, interval=0.5, description="the handler's logs of every message")
    except WaitTimeoutError as exc:  # some are missing: they count as lost
        batches = exc.last
    processed = {mid for batch in batches for mid in batch}
    lost = len(set(sent_ids) - processed) - int(dead)
    del mapping
    return {
        "sqs_throughput_msgs_per_s": round(len(sent_ids) / elapsed, 1),
        "sqs_throughput_messages": len(sent_ids),
        "sqs_throughput_batches": len(batches),
        "messages_dead_lettered": int(dead),
        "messages_lost": lost,
    }
