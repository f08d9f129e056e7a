"""Event source registry: the ARN service of a mapping's source -> its poller, imported lazily.

A new event source is one module with a pure ``build_record``/``build_event`` and a poller class
taking ``(mapping, context)`` (a stream source subclasses ``streams.StreamPoller``), plus one line here.
"""

from __future__ import annotations

import importlib
from typing import Any

from harness.errors import WiringError
from harness.wiring.base import EventPoller, MappingConfig, PollerContext

POLLERS: dict[str, str] = {
    "sqs": "harness.wiring.sqs:SqsPoller",
    "dynamodb": "harness.wiring.dynamodb_stream:DynamoDBStreamPoller",
}


def create_poller(mapping: MappingConfig, context: PollerContext) -> EventPoller:
    """The poller for ``mapping``'s source.

    Raises:
        WiringError: no poller is registered for the source's service.
    """
    entry = POLLERS.get(mapping.service)
    if entry is None:
        raise WiringError(
            f"event source mapping {mapping.uuid} reads from {mapping.source_arn}, a {mapping.service} "
            f"source the harness cannot poll (supported: {', '.join(sorted(POLLERS))})"
        )
    module_name, _, class_name = entry.partition(":")
    cls: Any = getattr(importlib.import_module(module_name), class_name)
    poller: EventPoller = cls(mapping, context)
    return poller
