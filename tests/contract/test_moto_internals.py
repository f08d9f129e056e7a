"""Every moto internal the harness patches or reads is where the harness expects it."""

from __future__ import annotations

from typing import Any

import pytest

from harness.targets import moto_internals
from harness.targets.moto_fixes import FIXES


def test_moto_internals_are_in_place() -> None:
    # Checked against moto's own definitions, also when this process runs the seams.
    assert moto_internals.broken_internals() == [], "a moto upgrade moved what the harness patches"


def test_a_changed_internal_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    changed = moto_internals._signature("moto.sqs.models", "Queue", "delete_message", ["self", "handle"])
    monkeypatch.setattr(moto_internals, "CHECKS", {"Queue.delete_message": changed})
    (line,) = moto_internals.broken_internals()
    assert line.startswith("Queue.delete_message: AssertionError: parameters ['self', 'receipt_handle']")


@pytest.mark.parametrize("name", list(FIXES))
def test_each_moto_fix_stands_alone_and_names_existing_attributes(name: str) -> None:
    """Every fix is one named function that, run alone, replaces only attributes moto defines."""
    import inspect

    patched: list[tuple[Any, str, Any]] = []

    def record(owner: Any, attribute: str, replacement: Any) -> None:
        try:
            original = inspect.getattr_static(owner, attribute)
        except AttributeError:  # an attribute moto's __init__ gives each instance (a property fronts it)
            assert f"self.{attribute} =" in inspect.getsource(owner.__init__), f"{owner}.{attribute} is not moto's"
            original = "an instance attribute"
        patched.append((owner, attribute, original))

    FIXES[name](record)
    assert patched, f"fix {name} patched nothing"
    for owner, attribute, original in patched:  # getattr_static raised above for a missing one
        assert original is not None, f"fix {name}: {owner}.{attribute} is None in moto"
