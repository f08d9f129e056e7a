"""bench.peers: medians per peer, ratios to the best peer, memory of a process tree."""

from __future__ import annotations

import os

from bench.peers import _tree_memory_mb, summarise


def test_medians_and_ratios_to_the_best_peer_know_which_way_is_better() -> None:
    rounds = {
        "harness": [{"start_s": 0.8, "documents_per_s": 90.0}, {"start_s": 0.6, "documents_per_s": 110.0},
                    {"start_s": 0.7, "documents_per_s": 100.0}],
        "other": [{"start_s": 0.2, "documents_per_s": 200.0}, {"start_s": 0.4, "documents_per_s": 200.0},
                  {"start_s": 0.3, "documents_per_s": 200.0}],
    }
    result = summarise(rounds)
    assert result["medians"] == {"harness": {"start_s": 0.7, "documents_per_s": 100.0},
                                 "other": {"start_s": 0.3, "documents_per_s": 200.0}}
    assert result["ratio_to_best"]["harness"] == {"start_s": 2.33, "documents_per_s": 0.5}  # lower, higher is better
    assert result["ratio_to_best"]["other"] == {"start_s": 1.0, "documents_per_s": 1.0}


def test_the_memory_of_a_process_tree_counts_rss_and_pss() -> None:
    rss, pss = _tree_memory_mb(os.getpid())
    assert rss > 10 and 0 < pss <= rss + 1
    assert _tree_memory_mb(2**22 + 7) == (0.0, 0.0)  # no such process
