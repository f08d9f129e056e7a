"""moto's dispatch shortcuts (harness/targets/moto_speed.py) answer what moto answers."""

from __future__ import annotations

import time


def test_moto_dispatch_shortcuts_answer_what_moto_answers() -> None:
    """The cached helpers return what moto's own do; random strings keep length and alphabet."""
    import random
    import string

    from moto.core.utils import camelcase_to_underscores, method_names_from_class
    from moto.sqs.responses import SQSResponse

    from harness.targets.moto_speed import fix_dispatch_costs

    installed: dict[str, object] = {}
    fix_dispatch_costs(lambda owner, name, replacement: installed.__setitem__(name, replacement))
    names = installed["method_names_from_class"]
    assert names(SQSResponse) == method_names_from_class(SQSResponse)  # type: ignore[operator]
    assert names(SQSResponse) is names(SQSResponse)  # type: ignore[operator]  # computed once
    convert = installed["camelcase_to_underscores"]
    for action in ("ReceiveMessage", "GetQueueURL", "ListEventSourceMappings", "PutItem"):
        assert convert(action) == camelcase_to_underscores(action)  # type: ignore[operator]
    rng = random.Random(7)
    made = installed["get_random_string"](rng, length=52, include_digits=False)  # type: ignore[operator]
    assert len(made) == 52 and set(made) <= set(string.ascii_letters)
    lower = installed["get_random_string"](rng, length=9, lower_case=True)  # type: ignore[operator]
    assert lower == lower.lower() and len(lower) == 9
    again = installed["get_random_string"](random.Random(7), length=52, include_digits=False)  # type: ignore[operator]
    assert again == made  # the same generator state, the same string: a seeded moto stays reproducible


def test_aws_managed_policies_are_built_on_first_read_and_survive_removal() -> None:
    """A new account's IAM backend builds no AWS managed policy until one is read; then it has
    them beside the account's own; threads reading at once all see them, built once; removing
    the fix leaves existing backends whole."""
    import json
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from moto.iam.aws_managed_policies import aws_managed_policies_data
    from moto.iam.models import AWSManagedPolicy, IAMBackend

    from harness.targets.moto_speed import fix_managed_policies_on_first_use

    arn = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
    data = json.loads(aws_managed_policies_data)["AWSLambdaBasicExecutionRole"]
    built: list[str] = []

    class Backend(IAMBackend):  # moto's own may have the fix installed by a running target
        def _init_aws_policies(self) -> list[AWSManagedPolicy]:
            built.append(self.account_id)
            time.sleep(0.05)  # slow enough for the threads below to meet
            return [AWSManagedPolicy.from_data("AWSLambdaBasicExecutionRole", self.account_id, self.region_name, data)]

        def _init_managed_policies(self) -> dict[str, AWSManagedPolicy]:
            return {p.arn: p for p in self.aws_managed_policies}

    originals: list[tuple[str, object]] = []

    def patch(owner: object, name: str, replacement: object) -> None:
        originals.append((name, vars(owner).get(name, None)))
        setattr(owner, name, replacement)

    fix_managed_policies_on_first_use(patch, Backend)
    try:
        backend = Backend("us-east-1", "111122223333")
        backend.create_temp_access_key()
        assert built == []  # credentials alone build nothing
        backend.create_role("r", '{"Version": "2012-10-17", "Statement": []}', "/", None, "", [], None)
        backend.create_policy("", "/", json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}), "mine", [])
        backend.attach_role_policy(arn, "r")
        assert built == ["111122223333"]
        assert "arn:aws:iam::111122223333:policy/mine" in backend.managed_policies  # the account's own kept
        assert [p["PolicyArn"] for p in backend.get_role("r").attached_managed_policies] == [arn]
        assert [p.arn for p in backend.aws_managed_policies] == [arn]
        fresh = Backend("us-east-1", "444455556666")
        start = threading.Barrier(8)

        def attachable() -> bool:
            start.wait()
            return arn in fresh.managed_policies

        with ThreadPoolExecutor(8) as pool:
            assert all(pool.map(lambda _: attachable(), range(8)))
        assert built == ["111122223333", "444455556666"]
    finally:
        for name, original in reversed(originals):
            if original is None:
                delattr(Backend, name)
            else:
                setattr(Backend, name, original)
    assert arn in backend.managed_policies  # an instance attribute again, as moto made it


def test_sqs_receipt_handles_keep_their_shape_and_seed() -> None:
    """A receipt handle made at once has moto's length and alphabet, and follows moto's seed."""
    import string

    from moto.moto_api._internal import mock_random

    from harness.targets.moto_speed import fix_dispatch_costs

    installed: dict[str, object] = {}
    fix_dispatch_costs(lambda owner, name, replacement: installed.__setitem__(name, replacement))
    make = installed["generate_receipt_handle"]
    mock_random.seed(3)
    handle = make()  # type: ignore[operator]
    assert len(handle) == 185 and set(handle) <= set(string.ascii_lowercase)
    mock_random.seed(3)
    assert make() == handle  # type: ignore[operator]


def test_backend_lookup_takes_moto_s_path_only_for_a_new_account_or_after_a_reset() -> None:
    """Repeated lookups skip moto's registration; a dict emptied as ``BackendDict.reset`` empties
    it (and dropped from the registry) goes through moto's again."""
    from moto.core.base_backend import BackendDict
    from moto.sqs.models import SQSBackend

    from harness.targets.moto_speed import fix_backend_lookup

    calls: list[str] = []
    original = BackendDict._create_account_specific_backend

    class Counted(BackendDict):  # type: ignore[type-arg]
        def _create_account_specific_backend(self, account_id: str) -> None:
            calls.append(account_id)
            original(self, account_id)

    installed: dict[str, object] = {}
    fix_backend_lookup(lambda owner, name, replacement: installed.__setitem__(name, replacement), Counted)
    lookup = installed["_create_account_specific_backend"]
    backends = Counted(SQSBackend, "sqs")
    try:
        for _ in range(3):
            lookup(backends, "111122223333")  # type: ignore[operator]
        assert calls == ["111122223333"] and backends in BackendDict._instances
        dict.clear(backends)  # what BackendDict.reset does to each registered dict, and to the registry
        BackendDict._instances.remove(backends)
        lookup(backends, "111122223333")  # type: ignore[operator]
        assert calls == ["111122223333"] * 2 and backends in BackendDict._instances
    finally:
        if backends in BackendDict._instances:
            BackendDict._instances.remove(backends)
