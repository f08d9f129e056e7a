"""Every registered target and event source declares what it is (new plugins are checked here).

Behaviour on a running target is in test_targets.py; this file needs no target started.
"""

from __future__ import annotations

import importlib

import pytest

from harness.targets.base import TargetCapabilities
from harness.targets.registry import TARGETS
from harness.wiring.registry import POLLERS


def _load(entry: str) -> type:
    module, _, name = entry.partition(":")
    cls: type = getattr(importlib.import_module(module), name)
    return cls


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_targets_declare_their_name_and_capabilities(name: str) -> None:
    cls = _load(TARGETS[name])
    assert cls.name == name  # type: ignore[attr-defined]
    assert isinstance(cls.capabilities, TargetCapabilities)  # type: ignore[attr-defined]


@pytest.mark.parametrize("service", sorted(POLLERS))
def test_pollers_implement_the_protocol(service: str) -> None:
    cls = _load(POLLERS[service])
    for member in ("start", "update", "poke", "stop", "pending"):
        assert callable(getattr(cls, member)), f"{cls.__name__} lacks {member}"
    module = importlib.import_module(cls.__module__)
    assert callable(module.build_record), f"{module.__name__} lacks a pure build_record"
