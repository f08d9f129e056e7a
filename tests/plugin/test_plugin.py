"""The pytest plugin, exercised in a child pytest run (pytester)."""

from __future__ import annotations

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
    result.stderr.fnmatch_lines(["*'nowhere' is not a known target; choose one of moto*"])


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
