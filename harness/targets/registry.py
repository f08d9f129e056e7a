"""Target registry: a name -> "module:Class" line per target, imported lazily."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from harness.errors import ConfigurationError

if TYPE_CHECKING:  # the CLI lists targets without importing boto3 (~0.1 s of `harness down`)
    from harness.settings import HarnessSettings
    from harness.targets.base import Target

TARGETS: dict[str, str] = {
    "moto": "harness.targets.moto:MotoTarget",
    "localstack": "harness.targets.localstack.target:LocalStackTarget",
    "aws": "harness.targets.aws.target:AwsTarget",
}


def available_targets() -> list[str]:
    return sorted(TARGETS)


def create_target(settings: HarnessSettings, environ: Mapping[str, str]) -> Target:
    """Build the target named by ``settings.target``.

    Raises:
        ConfigurationError: the name is not registered.
    """
    entry = TARGETS.get(settings.target)
    if entry is None:
        raise ConfigurationError(
            f"unknown target {settings.target!r}; choose one of {', '.join(available_targets())} "
            "(--target, --harness-target or HARNESS_TARGET)"
        )
    module_name, _, class_name = entry.partition(":")
    cls: Any = getattr(importlib.import_module(module_name), class_name)
    target: Target = cls(settings, environ)
    return target
