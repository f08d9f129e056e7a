"""EventBridge -> Lambda: the event a Lambda target receives (pure).

Handles a rule target's ``Input`` (constant JSON), ``InputPath`` and ``InputTransformer``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.\-]+)>")
# The envelope EventBridge delivers; emulators add bookkeeping keys (moto: ingestion-time).
ENVELOPE_KEYS = ("version", "id", "detail-type", "source", "account", "time", "region",
                 "resources", "detail", "replay-name")


def normalise_event(event: Mapping[str, Any]) -> dict[str, Any]:
    """The event as AWS delivers it: envelope keys only, ``time`` as ``YYYY-MM-DDTHH:MM:SSZ``."""
    out = {key: event[key] for key in ENVELOPE_KEYS if key in event}
    when = out.get("time")
    if isinstance(when, (int, float)):
        out["time"] = datetime.fromtimestamp(float(when), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return out


def resolve_path(document: Any, path: str) -> Any:
    """A JSONPath of the simple form EventBridge accepts (``$``, ``$.a.b``, ``$.a[0]``)."""
    if path in ("$", "$."):
        return document
    current = document
    for token in re.findall(r"[^.\[\]]+|\[\d+\]", path.removeprefix("$").lstrip(".")):
        if token.startswith("["):
            index = int(token[1:-1])
            current = current[index] if isinstance(current, list) and index < len(current) else None
        else:
            current = current.get(token) if isinstance(current, Mapping) else None
        if current is None:
            return None
    return current


def build_target_input(event: Mapping[str, Any], target: Mapping[str, Any]) -> Any:
    """What a rule target receives for ``event``, after its input settings."""
    normal = normalise_event(event)
    if "Input" in target:
        return json.loads(target["Input"])
    if "InputPath" in target:
        return resolve_path(normal, target["InputPath"])
    transformer = target.get("InputTransformer")
    if transformer:
        return _transform(normal, transformer)
    return normal


def _transform(event: Mapping[str, Any], transformer: Mapping[str, Any]) -> Any:
    values = {
        name: resolve_path(event, path)
        for name, path in (transformer.get("InputPathsMap") or {}).items()
    }
    template: str = transformer.get("InputTemplate") or ""

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "aws.events.event.json":
            return json.dumps(event)
        value = values.get(name)
        start = match.start()
        inside_quotes = template[:start].count('"') % 2 == 1
        if inside_quotes:
            return json.dumps(value if isinstance(value, str) else json.dumps(value))[1:-1]
        return json.dumps(value)

    text = _PLACEHOLDER.sub(substitute, template)
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text
