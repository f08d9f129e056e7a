"""pytest plugin: options, markers and fixtures only; the work is in the library.

Options: ``--harness-target`` (ini ``harness_target``, env ``HARNESS_TARGET``),
``--harness-isolation`` (session | worker | test).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from harness.cloud import CloudAccount, LocalCloud
from harness.errors import HarnessError
from harness.gateway import serve_apis
from harness.project import load_app_source
from harness.provisioning import StackRecord, deploy_app, destroy_app
from harness.settings import HarnessSettings
from harness.targets.registry import available_targets


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness", "serverless harness")
    group.addoption("--harness-target", default=None,
                    help="target to run against: moto (default), localstack, aws")
    group.addoption("--harness-isolation", default=None,
                    help="one fresh account per: session, worker (xdist) or test")
    parser.addini("harness_target", "default target", default="")
    parser.addini("harness_isolation", "default isolation", default="")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "targets(*names, reason=None): run only on these targets; skip elsewhere"
    )
    try:
        target = _settings(config).target
    except HarnessError as exc:
        raise pytest.UsageError(str(exc)) from exc
    if target not in available_targets():
        raise pytest.UsageError(
            f"--harness-target {target!r} is not a known target; choose one of "
            f"{', '.join(available_targets())}"
        )


def _settings(config: pytest.Config) -> HarnessSettings:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    state_dir = os.path.join(str(config.rootpath), ".harness", worker or "main")
    return HarnessSettings.resolve(
        explicit={
            "target": config.getoption("--harness-target"),
            "isolation": config.getoption("--harness-isolation"),
            "state_dir": state_dir,
            "cache_dir": os.path.join(str(config.rootpath), ".harness", "cache"),
        },
        environ=os.environ,
        ini={"target": config.getini("harness_target"), "isolation": config.getini("harness_isolation")},
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    target = _settings(config).target
    for item in items:
        marker = item.get_closest_marker("targets")
        if marker is not None and target not in marker.args:
            reason = marker.kwargs.get("reason") or f"runs on {', '.join(marker.args)}, not {target}"
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def harness_settings(pytestconfig: pytest.Config) -> HarnessSettings:
    return _settings(pytestconfig)


@pytest.fixture(scope="session")
def harness_cloud(harness_settings: HarnessSettings) -> Iterator[LocalCloud]:
    """The started target with pollers and async invocation; stopped after the session."""
    with LocalCloud(harness_settings, os.environ) as cloud:
        yield cloud


@pytest.fixture(scope="session")
def _harness_session_account(harness_cloud: LocalCloud) -> Iterator[CloudAccount]:
    account = harness_cloud.open_account()
    yield account
    account.close()


@pytest.fixture
def harness_account(
    harness_cloud: LocalCloud, harness_settings: HarnessSettings, request: pytest.FixtureRequest
) -> Iterator[CloudAccount]:
    """The account a test works in: fresh per test with isolation=test, else shared."""
    if harness_settings.isolation == "test":
        account = harness_cloud.open_account()
        yield account
        account.close()
    else:
        yield request.getfixturevalue("_harness_session_account")


@pytest.fixture(scope="session")
def harness_stack(
    pytestconfig: pytest.Config, harness_settings: HarnessSettings,
    _harness_session_account: CloudAccount,
) -> Iterator[StackRecord]:
    """The project's app ([tool.harness] in pyproject.toml) deployed once into the session account."""
    source = load_app_source(pytestconfig.rootpath)
    if source is None:
        pytest.skip("no [tool.harness] app in pyproject.toml to deploy")
    record = deploy_app(_harness_session_account, source, state_dir=harness_settings.state_dir,
                        cache_dir=harness_settings.cache_dir)
    serve_apis(_harness_session_account, record)  # ApiUrl now points at the local gateway
    yield record
    destroy_app(_harness_session_account, record)


@pytest.fixture(scope="session")
def harness_outputs(harness_stack: StackRecord) -> dict[str, Any]:
    """The deployed stack's outputs (DocumentBucket, ApiUrl ...)."""
    return dict(harness_stack.outputs)


@pytest.fixture
def settle(harness_account: CloudAccount) -> Callable[..., None]:
    """``settle(timeout=None)``: wait until every event source is drained."""
    return harness_account.settle


@pytest.fixture
def invoke(harness_account: CloudAccount) -> Callable[..., dict[str, Any]]:
    """``invoke(name, payload, log_tail=False)``: synchronous Lambda invoke."""
    return harness_account.invoke
