"""Scenario loading is strict: file, line, column and a suggestion for every mistake."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.scenarios import ScenarioError, load_scenario, scenario_files
from harness.scenarios.schema import STEPS, scenario_schema

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(("text", "message"), [
    ("name: x\nstep:\n  - settle: {}\n", "s.yaml:2:1: unknown key 'step'; did you mean 'steps'?"),
    ("name: x\nsteps:\n  - settel: {}\n", "s.yaml:3:5: unknown step kind 'settel'; did you mean 'settle'?"),
    ("name: x\nsteps:\n  - put_object: {bucket: b, kye: k}\n", "s.yaml:3:29: unknown put_object key 'kye'; did you mean 'key'?"),
    ("name: x\nsteps:\n  - put_object: {bucket: b}\n", "s.yaml:3:5: put_object needs key"),
    ("name: x\nsteps:\n  - settle: {timeout: soon}\n", "s.yaml:3:23: settle.timeout must be a number"),
    ("name: x\nsteps:\n  - settle: {timeout: {aws: soon}}\n", "s.yaml:3:23: settle.timeout must be a number or a"),
    ("name: x\nsteps:\n  - put_object: {bucket: '${outputz.B}', key: k}\n",
     "s.yaml:3:26: unknown variable ${outputz}; did you mean ${outputs}?"),
    ("name: x\nsteps:\n  - expect_alarm: {alarm: a, state: RED}\n", "expect_alarm.state must be one of OK, ALARM"),
    ("name: x\nsteps: [\n", "s.yaml:3:1: invalid YAML"),
    ("steps:\n  - settle: {}\n", "s.yaml:1:1: a scenario needs 'name'"),
    ("name: x\nsteps: []\n", "steps must be a non-empty list"),
    ("name: x\nexclusive: yes please\nsteps:\n  - settle: {}\n", "s.yaml:2:12: exclusive must be true or false"),
])
def test_errors_name_the_place(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(write(tmp_path, text))
    assert message in str(caught.value)


def test_captures_define_variables_for_later_steps(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path, """
name: captures
tags: [a]
targets: {moto: {}, localstack: {skip: "no cognito"}}
variables: {who: alice}
steps:
  - api: {user: "${who}", method: GET, path: /x, capture: {job: body.id}}
  - api: {user: "${who}", method: GET, path: "/jobs/${job}/${last.status}"}
"""))
    assert [s.kind for s in scenario.steps] == ["api", "api"]
    assert scenario.skip_reason("moto") is None
    assert scenario.skip_reason("localstack") == "no cognito"
    assert "not aws" in (scenario.skip_reason("aws") or "").replace("targets localstack, moto, ", "not ")


def test_the_suite_is_valid_and_the_schema_covers_every_step() -> None:
    files = scenario_files([ROOT / "scenarios"])
    assert len(files) >= 15
    for file in files:
        load_scenario(file)
    schema = scenario_schema()
    kinds = {next(iter(option["required"])) for option in schema["properties"]["steps"]["items"]["oneOf"]}
    assert kinds == set(STEPS)


def test_missing_paths_are_errors(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="no such file or folder"):
        scenario_files([tmp_path / "nope"])


def test_readme_embeds_the_current_schema() -> None:
    import json

    readme = (ROOT / "scenarios" / "README.md").read_text()
    embedded = readme.split("```json\n", 1)[1].split("\n```", 1)[0]
    assert json.loads(embedded) == scenario_schema(), "regenerate the schema block of scenarios/README.md"


def test_readme_steps_table_is_the_declared_kinds() -> None:
    from harness.scenarios.kinds import KINDS, RUNNERS, documentation_table
    from harness.scenarios.schema import STEPS

    readme = (ROOT / "scenarios" / "README.md").read_text()
    assert documentation_table() in readme, "regenerate the steps table of scenarios/README.md from kinds.py"
    assert set(KINDS) == set(STEPS) == set(RUNNERS)
    assert all(callable(run) for run in RUNNERS.values())


def _context(target: str, scale: float) -> Any:
    from types import SimpleNamespace

    from harness.scenarios.steps import StepContext

    account = SimpleNamespace(cloud=SimpleNamespace(target=SimpleNamespace(name=target)),
                              capabilities=SimpleNamespace(timeout_scale=scale))
    return StepContext(account, None, Path("."))  # type: ignore[arg-type]


@pytest.mark.parametrize(("target", "args", "expected"), [
    ("moto", {}, 30.0),
    ("moto", {"timeout": 40}, 40.0),
    ("aws", {"timeout": 40}, 400.0),                       # scaled by the target
    ("aws", {"timeout": {"aws": 180, "default": 40}}, 180.0),  # named: as given
    ("aws", {"timeout": {"localstack": 90}}, 300.0),       # not named: the default, scaled
    ("localstack", {"timeout": {"localstack": 90, "default": 5}}, 90.0),
])
def test_a_step_timeout_is_per_target_and_scaled_unless_named(target: str, args: dict[str, Any],
                                                              expected: float) -> None:
    assert _context(target, 10.0 if target == "aws" else 1.0).timeout(args, 30) == expected


def test_exclusive_is_read_and_false_by_default(tmp_path: Path) -> None:
    assert not load_scenario(write(tmp_path, "name: x\nsteps:\n  - settle: {}\n")).exclusive
    assert load_scenario(write(tmp_path, "name: x\nexclusive: true\nsteps:\n  - settle: {}\n")).exclusive


@pytest.mark.parametrize("fault, message", [
    ("{service: dynamodbb, error: X}", "unknown service 'dynamodbb'; did you mean dynamodb"),
    ("{service: dynamodb, operation: PutItme, error: X}", "dynamodb has no operation 'PutItme'; did you mean PutItem"),
    ("{service: s3, operation: GetObject, error: NoSuchTable}", "valid errors: AccessDenied"),
    ("{function: F, invocation: explode}", "invocation must be one of timeout, crash, throttle, slow_start"),
])
def test_a_bad_fault_rule_fails_the_file_at_its_line_with_the_valid_names(tmp_path: Path, fault: str,
                                                                          message: str) -> None:
    path = tmp_path / "faulty.yaml"
    path.write_text(f"name: faulty\nsteps:\n  - settle: {{}}\n  - fault: {fault}\n")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert f"{path}:4:" in str(caught.value) and message in str(caught.value), str(caught.value)
