"""The Runtime API's exchange closes its wake pipe once (harness/lambda_runtime/api.py)."""

from __future__ import annotations

import os

from harness.lambda_runtime.api import RuntimeExchange


def test_a_closed_exchange_touches_no_descriptor_that_reuses_its_numbers() -> None:
    """Closing again, waking or clearing after the close leave alone the pipe that got the
    closed descriptors' numbers (a socket of the server the runtime runs in, in real life)."""
    exchange = RuntimeExchange("arn:aws:lambda:us-east-1:123456789012:function:f")
    old = {exchange.wake_fd}
    exchange.close()
    reader, writer = os.pipe()  # the lowest free numbers: the ones just closed
    try:
        assert {reader, writer} & (old | {exchange._wake_w}), "the test needs the numbers reused"
        exchange.close()
        exchange._wake()  # what a late reply from the runtime does
        exchange.clear_wake()
        os.set_blocking(reader, False)
        os.write(writer, b"mine")
        assert os.read(reader, 16) == b"mine"  # open, and nothing else was written into it
    finally:
        os.close(reader)
        os.close(writer)
    assert exchange.next_invocation() is None  # a runtime waiting for work is let go
