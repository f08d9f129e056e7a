"""moto's dispatch shortcuts (harness/targets/moto_speed.py) answer what moto answers."""

from __future__ import annotations


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
