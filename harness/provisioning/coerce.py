"""Property values as the API's types, as CloudFormation converts them.

A template says ``BlockPublicAcls: "true"`` or ``BatchSize: "10"`` and CloudFormation calls the API
with a boolean and an integer; YAML's ``0.1`` becomes the string an environment variable needs.
``coerce_to_shape`` does that conversion against botocore's model (pure); ``ProvisioningClients``
applies it to every call the provisioner makes, and only to those: the same clients used by a test
keep AWS's strict parameter validation.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from harness.provisioning.resources.base import Clients

_active = threading.local()
_HOOK_ID = "harness-provisioning-coercion"


def coerce_to_shape(value: Any, shape: Any) -> Any:
    """``value`` with scalars converted to ``shape``'s types where CloudFormation would (pure)."""
    if shape is None:
        return value
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        return {k: coerce_to_shape(v, shape.members.get(k)) for k, v in value.items()}
    if kind == "list" and isinstance(value, list):
        return [coerce_to_shape(v, shape.member) for v in value]
    if kind == "map" and isinstance(value, dict):
        return {k: coerce_to_shape(v, shape.value) for k, v in value.items()}
    if kind == "boolean" and isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if kind in ("integer", "long"):
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value)
        if isinstance(value, float) and value.is_integer():
            return int(value)
    if kind in ("double", "float") and isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    if kind == "string" and not isinstance(value, str):
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return str(value)
    return value


@contextmanager
def provisioning() -> Iterator[None]:
    """Calls made in this block (this thread) are the provisioner's: their parameters are coerced."""
    previous = getattr(_active, "on", False)
    _active.on = True
    try:
        yield
    finally:
        _active.on = previous


def _coerce_hook(params: dict[str, Any], model: Any, **_: Any) -> None:
    if getattr(_active, "on", False) and model.input_shape is not None:
        params.update(coerce_to_shape(params, model.input_shape))


class ProvisioningClients:
    """The deployer's Clients: the same clients, with coercion while provisioning."""

    def __init__(self, clients: Clients) -> None:
        self._clients = clients

    def client(self, service: str) -> Any:
        client = self._clients.client(service)
        client.meta.events.register("before-parameter-build.*.*", _coerce_hook, unique_id=_HOOK_ID)
        return client
