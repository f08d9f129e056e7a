"""The command line: exit codes, messages, and harness up/down leaving nothing behind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import boto3
import psutil
from click.testing import CliRunner

from harness.cli import main
from harness.envfile import read_env_file


def test_run_and_validate_exit_2_on_a_malformed_file_with_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nsteps:\n  - expect_queue: {queue: q, cout: 1}\n")
    for command in (["validate", str(bad)], ["run", str(bad)]):
        result = CliRunner().invoke(main, command)
        assert result.exit_code == 2, result.output
        assert f"{bad}:3:30: unknown expect_queue key 'cout'; did you mean 'count'?" in result.output


def test_run_needs_a_selection() -> None:
    result = CliRunner().invoke(main, ["run", "scenarios/", "-k", "no scenario has this name"])
    assert result.exit_code == 2 and "no scenario selected" in result.output


def test_up_and_down_serve_any_client_and_stop_everything(tmp_path: Path) -> None:
    env_file = tmp_path / "env"
    harness = [sys.executable, "-m", "harness.cli"]
    up = subprocess.run([*harness, "up", "--no-deploy", "--env-file", str(env_file)], capture_output=True,
                        text=True, timeout=120)
    assert up.returncode == 0, up.stderr
    values = read_env_file(env_file)
    pid = int(values["HARNESS_PID"])
    try:
        session = boto3.session.Session(aws_access_key_id=values["AWS_ACCESS_KEY_ID"],
                                        aws_secret_access_key=values["AWS_SECRET_ACCESS_KEY"],
                                        aws_session_token=values["AWS_SESSION_TOKEN"],
                                        region_name=values["AWS_DEFAULT_REGION"])
        sts = session.client("sts", endpoint_url=values["AWS_ENDPOINT_URL"])
        assert sts.get_caller_identity()["Account"] == values["HARNESS_ACCOUNT_ID"]
        assert values["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
        assert subprocess.run([*harness, "up", "--no-deploy", "--env-file", str(env_file)],
                              capture_output=True, text=True).returncode != 0  # already up
        _faults_through_the_cli(harness, env_file, session, values["AWS_ENDPOINT_URL"])
    finally:
        down = subprocess.run([*harness, "down", "--env-file", str(env_file)], capture_output=True, text=True,
                              timeout=60)
    assert down.returncode == 0, down.stderr
    assert not env_file.exists()
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert os.environ.get("HARNESS_PID") is None


def test_synth_trial_deploy_fails_where_a_deploy_would(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.harness]\napp = "cloudformation"\npath = "t.yaml"\n')
    template = tmp_path / "t.yaml"
    template.write_text("Resources:\n  Jobs:\n    Type: AWS::DynamoDB::Table\n    Properties:\n"
                        "      KeySchema: [{AttributeName: id, KeyType: HASH}]\n"
                        "      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]\n"
                        "      ProvisionedThroughput: {ReadCapacityUnits: many, WriteCapacityUnits: 1}\n")
    synth = [sys.executable, "-m", "harness.cli", "synth"]
    result = subprocess.run(synth, cwd=tmp_path, capture_output=True, text=True, timeout=180)
    # The plan accepts every property; botocore's model refuses the value's type at the trial deploy.
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Jobs (AWS::DynamoDB::Table)" in result.stderr
    assert "ProvisionedThroughput.ReadCapacityUnits" in result.stderr and "valid types: <class 'int'>" in result.stderr
    template.write_text(template.read_text().replace("many", "5"))
    result = subprocess.run(synth, cwd=tmp_path, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    assert "trial deploy on moto: 1 resources created and deleted" in result.stdout
    assert not list(tmp_path.glob(".harness/harness-trial-*"))  # the trial's state is gone with it


def test_parity_usage_errors_exit_2_and_say_what_to_fix(tmp_path: Path) -> None:
    for targets in ("moto", "moto,moto", "moto,nowhere"):
        result = CliRunner().invoke(main, ["parity", "scenarios/", "--targets", targets])
        assert result.exit_code == 2 and "--targets names two different targets" in result.output, result.output
    result = CliRunner().invoke(main, ["parity", "scenarios/", "-k", "no scenario has this name"])
    assert result.exit_code == 2 and "no scenario selected" in result.output
    known = tmp_path / "known.yaml"
    known.write_text("- difference: functions.*\n")
    result = CliRunner().invoke(main, ["parity", "scenarios/", "--known", str(known)])
    assert result.exit_code == 2 and f"{known}: entry 1 needs a 'difference' pattern and a 'reason'" in result.output


def _faults_through_the_cli(harness: list[str], env_file: Path, session: boto3.session.Session, endpoint: str) -> None:
    """`harness fault add|list|clear` on a running `harness up`, seen by a client of the env file."""
    from botocore.config import Config
    from botocore.exceptions import ClientError

    def fault(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*harness, "fault", *args, "--env-file", str(env_file)], capture_output=True,
                              text=True, timeout=60)

    sqs = session.client("sqs", endpoint_url=endpoint, config=Config(retries={"total_max_attempts": 1}))
    url = sqs.create_queue(QueueName="faulty")["QueueUrl"]
    added = fault("add", "service=sqs", "operation=SendMessage", "error=RequestThrottled", "count=1")
    assert added.returncode == 0 and "sqs.SendMessage: RequestThrottled (400) x1" in added.stdout, added.stderr
    try:
        sqs.send_message(QueueUrl=url, MessageBody="first")
        raise AssertionError("the injected fault did not fail the call")
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "RequestThrottled"
    sqs.send_message(QueueUrl=url, MessageBody="second")  # the rule's count is used up
    listed = fault("list")
    assert "(matched 1, injected 1)" in listed.stdout and "1 fault(s) injected" in listed.stdout, listed.stdout
    bad = fault("add", "service=sqs", "operation=SendMessage", "error=Nope")
    assert bad.returncode == 1 and "valid errors:" in bad.stderr and "RequestThrottled" in bad.stderr
    assert "1 rule(s) cleared" in fault("clear").stdout
