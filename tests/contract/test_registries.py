"""Every registered target and event source honours its protocol (new plugins are tested here)."""

from __future__ import annotations

import importlib

import pytest

from harness.targets.base import Target
from harness.targets.registry import TARGETS
from harness.wiring.registry import POLLERS


def _load(entry: str) -> type:
    module, _, name = entry.partition(":")
    cls: type = getattr(importlib.import_module(module), name)
    return cls


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_targets_implement_the_protocol(name: str) -> None:
    cls = _load(TARGETS[name])
    for member in ("start", "stop", "healthy", "open_account", "close_account", "versions",
                   "endpoint_url", "runtime", "needs_event_pollers"):
        assert hasattr(cls, member), f"{cls.__name__} lacks {member}"
    assert getattr(cls, "name", None) == name
    assert Target  # the protocol itself is importable without a target


@pytest.mark.parametrize("service", sorted(POLLERS))
def test_pollers_implement_the_protocol(service: str) -> None:
    cls = _load(POLLERS[service])
    for member in ("start", "update", "poke", "stop", "pending"):
        assert callable(getattr(cls, member)), f"{cls.__name__} lacks {member}"
    module = importlib.import_module(cls.__module__)
    assert callable(module.build_record), f"{module.__name__} lacks a pure build_record"
