from __future__ import annotations

import json

import pytest

from harness.errors import ConfigurationError
from harness.wiring.filters import matches, parse_filter_criteria, passes_filters

EVENT = {"body": {"kind": "invoice", "total": 120.5, "tags": ["a", "b"], "user": {"id": "U1"}},
         "attributes": {"ApproximateReceiveCount": "1"}, "key": "incoming/invoice/x.txt", "flag": None}


@pytest.mark.parametrize(("pattern", "expected"), [
    ({"body": {"kind": ["invoice"]}}, True),
    ({"body": {"kind": ["receipt"]}}, False),
    ({"body": {"tags": ["b"]}}, True),
    ({"key": [{"prefix": "incoming/invoice/"}]}, True),
    ({"key": [{"suffix": ".pdf"}]}, False),
    ({"key": [{"wildcard": "incoming/*/x.txt"}]}, True),
    ({"body": {"kind": [{"equals-ignore-case": "INVOICE"}]}}, True),
    ({"body": {"kind": [{"anything-but": ["receipt", "contract"]}]}}, True),
    ({"body": {"kind": [{"anything-but": {"prefix": "inv"}}]}}, False),
    ({"body": {"total": [{"numeric": [">", 100, "<=", 200]}]}}, True),
    ({"body": {"total": [{"numeric": ["<", 100]}]}}, False),
    ({"body": {"missing": [{"exists": False}]}}, True),
    ({"body": {"kind": [{"exists": True}]}}, True),
    ({"flag": [None]}, True),
    ({"body": {"user": {"id": ["U1"]}}}, True),
    ({"body": {"user": {"id": ["U2"]}}}, False),
    ({"$or": [{"body": {"kind": ["receipt"]}}, {"key": [{"prefix": "incoming/"}]}]}, True),
    ({"body": {"total": ["120.5"]}}, False),  # strings never equal numbers
])
def test_patterns(pattern: dict[str, object], expected: bool) -> None:
    assert matches(pattern, EVENT) is expected


def test_no_filters_pass_everything_and_any_filter_suffices() -> None:
    assert passes_filters([], EVENT)
    assert passes_filters([{"key": ["nope"]}, {"body": {"kind": ["invoice"]}}], EVENT)
    assert not passes_filters([{"key": ["nope"]}], EVENT)


def test_filter_criteria_parse_and_errors() -> None:
    criteria = {"Filters": [{"Pattern": json.dumps({"body": {"a": [1]}})}]}
    [pattern] = parse_filter_criteria(criteria)
    assert pattern.source == {"body": {"a": [1]}} and pattern.matches({"body": {"a": 1.0}})
    assert parse_filter_criteria(None) == []
    with pytest.raises(ConfigurationError, match="not valid JSON"):
        parse_filter_criteria({"Filters": [{"Pattern": "{nope"}]})
    with pytest.raises(ConfigurationError, match=r"invalid: \"body.k\" must be an object or an array"):
        parse_filter_criteria({"Filters": [{"Pattern": '{"body": {"k": "v"}}'}]})
    with pytest.raises(ConfigurationError, match="not supported"):
        matches({"k": [{"begins-with": "10."}]}, {"k": "10.1.1.1"})


AWS_EVENT = {"detail": {"c-count": {"a": 1}, "d-count": 0, "tags": [], "price": 300.0, "source-ip": "10.0.0.7",
                        "items": [{"sku": "A", "qty": 2}, {"sku": "B", "qty": 5}], "file": "a*b?.txt",
                        "nested.dots": "x"}}


