"""Env files written by ``harness up``: KEY=VALUE lines any shell, SDK or tool can read."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from harness.errors import ConfigurationError
from harness.files import write_atomically


def write_env_file(path: Path, values: Mapping[str, str]) -> None:
    """Write atomically, so a reader never sees half a file."""
    write_atomically(path, "".join(f"{key}={value}\n" for key, value in values.items()).encode())


def read_env_file(path: Path) -> dict[str, str]:
    """Parse KEY=VALUE lines; blank lines and ``#`` comments are skipped.

    Raises:
        ConfigurationError: the file is missing or a line has no ``=``.
    """
    if not path.is_file():
        raise ConfigurationError(f"env file {path} does not exist; start the harness with "
                                 f"`harness up --env-file {path}` first")
    values: dict[str, str] = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        key, sep, value = stripped.partition("=")
        if not sep:
            raise ConfigurationError(f"{path}:{number}: expected KEY=VALUE, got {stripped!r}")
        values[key.strip()] = value.strip()
    return values


def error_file_for(env_file: Path) -> Path:
    """Where ``harness up``'s background process leaves the error that stopped it (the CLI prints it)."""
    return env_file.with_name(f".{env_file.name}.error")
