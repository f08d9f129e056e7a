"""Provisioning: put a CDK, SAM or CloudFormation application onto a target account.

Example:
    record = deploy_app(account, load_app_source(Path(".")), state_dir=Path(".harness"))
    record.outputs["DocumentBucket"]
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from harness.provisioning.assets import publish_assets
from harness.provisioning.deployer import DeploymentFailedError, StackDeployer, StackRecord
from harness.provisioning.errors import ProvisioningError
from harness.provisioning.synth import AppSource, SynthResult, apply_overrides, synthesize

__all__ = ["AppSource", "DeploymentFailedError", "ProvisioningError", "StackDeployer", "StackRecord",
           "deploy_app", "destroy_app"]


def deploy_app(account: Any, source: AppSource, *, state_dir: Path, cache_dir: Path | None = None,
               previous: StackRecord | None = None) -> StackRecord:
    """Synthesize (cached), publish assets and deploy ``source`` into ``account``; returns the record.

    Raises:
        ProvisioningError: synthesis or validation failed; DeploymentFailedError: a resource failed.
    """
    scope = account.scope
    synth: SynthResult = synthesize(source, (cache_dir or state_dir) / "synth",
                                    {**os.environ, "AWS_DEFAULT_REGION": scope.region})
    publish_assets(account, synth.assets, account_id=scope.account_id, region=scope.region,
                   cache_dir=(cache_dir or state_dir) / "assets")
    deployer = _deployer(account)
    template = apply_overrides(synth.template, source.local_overrides)  # local targets only
    record: StackRecord = deployer.deploy(template, stack_name=source.stack_name, parameters=source.parameters,
                                          previous=previous)
    return record


def destroy_app(account: Any, record: StackRecord) -> list[str]:
    """Delete everything ``record`` created; returns the resources that could not be deleted."""
    return _deployer(account).destroy(record)  # type: ignore[no-any-return]


def _deployer(account: Any) -> Any:
    """The target's deployer for ``account`` (LocalStack splits stacks), else the harness's own."""
    target = getattr(getattr(account, "cloud", None), "target", None)
    if target is not None and hasattr(target, "deployer"):
        return target.deployer(account)
    return StackDeployer(account, account_id=account.scope.account_id, region=account.scope.region)
