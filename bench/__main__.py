"""`make bench`: run the benchmarks on a target and write one JSON file."""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import time
from pathlib import Path

from bench import app_metrics, metrics, patterns
from harness.cloud import LocalCloud
from harness.settings import HarnessSettings

GOALS = {
    "lambda_cold_start_ms": "<= 300",
    "lambda_warm_invoke_ms": "<= 10",
    "sqs_to_lambda_latency_ms": "<= 40",
    "sqs_throughput_msgs_per_s": ">= 300",
    "messages_lost": "== 0",
    "provision_s": "<= 1.0",
    "e2e_document_latency_ms": "<= 100",
    "throughput_docs_per_s": ">= 100",
    "documents_lost": "== 0",
    "api_request_latency_ms": "<= 20",
    "demo_wall_s": "<= 60",
    "observe_overhead_pct": "<= 10",
    "pattern_engine_events_per_s": ">= 50000",
}


# Targets with goals of their own (issue 6 for LocalStack); the rest use GOALS.
TARGET_GOALS = {
    "localstack": {**GOALS, "target_start_s": "<= 1.5", "lambda_cold_start_ms": "<= 350",
                   "lambda_warm_invoke_ms": "<= 20", "e2e_document_latency_ms": "<= 200"},
}


def machine() -> dict[str, object]:
    return {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
            "machine": platform.machine()}


def _demo(target: str, report_dir: str = "build/report", **environ: str) -> tuple[float, int]:
    import subprocess

    started = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "harness.cli", "run", "scenarios/", "--target", target,
                          "--report-dir", report_dir], capture_output=True, text=True, env={**os.environ, **environ})
    return time.perf_counter() - started, run.returncode


def demo_wall(target: str) -> dict[str, object]:
    """The whole scenario suite as `make demo` runs it (synth cache warm), wall-clock."""
    wall, code = _demo(target)
    return {"demo_wall_s": round(wall, 1), "demo_exit_code": code}


def observe_overhead(target: str) -> dict[str, object]:
    """What observing every call (IAM and cost sections, ``iam = "report"``) adds to the suite's wall
    time: the suite with ``HARNESS_IAM=off`` and with ``report`` in the order off, report, report, off
    (drift on a noisy machine cancels out), the overhead being the means' difference over off's mean."""
    walls: dict[str, list[float]] = {"off": [], "report": []}
    for mode in ("off", "report", "report", "off"):
        wall, code = _demo(target, f"build/bench-observe-{mode}", HARNESS_IAM=mode)
        if code:
            return {"observe_overhead_pct": None, "observe_exit_code": code}
        walls[mode].append(wall)
    off, report = (sum(walls[m]) / len(walls[m]) for m in ("off", "report"))
    return {"observe_overhead_pct": round((report - off) / off * 100, 1),
            "observe_walls_s": {m: [round(w, 1) for w in ws] for m, ws in walls.items()}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--target", default="moto")
    parser.add_argument("--output", type=Path, default=None)
    parser.add_argument("--only", choices=("patterns", "runtime", "app", "demo", "observe"), default=None, help="run one group")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    output = args.output or Path(f"build/bench-{args.target}.json")
    settings = HarnessSettings.resolve(explicit={"target": args.target, "state_dir": ".harness/bench",
                                                 "cache_dir": ".harness/cache"},
                                       environ=os.environ)
    results: dict[str, object] = {"target": args.target, "machine": machine(),
                                  "goals": TARGET_GOALS.get(args.target, GOALS)}
    started = time.perf_counter()
    if args.only in (None, "patterns"):  # first: pure CPU, before any target loads the machine
        print("bench: patterns ...", file=sys.stderr, flush=True)
        results.update(patterns.pattern_engine())
    if args.only == "patterns":
        return _write(results, output, started)
    started = time.perf_counter()
    with LocalCloud(settings, os.environ) as cloud:
        results["target_start_s"] = round(time.perf_counter() - started, 3)  # to health, caches warm
        results["versions"] = cloud.target.versions()
        if args.only in (None, "runtime"):
            for name, bench in (("settle", metrics.idle_settle), ("lambda", metrics.lambda_cold_and_warm),
                                ("latency", metrics.sqs_latency),
                                ("throughput", metrics.sqs_throughput)):
                account = cloud.open_account()
                print(f"bench: {name} ...", file=sys.stderr, flush=True)
                results.update(bench(account))
                account.close()
        if args.only in (None, "app"):
            for name, app_bench in (("provision", app_metrics.provision), ("e2e", app_metrics.e2e_latency),
                                    ("documents", app_metrics.throughput), ("api", app_metrics.api_latency)):
                print(f"bench: {name} ...", file=sys.stderr, flush=True)
                results.update(app_bench(cloud, settings))
    if args.only in (None, "demo"):
        print("bench: demo ...", file=sys.stderr, flush=True)
        results.update(demo_wall(args.target))
    if args.only in (None, "observe") and args.target == "moto":  # the target whose calls the harness sees
        print("bench: observe overhead (the suite 4 times) ...", file=sys.stderr, flush=True)
        results.update(observe_overhead(args.target))
    return _write(results, output, started)


def _write(results: dict[str, object], output: Path, started: float) -> int:
    """Write ``results`` as JSON to ``output`` and print it; 1 when something was lost or failed."""
    results["bench_wall_s"] = round(time.perf_counter() - started, 1)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    failed = (results.get("messages_lost") or results.get("documents_lost") or results.get("demo_exit_code")
              or results.get("observe_exit_code"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
