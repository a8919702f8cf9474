"""Rehydration tables: copies per kept document by the size of its duplicate cluster (FineWeb-2).

Dedup keeps one document per cluster and writes on it how many documents the cluster held (`cluster_size`,
rewrite.py). FineWeb-2 found that repeating kept documents by a weight that depends on that size ("rehydration")
helps, and publishes one table (github.com/huggingface/fineweb-2, README "Deduplication"; the same text is on the
HuggingFaceFW/fineweb-2 dataset card). `RehydrateConfig` is such a table as config, `{bucket: weight}`, checked to
cover sizes 1, 2, ... once each; the mix (pipeline/mix.py, `rehydrate:` on a source) applies it. Here: the table,
the lookup of a bucket per document (vectorized) and the manifest entry.
"""

from __future__ import annotations

import numpy as np

from core.sections import RehydrateConfig


def rehydrate_plan(cfg: RehydrateConfig | None, cap: int) -> dict | None:
    """What the tasks need of a source's table (plain data, sent to every task); cap = most copies of a document."""
    if cfg is None:
        return None
    buckets = cfg.buckets()
    return {"column": cfg.column, "names": [b[0] for b in buckets], "lows": [b[1] for b in buckets],
            "weights": [b[2] for b in buckets], "cap": cap}


def copies_wanted(sizes: np.ndarray, rehydrate: dict) -> tuple[np.ndarray, np.ndarray]:
    """(copies per document before the source factor: its bucket's weight capped at the source's cap, bucket index)."""
    bucket = np.searchsorted(np.asarray(rehydrate["lows"]), sizes, side="right") - 1
    return np.minimum(np.asarray(rehydrate["weights"], dtype=np.float64)[bucket], float(rehydrate["cap"])), bucket


def rehydrate_manifest(rehydrate: dict, buckets: list[dict] | None, documents: float, tokens: float) -> dict:
    """Per bucket (in size order): its weight, the copies a document gets before the source factor (the weight
    capped at max_repeats), documents read and copies written; and the source's rehydrated size."""
    table = {}
    for j, name in enumerate(rehydrate["names"]):
        w = rehydrate["weights"][j]
        counts = buckets[j] if buckets else {"documents": 0, "copies": 0}
        table[name] = {"weight": w, "copies_per_document": min(w, float(rehydrate["cap"])), **counts}
    return {"column": rehydrate["column"], "rehydrated_documents": round(documents, 3),
            "rehydrated_tokens_est": round(tokens), "buckets": table}
