"""The event-pattern engine: events/s against a 20-rule bus on one core, side by side with moto's
own rule matcher (``moto.events.models.EventPattern.matches_event``, unpatched) on the same events.

Workload: 20 rules of the kinds real buses carry (S3 notifications by bucket and key prefix/suffix,
EC2 state changes with anything-but, custom events with numeric ranges, exists, wildcard, cidr,
equals-ignore-case and ``$or``), 5,000 events of five shapes (S3 Object Created, EC2 state change,
custom order events, a CloudTrail-like API call, an event no rule matches). One round tests every
event against every rule in one thread; rounds alternate between the engines (3 each, the median is
reported); CPU time is the process's (``time.process_time``), so the figure is per core.
"""

from __future__ import annotations

import json
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from harness.wiring.pattern_match import compile_pattern

RULES: list[dict[str, Any]] = [
    {"source": ["aws.s3"], "detail-type": ["Object Created"], "detail": {"bucket": {"name": ["uploads-1"]}}},
    {"source": ["aws.s3"], "detail": {"object": {"key": [{"prefix": "incoming/invoice/"}]}}},
    {"source": ["aws.s3"], "detail": {"object": {"key": [{"suffix": ".pdf"}], "size": [{"numeric": [">", 1024]}]}}},
    {"source": ["aws.s3"], "detail": {"object": {"key": [{"wildcard": "incoming/*/2026/*.json"}]}}},
    {"source": ["aws.s3"], "detail-type": ["Object Deleted"]},
    {"source": ["aws.ec2"], "detail": {"state": [{"anything-but": ["pending", "running"]}]}},
    {"source": ["aws.ec2"], "detail": {"state": [{"equals-ignore-case": "STOPPED"}]}},
    {"source": ["orders"], "detail": {"total": [{"numeric": [">=", 100, "<", 1000]}]}},
    {"source": ["orders"], "detail": {"customer": {"tier": ["gold", "platinum"]}}},
    {"source": ["orders"], "detail": {"coupon": [{"exists": True}]}},
    {"source": ["orders"], "detail": {"coupon": [{"exists": False}], "total": [{"numeric": ["<", 10]}]}},
    {"source": ["orders"], "$or": [{"detail": {"country": ["DE", "FR"]}}, {"detail": {"express": [True]}}]},
    {"source": ["orders"], "detail": {"items": {"sku": [{"prefix": "BOOK-"}]}}},
    {"source": ["aws.cloudtrail"], "detail": {"sourceIPAddress": [{"cidr": "10.0.0.0/8"}]}},
    {"source": ["aws.cloudtrail"], "detail": {"eventName": [{"prefix": {"equals-ignore-case": "delete"}}]}},
    {"source": ["aws.cloudtrail"], "detail": {"userIdentity": {"type": [{"anything-but": {"prefix": "AWS"}}]}}},
    {"detail-type": [{"suffix": "Notification"}]},
    {"account": ["111122223333"], "region": [{"prefix": "eu-"}]},
    {"source": [{"prefix": "com.example."}], "detail": {"level": [{"numeric": [">", 3]}]}},
    {"resources": [{"wildcard": "arn:aws:s3:::uploads-*"}]},
]


