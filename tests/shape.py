"""Compare payloads by shape (keys and value types, ``harness.shapes``), the way golden AWS events are asserted."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.shapes import shape, shape_differences

EVENTS = Path(__file__).parent / "events"


def golden(name: str) -> Any:
    return json.loads((EVENTS / name).read_text())


def conformance_problems(actual: Any, golden: Any, maps: frozenset[str] = frozenset()) -> list[str]:
    """Where ``actual`` differs from the ``golden`` AWS payload in field set, JSON type or string
    format, each as ``path: what``; list elements are compared with the golden's first. ``maps``:
    the paths of objects whose keys are the caller's (headers, claims), values compared by type."""
    return shape_differences(shape(actual, formats=True), shape(golden, formats=True), other="AWS", maps=maps)
