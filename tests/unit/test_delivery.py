"""OrderedDelivery: deliveries after the request, in order, counted until done."""

from __future__ import annotations

import threading

from harness.targets.moto_delivery import OrderedDelivery
from harness.waiting import wait_until


def test_deliveries_run_in_order_off_the_caller_and_are_pending_until_done() -> None:
    delivery = OrderedDelivery().start()
    gate, seen = threading.Event(), []
    try:
        delivery.submit("111122223333", gate.wait)
        for n in range(5):
            delivery.submit("111122223333", lambda n=n: seen.append(n))
        delivery.submit("444455556666", lambda: seen.append("other"))
        assert delivery.pending("111122223333") == 6 and delivery.pending("444455556666") == 1
        assert seen == []  # submit returned before anything ran
        gate.set()
        wait_until(lambda: delivery.pending("111122223333") + delivery.pending("444455556666") == 0, timeout=5)
        assert seen == [0, 1, 2, 3, 4, "other"]
    finally:
        delivery.stop()


def test_a_failing_delivery_does_not_stop_the_next_and_unstarted_deliveries_run_at_once() -> None:
    delivery = OrderedDelivery().start()
    seen: list[str] = []
    try:
        delivery.submit("a", lambda: 1 / 0)  # type: ignore[func-returns-value]
        delivery.submit("a", lambda: seen.append("after"))
        wait_until(lambda: delivery.pending("a") == 0, timeout=5)
        assert seen == ["after"]
    finally:
        delivery.stop()
    delivery.submit("a", lambda: seen.append("now"))  # stopped: synchronous, as before start
    assert seen == ["after", "now"] and delivery.pending("a") == 0