def events(count: int = 5000, seed: int = 7) -> list[dict[str, Any]]:
    """``count`` events of five shapes, deterministic for ``seed``."""
    rng = random.Random(seed)

    def envelope(source: str, kind: str, detail: dict[str, Any], resources: list[str] | None = None) -> dict[str, Any]:
        return {"version": "0", "id": f"{rng.getrandbits(64):016x}", "detail-type": kind, "source": source,
                "account": rng.choice(["111122223333", "444455556666"]), "time": "2026-12-01T10:00:00Z",
                "region": rng.choice(["us-east-1", "eu-west-1"]), "resources": resources or [], "detail": detail}

    def s3() -> dict[str, Any]:
        bucket = f"uploads-{rng.randint(1, 3)}"
        key = rng.choice(["incoming/invoice/a.pdf", "incoming/receipt/2026/b.json", "tmp/c.txt"])
        return envelope("aws.s3", rng.choice(["Object Created", "Object Deleted"]),
                        {"version": "0", "bucket": {"name": bucket},
                         "object": {"key": key, "size": rng.randint(1, 4096), "etag": "d41d8", "sequencer": "00"},
                         "request-id": "R", "requester": "111122223333", "reason": "PutObject"},
                        [f"arn:aws:s3:::{bucket}"])

    def ec2() -> dict[str, Any]:
        return envelope("aws.ec2", "EC2 Instance State-change Notification",
                        {"instance-id": "i-1", "state": rng.choice(["pending", "running", "stopped", "terminated"])})

    def order() -> dict[str, Any]:
        detail: dict[str, Any] = {"total": rng.uniform(1, 2000), "country": rng.choice(["DE", "US", "FR", "JP"]),
                                  "express": rng.random() < 0.2, "customer": {"tier": rng.choice(["gold", "basic"])},
                                  "items": [{"sku": rng.choice(["BOOK-1", "TOY-2"]), "qty": 1} for _ in range(3)]}
        if rng.random() < 0.3:
            detail["coupon"] = "X"
        return envelope("orders", "Order Placed", detail)

    def api_call() -> dict[str, Any]:
        return envelope("aws.cloudtrail", "AWS API Call via CloudTrail",
                        {"eventName": rng.choice(["DeleteBucket", "PutObject"]),
                         "sourceIPAddress": rng.choice(["10.1.2.3", "192.168.0.1"]),
                         "userIdentity": {"type": rng.choice(["IAMUser", "AWSService"])}})

    def unmatched() -> dict[str, Any]:
        return envelope("com.other", "Heartbeat", {"level": 1})

    makers = (s3, ec2, order, api_call, unmatched)
    return [makers[n % len(makers)]() for n in range(count)]


def _round(match: Callable[[int, dict[str, Any]], bool], batch: list[dict[str, Any]]) -> tuple[float, int]:
    started = time.process_time()
    matched = sum(match(rule, event) for event in batch for rule in range(len(RULES)))
    return time.process_time() - started, matched


def _moto_matcher() -> Callable[[int, dict[str, Any]], bool]:
    """moto's own matcher, even where a moto target replaced it in this process."""
    from moto.events.models import EventPattern

    from harness.targets.moto_seams import moto_original

    matches_event = moto_original(EventPattern, "matches_event")
    loaded = [EventPattern.load(json.dumps(rule)) for rule in RULES]
    return lambda rule, event: bool(matches_event(loaded[rule], event))


def pattern_engine(rounds: int = 3, count: int = 5000) -> dict[str, Any]:
    """Events/s per core of the harness's compiled engine and of moto's matcher, interleaved."""
    batch = events(count)
    compiled = [compile_pattern(rule) for rule in RULES]
    engines: dict[str, Callable[[int, dict[str, Any]], bool]] = {
        "harness": lambda rule, event: compiled[rule].matches(event), "moto": _moto_matcher()}
    seconds: dict[str, list[float]] = {name: [] for name in engines}
    matched: dict[str, int] = {}
    for _ in range(rounds):
        for name, match in engines.items():
            spent, matched[name] = _round(match, batch)
            seconds[name].append(spent)
    rate = {name: round(count / statistics.median(spent)) for name, spent in seconds.items()}
    differing = sum(engines["harness"](rule, event) != engines["moto"](rule, event)
                    for event in batch for rule in range(len(RULES)))
    return {"pattern_engine_events_per_s": rate["harness"], "pattern_engine_moto_events_per_s": rate["moto"],
            "pattern_engine_rules": len(RULES), "pattern_engine_events": count,
            "pattern_engine_matches": matched["harness"], "pattern_engine_moto_matches": matched["moto"],
            "pattern_engine_moto_disagreements": differing}
