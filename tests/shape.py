"""Compare payloads by shape (keys and value types), the way golden AWS events are asserted."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

EVENTS = Path(__file__).parent / "events"


def golden(name: str) -> Any:
    return json.loads((EVENTS / name).read_text())


def shape(value: Any) -> Any:
    """Keys and JSON types of ``value``; lists are represented by their first element."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if value is None:
        return "null"
    return type(value).__name__
