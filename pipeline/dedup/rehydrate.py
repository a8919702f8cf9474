"""Rehydration tables: copies per kept document by the size of its duplicate cluster (FineWeb-2).

Dedup keeps one document per cluster and writes on it how many documents the cluster held (`cluster_size`,
rewrite.py). FineWeb-2 found that repeating kept documents by a weight that depends on that size ("rehydration")
helps, and publishes one table (github.com/huggingface/fineweb-2, README "Deduplication"; the same text is on the
HuggingFaceFW/fineweb-2 dataset card). `RehydrateConfig` is such a table as config, `{bucket: weight}`, checked to
cover sizes 1, 2, ... once each; the mix (pipeline/mix.py, `rehydrate:` on a source) applies it. Here: the table,
the lookup of a bucket per document (vectorized) and the manifest entry.
"""

from __future__ import annotations

import re
from typing import Annotated

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

_BUCKET = re.compile(r"^\s*(\d+)\s*(?:(-)\s*(\d+)|(\+))?\s*$")


def parse_bucket(key: str) -> tuple[int, int | None]:
    """'3' -> (3, 3); '5-99' -> (5, 99); '1000+' -> (1000, None). Bounds are cluster sizes, inclusive."""
    m = _BUCKET.match(key)
    if not m:
        raise ValueError(f"bucket {key!r}: write a size (2), a range (5-99) or an open end (1000+)")
    lo = int(m.group(1))
    hi = None if m.group(4) else int(m.group(3)) if m.group(2) else lo
    if lo < 1 or (hi is not None and hi < lo):
        raise ValueError(f"bucket {key!r}: sizes start at 1 and a range runs from low to high")
    return lo, hi


class RehydrateConfig(BaseModel):
    """Copies per document by the size of its duplicate cluster (FineWeb-2's rehydration)."""

    model_config = ConfigDict(extra="forbid")

    # Integer column with the number of documents each row stands for; `cluster_size` is what dedup writes.
    column: str = "cluster_size"
    # {bucket: copies per document}. Buckets are "N", "A-B" (inclusive) or "A+", together covering 1, 2, ...
    # without gap or overlap. Copies are finite and >= 0 (0 leaves the bucket out); a fraction is rounded per
    # document by the mix's seeded coin.
    weights: dict[str, Annotated[float, Field(ge=0, allow_inf_nan=False)]]

    @field_validator("weights", mode="before")
    @classmethod
    def _keys_as_text(cls, v):
        # YAML reads `1: 1` with an integer key; the bucket is the same as "1".
        return {str(k): w for k, w in v.items()} if isinstance(v, dict) else v

    @field_validator("weights")
    @classmethod
    def _buckets_cover_sizes(cls, v: dict[str, float]) -> dict[str, float]:
        if not v:
            raise ValueError("give at least one bucket, e.g. {\"1+\": 1}")
        spans = sorted((parse_bucket(k), k) for k in v)
        expected, previous = 1, None
        for (lo, hi), key in spans:
            if lo < expected:
                raise ValueError(f"buckets {previous!r} and {key!r} overlap")
            if lo > expected:
                raise ValueError(f"no bucket holds cluster size {expected}" + (f" (after {previous!r})" if previous else ""))
            if hi is None and key != spans[-1][1]:
                raise ValueError(f"bucket {key!r} is open-ended but {spans[-1][1]!r} comes after it")
            expected, previous = (hi + 1 if hi is not None else None), key
        if expected is not None:
            raise ValueError(f"no bucket for sizes above {expected - 1}: end with an open bucket such as '{expected}+'")
        return v

    def buckets(self) -> list[tuple[str, int, float]]:
        """(name, lowest size, weight) in size order."""
        return sorted(((k, parse_bucket(k)[0], w) for k, w in self.weights.items()), key=lambda b: b[1])


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
