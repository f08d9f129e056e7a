"""Writes that racing writers and readers share (harness/files.py)."""

from __future__ import annotations

import threading
from pathlib import Path

from harness.files import write_atomically


def test_racing_writers_each_stage_their_own_file_and_one_wins(tmp_path: Path) -> None:
    target = tmp_path / "cache" / "asset.zip"
    bodies = [bytes([n]) * 100_000 for n in range(8)]
    start = threading.Barrier(len(bodies))
    errors: list[BaseException] = []

    def write(body: bytes) -> None:
        start.wait()
        try:
            for _ in range(20):
                write_atomically(target, body)
        except BaseException as exc:  # collected: a thread's failure fails the test
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(b,)) for b in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert target.read_bytes() in bodies  # whole, one writer's
    assert [p.name for p in target.parent.iterdir()] == ["asset.zip"]  # no staging file left
