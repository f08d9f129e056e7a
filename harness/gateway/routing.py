"""Route selection as API Gateway HTTP APIs do it (pure).

Most specific first: an exact path beats a path with variables, which beats a greedy
``{proxy+}``; a route's own method beats ``ANY``; ``$default`` catches everything else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from harness.gateway.model import Route


@dataclass(frozen=True)
class RouteMatch:
    route: Route
    path_parameters: dict[str, str]


def _pattern(path: str) -> tuple[re.Pattern[str], tuple[int, int, int]]:
    parts = [p for p in path.strip("/").split("/") if p]
    regex, literal, variables, greedy = "", 0, 0, 0
    for part in parts:
        greedy_var = re.fullmatch(r"\{(\w+)\+\}", part)
        variable = re.fullmatch(r"\{(\w+)\}", part)
        if greedy_var:
            regex += f"/(?P<{greedy_var.group(1)}>.+)"
            greedy += 1
        elif variable:
            regex += f"/(?P<{variable.group(1)}>[^/]+)"
            variables += 1
        else:
            regex += "/" + re.escape(part)
            literal += 1
    # rank: no greedy first, more literal segments first, fewer variables first
    return re.compile(f"^{regex or '/'}/?$"), (greedy, -literal, variables)


def match_route(routes: tuple[Route, ...] | list[Route], method: str, path: str) -> RouteMatch | None:
    """The route API Gateway would pick for ``method`` and ``path``, or None (404)."""
    candidates: list[tuple[tuple[int, int, int, int], RouteMatch]] = []
    for route in routes:
        if route.path is None:
            continue
        if route.method not in (method.upper(), "ANY"):
            continue
        pattern, rank = _pattern(route.path)
        found = pattern.match(path if path.startswith("/") else "/" + path)
        if found:
            any_penalty = 1 if route.method == "ANY" else 0
            candidates.append(((*rank, any_penalty), RouteMatch(route, dict(found.groupdict()))))
    if candidates:
        return min(candidates, key=lambda c: c[0])[1]
    default = next((r for r in routes if r.path is None), None)
    return RouteMatch(default, {}) if default else None
