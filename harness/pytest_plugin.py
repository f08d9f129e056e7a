"""pytest plugin: options, markers and fixtures only; the work is in the library.

Options: ``--harness-target`` (ini ``harness_target``, env ``HARNESS_TARGET``),
``--harness-isolation`` (session | worker | test).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.cloud import AccountTime, CloudAccount, LocalCloud
from harness.deployed import DeployedApp, deploy_app
from harness.errors import HarnessError
from harness.faults.registry import AccountFaults
from harness.iam.account import AccountIam
from harness.project import load_app_source, project_settings
from harness.provisioning import StackRecord
from harness.settings import HarnessSettings
from harness.targets.registry import available_targets


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness", "serverless harness")
    group.addoption("--harness-target", default=None,
                    help="target to run against: moto (default), localstack, aws")
    group.addoption("--harness-isolation", default=None,
                    help="one fresh account per: session, worker (xdist) or test")
    group.addoption("--harness-keep", action="store_true", default=None,
                    help="keep the session's stack after the run and reuse a kept one (aws)")
    group.addoption("--harness-localstack-url", default=None,
                    help="use the LocalStack running at this URL instead of starting one (localstack target)")
    parser.addini("harness_target", "default target", default="")
    parser.addini("harness_isolation", "default isolation", default="")
    parser.addini("harness_scenarios", "folders whose *.yaml files are collected as scenarios",
                  type="paths", default=["scenarios"])


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
            "keep": config.getoption("--harness-keep"),
            "localstack_url": config.getoption("--harness-localstack-url"),
            "state_dir": state_dir,
            "cache_dir": os.path.join(str(config.rootpath), ".harness", "cache"),
        },
        environ=os.environ,
        ini={**project_settings(config.rootpath),
             "target": config.getini("harness_target"), "isolation": config.getini("harness_isolation")},
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


_CLOUD = pytest.StashKey[LocalCloud]()


def _shared_cloud(config: pytest.Config) -> LocalCloud:
    """One LocalCloud per process, shared by fixtures and scenario items (moto's seams are global)."""
    if _CLOUD not in config.stash:
        config.stash[_CLOUD] = LocalCloud(_settings(config), os.environ).start()
    return config.stash[_CLOUD]


_RUNNER = pytest.StashKey[Any]()


def _shared_runner(config: pytest.Config) -> Any:
    """One scenario runner per process: scenario items share its stack where isolation costs one (aws)."""
    from harness.scenarios.engine import ScenarioRunner

    if _RUNNER not in config.stash:
        config.stash[_RUNNER] = ScenarioRunner(_shared_cloud(config), _settings(config), load_app_source(config.rootpath))
    return config.stash[_RUNNER]


def pytest_sessionfinish(session: pytest.Session) -> None:
    runner = session.config.stash.get(_RUNNER, None)
    if runner is not None:
        del session.config.stash[_RUNNER]
        runner.close()
    cloud = session.config.stash.get(_CLOUD, None)
    if cloud is not None:
        cloud.stop()
        del session.config.stash[_CLOUD]


@pytest.fixture(scope="session")
def harness_cloud(pytestconfig: pytest.Config) -> LocalCloud:
    """The started target with pollers and async invocation; stopped after the session."""
    return _shared_cloud(pytestconfig)


@pytest.fixture(scope="session")
def _harness_session_account(harness_cloud: LocalCloud, harness_settings: HarnessSettings,
                             ) -> Iterator[CloudAccount]:
    account = harness_cloud.open_account(keep=harness_settings.keep)
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
def harness_app(
    pytestconfig: pytest.Config, harness_settings: HarnessSettings,
    _harness_session_account: CloudAccount,
) -> Iterator[DeployedApp]:
    """The project's app ([tool.harness] in pyproject.toml) deployed once into the session account,
    its APIs served where the target does not serve them."""
    source = load_app_source(pytestconfig.rootpath)
    if source is None:
        pytest.skip("no [tool.harness] app in pyproject.toml to deploy")
    app = deploy_app(_harness_session_account, source, cache_dir=harness_settings.cache_dir)
    yield app
    if not harness_settings.keep:
        app.destroy()


@pytest.fixture(scope="session")
def harness_stack(harness_app: DeployedApp) -> StackRecord:
    """The deployed stack's record: resources by logical id, outputs."""
    return harness_app.record


@pytest.fixture(scope="session")
def harness_outputs(harness_app: DeployedApp) -> dict[str, Any]:
    """The deployed stack's outputs, API endpoints rewritten to their local URLs."""
    return harness_app.outputs


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix not in (".yaml", ".yml"):
        return None
    folders = [p if Path(p).is_absolute() else parent.config.rootpath / p
               for p in parent.config.getini("harness_scenarios")]
    if any(folder in file_path.parents for folder in folders):
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


class ScenarioFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        from harness.scenarios import ScenarioError, load_scenario

        try:
            scenario = load_scenario(self.path)
        except ScenarioError as exc:
            raise self.CollectError(str(exc)) from exc
        item = ScenarioItem.from_parent(self, name=scenario.name)
        item.scenario = scenario
        yield item


class ScenarioItem(pytest.Item):
    scenario: Any

    def runtest(self) -> None:
        reason = self.scenario.skip_reason(_settings(self.config).target)
        if reason:
            pytest.skip(reason)
        result = _shared_runner(self.config).run(self.scenario)
        self.user_properties.append(("duration_s", round(result.duration_s, 3)))
        if result.status == "failed":
            raise ScenarioFailed(result)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, ScenarioFailed):
            return excinfo.value.describe()
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.scenario.location.line - 1, f"scenario: {self.name}"


