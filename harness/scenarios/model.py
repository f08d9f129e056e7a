"""Scenarios as frozen data: what the loader produces and the engine runs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Location:
    file: str
    line: int
    column: int = 1

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Step:
    """One step: its kind (``put_object``, ``settle``, ``expect_item`` ...) and its arguments."""

    kind: str
    args: Mapping[str, Any]
    location: Location
    name: str = ""

    @property
    def title(self) -> str:
        return self.name or self.kind


@dataclass(frozen=True)
class Scenario:
    name: str
    file: str
    steps: tuple[Step, ...]
    description: str = ""
    tags: tuple[str, ...] = ()
    targets: Mapping[str, str | None] = field(default_factory=dict)  # target -> skip reason or None
    variables: Mapping[str, Any] = field(default_factory=dict)
    location: Location = Location("<scenario>", 1)
    # Asserts state other scenarios could change (a whole table's listing, alarms, shared config):
    # where scenarios share a stack (the aws target), it gets a stack of its own.
    exclusive: bool = False

    def skip_reason(self, target: str) -> str | None:
        """Why the scenario does not run on ``target`` (None when it runs)."""
        if not self.targets:
            return None
        if target not in self.targets:
            return f"scenario lists targets {', '.join(sorted(self.targets))}, not {target}"
        return self.targets[target]
