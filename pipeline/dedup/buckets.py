"""Candidate pairs from one bucket partition (one task per partition).

A partition task reads `RUN/dedup/buckets/part-<p>/*.parquet` (the slice of every shard's band and exact keys
with key % P == p, so no process holds the whole index), sorts by (key, ref) and links every document of a
bucket to the bucket's lowest ref: a star has the same connected components as all pairs, with k-1 edges
instead of k(k-1)/2 (a page repeated 10,000 times stays 9,999 edges).

With `min_jaccard` > 0 each edge is verified: the share of equal signature values (datasketch's
`MinHash.jaccard`) must reach it. Why: the default bands×rows (14×8) is chosen for recall and lets through
~5% of pairs at Jaccard 0.5 (1-(1-0.5^8)^14); verification removes them. Writes
`RUN/dedup/pairs/part-<p>.parquet` (a, b, jaccard) and returns {"partition", "candidates", "pairs"}.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from core.atomic import atomic_path
from pipeline.dedup.signatures import read_signature_rows


def star_edges(keys: np.ndarray, refs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unique (a, b) edges, a < b, linking each member of a key group to the group's lowest ref."""
    if len(keys) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    order = np.lexsort((refs, keys))
    keys, refs = keys[order], refs[order]
    new_group = np.concatenate(([True], keys[1:] != keys[:-1]))
    group_first = np.flatnonzero(new_group)
    head = refs[group_first[np.cumsum(new_group) - 1]]
    sel = ~new_group & (refs != head)
    a, b = head[sel], refs[sel]
    if len(a) == 0:
        return a, b
    pairs = np.unique(np.stack([a, b], axis=1), axis=0)
    return pairs[:, 0], pairs[:, 1]


def signatures_of(refs: np.ndarray, signature_files: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(sorted unique refs, their signatures) read shard by shard from the signature files."""
    uniq = np.unique(refs)
    shard = uniq >> np.int64(32)
    rows = uniq & np.int64(0xFFFFFFFF)
    parts = []
    for s in np.unique(shard):
        parts.append(read_signature_rows(Path(signature_files[s]), rows[shard == s]))
    return uniq, np.concatenate(parts) if parts else np.empty((0, 0), np.uint32)


def partition_pairs(dedup_dir: str, partition: int, signature_files: list[str], min_jaccard: float) -> dict:
    part_dir = Path(dedup_dir) / "buckets" / f"part-{partition:04d}"
    files = sorted(part_dir.glob("*.parquet"))
    tables = [pq.read_table(f) for f in files]
    table = pa.concat_tables(tables) if tables else pa.table({"key": pa.array([], pa.uint64()), "ref": pa.array([], pa.int64())})
    keys = table.column("key").to_numpy()
    refs = table.column("ref").to_numpy()
    del table, tables
    a, b = star_edges(keys, refs)
    candidates = len(a)
    jac = np.ones(len(a), dtype=np.float32)
    if len(a) and min_jaccard > 0:
        uniq, sigs = signatures_of(np.concatenate([a, b]), signature_files)
        sa, sb = sigs[np.searchsorted(uniq, a)], sigs[np.searchsorted(uniq, b)]
        jac = (sa == sb).mean(axis=1).astype(np.float32)
        keep = jac >= min_jaccard
        a, b, jac = a[keep], b[keep], jac[keep]
    with atomic_path(Path(dedup_dir) / "pairs" / f"part-{partition:04d}.parquet") as tmp:
        pq.write_table(pa.table({"a": a, "b": b, "jaccard": jac}), tmp)
    return {"partition": partition, "candidates": candidates, "pairs": len(a)}
