"""The fault rules of a target that applies them in its own process (LocalStack), driven through the
control API it serves (``/_harness/faults``, as ``harness/faults/front.py`` does on moto)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from harness.errors import TargetError
from harness.faults.registry import Injection
from harness.faults.rules import FaultRule, FaultRuleError

CONTROL_PATH = "/_harness/faults"


@dataclass(frozen=True)
class RemoteRule:
    id: str
    describe: str


class RemoteFaults:
    """``add``, ``clear``, ``injected`` and ``forget`` of ``FaultRegistry``, over HTTP."""

    def __init__(self, endpoint: str) -> None:
        self._url = endpoint.rstrip("/") + CONTROL_PATH

    def add(self, account_id: str, rule: FaultRule) -> RemoteRule:
        """Raises:
            FaultRuleError: the target refuses the rule (what it cannot inject), saying why.
        """
        answer = self._call("POST", {}, {"account": account_id, "rule": rule.to_json()})
        return RemoteRule(str(answer["id"]), str(answer["describe"]))

    def clear(self, account_id: str, rule_id: str | None = None) -> int:
        query = {"account": account_id, **({"id": rule_id} if rule_id else {})}
        return int(self._call("DELETE", query)["cleared"])

    def forget(self, account_id: str) -> None:
        self._call("DELETE", {"account": account_id, "forget": "1"})

    def injected(self, account_id: str) -> list[Injection]:
        return [Injection.from_json(account_id, item) for item in self.listing(account_id)["injected"]]

    def listing(self, account_id: str) -> dict[str, Any]:
        """The account's rules (with match and injection counts) and the faults injected, as JSON."""
        return self._call("GET", {"account": account_id})

    def _call(self, method: str, query: dict[str, str], body: dict[str, Any] | None = None) -> dict[str, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self._url}?{urlencode(query)}", data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                answer: dict[str, Any] = json.loads(response.read())
                return answer
        except urllib.error.HTTPError as exc:
            message = json.loads(exc.read() or b"{}").get("message", exc.reason)
            if exc.code == 400:
                raise FaultRuleError(message) from exc
            if exc.code == 404:
                message = "this target has no fault injection (moto and LocalStack in host mode have)"
            raise TargetError(f"{method} {self._url}: {exc.code} {message}") from exc
        except OSError as exc:
            raise TargetError(f"the target's fault control API at {self._url} does not answer ({exc}); "
                              "is `harness up` running?") from exc
