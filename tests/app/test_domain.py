from __future__ import annotations

from types import ModuleType

import pytest


def test_key_design_places_a_job_in_every_access_pattern(app_modules: dict[str, ModuleType]) -> None:
    keys = app_modules["docpipeline.keys"]
    item = keys.job_item(job_id="J1", doc_type="invoice", user_id="U1", created_at="2026-03-04T05:06:07.000Z",
                         status="DONE", file_name="a.txt", document_key="k")
    assert (item["PK"], item["SK"]) == ("JOB#J1", "JOB")
    assert (item["GSI1PK"], item["GSI1SK"]) == ("TYPE#invoice#STATUS#DONE", "2026-03-04T05:06:07.000Z#J1")
    assert (item["GSI2PK"], item["GSI2SK"]) == ("USER#U1", "2026-03-04T05:06:07.000Z#J1")
    assert keys.timeline_item(job_id="J1", created_at="2026-03-04T05:06:07.000Z") == {
        "PK": "DAY#2026-03-04", "SK": "2026-03-04T05:06:07.000Z#J1", "jobId": "J1"}
    assert keys.days_between("2026-02-27T10:00:00Z", "2026-03-01T00:00:00Z") == [
        "2026-02-27", "2026-02-28", "2026-03-01"]
    assert keys.days_between("2026-03-02", "2026-03-01") == []


def test_document_keys_round_trip_and_reject_bad_layouts(app_modules: dict[str, ModuleType]) -> None:
    keys = app_modules["docpipeline.keys"]
    key = keys.document_key("receipt", "U1", "J1", "r.txt")
    assert keys.parse_document_key(key) == ("receipt", "U1", "J1", "r.txt")
    for bad in ("incoming/poem/U/J/x", "incoming/invoice/U/J", "other/invoice/U/J/x", "incoming/invoice//J/x"):
        with pytest.raises(ValueError):
            keys.parse_document_key(bad)


@pytest.mark.parametrize(("doc_type", "text", "expected"), [
    ("invoice", "Vendor: ACME\ndate: 2026-01-02\ntotal: 10.50\n",
     {"vendor": "ACME", "date": "2026-01-02", "total": "10.50"}),
    ("receipt", '{"merchant": "Cafe", "date": "2026-02-03", "total": 4.2}',
     {"merchant": "Cafe", "date": "2026-02-03", "total": "4.2"}),
    ("contract", "parties: A; B\nstart_date: 2026-01-01\nend_date: 2026-12-31",
     {"parties": ["A", "B"], "start_date": "2026-01-01", "end_date": "2026-12-31"}),
])
def test_extractors(app_modules: dict[str, ModuleType], doc_type: str, text: str, expected: dict[str, object]) -> None:
    assert app_modules["docpipeline.extract"].extract(doc_type, text) == expected


@pytest.mark.parametrize(("doc_type", "text", "message"), [
    ("invoice", "vendor: ACME\ndate: 2026-01-02\n", "missing total"),
    ("invoice", "vendor: ACME\ndate: 02/01/2026\ntotal: 1", "not an ISO date"),
    ("receipt", "merchant: x\ndate: 2026-01-01\ntotal: lots", "not a decimal"),
    ("receipt", "merchant: x\ndate: 2026-01-01\ntotal: NaN", "not a finite decimal"),
    ("contract", "parties: A\nstart_date: 2026-01-01\nend_date: 2026-02-01", "two parties"),
    ("contract", "parties: A, B\nstart_date: 2026-03-01\nend_date: 2026-02-01", "before start_date"),
    ("invoice", "just some prose", "not 'key: value'"),
    ("invoice", "{not json", "invalid JSON"),
])
def test_malformed_documents(app_modules: dict[str, ModuleType], doc_type: str, text: str, message: str) -> None:
    extract = app_modules["docpipeline.extract"]
    with pytest.raises(extract.MalformedDocumentError, match=message):
        extract.extract(doc_type, text)


def test_job_ids_sort_by_time(app_modules: dict[str, ModuleType]) -> None:
    ids = app_modules["docpipeline.ids"]
    early = ids.new_job_id(1_700_000_000_000, b"\xff" * 10)
    late = ids.new_job_id(1_700_000_000_001, b"\x00" * 10)
    assert len(early) == 26 and early < late


def test_tokens_round_trip_and_reject_garbage(app_modules: dict[str, ModuleType]) -> None:
    jobs = app_modules["docpipeline.jobs"]
    token = jobs.encode_token({"PK": "x"})
    assert jobs.decode_token(token) == {"PK": "x"}
    assert jobs.encode_token(None) is None and jobs.decode_token(None) is None
    with pytest.raises(ValueError):
        jobs.decode_token("!!!")


def test_notifier_publishes_only_status_changes_to_done_or_failed(app_modules: dict[str, ModuleType]) -> None:
    notifier = app_modules["handlers.notifier"]

    def record(old: str | None, new: str, sk: str = "JOB") -> dict[str, object]:
        image = {"SK": {"S": sk}, "jobId": {"S": "J1"}, "type": {"S": "invoice"}, "userId": {"S": "U1"}}
        out: dict[str, object] = {"NewImage": {**image, "status": {"S": new}}}
        if old:
            out["OldImage"] = {**image, "status": {"S": old}}
        return {"eventName": "MODIFY", "dynamodb": out}

    entries = notifier.build_entries(
        [record("PROCESSING", "DONE"), record("DONE", "DONE"), record("PENDING", "PROCESSING"),
         record("PROCESSING", "FAILED"), record(None, "DONE", sk="OTHER")], "bus", "key")
    assert [e["DetailType"] for e in entries] == ["JobCompleted", "JobFailed"]
    assert all(e["EventBusName"] == "bus" and e["Source"] == "docpipeline.jobs" for e in entries)
