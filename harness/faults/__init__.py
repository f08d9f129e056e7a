"""Fault injection on the local targets: rules as data (``rules``), which call a request is
(``requests``), AWS's error answers (``responses``), the active rules (``registry``) and the HTTP
front that applies them (``front``)."""

from harness.faults.registry import AccountFaults, FaultRegistry, FaultRules, Injection
from harness.faults.rules import FaultRule, FaultRuleError, parse_rule

__all__ = ["AccountFaults", "FaultRegistry", "FaultRule", "FaultRuleError", "FaultRules", "Injection", "parse_rule"]
