"""Deterministic field extraction per document type (pure).

A document is UTF-8 text of ``key: value`` lines, or a JSON object. Required fields:
invoice: vendor, date (ISO), total (decimal); receipt: merchant, date, total;
contract: parties, start_date, end_date. Anything else is malformed.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

REQUIRED = {
    "invoice": ("vendor", "date", "total"),
    "receipt": ("merchant", "date", "total"),
    "contract": ("parties", "start_date", "end_date"),
}
DATES = {"date", "start_date", "end_date"}
DECIMALS = {"total"}


class MalformedDocumentError(ValueError):
    """The document cannot be processed; retrying will not help."""


def parse_fields(text: str) -> dict[str, str]:
    """``key: value`` lines (or a JSON object) to a dict of strings.

    Raises:
        MalformedDocumentError: neither a JSON object nor key: value lines.
    """
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise MalformedDocumentError(f"invalid JSON document: {exc}") from exc
        if not isinstance(data, dict):
            raise MalformedDocumentError("a JSON document must be an object")
        return {str(k).strip().lower(): str(v).strip() for k, v in data.items()}
    fields: dict[str, str] = {}
    for number, line in enumerate(stripped.splitlines(), start=1):
        if not line.strip():
            continue
        key, sep, value = line.partition(":")
        if not sep or not key.strip():
            raise MalformedDocumentError(f"line {number} is not 'key: value': {line[:60]!r}")
        fields[key.strip().lower()] = value.strip()
    return fields


def extract(doc_type: str, text: str) -> dict[str, Any]:
    """The normalised fields of a document of ``doc_type``.

    Raises:
        MalformedDocumentError: a required field is missing or has the wrong format.
    """
    if doc_type not in REQUIRED:
        raise MalformedDocumentError(f"unknown document type {doc_type!r}")
    fields = parse_fields(text)
    missing = [name for name in REQUIRED[doc_type] if not fields.get(name)]
    if missing:
        raise MalformedDocumentError(f"{doc_type} is missing {', '.join(missing)}")
    result: dict[str, Any] = {}
    for name in REQUIRED[doc_type]:
        value = fields[name]
        if name in DATES:
            try:
                result[name] = date.fromisoformat(value).isoformat()
            except ValueError as exc:
                raise MalformedDocumentError(f"{name} {value!r} is not an ISO date") from exc
        elif name in DECIMALS:
            try:
                amount = Decimal(value)
            except InvalidOperation as exc:
                raise MalformedDocumentError(f"{name} {value!r} is not a decimal") from exc
            if not amount.is_finite():
                raise MalformedDocumentError(f"{name} {value!r} is not a finite decimal")
            result[name] = str(amount)
        elif name == "parties":
            parties = [p.strip() for p in value.replace(";", ",").split(",") if p.strip()]
            if len(parties) < 2:
                raise MalformedDocumentError("a contract needs at least two parties")
            result[name] = parties
        else:
            result[name] = value
    if doc_type == "contract" and result["end_date"] < result["start_date"]:
        raise MalformedDocumentError("end_date is before start_date")
    return result
