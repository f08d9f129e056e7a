"""`make bench-peers`: one workload, side by side, against the harness's targets and MiniStack.

Each peer is started as a user starts it (``harness up --target moto --no-deploy``, ``ministack``
from its own virtualenv, ``harness up --target localstack --no-deploy``), driven by one boto3
client through the same workload, and stopped (``harness down``, SIGTERM). Rounds are interleaved
(peer A, peer B, ..., then again) so a noisy machine slows every peer alike; each metric is the
median over rounds, with its ratio to the best peer.

The workload: provision an S3 bucket with EventBridge notifications, a rule to an SQS queue with a
DLQ, a DynamoDB table and a python3.13 function with an SQS mapping; one cold and 50 warm direct
invokes; 20 uploads each waited for as a DynamoDB item (upload -> item); 200 sequential uploads
(documents/s, ``PutObject`` p50); the peak resident memory of the peer's whole process tree, as
the sum of its processes' RSS (``peak_memory_mb``: a page shared by forked processes counts once per
process) and of their PSS (``peak_memory_pss_mb``: a shared page split between its sharers).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import psutil
from botocore.config import Config

from harness.envfile import read_env_file

MINISTACK = "ministack==1.5.33"
HANDLER = """
import json, os, boto3
ddb = boto3.client("dynamodb")
def handler(event, context):
    if "Records" not in event:
        return {"ok": True}
    for record in event["Records"]:
        key = json.loads(record["body"])["detail"]["object"]["key"]
        ddb.put_item(TableName=os.environ["TABLE"], Item={"pk": {"S": key}})
    return {"batchItemFailures": []}
"""
LOWER_IS_BETTER = ("start_s", "stop_s", "cold_invoke_ms", "warm_invoke_p50_ms", "upload_to_item_p50_ms",
                   "put_object_p50_ms", "peak_memory_mb", "peak_memory_pss_mb")


@dataclass
class Running:
    """A started peer: where it answers, with which credentials, and how to stop it."""

    endpoint: str
    credentials: dict[str, str]
    pid: int
    stop: Callable[[], None]
    started_s: float


@dataclass
class Peer:
    name: str
    start: Callable[[Path], Running]
    memory_samples: list[float] = field(default_factory=list)


def _wait_answering(endpoint: str, credentials: dict[str, str], timeout: float = 60) -> None:
    client = boto3.session.Session(**credentials).client("sqs", endpoint_url=endpoint,
                                                         config=Config(retries={"max_attempts": 0}))
    deadline = time.monotonic() + timeout
    while True:
        try:
            client.list_queues()
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def harness_peer(target: str) -> Callable[[Path], Running]:
    def start(work: Path) -> Running:
        env_file = work / f"{target}.env"
        began = time.perf_counter()
        subprocess.run([sys.executable, "-m", "harness.cli", "up", "--target", target, "--no-deploy",
                        "--env-file", str(env_file)], check=True, capture_output=True)
        values = read_env_file(env_file)
        credentials = {"aws_access_key_id": values["AWS_ACCESS_KEY_ID"],
                       "aws_secret_access_key": values["AWS_SECRET_ACCESS_KEY"],
                       "aws_session_token": values.get("AWS_SESSION_TOKEN"), "region_name": "us-east-1"}
        _wait_answering(values["AWS_ENDPOINT_URL"], credentials)
        started = time.perf_counter() - began

        def stop() -> None:
            subprocess.run([sys.executable, "-m", "harness.cli", "down", "--env-file", str(env_file)],
                           check=True, capture_output=True)

        return Running(values["AWS_ENDPOINT_URL"], credentials, int(values["HARNESS_PID"]), stop, started)
    return start


def ministack_python(cache: Path) -> Path:
    """MiniStack in a virtualenv of its own (with boto3 for the function), installed once."""
    venv = cache / "peers" / MINISTACK.replace("==", "-")
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", MINISTACK, "boto3"], check=True)
    return python


def ministack_peer(cache: Path) -> Callable[[Path], Running]:
    python = ministack_python(cache)

    def start(work: Path) -> Running:
        sock = __import__("socket").socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        sock.close()
        env = {**os.environ, "GATEWAY_PORT": str(port), "BIND_HOST": "127.0.0.1", "TMPDIR": str(work)}
        began = time.perf_counter()
        process = subprocess.Popen([str(python), "-m", "ministack"], env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, start_new_session=True)
        endpoint = f"http://127.0.0.1:{port}"
        credentials = {"aws_access_key_id": "test", "aws_secret_access_key": "test", "region_name": "us-east-1"}
        _wait_answering(endpoint, credentials)
        started = time.perf_counter() - began

        def stop() -> None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

        return Running(endpoint, credentials, process.pid, stop, started)
    return start


def _tree_memory_mb(pid: int) -> tuple[float, float]:
    """The process tree's resident memory: the sum of RSS, and the sum of PSS (MB)."""
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0, 0.0
    rss = pss = 0
    for process in processes:
        try:
            info = process.memory_full_info()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        rss += info.rss
        pss += getattr(info, "pss", info.rss)
    return rss / 2**20, pss / 2**20


def _p50(values: list[float]) -> float:
    return round(statistics.median(values), 2)


