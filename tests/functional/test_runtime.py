"""The process runtime behind moto's Lambda API: results, errors, limits, logs, layers."""

from __future__ import annotations

import base64
import json
import threading
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from harness.cloud import CloudAccount
from harness.packaging import zip_files
from harness.waiting import wait_until

ECHO = """
import os, time
def handler(event, context):
    if event.get("sleep"):
        time.sleep(event["sleep"])
    return {
        "event": event,
        "request_id": context.aws_request_id,
        "invoked_arn": context.invoked_function_arn,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "env": {k: os.environ.get(k) for k in (
            "AWS_LAMBDA_FUNCTION_NAME", "_HANDLER", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_REGION",
            "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_FUNCTION_VERSION", "AWS_ENDPOINT_URL",
            "AWS_ACCESS_KEY_ID", "AWS_LAMBDA_RUNTIME_API", "CUSTOM")},
        "pid": os.getpid(),
        "names": sorted(os.environ),
    }
"""
# What AWS's Python runtime sets (reserved and unreserved) and what the harness adds on purpose.
AWS_VARIABLES = {"_HANDLER", "_X_AMZN_TRACE_ID", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_EXECUTION_ENV",
                 "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
                 "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
                 "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                 "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR", "TZ", "LANG", "PATH",
                 "PYTHONPATH", "AWS_XRAY_CONTEXT_MISSING", "AWS_XRAY_DAEMON_ADDRESS", "_AWS_XRAY_DAEMON_ADDRESS",
                 "_AWS_XRAY_DAEMON_PORT"}
HARNESS_VARIABLES = {"AWS_ENDPOINT_URL", "AWS_ACCOUNT_ID_ENDPOINT_MODE", "PYTHONUNBUFFERED",
                     "PYTHONDONTWRITEBYTECODE", "LC_CTYPE"}  # LC_CTYPE: Python's own locale coercion
LOCALSTACK_VARIABLES = {"LOCALSTACK_HOSTNAME", "EDGE_PORT", "LOCALSTACK_RUNTIME_ID", "LOCALSTACK_RUNTIME_ENDPOINT",
                        "LOCALSTACK_FUNCTION_ACCOUNT_ID", "LOCALSTACK_MAX_PAYLOAD_SIZE"}  # LocalStack's own


def test_invoke_runs_the_real_handler_with_lambda_environment(account: CloudAccount, deploy: Any) -> None:
    function = deploy("echo", ECHO, MemorySize=256, Timeout=7, Environment={"Variables": {"CUSTOM": "yes"}})
    out = account.invoke("echo", {"hello": "world"})
    assert out["Payload"]["invoked_arn"] == function["FunctionArn"]  # unqualified, as the caller named it
    assert out["StatusCode"] == 200 and out["FunctionError"] is None
    payload = out["Payload"]
    assert payload["event"] == {"hello": "world"}
    env = payload["env"]
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "echo"
    assert env["_HANDLER"] == "app.handler"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == "/aws/lambda/echo"
    assert env["AWS_REGION"] == account.scope.region
    assert env["AWS_ENDPOINT_URL"] == account.scope.endpoint_url
    assert env["CUSTOM"] == "yes"
    assert env["AWS_ACCESS_KEY_ID"] not in ("testing", None)  # STS-assumed, not the harness's keys
    assert 6000 < payload["remaining_ms"] <= 7000
    assert set(payload["names"]) - AWS_VARIABLES - HARNESS_VARIABLES - LOCALSTACK_VARIABLES == {"CUSTOM"}  # no host one


def test_warm_environment_is_reused_and_cold_start_reports_init(account: CloudAccount, deploy: Any) -> None:
    deploy("echo", ECHO)
    first = account.invoke("echo", {}, log_tail=True)
    second = account.invoke("echo", {}, log_tail=True)
    assert first["Payload"]["pid"] == second["Payload"]["pid"]
    cold_logs = base64.b64decode(first["LogResult"]).decode()
    warm_logs = base64.b64decode(second["LogResult"]).decode()
    for logs in (cold_logs, warm_logs):
        assert "START RequestId:" in logs and "END RequestId:" in logs
        assert "Billed Duration:" in logs and "Memory Size: 128 MB" in logs and "Max Memory Used:" in logs
    assert "Init Duration:" in cold_logs
    assert "Init Duration:" not in warm_logs


