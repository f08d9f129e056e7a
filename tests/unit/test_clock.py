"""Clocks per account, letting time pass in order, and the scenario step's pure parts."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from harness.clock import MAX_STEPS, Clocks, let_time_pass
from harness.scenarios.loader import ScenarioError, load_scenario
from harness.scenarios.time_steps import real_wait_s, skip_on_real_clock


def test_virtual_clocks_move_forward_per_account_and_publish_absolute_files(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    clocks = Clocks(virtual=True, directory=Path("clocks"))  # relative: function processes run elsewhere
    seen: list[str] = []
    clocks.subscribe(seen.append)
    path = clocks.offset_file("111")
    assert path is not None and path.is_absolute() and path.read_text() == "0.0"
    clocks.advance("111", 90)
    clocks.advance("111", 30)
    assert clocks.offset("111") == 120 and clocks.offset("222") == 0
    assert float(path.read_text()) == 120
    assert clocks.now("111") - time.time() == pytest.approx(120, abs=1)
    assert clocks.now(None) == pytest.approx(time.time(), abs=1)  # work for no account: real time
    assert seen == ["111", "111"]
    with pytest.raises(ValueError, match="only moves forward"):
        clocks.advance("111", -1)
    clocks.forget("111")
    assert not path.exists() and clocks.offset("111") == 0


def test_a_real_clock_waits_and_publishes_nothing() -> None:
    waited: list[float] = []
    clocks = Clocks(virtual=False, directory=Path("/nonexistent"), sleep=waited.append)
    clocks.advance("111", 2.5)
    assert waited == [2.5] and clocks.offset("111") == 0 and clocks.offset_file("111") is None
    assert let_time_pass(clocks.for_account("111"), 4, next_due=lambda: 0.0, catch_up=lambda: None) == 0
    assert waited == [2.5, 4]


def test_time_passes_through_every_moment_that_falls_due_in_order() -> None:
    clock = Clocks(virtual=True).for_account("111")
    start = clock.now()
    timers = [start + 30, start + 60, start + 90, start + 500]  # visibility timeouts; one beyond the end
    log: list[str] = []

    def next_due() -> float | None:
        future = [t for t in timers if t > clock.now()]
        return min(future) if future else None

    def catch_up() -> None:
        log.append(f"{clock.now() - start:.0f}")

    assert let_time_pass(clock, 100, next_due=next_due, catch_up=catch_up) == 3
    assert log == ["0", "30", "60", "90", "100"]
    assert clock.now() - start == pytest.approx(100, abs=0.5)


def test_a_timer_that_rearms_at_once_or_never_fires_is_an_error() -> None:
    clock = Clocks(virtual=True).for_account("111")
    with pytest.raises(RuntimeError, match="re-arms itself"):
        let_time_pass(clock, 10 * MAX_STEPS, next_due=lambda: clock.now() + 0.0001, catch_up=lambda: None)
    stuck = clock.now() - 5
    with pytest.raises(RuntimeError, match="still waiting"):
        let_time_pass(clock, 10, next_due=lambda: stuck, catch_up=lambda: None)


SCENARIO = """
name: retries
steps:
  - advance_clock: {seconds: 200}
  - settle: {}
  - advance_clock: {seconds: 150.5}
  - advance_clock: {to: "2030-01-01T00:00:00Z"}
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(text)
    return path


def test_real_clock_waits_over_five_minutes_are_skipped(tmp_path: Path) -> None:
    scenario = load_scenario(_write(tmp_path, SCENARIO))
    assert real_wait_s(scenario) == 350.5
    reason = skip_on_real_clock(scenario, "localstack")
    assert reason is not None and "350.5 s" in reason and "localstack" in reason
    short = load_scenario(_write(tmp_path, SCENARIO.replace("150.5", "50")))
    assert skip_on_real_clock(short, "localstack") is None


@pytest.mark.parametrize("step, message", [
    ("advance_clock: {}", "exactly one of seconds, to"),
    ("advance_clock: {seconds: 1, to: '2030-01-01T00:00:00Z'}", "exactly one of seconds, to"),
    ("advance_clock: {seconds: -1}", "at least 0"),
])
def test_advance_clock_takes_seconds_or_to(tmp_path: Path, step: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=message) as caught:
        load_scenario(_write(tmp_path, f"name: x\nsteps:\n  - {step}\n"))
    assert "s.yaml:3" in str(caught.value)


def test_offset_file_is_readable_by_the_shim(tmp_path: Path) -> None:
    from harness.lambda_runtime.clock_shim import _offset

    clocks = Clocks(virtual=True, directory=tmp_path)
    clocks.advance("5", 42)
    path = clocks.offset_file("5")
    assert path is not None and _offset(os.fspath(path)) == 42
    assert _offset(os.fspath(tmp_path / "missing")) is None


def test_the_shim_runs_a_module_on_the_offset_as_python_m_would(tmp_path: Path) -> None:
    """The fresh-interpreter path (no pre-started one): ``python clock_shim.py <module>``."""
    import json
    import subprocess
    import sys

    from harness.lambda_runtime import clock_shim

    (tmp_path / "probe.py").write_text(
        "import json, os, sys, time\n"
        "print(json.dumps({'time': time.time(), 'path0': sys.path[0], 'argv': sys.argv[1:],\n"
        "                  'variable': os.environ.get('_HARNESS_CLOCK_FILE')}))\n")
    offset = tmp_path / "clock.offset"
    offset.write_text("86400.0")
    env = {**os.environ, clock_shim.CLOCK_VARIABLE: str(offset)}
    done = subprocess.run([sys.executable, clock_shim.__file__, "probe", "a1"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60, check=True)
    seen = json.loads(done.stdout)
    assert seen["time"] - time.time() == pytest.approx(86400, abs=30)
    assert seen["path0"] == str(tmp_path) and seen["argv"] == ["a1"] and seen["variable"] is None
