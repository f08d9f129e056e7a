"""Files that readers in other threads and processes share (caches, env files)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a reader sees the old file or the whole new one, never
    part of it, and writers racing for the same path (parallel tox environments, scenario
    threads filling one cache) each stage in a file of their own; the last one to finish wins."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False) as staging:
        staging.write(data)
    try:
        os.replace(staging.name, path)
    except BaseException:
        Path(staging.name).unlink(missing_ok=True)
        raise
