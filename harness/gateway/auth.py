"""The JWT authorizer of HTTP APIs: signature, iss, aud/client_id, exp, nbf and route scopes.

Keys come from the issuer's JWKS, fetched once per issuer and cached. On a local target the
Cognito issuer (https://cognito-idp.<region>.amazonaws.com/<pool>) is served by the target itself.
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from harness.errors import HarnessError
from harness.gateway.events import HttpResponse, error_response
from harness.gateway.model import JwtAuthorizer

_COGNITO = re.compile(r"^https://cognito-idp\.([a-z0-9-]+)\.amazonaws\.com/([\w-]+)$")
JwksFetcher = Callable[[str], Mapping[str, Any]]


def jwks_fetcher(local_endpoint: str | None, timeout: float = 5.0) -> JwksFetcher:
    """Fetch an issuer's JWKS: Cognito issuers from the local target, others from their discovery."""

    def fetch(issuer: str) -> Mapping[str, Any]:
        found = _COGNITO.match(issuer)
        if found and local_endpoint:
            request = urllib.request.Request(
                f"{local_endpoint}/{found.group(2)}/.well-known/jwks.json",
                headers={"Host": f"cognito-idp.{found.group(1)}.amazonaws.com"})
        else:
            with urllib.request.urlopen(f"{issuer.rstrip('/')}/.well-known/openid-configuration",
                                        timeout=timeout) as response:
                request = urllib.request.Request(json.loads(response.read())["jwks_uri"])
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                data: Mapping[str, Any] = json.loads(response.read())
                return data
        except OSError as exc:
            raise HarnessError(f"cannot fetch the JWKS of issuer {issuer}: {exc}") from exc

    return fetch


class JwksCache:
    """Key sets by issuer, refreshed after ``ttl_s`` or when a token names an unknown key id."""

    def __init__(self, fetch: JwksFetcher, ttl_s: float = 300.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._fetch = fetch
        self._ttl = ttl_s
        self._clock = clock
        self._cache: dict[str, tuple[float, KeySet]] = {}
        self._lock = threading.Lock()

    def key_set(self, issuer: str, kid: str | None = None) -> KeySet:
        with self._lock:
            cached = self._cache.get(issuer)
            fresh = cached is not None and self._clock() - cached[0] < self._ttl
            if cached is not None and fresh and (kid is None or any(k.kid == kid for k in cached[1].keys)):
                return cached[1]
        keys = KeySet.import_key_set(dict(self._fetch(issuer)))  # type: ignore[arg-type]
        with self._lock:
            self._cache[issuer] = (self._clock(), keys)
        return keys


@dataclass(frozen=True)
class AuthResult:
    claims: dict[str, str] | None = None
    scopes: tuple[str, ...] | None = None
    error: HttpResponse | None = None


UNAUTHORIZED = error_response(401, "Unauthorized")
FORBIDDEN = error_response(403, "Forbidden")


def stringify_claims(claims: Mapping[str, Any]) -> dict[str, str]:
    """Claims as an HTTP API passes them to the integration: strings, lists as "[a b]"."""
    out = {}
    for key, value in claims.items():
        if isinstance(value, list):
            out[key] = "[" + " ".join(str(v) for v in value) + "]"
        elif isinstance(value, bool):
            out[key] = str(value).lower()
        else:
            out[key] = str(value)
    return out


def authorize(header: str | None, authorizer: JwtAuthorizer, route_scopes: tuple[str, ...],
              keys: JwksCache, now: float | None = None) -> AuthResult:
    """Check a request's token as the route's JWT authorizer does; errors are API Gateway's answers."""
    if not header:
        return AuthResult(error=UNAUTHORIZED)
    token = header.split(" ", 1)[1].strip() if header.lower().startswith("bearer ") else header.strip()
    try:
        header_fields = json.loads(_b64(token.split(".")[0]))
        decoded = jwt.decode(token, keys.key_set(authorizer.issuer, header_fields.get("kid")))
    except (JoseError, ValueError, IndexError, HarnessError):
        return AuthResult(error=UNAUTHORIZED)
    claims = dict(decoded.claims)
    moment = time.time() if now is None else now
    audience = claims.get("aud") or claims.get("client_id")  # access tokens carry client_id
    audiences = audience if isinstance(audience, list) else [audience]
    if claims.get("iss") != authorizer.issuer or not set(map(str, audiences)) & set(authorizer.audience):
        return AuthResult(error=UNAUTHORIZED)
    if "exp" not in claims or float(claims["exp"]) <= moment or float(claims.get("nbf", 0)) > moment:
        return AuthResult(error=UNAUTHORIZED)
    scopes = tuple(str(claims.get("scope", "")).split()) or None
    if route_scopes and not set(route_scopes) & set(scopes or ()):
        return AuthResult(error=FORBIDDEN)
    return AuthResult(stringify_claims(claims), scopes)


def _b64(part: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
