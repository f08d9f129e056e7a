"""Fields of S3 event notifications as S3 writes them, shared by the moto and LocalStack fixes (pure
stdlib: LocalStack's process imports it too)."""

from __future__ import annotations

import hashlib
import itertools
import re
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


_VERSION_CHARS = string.ascii_letters + string.digits + "._"
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def version_id() -> str:
    """An object version id as S3 writes them: 32 URL-safe characters (``IYV3p45BT0ac8hjHg1houSdS1a.Mro8e``)."""
    return "".join(secrets.choice(_VERSION_CHARS) for _ in range(32))


def is_uuid(text: object) -> bool:
    """True for a UUID string (the version ids emulators generate where S3 writes ``version_id()``)."""
    return isinstance(text, str) and _UUID.fullmatch(text) is not None


def owner_id(account_id: str) -> str:
    """The bucket owner's principal id in S3 notifications (``A3NL1KOZZKExample`` on AWS: an opaque
    upper-case id, not the account id), stable per account (pure)."""
    digest = hashlib.sha256(account_id.encode()).digest()
    return "A" + "".join(string.ascii_uppercase[b % 26] if b % 3 else string.digits[b % 10] for b in digest[:13])
