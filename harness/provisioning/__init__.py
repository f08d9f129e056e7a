"""Provisioning: put a CDK, SAM or CloudFormation application onto a target account.

The verb most callers want is ``harness.deployed.deploy_app`` (deploy, serve APIs, find users);
``deploy_source`` here is its provisioning half: synthesize, publish assets, deploy.
"""

from __future__ import annotations

import os
from pathlib import Path

from harness.accounts import AccountScope
from harness.provisioning.assets import publish_assets, relocate_assets
from harness.provisioning.bootstrap import stand_in_for_bootstrap, without_bootstrap_check
from harness.provisioning.deployer import Deployer, DeploymentFailedError, StackDeployer, StackRecord
from harness.provisioning.errors import ProvisioningError
from harness.provisioning.layers import builtin_layers, localise_layers
from harness.provisioning.resources.base import Clients
from harness.provisioning.synth import AppSource, SynthResult, apply_overrides, synthesize
from harness.provisioning.template import Template, template_document

__all__ = ["AppSource", "Deployer", "DeploymentFailedError", "ProvisioningError", "StackDeployer", "StackRecord",
           "deploy_source"]


def deploy_source(deployer: Deployer, clients: Clients, scope: AccountScope, source: AppSource, *,
                  cache_dir: Path, local_overrides: bool, public_layers: bool = True,
                  cdk_bootstrapped: bool = True, previous: StackRecord | None = None) -> StackRecord:
    """Synthesize (cached), publish assets and deploy ``source`` with ``deployer``; returns the record.

    ``local_overrides`` applies ``[tool.harness.local_overrides]`` (only targets that accept them);
    without ``public_layers`` other accounts' layers are replaced by local stand-ins; without
    ``cdk_bootstrapped`` the harness stands in for the CDK bootstrap stack. A deployer with an
    ``asset_bucket`` (AWS) gets the assets there, and no bootstrap version check.

    Raises:
        ProvisioningError: synthesis or validation failed; DeploymentFailedError: a resource failed.
    """
    synth: SynthResult = synthesize(source, cache_dir / "synth", {**os.environ, "AWS_DEFAULT_REGION": scope.region})
    template = apply_overrides(synth.template, source.local_overrides) if local_overrides else synth.template
    if not public_layers:  # before anything else is created: an unknown layer creates nothing
        template = localise_layers(template, clients, account_id=scope.account_id, region=scope.region,
                                   sources=(*source.layers, *builtin_layers()), cache_dir=cache_dir)
    assets = synth.assets
    if deployer.asset_bucket is not None:
        document, assets = relocate_assets(template_document(template), assets, deployer.asset_bucket,
                                           account_id=scope.account_id, region=scope.region)
        template = without_bootstrap_check(Template.from_dict(document, template.source))
    elif not cdk_bootstrapped:
        stand_in_for_bootstrap(template, clients)
    publish_assets(clients, assets, account_id=scope.account_id, region=scope.region,
                   cache_dir=cache_dir / "assets")
    return deployer.deploy(template, stack_name=source.stack_name, parameters=source.parameters, previous=previous)
