"""The HTTP answer AWS gives for an error, in the shape of the service's protocol (pure).

SDKs read the error's code and message from different places per protocol (a JSON ``__type``,
the ``X-Amzn-ErrorType`` header, an XML ``<Code>``), so an injected error is written the way the
service writes its own: a handler's SDK parses it into the exception it would raise on AWS.
"""

from __future__ import annotations

import json
import uuid
from typing import Any
from xml.sax.saxutils import escape

from harness.faults.rules import FaultRule, service_model

Response = tuple[int, list[tuple[str, str]], bytes]


def _sender(status: int) -> bool:
    return status < 500


def error_response(rule: FaultRule, method: str = "POST", protocol: str = "") -> Response:
    """Status, headers and body of the error ``rule`` injects, in ``protocol`` (the request's; the
    service model's first by default)."""
    assert rule.error is not None
    model = service_model(rule.service)
    status, code, message = rule.status, rule.error, rule.message or rule.error
    request_id = str(uuid.uuid4())
    headers = [("x-amzn-RequestId", request_id)]
    protocol = protocol or model.protocol
    body: bytes
    if protocol == "rest-xml":
        headers = [("x-amz-request-id", request_id[:16].upper()), ("Content-Type", "application/xml")]
        body = (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{escape(code)}</Code><Message>"
                f"{escape(message)}</Message><RequestId>{request_id[:16].upper()}</RequestId>"
                f"<HostId>{uuid.uuid4().hex}</HostId></Error>").encode()
    elif protocol in ("query", "ec2"):
        headers.append(("Content-Type", "text/xml"))
        kind = "Sender" if _sender(status) else "Receiver"
        body = (f"<ErrorResponse><Error><Type>{kind}</Type><Code>{escape(code)}</Code><Message>{escape(message)}"
                f"</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>").encode()
    elif protocol == "rest-json":
        headers += [("X-Amzn-ErrorType", f"{code}:"), ("Content-Type", "application/json")]
        body = json.dumps({"Type": "User" if _sender(status) else "Service", "message": message}).encode()
    elif protocol == "smithy-rpc-v2-cbor":  # CloudWatch: the same fields as JSON, in CBOR
        headers += [("Content-Type", "application/cbor"), ("smithy-protocol", "rpc-v2-cbor")]
        if "awsQueryCompatible" in model.metadata:
            headers.append(("x-amzn-query-error", f"{query_code(rule)};{'Sender' if _sender(status) else 'Receiver'}"))
        body = _cbor_map({"__type": code, "message": message})
    else:  # json
        version = model.metadata.get("jsonVersion", "1.0")
        headers.append(("Content-Type", f"application/x-amz-json-{version}"))
        if "awsQueryCompatible" in model.metadata:  # SQS: the query protocol's code travels in a header
            headers.append(("x-amzn-query-error", f"{query_code(rule)};{'Sender' if _sender(status) else 'Receiver'}"))
        prefix = model.metadata.get("endpointPrefix", rule.service)
        body = json.dumps({"__type": f"com.amazonaws.{prefix}#{code}", "message": message}).encode()
    if method == "HEAD":
        body = b""
    headers.append(("Content-Length", str(len(body))))
    return status, headers, body


def _cbor_map(fields: dict[str, str]) -> bytes:
    """A CBOR map of text to text (RFC 8949: major types 5 and 3), all an error body needs."""
    def head(major: int, length: int) -> bytes:
        if length < 24:
            return bytes([major << 5 | length])
        for extra, size in ((24, 1), (25, 2), (26, 4)):
            if length < 1 << (8 * size):
                return bytes([major << 5 | extra]) + length.to_bytes(size, "big")
        raise ValueError("text too long for an error body")

    out = bytearray(head(5, len(fields)))
    for key, value in fields.items():
        for text in (key, value):
            data = text.encode()
            out += head(3, len(data)) + data
    return bytes(out)


def query_code(rule: FaultRule) -> str:
    """The error's code in the query protocol (what query-compatible services report)."""
    model: Any = service_model(rule.service)
    for name in [rule.operation] if rule.operation else model.operation_names:
        for shape in model.operation_model(name).error_shapes:
            if shape.name == rule.error:
                return str((shape.metadata.get("error") or {}).get("code") or rule.error)
    return str(rule.error)


# The error AWS answers a call IAM denies, per service where it is not the protocol's usual one.
_ACCESS_DENIED = {"sns": ("AuthorizationError", 403), "sqs": ("AccessDenied", 403), "sts": ("AccessDenied", 403),
                  "iam": ("AccessDenied", 403), "cloudwatch": ("AccessDenied", 403), "s3": ("AccessDenied", 403)}


def access_denied(service: str, message: str, method: str = "POST", protocol: str = "") -> Response:
    """AWS's answer to a call IAM denies, as the service writes it (``AccessDeniedException`` with 400
    for JSON services, 403 for REST-JSON ones; ``AccessDenied`` 403 for query, XML and SQS, whose
    JSON answer carries the query code for SDKs; ``AuthorizationError`` for SNS)."""
    protocol = protocol or service_model(service).protocol
    code, status = _ACCESS_DENIED.get(service) or (
        ("AccessDenied", 403) if protocol in ("query", "ec2", "rest-xml") else
        ("AccessDeniedException", 403 if protocol == "rest-json" else 400))
    rule = FaultRule(service=service, error=code, status=status, message=message)
    return error_response(rule, method, protocol)
