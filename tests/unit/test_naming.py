"""Which deployed resource a user's name means."""

from __future__ import annotations

from harness.naming import physical_name

FUNCTIONS = [("InvoiceProcessorF68A161B", "Doc-InvoiceProcessor-1"), ("ReceiptProcessorB83F8844", "Doc-Receipt-2"),
             ("Notifier", "Doc-Notifier-3")]


def test_a_physical_name_a_logical_id_or_a_unique_prefix() -> None:
    assert physical_name("Doc-Receipt-2", FUNCTIONS) == "Doc-Receipt-2"
    assert physical_name("Notifier", FUNCTIONS) == "Doc-Notifier-3"
    assert physical_name("InvoiceProcessor", FUNCTIONS) == "Doc-InvoiceProcessor-1"  # CDK's hashed logical id


def test_an_ambiguous_or_unknown_name_is_kept() -> None:
    assert physical_name("Processor", FUNCTIONS) == "Processor"
    assert physical_name("elsewhere", FUNCTIONS) == "elsewhere"
