"""Which deployed resource a name given by a user means (pure)."""

from __future__ import annotations

from collections.abc import Iterable


def physical_name(name: str, resources: Iterable[tuple[str, str]]) -> str:
    """The physical id of the resource ``name`` names among ``(logical id, physical id)`` pairs of
    one type: its physical id, its logical id, or a logical-id prefix only one matches (CDK adds a
    hash: ``InvoiceProcessor`` names ``InvoiceProcessorF68A161B``); else ``name`` itself (a name
    from outside the stack).

    Example:
        >>> physical_name("Indexer", [("IndexerAB12", "uploads-Indexer-X1"), ("Other", "o")])
        'uploads-Indexer-X1'
    """
    pairs = list(resources)
    for logical, physical in pairs:
        if name in (physical, logical):
            return physical
    prefixed = [physical for logical, physical in pairs if logical.startswith(name)]
    return prefixed[0] if len(prefixed) == 1 else name
