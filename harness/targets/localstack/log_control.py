"""The executor's invocation log served over HTTP from inside LocalStack (runs in LocalStack's venv),
for a harness that did not start this LocalStack and cannot read its files (``HARNESS_LOCALSTACK_URL``):
``GET /_harness/invocations?offset=N`` answers the log's bytes from ``N`` (at most 1 MB), which
``InvocationFeed`` tails as it tails the file.
"""

from __future__ import annotations

import os
from typing import Any

CONTROL_PATH = "/_harness/invocations"
_CHUNK = 1 << 20


def read_from(path: str, offset: int) -> bytes:
    try:
        with open(path, "rb") as log:
            log.seek(offset)
            return log.read(_CHUNK)
    except FileNotFoundError:
        return b""


def serve_log(chain: Any, context: Any, response: Any) -> None:
    """LocalStack request handler: answer ``/_harness/invocations``."""
    request = context.request
    if not request.path.startswith(CONTROL_PATH):
        return
    path = os.environ.get("HARNESS_INVOCATION_LOG", "")
    if not path:
        chain.respond(404, "this LocalStack runs no harness executor", {"Content-Type": "text/plain"})
        return
    try:
        offset = max(0, int(request.args.get("offset") or 0))
    except ValueError:
        chain.respond(400, "offset must be a byte offset", {"Content-Type": "text/plain"})
        return
    chain.respond(200, read_from(path, offset), {"Content-Type": "application/octet-stream"})


def install() -> None:
    from localstack.aws import handlers

    handlers.serve_custom_service_request_handlers.append(serve_log)
