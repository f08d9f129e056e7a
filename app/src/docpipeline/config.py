"""Runtime configuration: thresholds in SSM Parameter Store, the API key in Secrets Manager.

Both are read through Powertools parameters and cached for ``CONFIG_CACHE_SECONDS``.
"""

from __future__ import annotations

import os
from decimal import Decimal

from aws_lambda_powertools.utilities import parameters


def _max_age() -> int:
    return int(os.environ.get("CONFIG_CACHE_SECONDS", "60"))


def review_threshold() -> Decimal:
    """Totals above this are flagged for review."""
    name = f"{os.environ['CONFIG_PREFIX']}/review-threshold"
    return Decimal(str(parameters.get_parameter(name, max_age=_max_age())))


def max_document_bytes() -> int:
    name = f"{os.environ['CONFIG_PREFIX']}/max-document-bytes"
    return int(str(parameters.get_parameter(name, max_age=_max_age())))


def api_key() -> str:
    """The key that signs outgoing notifications."""
    return str(parameters.get_secret(os.environ["API_KEY_SECRET"], max_age=_max_age()))