def _zip(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", source)
    return buffer.getvalue()


def workload(running: Running, sample: Callable[[], None]) -> dict[str, float]:
    """The workload of the module's doc on one running peer; ``sample`` is called between steps."""
    session = boto3.session.Session(**running.credentials)
    config = Config(retries={"max_attempts": 2}, max_pool_connections=20)
    s3, sqs, events, ddb, lam, iam = (session.client(s, endpoint_url=running.endpoint, config=config)
                                      for s in ("s3", "sqs", "events", "dynamodb", "lambda", "iam"))
    bucket, table = "peer-documents", "peer-items"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={"EventBridgeConfiguration": {}})
    dlq = sqs.create_queue(QueueName="peer-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue = sqs.create_queue(QueueName="peer-work", Attributes={"RedrivePolicy": json.dumps(
        {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3})})["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="peer-uploads", EventPattern=json.dumps(
        {"source": ["aws.s3"], "detail-type": ["Object Created"], "detail": {"bucket": {"name": [bucket]}}}))
    events.put_targets(Rule="peer-uploads", Targets=[{"Id": "queue", "Arn": queue_arn}])
    ddb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
    role = iam.create_role(RoleName="peer-role", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"Service": "lambda.amazonaws.com"}}]}))["Role"]["Arn"]
    lam.create_function(FunctionName="peer-fn", Runtime="python3.13", Role=role, Handler="app.handler",
                        Code={"ZipFile": _zip(HANDLER)}, Environment={"Variables": {"TABLE": table}}, Timeout=30)
    lam.get_waiter("function_active_v2").wait(FunctionName="peer-fn")
    sample()
    began = time.perf_counter()
    lam.invoke(FunctionName="peer-fn", Payload=b"{}")
    cold = (time.perf_counter() - began) * 1000
    warm = []
    for _ in range(50):
        began = time.perf_counter()
        lam.invoke(FunctionName="peer-fn", Payload=b"{}")
        warm.append((time.perf_counter() - began) * 1000)
    lam.create_event_source_mapping(FunctionName="peer-fn", EventSourceArn=queue_arn, BatchSize=10)
    sample()
    puts: list[float] = []

    def upload(key: str) -> None:
        began = time.perf_counter()
        s3.put_object(Bucket=bucket, Key=key, Body=b"document")
        puts.append((time.perf_counter() - began) * 1000)

    def wait_item(key: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while "Item" not in ddb.get_item(TableName=table, Key={"pk": {"S": key}}):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{key} never became an item")
            time.sleep(0.002)

    upload("warmup")  # the mapping's first poll and the function's second environment are not the metric
    wait_item("warmup")
    latencies = []
    for n in range(20):
        began = time.perf_counter()
        upload(f"latency-{n}")
        wait_item(f"latency-{n}")
        latencies.append((time.perf_counter() - began) * 1000)
        sample()
    began = time.perf_counter()
    for n in range(200):
        upload(f"doc-{n}")
        if n % 20 == 0:
            sample()
    for n in range(200):
        wait_item(f"doc-{n}")
    seconds = time.perf_counter() - began
    sample()
    return {"cold_invoke_ms": round(cold, 1), "warm_invoke_p50_ms": _p50(warm),
            "upload_to_item_p50_ms": _p50(latencies), "put_object_p50_ms": _p50(puts),
            "documents_per_s": round(200 / seconds, 1)}


def run_round(peer: Peer, work: Path) -> dict[str, float]:
    running = peer.start(work)
    peak = [_tree_memory_mb(running.pid)]
    try:
        metrics = workload(running, lambda: peak.append(_tree_memory_mb(running.pid)))
    finally:
        began = time.perf_counter()
        running.stop()
        stopped = time.perf_counter() - began
    return {"start_s": round(running.started_s, 3), "stop_s": round(stopped, 3), **metrics,
            "peak_memory_mb": round(max(rss for rss, _ in peak), 1),
            "peak_memory_pss_mb": round(max(pss for _, pss in peak), 1)}


def summarise(rounds: dict[str, list[dict[str, float]]]) -> dict[str, Any]:
    """Per peer each metric's median over rounds, and its ratio to the best peer's (pure)."""
    medians = {peer: {metric: round(statistics.median(r[metric] for r in runs), 3) for metric in runs[0]}
               for peer, runs in rounds.items() if runs}
    ratios: dict[str, dict[str, float]] = {peer: {} for peer in medians}
    for metric in next(iter(medians.values()), {}):
        values = {peer: m[metric] for peer, m in medians.items()}
        best = min(values.values()) if metric in LOWER_IS_BETTER else max(values.values())
        for peer, value in values.items():
            ratios[peer][metric] = round(value / best, 2) if best else 0.0
    return {"medians": medians, "ratio_to_best": ratios}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.peers")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--peers", default="harness-moto,ministack",
                        help="comma-separated: harness-moto, harness-localstack, ministack")
    parser.add_argument("--output", type=Path, default=Path("build/bench-peers.json"))
    parser.add_argument("--cache", type=Path, default=Path(".harness/cache"))
    args = parser.parse_args(argv)
    makers = {"harness-moto": lambda: harness_peer("moto"), "harness-localstack": lambda: harness_peer("localstack"),
              "ministack": lambda: ministack_peer(args.cache)}
    peers = [Peer(name, makers[name]()) for name in args.peers.split(",")]
    rounds: dict[str, list[dict[str, float]]] = {peer.name: [] for peer in peers}
    with tempfile.TemporaryDirectory(prefix="bench-peers-") as tmp:
        for number in range(args.rounds):
            for peer in peers:
                print(f"bench-peers: round {number + 1}, {peer.name} ...", file=sys.stderr, flush=True)
                rounds[peer.name].append(run_round(peer, Path(tmp)))
    result = {"workload": __doc__.split("The workload: ", 1)[1].strip() if __doc__ else "",
              "machine": {"cpus": os.cpu_count()}, "rounds": rounds, **summarise(rounds)}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2))
    print(json.dumps({k: result[k] for k in ("medians", "ratio_to_best")}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
