"""Standing in for what ``cdk bootstrap`` creates, on accounts that never ran it (local targets).

A CDK app written with CDK's defaults (``DefaultStackSynthesizer``) needs two things from the
bootstrap stack: its version in SSM (``/cdk-bootstrap/<qualifier>/version``, read through the
``BootstrapVersion`` parameter and checked by the ``CheckBootstrapVersion`` rule) and the asset
bucket ``cdk-<qualifier>-assets-<account>-<region>`` (created by ``publish_assets`` like any asset
bucket). The roles the bootstrap stack creates are used by the CDK CLI only, never by templates.
"""

from __future__ import annotations

import re
from typing import Any

from harness.provisioning.resources.base import Clients
from harness.provisioning.template import Template

# The version the bootstrap template of current CDK releases reports; CDK's rule asks for >= 6.
STAND_IN_VERSION = "30"
_VERSION_PARAMETER = re.compile(r"^/cdk-bootstrap/[A-Za-z0-9_-]+/version$")


def bootstrap_version_parameters(template: Template) -> list[str]:
    """The SSM names of bootstrap versions the template's parameters read by default (pure)."""
    return [str(spec["Default"]) for spec in template.parameters.values()
            if str(spec.get("Type", "")).startswith("AWS::SSM::Parameter::Value")
            and _VERSION_PARAMETER.match(str(spec.get("Default", "")))]


def stand_in_for_bootstrap(template: Template, clients: Clients) -> list[str]:
    """Put the bootstrap version parameters the template reads (unless present); returns their names."""
    names = bootstrap_version_parameters(template)
    if not names:
        return []
    ssm: Any = clients.client("ssm")
    for name in names:
        try:
            ssm.put_parameter(Name=name, Value=STAND_IN_VERSION, Type="String",
                              Description="stand-in for the CDK bootstrap stack (harness)")
        except ssm.exceptions.ParameterAlreadyExists:
            pass
    return names


def without_bootstrap_check(template: Template) -> Template:
    """The template without CDK's bootstrap version parameter and rule (pure): for targets where the
    harness owns the asset bucket and no bootstrap stack is assumed (``DefaultStackSynthesizer``'s
    ``generate_bootstrap_version_rule=False`` does the same at synth time)."""
    import dataclasses

    names = {k for k, spec in template.parameters.items()
             if str(spec.get("Type", "")).startswith("AWS::SSM::Parameter::Value")
             and _VERSION_PARAMETER.match(str(spec.get("Default", "")))}
    if not names:
        return template
    rules = {k: v for k, v in template.rules.items() if not any(f'"{n}"' in repr(v).replace("'", '"') for n in names)}
    return dataclasses.replace(template, parameters={k: v for k, v in template.parameters.items() if k not in names},
                               rules=rules)
