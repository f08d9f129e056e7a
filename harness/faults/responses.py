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


def error_response(rule: FaultRule, method: str = "POST") -> Response:
    """Status, headers and body of the error ``rule`` injects."""
    assert rule.error is not None
    model = service_model(rule.service)
    status, code, message = rule.status, rule.error, rule.message or rule.error
    request_id = str(uuid.uuid4())
    headers = [("x-amzn-RequestId", request_id)]
    protocol = model.protocol
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
    else:  # json (and the RPC protocols SDKs read the same way)
        version = model.metadata.get("jsonVersion", "1.0")
        headers.append(("Content-Type", f"application/x-amz-json-{version}"))
        if "awsQueryCompatible" in model.metadata:  # SQS: the query protocol's code travels in a header
            headers.append(("x-amzn-query-error", f"{_query_code(rule)};{'Sender' if _sender(status) else 'Receiver'}"))
        prefix = model.metadata.get("endpointPrefix", rule.service)
        body = json.dumps({"__type": f"com.amazonaws.{prefix}#{code}", "message": message}).encode()
    if method == "HEAD":
        body = b""
    headers.append(("Content-Length", str(len(body))))
    return status, headers, body


def _query_code(rule: FaultRule) -> str:
    model: Any = service_model(rule.service)
    for name in [rule.operation] if rule.operation else model.operation_names:
        for shape in model.operation_model(name).error_shapes:
            if shape.name == rule.error:
                return str((shape.metadata.get("error") or {}).get("code") or rule.error)
    return str(rule.error)