def test_code_update_evicts_the_warm_environment(account: CloudAccount, deploy: Any) -> None:
    deploy("versioned", "def handler(e, c):\n    return 'one'\n")
    assert account.invoke("versioned")["Payload"] == "one"
    lam = account.client("lambda")
    lam.update_function_code(
        FunctionName="versioned", ZipFile=zip_files({"app.py": "def handler(e, c):\n    return 'two'\n"}))
    wait_until(lambda: lam.get_function_configuration(FunctionName="versioned").get("LastUpdateStatus"),
               lambda status: status in (None, "Successful"), timeout=30,
               description="the code update")  # asynchronous on AWS and LocalStack
    assert account.invoke("versioned")["Payload"] == "two"


def test_handler_exception_is_an_unhandled_function_error(account: CloudAccount, deploy: Any) -> None:
    deploy("fails", "def handler(e, c):\n    raise ValueError('bad input')\n")
    out = account.invoke("fails")
    assert out["FunctionError"] == "Unhandled"
    assert out["Payload"]["errorType"] == "ValueError"
    assert out["Payload"]["errorMessage"] == "bad input"
    assert isinstance(out["Payload"]["stackTrace"], list)


def test_timeout_kills_the_environment(account: CloudAccount, deploy: Any) -> None:
    deploy("slow", ECHO, Timeout=1)
    out = account.invoke("slow", {"sleep": 5}, log_tail=True)
    assert out["FunctionError"] == "Unhandled"
    assert out["Payload"]["errorType"] == "Sandbox.Timedout"
    assert out["Payload"]["errorMessage"].endswith("Task timed out after 1.00 seconds")
    assert "Task timed out after 1.00 seconds" in base64.b64decode(out["LogResult"]).decode()
    assert account.invoke("slow", {})["FunctionError"] is None  # a fresh environment serves the next


def test_crash_is_a_runtime_exit_error(account: CloudAccount, deploy: Any) -> None:
    deploy("crash", "import os\ndef handler(e, c):\n    os._exit(7)\n")
    out = account.invoke("crash")
    assert out["FunctionError"] == "Unhandled"
    assert out["Payload"]["errorType"] == "Runtime.ExitError"
    assert "exit status 7" in out["Payload"]["errorMessage"]


def test_bad_handler_module_is_an_import_error(account: CloudAccount, deploy: Any) -> None:
    deploy("badmodule", "x = 1\n", handler="missing.handler")
    out = account.invoke("badmodule")
    assert out["FunctionError"] == "Unhandled"
    assert out["Payload"]["errorType"] == "Runtime.ImportModuleError"
    assert "missing" in out["Payload"]["errorMessage"]


def test_memory_size_is_enforced(account: CloudAccount, deploy: Any) -> None:
    deploy("hog", "import time\ndef handler(e, c):\n    b = bytearray(300 * 1024 * 1024)\n"
                  "    b[::4096] = b'x' * len(b[::4096])\n    time.sleep(1)\n    return len(b)\n",
           MemorySize=128, Timeout=10)
    out = account.invoke("hog", log_tail=True)
    assert out["FunctionError"] == "Unhandled"
    assert out["Payload"]["errorType"] == "Runtime.OutOfMemory"


def test_reserved_concurrency_throttles_the_second_concurrent_invoke(account: CloudAccount, deploy: Any) -> None:
    deploy("single", ECHO, Timeout=10)
    account.client("lambda").put_function_concurrency(FunctionName="single", ReservedConcurrentExecutions=1)
    account.invoke("single", {})  # warm it so the slow call starts at once
    running = account.cloud.target.invocations
    assert running is not None
    # A feed read from LocalStack's log may still count the warm-up call: wait until it has ended,
    # so that the invocation seen running below is the slow one.
    wait_until(lambda: running.in_flight_for(account.account_id), lambda n: n == 0, timeout=5)
    results: list[Any] = []

    def slow() -> None:
        # long enough that on a loaded machine it still runs when the feed reports it (LocalStack's
        # feed is read from its log, seconds behind under load)
        results.append(account.invoke("single", {"sleep": 8}))

    thread = threading.Thread(target=slow)
    thread.start()

    wait_until(lambda: running.in_flight_for(account.account_id), lambda n: n >= 1, timeout=5)
    no_retries = account.scope.client("lambda", config=Config(retries={"total_max_attempts": 1}))
    with pytest.raises(ClientError) as caught:
        no_retries.invoke(FunctionName="single", Payload=b"{}")
    thread.join()
    assert caught.value.response["Error"]["Code"] == "TooManyRequestsException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert results[0]["FunctionError"] is None


