"""Parity: the same scenarios on two targets, compared scenario by scenario (``harness parity``).

Per scenario: the outcome; per function (logical id) the distinct records delivered (delivery is
at least once, on AWS too: a record delivered again counts once) and the records failed, the
invocations and errors where the function is not fed batches (how many records a poller puts in one
batch is the service's choice, on AWS too, and a batch fails whole or in part by its content), and
the shapes of the events it was given, record by record; per table, queue and
bucket what it holds at the end (item counts and item shapes, messages, objects). Values are
compared by shape (``harness.shapes``), never ids or times.

A difference is *known* when a rule names it, with the reason: the harness's own rules (what a
target cannot match, for any app) and the project's (``parity.yaml`` beside the scenarios). Any
other difference fails the run. The comparison is pure, over ``report.json`` scenario entries, so
two reports written earlier compare as well as a fresh run.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from harness.errors import ConfigurationError
from harness.shapes import shape_differences


@dataclass(frozen=True)
class KnownDifference:
    """A difference a rule explains: ``scenario`` and ``difference`` are glob patterns."""

    difference: str
    reason: str
    scenario: str = "*"
    targets: tuple[str, ...] = ()  # the pair it applies to, any order; () for every pair

    def explains(self, scenario: str, difference: str, targets: tuple[str, str]) -> bool:
        return (fnmatch.fnmatchcase(scenario, self.scenario) and fnmatch.fnmatchcase(difference, self.difference)
                and (not self.targets or set(self.targets) == set(targets)))


# What a target cannot match whatever the app (the reasons are the README's "differs from AWS" list).
HARNESS_KNOWN = (
    KnownDifference("functions.*.event.Records[].attributes.SenderId", targets=("moto", "localstack"),
                    reason="LocalStack's SQS SenderId is the account id (its test credentials are the account's "
                           "root, and AWS sends the account id for a root sender); moto sends an IAM user id"),
)


@dataclass(frozen=True)
class Difference:
    scenario: str
    difference: str   # a dotted path, list indices as [] (``functions.Worker.event.Records[].body``)
    detail: str       # what each side had
    known: str | None = None  # the reason, when a rule explains it


def load_known(path: Path) -> list[KnownDifference]:
    """The project's known differences from a YAML file: a list of ``{difference, reason,
    scenario?, targets?}``; an absent file is an empty list.

    Raises:
        ConfigurationError: the file is not such a list (naming the file and the entry).
    """
    if not path.is_file():
        return []
    entries = yaml.safe_load(path.read_text()) or []
    if not isinstance(entries, list):
        raise ConfigurationError(f"{path}: expected a list of {{difference, reason}} entries")
    known = []
    for index, entry in enumerate(entries, 1):
        if not isinstance(entry, dict) or not entry.get("difference") or not entry.get("reason"):
            raise ConfigurationError(f"{path}: entry {index} needs a 'difference' pattern and a 'reason'; got {entry!r}")
        unknown = set(entry) - {"difference", "reason", "scenario", "targets"}
        if unknown:
            raise ConfigurationError(f"{path}: entry {index} has unknown keys {sorted(unknown)}; "
                                     "use difference, reason, scenario, targets")
        known.append(KnownDifference(str(entry["difference"]), str(entry["reason"]), str(entry.get("scenario", "*")),
                                     tuple(entry.get("targets") or ())))
    return known


def _path(text: str) -> str:
    return re.sub(r"\[\d+\]", "[]", text)


def _functions(name: str, left: Mapping[str, Any], right: Mapping[str, Any], sides: tuple[str, str],
               ) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for function in sorted(set(left) | set(right)):
        a, b = left.get(function), right.get(function)
        if a is None or b is None:
            found.append((f"functions.{function}", f"invoked on {sides[0] if b is None else sides[1]} only"))
            continue
        fields = ["records", "failed_records"] + ([] if a["batched"] or b["batched"] else ["invocations", "errors"])
        found += [(f"functions.{function}.{key}", f"{sides[0]} {a[key]}, {sides[1]} {b[key]}")
                  for key in fields if a[key] != b[key]]
        shapes_a, shapes_b = [json.loads(s) for s in a["event_shapes"]], [json.loads(s) for s in b["event_shapes"]]
        for only, other, side in ((shapes_a, shapes_b, sides[1]), (shapes_b, shapes_a, sides[0])):
            for event_shape in only:
                if event_shape in other or not other:
                    continue
                # against the other side's closest shape: the one with the fewest differences
                diffs = min((shape_differences(event_shape, o, other=side) for o in other), key=len)
                found += [(f"functions.{function}.event.{_path(d.split(':', 1)[0])}".rstrip("."), d) for d in diffs]
    return found


def _resources(left: Mapping[str, Any], right: Mapping[str, Any], sides: tuple[str, str]) -> list[tuple[str, str]]:
    found = []
    for resource in sorted(set(left) | set(right)):
        a, b = left.get(resource, {}), right.get(resource, {})
        for key in sorted(set(a) | set(b)):
            if a.get(key) != b.get(key):
                found.append((f"resources.{resource}.{key}", f"{sides[0]} {a.get(key)!r}, {sides[1]} {b.get(key)!r}"))
    return found


def compare(left: Sequence[Mapping[str, Any]], right: Sequence[Mapping[str, Any]], sides: tuple[str, str],
            known: Sequence[KnownDifference] = ()) -> dict[str, Any]:
    """The parity of two runs' scenario entries (``report.json``'s ``scenarios``), ``sides`` naming
    their targets: per scenario its differences, each known (with the reason) or not (pure)."""
    rules = [*HARNESS_KNOWN, *known]
    by_name = {(s["name"], s["file"]): s for s in right}
    scenarios, differences = [], []
    for a in left:
        b = by_name.get((a["name"], a["file"]))
        if b is None or "skipped" in (a["status"], b["status"]):
            scenarios.append({"name": a["name"], "compared": False,
                              "why": "not run on both" if b is None else "skipped on one target"})
            continue
        found: list[tuple[str, str]] = []
        if a["status"] != b["status"]:
            found.append(("outcome", f"{sides[0]} {a['status']} {a.get('reason', '')!r}, "
                                     f"{sides[1]} {b['status']} {b.get('reason', '')!r}"))
        oa, ob = a.get("observed") or {}, b.get("observed") or {}
        found += _functions(a["name"], oa.get("functions", {}), ob.get("functions", {}), sides)
        found += _resources(oa.get("resources", {}), ob.get("resources", {}), sides)
        unique: dict[str, str] = {}
        for path, detail in found:  # a shape difference repeats per record and per side: once is enough
            unique.setdefault(path, detail)
        mine = [Difference(a["name"], path, detail,
                           next((r.reason for r in rules if r.explains(a["name"], path, sides)), None))
                for path, detail in unique.items()]
        differences += mine
        scenarios.append({"name": a["name"], "compared": True, "differences": len(mine),
                          "unexplained": sum(1 for d in mine if d.known is None)})
    unexplained = [d for d in differences if d.known is None]
    return {"targets": list(sides), "scenarios": scenarios, "differences": [asdict(d) for d in differences],
            "summary": {"compared": sum(1 for s in scenarios if s["compared"]), "differences": len(differences),
                        "known": len(differences) - len(unexplained), "unexplained": len(unexplained)}}


def run_parity(scenarios: Sequence[Any], settings: Sequence[Any], *, workers: int = 2,
               known: Sequence[KnownDifference] = (), on_done: Any = lambda target, result: None,
               together: bool = True) -> tuple[dict[str, Any], dict[str, tuple[list[Any], dict[str, Any]]]]:
    """Run ``scenarios`` on each target of ``settings`` (two ``HarnessSettings``), observing each
    scenario; return the parity and, per target, its results and report. ``together``: both
    targets at once (the slower one's waits overlap the other's work), else one after the other."""
    from concurrent.futures import ThreadPoolExecutor

    from harness.scenarios.suite import run_suite

    if len(settings) != 2:
        raise ConfigurationError(f"parity compares two targets; got {[s.target for s in settings]}")

    def run(each: Any) -> tuple[list[Any], dict[str, Any]]:
        def done(result: Any) -> None:
            on_done(each.target, result)
        return run_suite(scenarios, each, workers=workers, observe=True, on_done=done)

    with ThreadPoolExecutor(2 if together else 1, thread_name_prefix="parity") as pool:
        futures = {each.target: pool.submit(run, each) for each in settings}
        runs = {target: future.result() for target, future in futures.items()}
    sides = (settings[0].target, settings[1].target)
    left, right = (list(runs[side][1]["scenarios"]) for side in sides)
    return compare(left, right, sides, known), runs
