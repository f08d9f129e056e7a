"""The parameters of a raw AWS API request, by the API's member names, as far as IAM and cost need
them (pure): a JSON body as is; a query form's top-level members; a REST call's URI labels, query
string and header members (``Bucket``, ``Key``, ``FunctionName``, ``Prefix``, ``CopySource``) and
S3's ``DeleteObjects`` keys. Payload members are not decoded beyond what those need.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, unquote

from harness.faults.requests import CallId, uri_labels
from harness.faults.rules import service_model

_XML_KEY = re.compile(rb"<Key>(.*?)</Key>", re.S)


@functools.cache
def _locations(service: str, operation: str) -> tuple[dict[str, str], dict[str, str], bool]:
    """Query-string and header names of the operation's input members -> the members' names, and
    whether the body holds the other members (not one payload member, as Lambda's Invoke event)."""
    shape = service_model(service).operation_model(operation).input_shape
    query: dict[str, str] = {}
    headers: dict[str, str] = {}
    members_in_body = shape is not None and not shape.serialization.get("payload")
    for name, member in (shape.members.items() if shape is not None else ()):
        where, wire = member.serialization.get("location"), member.serialization.get("name", name)
        if where == "querystring":
            query[wire] = name
        elif where == "header":
            headers[wire.lower()] = name
    return query, headers, members_in_body


def request_params(call: CallId, path: str, query_string: str, headers: Mapping[str, str],
                   body: bytes) -> dict[str, Any]:
    """The request's parameters ({} where they cannot be read)."""
    if call.operation is None:
        return {}
    if call.protocol == "json":
        try:
            parsed = json.loads(body or b"{}")
        except (ValueError, UnicodeDecodeError):
            return {}
        return parsed if isinstance(parsed, dict) else {}
    if call.protocol in ("query", "ec2"):
        form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True) if body else {}
        form.update(parse_qs(query_string, keep_blank_values=True))
        return {k: v[0] for k, v in form.items() if "." not in k}
    if call.protocol not in ("rest-json", "rest-xml"):
        return {}
    out: dict[str, Any] = {k: unquote(v) for k, v in uri_labels(call.service, call.operation, path).items()}
    try:
        by_query, by_header, members_in_body = _locations(call.service, call.operation)
    except Exception:  # an operation the model cannot describe: the labels are all there is
        return out
    for key, values in parse_qs(query_string, keep_blank_values=True).items():
        if key in by_query:
            out[by_query[key]] = values[0]
    for key, value in headers.items():
        if key in by_header:
            out[by_header[key]] = value
    if call.service == "s3" and call.operation == "DeleteObjects":
        out["Delete"] = {"Objects": [{"Key": k.decode("utf-8", "replace")} for k in _XML_KEY.findall(body)]}
    elif call.protocol == "rest-json" and members_in_body and body[:1] == b"{":
        try:
            out.update({k: v for k, v in json.loads(body).items() if k not in out})
        except ValueError:
            pass
    return out
