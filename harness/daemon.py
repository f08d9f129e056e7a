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
from harness.envfile import error_file_for, write_env_file
from harness.errors import ConfigurationError, HarnessError
from harness.project import project_settings
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
            from harness.deployed import deploy_app  # synth and deploy: imported only to deploy
            from harness.project import load_app_source

            source = load_app_source(Path.cwd())
            if source is None:
                raise ConfigurationError("no [tool.harness] app in ./pyproject.toml to deploy; add one or "
                                         "start with --no-deploy")
            app = deploy_app(account, source, cache_dir=settings.cache_dir)
            outputs = app.environment()
            record = app.record
            LOG.info("deployed %s: %d resources in %.2f s", record.name, len(record.resources), record.seconds)
        values = {
            **account.client_scope().client_environment(),
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
    error_file = error_file_for(args.env_file)
    error_file.unlink(missing_ok=True)
    try:
        settings = HarnessSettings.resolve(
            explicit={"target": args.target, "state_dir": args.state_dir}, environ=os.environ,
            ini=project_settings(Path.cwd()))
        return run(args.env_file, settings, deploy=not args.no_deploy)
    except HarnessError as exc:
        # The CLI that started this process prints the file: the error reaches the user's console.
        LOG.exception("harness up failed")
        error_file.parent.mkdir(parents=True, exist_ok=True)
        error_file.write_text(str(exc))
        return 2


if __name__ == "__main__":
    status = main()
    # Everything this process started is stopped by now (run's ``with``); what is left is the
    # interpreter's own teardown (~0.3 s with moto's models loaded), which `harness down` waited for.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
