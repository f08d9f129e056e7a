"""Fields of S3 event notifications as S3 writes them, shared by the moto and LocalStack fixes (pure
stdlib: LocalStack's process imports it too)."""

from __future__ import annotations

import itertools
import secrets
import string
import time
from urllib.parse import quote_plus

_SEQUENCE = itertools.count(time.time_ns())  # increasing: the sequencers of one key order its events


def encode_key(key: str) -> str:
    """An object key as S3 writes it into event notifications: form-encoded (space ``+``, ``+``
    ``%2B``), ``/`` and ``:`` kept (pure)."""
    return quote_plus(key, safe="/:")


def sequencer() -> str:
    """18 upper-case hex digits, increasing from one call to the next."""
    return f"{next(_SEQUENCE):018X}"


def request_id() -> str:
    """An S3 request id: 16 upper-case letters and digits."""
    return "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(16))
