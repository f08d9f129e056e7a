"""Which AWS service and operation a raw HTTP request is, read as AWS reads it (botocore's models).

The service is the signing name of the request's SigV4 credential scope (``Authorization`` header
or a pre-signed URL's ``X-Amz-Credential``); the operation is the JSON protocol's
``X-Amz-Target``, the query protocol's ``Action``, or, for REST services (S3, Lambda, API Gateway),
the operation whose HTTP method and URI template (``/{Bucket}/{Key+}?uploads``) match the request
most specifically. Path-style S3 addressing (the local targets' endpoints) is assumed.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs

from harness.faults.rules import _session, service_model

_RPC_V2 = re.compile(r"^/service/[^/]+/operation/([^/]+)$")
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")


@dataclass(frozen=True)
class CallId:
    """What a request is: who signed it, for which service and operation."""

    access_key: str
    region: str
    service: str          # botocore's service name
    operation: str | None
    protocol: str = ""    # the protocol the request speaks (an error answers in it)


@functools.cache
def _service_for_signing_name(signing_name: str) -> str | None:
    """The botocore service a SigV4 signing name is: the service of that name when its model signs so
    (most do), else the first whose model does (scanning every model once: ~5 s, so only then)."""
    direct = _model_signing(signing_name)
    if direct is not None and signing_name in direct:
        return signing_name
    return _scan_signing_names().get(signing_name)


def _model_signing(name: str) -> tuple[str, ...] | None:
    try:
        metadata = service_model(name).metadata
    except Exception:  # not a service botocore knows by that name
        return None
    return tuple(filter(None, (metadata.get("signingName"), metadata.get("endpointPrefix"), name)))


@functools.cache
def _scan_signing_names() -> dict[str, str]:
    out: dict[str, str] = {}
    for name in sorted(_session().get_available_services(), reverse=True):
        names = _model_signing(name)
        if names:
            out[names[0]] = name
    return out


@functools.cache
def _service_for_target(prefix: str, signed_as: str) -> str:
    """The service whose JSON protocol's ``X-Amz-Target`` prefix is ``prefix``: the signing name's own
    service, its streams sibling (DynamoDB's share its signing name), else a scan of every model."""
    for name in (signed_as, f"{signed_as}streams"):
        try:
            if service_model(name).metadata.get("targetPrefix") == prefix:
                return name
        except Exception:  # no such sibling
            continue
    for name in _session().get_available_services():
        try:
            if service_model(name).metadata.get("targetPrefix") == prefix:
                return str(name)
        except Exception:  # a model botocore lists but cannot load
            continue
    return signed_as


@dataclass(frozen=True)
class _Route:
    operation: str
    method: str
    path: re.Pattern[str]
    query: tuple[str, ...]   # query keys (or key=value) the URI template requires
    literal: int             # how specific: literal characters in the template
    headers: tuple[str, ...] = ()  # headers the operation requires (CopyObject: x-amz-copy-source)
    labels: tuple[str, ...] = ()   # the template's labels, in order (Bucket, Key)


def _required(operation: object, location: str) -> tuple[str, ...]:
    """The names of the operation's required members sent in ``location`` (header, querystring)."""
    shape = getattr(operation, "input_shape", None)
    if shape is None:
        return ()
    required = set(shape.metadata.get("required", ()))
    names = (member.serialization["name"] for name, member in shape.members.items()
             if name in required and member.serialization.get("location") == location)
    return tuple(sorted(name.lower() if location == "header" else name for name in names))


def _route(operation: str, method: str, uri: str, headers: tuple[str, ...] = ()) -> _Route:
    path, _, query = uri.partition("?")
    pattern = ""
    for part in re.split(r"(\{[^}]+\})", path):
        if part.startswith("{"):
            pattern += "(.+)" if part.endswith("+}") else "([^/]+)"
        else:
            pattern += re.escape(part)
    return _Route(operation, method, re.compile(f"^{pattern}/?$"), tuple(q for q in query.split("&") if q),
                  len(re.sub(r"\{[^}]+\}", "", path)), headers,
                  tuple(label.strip("{}+") for label in re.findall(r"\{[^}]+\}", path)))


@functools.cache
def _routes(service: str) -> tuple[_Route, ...]:
    model = service_model(service)
    routes = []
    for name in model.operation_names:
        operation = model.operation_model(name)
        http = operation.http
        if http.get("requestUri"):
            route = _route(name, http.get("method", "POST"), http["requestUri"], _required(operation, "header"))
            routes.append(_Route(route.operation, route.method, route.path,
                                 tuple(dict.fromkeys((*route.query, *_required(operation, "querystring")))),
                                 route.literal, route.headers, route.labels))
    return tuple(routes)


def rest_operation(service: str, method: str, path: str, query: Mapping[str, list[str]],
                   headers: Mapping[str, str] | None = None) -> str | None:
    """The REST operation a method, path, query and headers are (the most specific match), or None."""
    best: tuple[int, int, int, str] | None = None
    for route in _routes(service):
        if route.method != method or not route.path.match(path):
            continue
        if not all(_has(query, q) for q in route.query) or not all(h in (headers or {}) for h in route.headers):
            continue
        rank = (len(route.query), len(route.headers), route.literal, route.operation)
        if best is None or rank[:3] > best[:3]:
            best = rank
    return best[3] if best else None


def uri_labels(service: str, operation: str, path: str) -> dict[str, str]:
    """The values of an operation's URI labels in ``path`` (``{"Bucket": "b", "Key": "a/b.json"}``)."""
    for route in _routes(service):
        if route.operation == operation:
            match = route.path.match(path)
            if match:
                return dict(zip(route.labels, match.groups(), strict=False))
    return {}


def _has(query: Mapping[str, list[str]], requirement: str) -> bool:
    key, _, value = requirement.partition("=")
    return key in query and (not value or value in query[key])


def identify(method: str, path: str, query_string: str, headers: Mapping[str, str],
             body: Callable[[], bytes]) -> CallId | None:
    """The call a request is, or None when it is not a signed AWS API request.

    ``headers`` are looked up by lower-case name; ``body()`` is read only for the query protocol's
    form (the other protocols name the operation in headers or the path).
    """
    query = parse_qs(query_string, keep_blank_values=True)
    match = _CREDENTIAL.search(headers.get("authorization", "")) or _CREDENTIAL.search(
        "Credential=" + (query.get("X-Amz-Credential") or [""])[0])
    if match is None:
        return None
    access_key, region, signing_name = match.groups()
    service = _service_for_signing_name(signing_name)
    if service is None:
        return None
    model = service_model(service)
    target = headers.get("x-amz-target", "")
    if target:  # the JSON protocol: the target's prefix names the service (DynamoDB and its streams share a signing name)
        prefix, _, operation = target.rpartition(".")
        return CallId(access_key, region, _service_for_target(prefix, service), operation or None, "json")
    rpc = _RPC_V2.match(path)  # Smithy RPC v2 (CBOR): /service/<name>/operation/<Operation>
    if rpc:
        return CallId(access_key, region, service, rpc.group(1), "smithy-rpc-v2-cbor")
    query_model = model.protocol in ("query", "ec2")
    form = "x-www-form-urlencoded" in headers.get("content-type", "")
    if query_model or form or "Action" in query:  # a query call, whatever protocol the model prefers
        actions = query.get("Action") or (parse_qs(body().decode("utf-8", "replace")).get("Action")
                                          if form or query_model else None) or []
        return CallId(access_key, region, service, actions[0] if actions else None,
                      model.protocol if query_model else "query")
    return CallId(access_key, region, service, rest_operation(service, method, path, query, headers), model.protocol)
