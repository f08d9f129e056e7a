"""``python -m harness.targets.localstack.reaper CONTAINER PID``: remove the container once process
PID is gone (the harness that started it was killed before it could stop it). The harness ends this
process itself when it stops the container; Ryuk's job, without a container listening on a port.
"""

from __future__ import annotations

import os
import sys
import time

import psutil


def reap(container_id: str, owner_pid: int, environ: dict[str, str], interval_s: float = 0.5) -> bool:
    """Wait for ``owner_pid`` to end, then remove the container; whether one was removed."""
    while psutil.pid_exists(owner_pid) and psutil.Process(owner_pid).status() != psutil.STATUS_ZOMBIE:
        time.sleep(interval_s)
    import docker
    from docker.errors import NotFound

    client = docker.from_env(environment=environ)
    try:
        client.containers.get(container_id).remove(force=True, v=True)
        return True
    except NotFound:
        return False
    finally:
        client.close()


def main(argv: list[str]) -> int:
    if len(argv) != 2 or not argv[1].isdigit():
        print("usage: python -m harness.targets.localstack.reaper CONTAINER PID", file=sys.stderr)
        return 2
    try:
        reap(argv[0], int(argv[1]), dict(os.environ))
    except psutil.NoSuchProcess:  # ended between the two checks
        reap(argv[0], -1, dict(os.environ))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
