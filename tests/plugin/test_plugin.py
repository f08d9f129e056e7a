"""The pytest plugin, exercised in a child pytest run (pytester)."""

from __future__ import annotations

from pathlib import Path

import pytest


def test_targets_marker_skips_other_targets_with_a_reason(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import pytest

        @pytest.mark.targets("localstack", "aws")
        def test_needs_localstack():
            raise AssertionError("must not run on moto")

        @pytest.mark.targets("moto")
        def test_on_moto():
            pass
    """)
    result = pytester.runpytest_subprocess("--harness-target", "moto", "-rs", "--strict-markers")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*runs on localstack, aws, not moto*"])


def test_unknown_target_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_x():\n    pass\n")
    result = pytester.runpytest_subprocess("--harness-target", "nowhere")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*'nowhere' is not a known target; choose one of aws, localstack, moto*"])


def test_fixtures_deploy_invoke_and_settle(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import json
        from harness.packaging import deploy_function

        def test_round_trip(harness_account, invoke, settle):
            deploy_function(harness_account, "echo", {"app.py": "def handler(e, c):\\n    return e\\n"})
            assert invoke("echo", {"a": 1})["Payload"] == {"a": 1}
            sqs = harness_account.client("sqs")
            url = sqs.create_queue(QueueName="in")["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            harness_account.client("lambda").create_event_source_mapping(FunctionName="echo", EventSourceArn=arn)
            sqs.send_message(QueueUrl=url, MessageBody="hi")
            settle()
            attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
            assert attrs["ApproximateNumberOfMessages"] == "0"
    """)
    result = pytester.runpytest_subprocess("--harness-target", "moto")
    result.assert_outcomes(passed=1)


def test_isolation_per_test_gives_each_test_its_own_account(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        seen = []

        def test_one(harness_account):
            seen.append(harness_account.account_id)
            harness_account.client("sqs").create_queue(QueueName="same-name")

        def test_two(harness_account):
            seen.append(harness_account.account_id)
            assert not harness_account.client("sqs").list_queues().get("QueueUrls")
            assert seen[0] != seen[1]
    """)
    result = pytester.runpytest_subprocess("--harness-isolation", "test", "-p", "no:randomly")
    result.assert_outcomes(passed=2)


def test_harness_stack_skips_without_an_app(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_uses_stack(harness_outputs):\n    raise AssertionError('no app')\n")
    result = pytester.runpytest_subprocess("-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*no [[]tool.harness[]] app in pyproject.toml to deploy*"])


def test_scenario_files_are_collected_and_run(pytester: pytest.Pytester) -> None:
    pytester.mkdir("scenarios")
    pytester.path.joinpath("scenarios", "ok.yaml").write_text(
        "name: settles\ntags: [smoke]\nsteps:\n  - settle: {timeout: 5}\n")
    pytester.path.joinpath("scenarios", "failing.yaml").write_text(
        "name: expects a queue\nsteps:\n  - expect_queue: {queue: nowhere, count: 0}\n")
    pytester.path.joinpath("scenarios", "elsewhere.yaml").write_text(
        "name: only on localstack\ntargets: {localstack: {}}\nsteps:\n  - settle: {}\n")
    result = pytester.runpytest_subprocess("scenarios", "-rs")
    result.assert_outcomes(passed=1, failed=1, skipped=1)
    result.stdout.fnmatch_lines(["*scenario 'expects a queue' failed*", "*failing step: expect_queue*",
                                 "*scenario lists targets localstack, not moto*"])


def test_a_malformed_scenario_is_a_collection_error_with_its_line(pytester: pytest.Pytester) -> None:
    pytester.mkdir("scenarios")
    pytester.path.joinpath("scenarios", "bad.yaml").write_text("name: x\nsteps:\n  - settel: {}\n")
    result = pytester.runpytest_subprocess("scenarios")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*bad.yaml:3:5: unknown step kind 'settel'; did you mean 'settle'?*"])


def test_clock_and_faults_fixtures(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import pytest
        from botocore.config import Config
        from botocore.exceptions import ClientError

        def test_time_passes_at_once(harness_account, clock):
            sqs = harness_account.client("sqs")
            url = sqs.create_queue(QueueName="later")["QueueUrl"]
            sqs.send_message(QueueUrl=url, MessageBody="m", DelaySeconds=900)
            assert clock.virtual
            before = clock.now()
            assert clock.advance(901) >= 1  # the delay's end fell due on the way
            assert clock.now() - before >= 901
            assert sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"] == "m"

        def test_faults_fail_calls_as_aws_would(harness_account, faults):
            faults.add(service="dynamodb", operation="ListTables", error="ThrottlingException", count=1)
            ddb = harness_account.scope.client("dynamodb", config=Config(retries={"total_max_attempts": 1}))
            with pytest.raises(ClientError, match="ThrottlingException"):
                ddb.list_tables()
            assert ddb.list_tables()["TableNames"] == []
            assert [i.effect for i in faults.injected] == ["ThrottlingException"]
    """)
    result = pytester.runpytest_subprocess("--harness-target", "moto")
    result.assert_outcomes(passed=2)


def test_iam_fixture_names_what_aws_would_deny(pytester: pytest.Pytester) -> None:
    app = Path(__file__).resolve().parents[1] / "apps" / "least_privilege"
    pytester.makepyfile(f"""
        from pathlib import Path

        import pytest
        from harness.deployed import deploy_app
        from harness.project import load_app_source

        def test_least_privilege(harness_account, harness_settings, iam):
            app = deploy_app(harness_account, load_app_source(Path({str(app)!r})), cache_dir=harness_settings.cache_dir)
            names = {{r.logical_id: str(r.physical_id) for r in app.record.resources.values()}}
            harness_account.invoke(names["Ungranted"], {{"id": "1"}})
            (denied,) = iam.denied()
            assert denied["action"] == "dynamodb:PutItem" and denied["resource"].endswith(names["Table"])
            with pytest.raises(AssertionError, match="dynamodb:PutItem"):
                iam.assert_least_privilege()
            table = denied["resource"]
            assert iam.decide(names["Granted"], "dynamodb:PutItem", table) == "allowed"
            assert iam.decide(names["Probe"], "dynamodb:PutItem", table) == "explicit_deny"
    """)
    result = pytester.runpytest_subprocess("--harness-target", "moto")
    result.assert_outcomes(passed=1)
