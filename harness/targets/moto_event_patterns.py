"""EventBridge patterns on moto checked as AWS checks them; installed with the other fixes (``FIXES``).

moto answered ``TestEventPattern`` with an empty HTTP 200 (no ``Result``), accepted patterns AWS
refuses with ``InvalidEventPatternException`` (unknown operators, a non-numeric bound, ...), and its
rule matcher disagreed with AWS (``exists`` on objects and empty arrays, arrays of objects, ``300``
vs ``300.0``, dotted keys). Rules, ``TestEventPattern`` and ``PutRule`` now use the harness's pattern
matcher and validation (``harness.wiring.filters``), the same the event source mappings' filters use.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from harness.wiring.filters import matches, parse_pattern
from harness.wiring.pattern_match import compile_pattern

Patch = Callable[[Any, str, Any], None]
# The fields TestEventPattern requires of its event, as AWS answers "Parameter Event is not valid."
EVENT_FIELDS = ("id", "account", "source", "time", "region", "detail-type")


def parsed_pattern(text: Any) -> dict[str, Any]:
    """The pattern ``text`` names, or moto's ``InvalidEventPatternException`` with the reason."""
    from moto.events.exceptions import InvalidEventPatternException

    pattern, problem = parse_pattern(text)
    if problem:
        raise InvalidEventPatternException(problem)
    return dict(pattern)


def fix_event_patterns(patch: Patch) -> None:
    """Rules match, ``TestEventPattern`` answers and ``PutRule`` validates as on AWS (see the module's doc)."""
    from moto.events.exceptions import ValidationException
    from moto.events.models import EventPattern, EventsBackend
    from moto.events.responses import EventsHandler

    def test_event_pattern(handler: Any) -> str:
        pattern = parsed_pattern(handler._get_param("EventPattern"))
        try:
            event = json.loads(handler._get_param("Event") or "")
        except ValueError as exc:
            raise ValidationException("Parameter Event is not valid.") from exc
        if not isinstance(event, dict) or any(field not in event for field in EVENT_FIELDS):
            raise ValidationException("Parameter Event is not valid.")
        return json.dumps({"Result": matches(pattern, event)})

    original_put_rule = EventsBackend.put_rule

    def put_rule(backend: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        pattern = kwargs.get("event_pattern") if "event_pattern" in kwargs else (args[2] if len(args) > 2 else None)
        if pattern:
            parsed_pattern(pattern)
        return original_put_rule(backend, name, *args, **kwargs)

    def matches_event(event_pattern: Any, event: Any) -> bool:
        if not event_pattern._pattern:
            return True
        compiled = event_pattern.__dict__.get("_harness_compiled")
        if compiled is None or compiled.source is not event_pattern._pattern:
            compiled = event_pattern.__dict__["_harness_compiled"] = compile_pattern(event_pattern._pattern)
        return bool(compiled.matches(event))

    patch(EventsHandler, "test_event_pattern", test_event_pattern)
    patch(EventsBackend, "put_rule", put_rule)
    patch(EventPattern, "matches_event", matches_event)