@pytest.mark.parametrize(("pattern", "expected"), [
    # exists is about leaf values: an object, an empty array or a missing parent does not exist
    ({"detail": {"c-count": [{"exists": True}]}}, False),
    ({"detail": {"c-count": [{"exists": False}]}}, True),
    ({"detail": {"tags": [{"exists": True}]}}, False),
    ({"detail": {"tags": [{"exists": False}]}}, True),
    ({"detail": {"nope": {"deeper": [{"exists": False}]}}}, True),
    ({"detail": {"d-count": [{"exists": True}]}}, True),
    # numbers equal by value
    ({"detail": {"price": [300]}}, True),
    ({"detail": {"price": [{"anything-but": [300]}]}}, False),
    # dotted keys and nested objects are the same path; arrays of objects match through each element
    ({"detail.c-count.a": [1]}, True),
    ({"detail": {"nested": {"dots": ["x"]}}}, True),
    ({"detail": {"items": {"sku": ["B"], "qty": [{"numeric": [">", 4]}]}}}, True),
    ({"detail": {"items": {"sku": ["C"]}}}, False),
    # wildcard: only * is special, \* is a literal star
    ({"detail": {"file": [{"wildcard": "a\\*b?.txt"}]}}, True),
    ({"detail": {"file": [{"wildcard": "a?b*"}]}}, False),
    ({"detail": {"file": [{"wildcard": "a*.txt"}]}}, True),
    # cidr and anything-but with an operator list
    ({"detail": {"source-ip": [{"cidr": "10.0.0.0/24"}]}}, True),
    ({"detail": {"source-ip": [{"cidr": "10.0.1.0/24"}]}}, False),
    ({"detail": {"file": [{"anything-but": {"prefix": ["b", "c"]}}]}}, True),
    ({"detail": {"file": [{"anything-but": {"suffix": [".txt"]}}]}}, False),
    ({"detail": {"$or": [{"price": [1]}, {"d-count": [0]}]}}, True),
])
def test_eventbridge_semantics(pattern: dict[str, object], expected: bool) -> None:
    assert matches(pattern, AWS_EVENT) is expected


@pytest.mark.parametrize(("pattern", "problem"), [
    ({"source": ["aws.s3"], "detail": {"n": [{"numeric": [">=", 1, "<", 2]}]}}, None),
    ({"detail": {"k": [{"anything-but": {"prefix": "tmp/"}}]}}, None),
    ({"detail": {"k": [{"prefix": {"equals-ignore-case": "in/"}}]}}, None),
    (["source"], "Filter is not an object"),
    ({"source": "aws.s3"}, '"source" must be an object or an array'),
    ({"detail": {"k": "v"}}, '"detail.k" must be an object or an array'),
    ({"detail": {"k": [{"begins-with": "x"}]}}, "Unrecognized match type begins-with"),
    ({"detail": {"k": [{"prefix": 1}]}}, "prefix match pattern must be a string"),
    ({"detail": {"k": [{"exists": "yes"}]}}, "exists match pattern must be either true or false."),
    ({"detail": {"n": [{"numeric": [">", "a"]}]}}, "Value of > must be numeric"),
    ({"detail": {"n": [{"numeric": ["~", 1]}]}}, "Unrecognized numeric range operator: ~"),
    ({"detail": {"k": [["nested"]]}}, 'Match value must be String, number, true, false, or null at "detail.k"'),
    ({"detail": {"k": []}}, "Empty arrays are not allowed"),
])
def test_pattern_problems_are_named_as_eventbridge_names_them(pattern: object, problem: str | None) -> None:
    from harness.wiring.filters import pattern_problem

    assert pattern_problem(pattern) == problem


def test_filter_criteria_problems() -> None:
    from harness.wiring.filters import filter_criteria_problem

    assert filter_criteria_problem(None) is None
    assert filter_criteria_problem({"Filters": [{"Pattern": '{"body": {"k": ["v"]}}'}]}) is None
    assert filter_criteria_problem({"Filters": [{"Pattern": '{"body": {"k": "v"}}'}]}) == (
        '"body.k" must be an object or an array')
    assert "not valid JSON" in str(filter_criteria_problem({"Filters": [{"Pattern": "{nope"}]}))
