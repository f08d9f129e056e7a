"""One account's least privilege, as a test asks for it (the pytest fixture ``iam``).

Example:
    def test_the_worker_needs_nothing_more(iam, invoke):
        invoke("Worker", {"id": "1"})
        iam.assert_least_privilege()          # fails naming function, action, resource, statement
        iam.assert_deliveries(app)            # fails naming a rule/notification/route AWS would refuse
        assert "dynamodb:Scan" in iam.unused_grants("Worker")
"""

from __future__ import annotations

import time
from typing import Any

from harness.iam.collect import behalf_calls, delivery_section
from harness.iam.needs import Need
from harness.iam.observer import Call
from harness.iam.recorder import CallRecorder
from harness.iam.report import iam_section


class AccountIam:
    """The calls of one account since the fixture began, decided as IAM would."""

    def __init__(self, recorder: CallRecorder, account: Any) -> None:
        self._recorder = recorder
        self._account = account
        self.since = time.time()

    def enforce(self) -> None:
        """From now on, calls IAM would deny get AWS's AccessDenied (where the target can: moto)."""
        self._recorder.set_mode(self._account.account_id, "enforce")

    def calls(self) -> list[Call]:
        """The functions' own calls and those AWS makes with their roles (mappings, destinations)."""
        account_id = self._account.account_id
        own = [c for c in self._recorder.calls(account_id, since=self.since) if c.caller]
        journal = [{"kind": e.kind, "at": e.at, **e.data}
                   for e in self._account.cloud.journal.entries(account_id=account_id) if e.at >= self.since]
        return own + behalf_calls(self._recorder.book(account_id), journal, [], region=self._recorder.region,
                                  account=account_id)

    def section(self) -> dict[str, Any]:
        """What a scenario's report says (``harness.iam.report.iam_section``), functions by name."""
        book = self._recorder.book(self._account.account_id)
        return iam_section(self.calls(), book.decide, book.identity,
                           mode=self._recorder.mode_for(self._account.account_id))

    def denied(self) -> list[dict[str, Any]]:
        return list(self.section()["denied"])

    def deliveries(self, app: Any = None) -> dict[str, Any]:
        """The wired deliveries (rules' targets, bucket notifications, subscriptions; with ``app``, a
        ``DeployedApp``, only those of its stack, and its APIs' Lambda routes) decided against their
        targets' resource policies: ``checked``, ``denied`` (each with AWS's consequence and the
        fix) and ``not_evaluated``."""
        book = self._recorder.book(self._account.account_id)
        book.invalidate()
        apis = [g.api for g in app.gateways.values()] if app is not None else []
        resources = list(app.record.resources.values()) if app is not None else None
        return delivery_section(book, self._account.account_id, self._recorder.region, apis, resources)

    def assert_deliveries(self, app: Any = None) -> None:
        """Raises AssertionError naming every delivery AWS would refuse (see ``deliveries``)."""
        refused = self.deliveries(app)["denied"]
        assert not refused, "AWS would refuse:\n" + "\n".join(d["message"] for d in refused)

    def unused_grants(self, function: str) -> list[str]:
        """The action patterns the function's role grants that it has not used (a physical name)."""
        entry = self.section()["functions"].get(function) or {}
        return [g["action"] for g in entry.get("unused_grants") or ()]

    def assert_least_privilege(self) -> None:
        """Raises AssertionError naming every call AWS would deny."""
        denied = self.denied()
        assert not denied, "AWS would deny:\n" + "\n".join(d["message"] for d in denied)

    def decide(self, function: str, action: str, resource: str) -> str:
        """IAM's decision on one action by a function's role: allowed, denied, explicit_deny, not_evaluated."""
        book = self._recorder.book(self._account.account_id)
        return book.decide(book.role_of(function), Need(action, resource)).outcome
