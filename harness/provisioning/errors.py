"""Provisioning errors: each names the file or logical id, the type and the property involved."""

from __future__ import annotations

from harness.errors import HarnessError


class ProvisioningError(HarnessError):
    """A template cannot be deployed as written."""


class UnsupportedResourceError(ProvisioningError):
    def __init__(self, logical_id: str, type_name: str, supported: list[str]) -> None:
        super().__init__(
            f"resource {logical_id} has type {type_name}, which the harness provisioner does not "
            f"create; remove it, or add a handler in harness/provisioning/resources/ "
            f"(supported: {', '.join(sorted(supported))})"
        )


class UnsupportedPropertyError(ProvisioningError):
    def __init__(self, logical_id: str, type_name: str, prop: str, supported: list[str]) -> None:
        super().__init__(
            f"resource {logical_id} ({type_name}) sets property {prop}, which the harness provisioner "
            f"does not apply; remove it or extend the handler (handled: {', '.join(sorted(supported))})"
        )
