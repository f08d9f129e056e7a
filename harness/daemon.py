"""The background process behind ``harness up``: runs a LocalCloud until SIGTERM.

Run as ``python -m harness.daemon --env-file F --target moto``; it writes F once ready.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from harness.cloud import LocalCloud
from harness.envfile import write_env_file
from harness.errors import ConfigurationError
from harness.gateway import serve_apis
from harness.project import load_app_source
from harness.provisioning import deploy_app
from harness.settings import HarnessSettings

LOG = logging.getLogger("harness.daemon")


def run(env_file: Path, settings: HarnessSettings, deploy: bool = True) -> int:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with LocalCloud(settings, os.environ) as cloud:
        account = cloud.open_account()
        outputs: dict[str, str] = {}
        if deploy:
            source = load_app_source(Path.cwd())
            if source is None:
                raise ConfigurationError("no [tool.harness] app in ./pyproject.toml to deploy; add one or "
                                         "start with --no-deploy")
            record = deploy_app(account, source, state_dir=settings.state_dir, cache_dir=settings.cache_dir)
            serve_apis(account, record)
            outputs = {f"HARNESS_OUTPUT_{k}": str(v) for k, v in record.outputs.items()}
            LOG.info("deployed %s: %d resources in %.2f s", record.name, len(record.resources), record.seconds)
        external = getattr(cloud.target, "external_scope", None)
        scope = external(account.scope) if external else account.scope
        values = {
            **scope.client_environment(),
            "HARNESS_TARGET": settings.target,
            "HARNESS_ACCOUNT_ID": account.account_id,
            "HARNESS_PID": str(os.getpid()),
            **outputs,
        }
        write_env_file(env_file, values)
        LOG.info("harness up: %s target at %s, account %s", settings.target,
                 cloud.target.endpoint_url, account.account_id)
        stop.wait()
        LOG.info("harness down: stopping")
        account.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.daemon")
    parser.add_argument("--env-file", required=True, type=Path)
    parser.add_argument("--target", default=None)
    parser.add_argument("--state-dir", default=None)
    parser.add_argument("--no-deploy", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings = HarnessSettings.resolve(
        explicit={"target": args.target, "state_dir": args.state_dir}, environ=os.environ)
    return run(args.env_file, settings, deploy=not args.no_deploy)


if __name__ == "__main__":
    sys.exit(main())
