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

_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")


@dataclass(frozen=True)
class CallId:
    """What a request is: who signed it, for which service and operation."""

    access_key: str
    region: str
    service: str          # botocore's service name
    operation: str | None


@functools.cache
def _services_by_signing_name() -> dict[str, str]:
    """Signing name -> botocore service name (the first, alphabetically, where several share one)."""
    out: dict[str, str] = {}
    for name in sorted(_session().get_available_services(), reverse=True):
        try:
            model = service_model(name)
        except Exception:  # a model botocore lists but cannot load: not one a request can name
            continue
        out[model.metadata.get("signingName") or model.metadata.get("endpointPrefix") or name] = name
    return out


@functools.cache
def _services_by_target_prefix() -> dict[str, str]:
    """The JSON protocol's ``X-Amz-Target`` prefix -> botocore service name."""
    out: dict[str, str] = {}
    for name in _session().get_available_services():
        try:
            prefix = service_model(name).metadata.get("targetPrefix")
        except Exception:  # as above
            continue
        if prefix:
            out.setdefault(prefix, name)
    return out


@dataclass(frozen=True)
class _Route:
    operation: str
    method: str
    path: re.Pattern[str]
    query: tuple[str, ...]   # query keys (or key=value) the URI template requires
    literal: int             # how specific: literal characters in the template
    headers: tuple[str, ...] = ()  # headers the operation requires (CopyObject: x-amz-copy-source)


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
                  len(re.sub(r"\{[^}]+\}", "", path)), headers)


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
                                 route.literal, route.headers))
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
    service = _services_by_signing_name().get(signing_name)
    if service is None:
        return None
    model = service_model(service)
    target = headers.get("x-amz-target", "")
    if target:  # the JSON protocol: the target's prefix names the service (DynamoDB and its streams share a signing name)
        prefix, _, operation = target.rpartition(".")
        return CallId(access_key, region, _services_by_target_prefix().get(prefix, service), operation or None)
    if model.protocol in ("query", "ec2"):
        actions = query.get("Action") or parse_qs(body().decode("utf-8", "replace")).get("Action") or []
        return CallId(access_key, region, service, actions[0] if actions else None)
    return CallId(access_key, region, service, rest_operation(service, method, path, query, headers))
