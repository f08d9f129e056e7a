"""A short end-to-end demonstration on the embedded target (what `make demo` runs).

A real Python function behind an SQS queue with a DLQ: ten orders, one of them invalid. The
function reports the invalid one as a batch item failure; it is redelivered until the queue's
redrive policy moves it to the DLQ. The demo prints what happened and proves nothing was lost.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from harness.cloud import CloudAccount, LocalCloud
from harness.packaging import deploy_function
from harness.settings import HarnessSettings

HANDLER = '''
import json

def handler(event, context):
    failures = []
    for record in event["Records"]:
        order = json.loads(record["body"])
        if order["amount"] <= 0:
            print(json.dumps({"level": "ERROR", "message": "invalid amount", "order": order["id"]}))
            failures.append({"itemIdentifier": record["messageId"]})
        else:
            print(json.dumps({"level": "INFO", "message": "processed", "order": order["id"]}))
    return {"batchItemFailures": failures}
'''


def _queue(account: CloudAccount, name: str, **attributes: str) -> tuple[str, str]:
    sqs = account.client("sqs")
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def run_demo(account: CloudAccount) -> dict[str, Any]:
    """Build the pipeline in ``account``, push ten orders through it and describe the outcome."""
    dlq_url, dlq_arn = _queue(account, "orders-dlq")
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2})
    url, arn = _queue(account, "orders", VisibilityTimeout="1", RedrivePolicy=redrive)
    deploy_function(account, "order-processor", {"app.py": HANDLER}, Timeout=10)
    account.client("lambda").create_event_source_mapping(
        FunctionName="order-processor", EventSourceArn=arn, BatchSize=10,
        MaximumBatchingWindowInSeconds=1, FunctionResponseTypes=["ReportBatchItemFailures"])
    orders = [{"id": f"order-{i}", "amount": -5 if i == 6 else 10 * i + 5} for i in range(10)]
    started = time.monotonic()
    sent = account.client("sqs").send_message_batch(QueueUrl=url, Entries=[
        {"Id": str(i), "MessageBody": json.dumps(o)} for i, o in enumerate(orders)])["Successful"]
    account.settle(timeout=30)
    elapsed = time.monotonic() - started
    journal = account.cloud.journal.entries("sqs.batch", account.account_id)
    dlq = account.client("sqs").receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10)
    dead = {m["MessageId"]: json.loads(m["Body"]) for m in dlq.get("Messages", [])}
    processed = {mid for e in journal for mid in e.data["succeeded"]}
    sent_ids = {m["MessageId"] for m in sent}
    lost = sorted(sent_ids - processed - set(dead))
    return {
        "function": "order-processor",
        "messages_sent": len(sent_ids),
        "batches": [{"size": len(e.data["message_ids"]), "failed": len(e.data["failed"])} for e in journal],
        "processed": len(processed & sent_ids),
        "dead_lettered": sorted(o["id"] for o in dead.values()),
        "lost": lost,
        "seconds": round(elapsed, 3),
    }


def print_summary(console: Console, result: dict[str, Any], target: str) -> None:
    table = Table(title=f"SQS -> Lambda on {target}: {result['messages_sent']} orders")
    table.add_column("batch")
    table.add_column("messages", justify="right")
    table.add_column("reported failed", justify="right")
    for number, batch in enumerate(result["batches"], start=1):
        table.add_row(str(number), str(batch["size"]), str(batch["failed"]))
    console.print(table)
    console.print(f"processed: {result['processed']}   dead-lettered: {', '.join(result['dead_lettered'])}"
                  f"   lost: {len(result['lost'])}   in {result['seconds']} s")
    verdict = "[green]nothing lost[/green]" if not result["lost"] else f"[red]LOST {result['lost']}[/red]"
    console.print(f"every message ended processed or in the DLQ: {verdict}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.demo")
    parser.add_argument("--report-dir", type=Path, default=Path("build/report"))
    parser.add_argument("--target", default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    console = Console()
    settings = HarnessSettings.resolve(explicit={"target": args.target}, environ=os.environ)
    with console.status(f"starting {settings.target} and running the demo..."):
        with LocalCloud(settings, os.environ) as cloud:
            account = cloud.open_account()
            result = run_demo(account)
            result["target"] = settings.target
            result["versions"] = cloud.target.versions()
            account.close()
    print_summary(console, result, settings.target)
    args.report_dir.mkdir(parents=True, exist_ok=True)
    report = args.report_dir / "demo.json"
    report.write_text(json.dumps(result, indent=2))
    console.print(f"report: {report}")
    return 0 if not result["lost"] and result["dead_lettered"] else 1


if __name__ == "__main__":
    sys.exit(main())