def test_layers_are_on_the_python_path(account: CloudAccount, deploy: Any) -> None:
    layer = account.client("lambda").publish_layer_version(
        LayerName="shared", Content={"ZipFile": zip_files({"python/shared_lib.py": "VALUE = 42\n"})},
        CompatibleRuntimes=["python3.13"],
    )
    deploy("uses-layer", "import shared_lib\ndef handler(e, c):\n    return shared_lib.VALUE\n",
           Layers=[layer["LayerVersionArn"]])
    assert account.invoke("uses-layer")["Payload"] == 42


def test_logs_go_to_cloudwatch(account: CloudAccount, deploy: Any) -> None:
    deploy("talks", "def handler(e, c):\n    print('hello from the handler')\n    return 1\n")
    account.invoke("talks")
    logs = account.client("logs")

    def streams() -> list[dict[str, Any]]:  # delivered asynchronously on AWS and LocalStack
        try:
            found: list[dict[str, Any]] = logs.describe_log_streams(logGroupName="/aws/lambda/talks")["logStreams"]
        except logs.exceptions.ResourceNotFoundException:
            return []
        return found

    (stream,) = wait_until(streams, timeout=10, description="the function's log stream")
    assert "[$LATEST]" in stream["logStreamName"]

    def messages_now() -> list[str]:
        events = logs.get_log_events(logGroupName="/aws/lambda/talks", logStreamName=stream["logStreamName"])["events"]
        return [e["message"].rstrip("\n") for e in events]  # AWS keeps the newline; moto does not

    messages = wait_until(messages_now, lambda ms: any(m.startswith("REPORT") for m in ms), timeout=10,
                          description="the REPORT line")
    assert any(m.startswith("START RequestId:") for m in messages)
    assert "hello from the handler" in messages
    assert any(m.startswith("REPORT RequestId:") for m in messages)


def test_handler_calls_land_in_its_own_account(harness_cloud: Any, account: CloudAccount, deploy: Any) -> None:
    deploy("maker", "import boto3\ndef handler(e, c):\n    boto3.client('sqs').create_queue(QueueName='made-by-handler')\n"
                    "    return boto3.client('sts').get_caller_identity()['Account']\n")
    assert account.invoke("maker")["Payload"] == account.account_id
    urls = account.client("sqs").list_queues().get("QueueUrls", [])
    assert any(u.endswith("/made-by-handler") for u in urls)
    other = harness_cloud.open_account()
    try:
        assert not other.client("sqs").list_queues().get("QueueUrls")
    finally:
        other.close()


def test_payload_json_roundtrip(account: CloudAccount, deploy: Any) -> None:
    deploy("echo", ECHO)
    payload = {"nested": {"list": [1, 2.5, "x", None, True]}}
    assert account.invoke("echo", payload)["Payload"]["event"] == json.loads(json.dumps(payload))


@pytest.mark.targets("moto", reason="inspects the harness's process pool; on LocalStack its own assignment "
                                     "service keeps environments (LAMBDA_KEEPALIVE_MS)")
def test_idle_environments_are_evicted(account: CloudAccount, deploy: Any) -> None:
    deploy("idle", ECHO)
    first = account.invoke("idle", {}, log_tail=True)
    runtime = account.cloud.target.runtime
    assert runtime is not None
    arn = f"arn:aws:lambda:{account.scope.region}:{account.account_id}:function:idle"
    assert runtime.environments(arn) == 1
    assert runtime.evict_idle(older_than_s=0) >= 1
    assert runtime.environments(arn) == 0
    second = account.invoke("idle", {}, log_tail=True)
    assert second["Payload"]["pid"] != first["Payload"]["pid"]
    assert "Init Duration:" in base64.b64decode(second["LogResult"]).decode()


@pytest.mark.targets("moto", reason="the descriptors must be in the process that runs the environments: on "
                                    "LocalStack that is LocalStack's, not the test's")
def test_invocations_run_while_the_process_holds_more_than_1024_descriptors(account: CloudAccount,
                                                                           deploy: Any) -> None:
    """A server keeping many connections alive hands new pipes descriptors above 1023, which
    ``select()`` refuses; every invocation then failed with "filedescriptor out of range"."""
    import os

    held = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    try:
        deploy("many-fds", "def handler(event, context):\n    return 'ran'\n")
        assert account.invoke("many-fds")["Payload"] == "ran"  # a new environment: its pipes are above 1023
    finally:
        for fd in held:
            os.close(fd)