class ScenarioFailed(Exception):
    def __init__(self, result: Any) -> None:
        super().__init__(result.reason)
        self.result = result

    def describe(self) -> str:
        import json

        result = self.result
        lines = [f"scenario {result.name!r} failed: {result.reason}"]
        step = result.failed_step
        if step is not None:
            lines += [f"failing step: {step.title} ({step.location})", *(f"  {d}" for d in step.diff)]
            if step.actual is not None:
                lines.append("actual: " + json.dumps(step.actual, default=str)[:1500])
        if result.logs:
            lines.append("logs (tail):")
            lines += [f"  {line[:240]}" for line in result.logs[-10:]]
        lines.append("trace (last 12):")
        lines += [f"  {json.dumps(e, default=str)[:200]}" for e in result.trace[-12:]]
        return "\n".join(lines)


@pytest.fixture
def scenario_runner(harness_cloud: LocalCloud, harness_settings: HarnessSettings, pytestconfig: pytest.Config,
                    ) -> Iterator[Callable[[Any], Any]]:
    """Run a Scenario (or a path to one) against the session's target: ``scenario_runner(path)``."""
    from harness.scenarios import load_scenario
    from harness.scenarios.engine import ScenarioRunner

    runner = ScenarioRunner(harness_cloud, harness_settings, load_app_source(pytestconfig.rootpath))

    def run(scenario: Any) -> Any:
        return runner.run(load_scenario(Path(scenario)) if isinstance(scenario, (str, Path)) else scenario)

    yield run
    runner.close()


@pytest.fixture(scope="session")
def user_token(harness_app: DeployedApp) -> Callable[..., str]:
    """``user_token(name, groups=(), pool=None)``: an ID token of a user (created on first use) of the
    app's user pool (found from the stack's resources; ``pool`` names one when there are several)."""

    def token(name: str, groups: tuple[str, ...] = (), pool: str | None = None) -> str:
        try:
            return harness_app.users(pool).token(name, tuple(groups))
        except HarnessError as exc:
            pytest.fail(str(exc), pytrace=False)

    return token


@pytest.fixture
def settle(harness_account: CloudAccount) -> Callable[..., None]:
    """``settle(timeout=None)``: wait until every event source is drained."""
    return harness_account.settle


@pytest.fixture
def clock(harness_account: CloudAccount) -> AccountTime:
    """The account's time: ``clock.advance(seconds)``, ``clock.now()``, ``clock.virtual``. On moto
    time jumps and what falls due meanwhile happens in order; on LocalStack and AWS it is waited out."""
    return AccountTime(harness_account)


@pytest.fixture
def faults(harness_account: CloudAccount) -> Iterator[AccountFaults]:
    """The account's fault rules: ``faults.add(service=..., operation=..., error=...)``,
    ``faults.injected``; cleared when the test ends. Skips the test where the target cannot
    inject faults (LocalStack, AWS)."""
    registry = harness_account.cloud.target.faults
    if registry is None:
        pytest.skip(f"the {harness_account.cloud.target.name} target cannot inject faults")
    account_faults = AccountFaults(registry, harness_account.account_id)
    yield account_faults
    account_faults.clear()


@pytest.fixture
def iam(harness_account: CloudAccount) -> Iterator[AccountIam]:
    """The account's least privilege since the test began: ``iam.assert_least_privilege()``,
    ``iam.denied()``, ``iam.unused_grants(function)``, ``iam.enforce()`` (moto: denied calls get AWS's
    AccessDenied). Skips the test where the target's calls are not observed (AWS, ``iam = "off"``)."""
    recorder = harness_account.cloud.target.calls
    if recorder is None:
        pytest.skip(f"the {harness_account.cloud.target.name} target's calls are not observed here")
    yield AccountIam(recorder, harness_account)
    recorder.set_mode(harness_account.account_id, None)


@pytest.fixture
def invoke(harness_account: CloudAccount) -> Callable[..., dict[str, Any]]:
    """``invoke(name, payload, log_tail=False)``: synchronous Lambda invoke."""
    return harness_account.invoke
