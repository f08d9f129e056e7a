"""Every moto internal the harness patches or reads is where the harness expects it."""

from __future__ import annotations

import pytest

from harness.targets import moto_internals


def test_moto_internals_are_in_place() -> None:
    # Checked against moto's own definitions, also when this process runs the seams.
    assert moto_internals.broken_internals() == [], "a moto upgrade moved what the harness patches"


def test_a_changed_internal_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    changed = moto_internals._signature("moto.sqs.models", "Queue", "delete_message", ["self", "handle"])
    monkeypatch.setattr(moto_internals, "CHECKS", {"Queue.delete_message": changed})
    (line,) = moto_internals.broken_internals()
    assert line.startswith("Queue.delete_message: AssertionError: parameters ['self', 'receipt_handle']")
