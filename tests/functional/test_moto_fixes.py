"""moto's SQS under concurrency: with the harness's fixes no message is lost or delivered twice."""

from __future__ import annotations

import threading
from typing import Any

from harness.cloud import CloudAccount


def test_concurrent_sends_receives_and_deletes_lose_nothing(account: CloudAccount, make_queue: Any) -> None:
    url, _ = make_queue("contended")
    sent: list[str] = []
    received: list[str] = []
    lock = threading.Lock()
    done = threading.Event()

    def send(worker: int) -> None:
        sqs = account.client("sqs")
        for batch in range(20):
            ok = sqs.send_message_batch(QueueUrl=url, Entries=[
                {"Id": str(i), "MessageBody": f"{worker}-{batch}-{i}"} for i in range(10)])["Successful"]
            with lock:
                sent.extend(m["MessageId"] for m in ok)

    def consume() -> None:
        sqs = account.client("sqs")
        while True:
            messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60,
                                           WaitTimeSeconds=0).get("Messages", [])
            if not messages and done.is_set():
                return
            if messages:
                sqs.delete_message_batch(QueueUrl=url, Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)])
                with lock:
                    received.extend(m["MessageId"] for m in messages)

    senders = [threading.Thread(target=send, args=(w,)) for w in range(4)]
    consumers = [threading.Thread(target=consume) for _ in range(3)]
    for thread in senders + consumers:
        thread.start()
    for thread in senders:
        thread.join()
    done.set()
    for thread in consumers:
        thread.join()
    assert len(sent) == 800
    assert sorted(received) == sorted(sent)  # each exactly once
