"""moto's per-request costs that do not depend on the request; installed with the other fixes.

Profiled (yappi, CPU clock, every thread of the moto process) over the 200 documents of the peers'
workload (``bench/peers.py``): moto's dispatch spent a tenth of its time listing the response
class's methods with ``inspect.getmembers`` on every request (~1,100 functions inspected each
time), three converted action names per request, and a request id built one ``random.choice``
at a time; SQS converted every attribute name of the queue on each send and built each receipt
handle one ``random.choice`` at a time. What each returns is unchanged: the method names of a
class (its methods are replaced by the harness's seams, never added or removed), the same
conversion, a string of the same length and alphabet from the same generator (so a seeded moto
stays reproducible).
"""

from __future__ import annotations

import functools
import string
import threading
from collections.abc import Callable
from typing import Any

Patch = Callable[[Any, str, Any], None]


def fix_dispatch_costs(patch: Patch) -> None:
    """Method names per response class and action names, computed once; random strings at once."""
    from moto.core import responses
    from moto.core.utils import camelcase_to_underscores, method_names_from_class
    from moto.moto_api._internal import mock_random
    from moto.moto_api._internal.moto_random import MotoRandom
    from moto.sqs import models as sqs_models

    patch(responses, "method_names_from_class", functools.cache(method_names_from_class))
    converted = functools.lru_cache(maxsize=4096)(camelcase_to_underscores)
    # SQS converts each of a queue's ~20 attribute names on every send (``Queue.attributes``).
    for module in (responses, sqs_models):
        patch(module, "camelcase_to_underscores", converted)

    def generate_receipt_handle() -> str:  # moto's: 185 lowercase letters, one ``choice`` call each
        return "".join(mock_random.choices(string.ascii_lowercase, k=185))

    patch(sqs_models, "generate_receipt_handle", generate_receipt_handle)

    def get_random_string(rng: Any, length: int = 20, include_digits: bool = True, lower_case: bool = False) -> str:
        pool = string.ascii_letters + (string.digits if include_digits else "")
        found = "".join(rng.choices(pool, k=length))
        return found.lower() if lower_case else found

    patch(MotoRandom, "get_random_string", get_random_string)


def fix_managed_policies_on_first_use(patch: Patch, owner: Any = None) -> None:
    """An account's AWS managed policies (~1,600 of them, ~90 ms to build) made when the account
    first reads them, not when its IAM backend is created: every new account (one per test, and
    the one ``harness up`` creates its credentials in) paid for them, most never attach one.

    The two collections are still instance attributes (a property in front of them), so backends
    made while this was installed stay whole after it is removed. ``owner``: the backend class
    (moto's ``IAMBackend``; tests pass a subclass).
    """
    from moto.iam.models import IAMBackend

    owner = owner or IAMBackend
    build = owner._init_aws_policies
    lock = threading.Lock()  # server threads read them at once (a stack's roles are made in parallel)

    def loaded(backend: Any) -> dict[str, Any]:
        state: dict[str, Any] = backend.__dict__
        if not state.get("_harness_aws_policies_loaded", True):
            with lock:
                if not state["_harness_aws_policies_loaded"]:
                    policies = build(backend)
                    managed = state["managed_policies"]
                    for policy in policies:
                        managed.setdefault(policy.arn, policy)
                    state["aws_managed_policies"] = policies
                    state["_harness_aws_policies_loaded"] = True
        return state

    def attribute(name: str) -> property:
        def read(backend: Any) -> Any:
            return loaded(backend)[name]

        def assign(backend: Any, value: Any) -> None:
            backend.__dict__[name] = value
        return property(read, assign)

    # IAMBackend.__init__ assigns both from these two: empty now, filled on the first read.
    def pending(backend: Any) -> list[Any]:
        backend.__dict__["_harness_aws_policies_loaded"] = False
        return []

    patch(owner, "_init_aws_policies", pending)
    patch(owner, "_init_managed_policies", lambda backend: {})
    for name in ("aws_managed_policies", "managed_policies"):
        patch(owner, name, attribute(name))


def fix_backend_lookup(patch: Patch, owner: Any = None) -> None:
    """A backend of an account that has one is found without moto's global lock, a list of every
    account and a scan of every registered service (~200 ``__eq__`` calls): moto does that on each
    of the many backend lookups of every request, and under the reference app's burst a fifth of
    the moto process's sampled threads stood in it, most waiting for that one lock (its CPU fell
    only ~3%). The first lookup of an account, and every lookup after ``BackendDict.reset`` (which
    empties the registered dicts), still goes through moto's own. ``owner``: moto's
    ``BackendDict`` (tests pass a subclass)."""
    from moto.core.base_backend import BackendDict

    owner = owner or BackendDict
    create = owner._create_account_specific_backend

    def create_once(backends: Any, account_id: str) -> None:
        if dict.__contains__(backends, account_id) and backends.__dict__.get("_harness_registered"):
            return
        create(backends, account_id)
        backends.__dict__["_harness_registered"] = True

    patch(owner, "_create_account_specific_backend", create_once)
