"""A trial deploy: the app deployed into a throwaway account of the embedded moto target, then torn
down, so ``harness synth`` fails where a deploy would.

Every call the provisioner makes goes through botocore, which checks it against the service model
(parameter names, types, shapes: ``Invalid type for parameter ...``) before moto checks its values;
a failing resource is reported with its logical id, type and the API's message, and the trial
stack rolls back as CloudFormation would.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from harness.cloud import LocalCloud
from harness.deployed import deploy_app
from harness.provisioning import AppSource
from harness.settings import HarnessSettings


@dataclass(frozen=True)
class TrialResult:
    resources: int
    seconds: float


def trial_deploy(source: AppSource, settings: HarnessSettings, environ: Mapping[str, str] | None = None) -> TrialResult:
    """Deploy ``source`` on a throwaway moto account and destroy it.

    Raises:
        ProvisioningError: the template is invalid; DeploymentFailedError: a resource failed (the
        message names each resource, its type and the API's error).
    """
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="harness-trial-") as state:
        trial = dataclasses.replace(settings, target="moto", state_dir=Path(state))
        with LocalCloud(trial, dict(environ if environ is not None else os.environ)) as cloud:
            account = cloud.open_account()
            try:
                app = deploy_app(account, source, cache_dir=settings.cache_dir)
                count = len(app.record.resources)
                app.destroy()
            finally:
                account.close()
    return TrialResult(count, time.perf_counter() - started)
