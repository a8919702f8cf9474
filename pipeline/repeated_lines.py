"""Corpus-level line dedup, CCNet style (Wenzek et al. 2019, §3.1): the pre-pass that finds the lines repeated
across many pages (footers, menus, copyright notices, byline templates) before the per-document pass.

    RUN/line_dedup/group-00000.part-003.npz   per shard group and hash partition: sorted uint64 hashes + counts
    RUN/line_dedup/frequent_lines.npy         sorted uint64 hashes of lines on >= min_repeats documents

Stage `line_dedup` (pipeline/stages.py). `prepass(cfg, job, run_dir, executor)` runs one task per group of
`group_size` shards: it reads the documents the extract stage wrote (RUN/extracted/, exactly what the steps
stage reads; a shard without a copy is read and extracted the same way), hashes each
normalized line (`line_hash`), and counts for every hash the number of *distinct documents* holding it, so a
sentence repeated inside one article counts once. Each group writes its counts split by the hash's top bits
into `partitions` files; one merge task per partition then sums the counts of all groups, so no process ever
holds more than one group's, or one partition's, hashes. The step `line_dedup_v1` (filters/line_dedup.py)
removes the lines whose hash is in `frequent_lines.npy`. Resume is the stages' rule: a finished pre-pass
with the same settings and extracted input is skipped, an unfinished one starts over.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Iterator

import numpy as np

from core.atomic import atomic_path
from core.config import JobConfig
from core.errors import ShardError
from core.linehash import document_line_hashes
from core.sections import LineDedupConfig as Config
from pipeline.extracted import outcomes, replay
from pipeline.layout import shard_ids
from pipeline.read import shard_paths

OUT_DIR = "line_dedup"
FREQUENT_LINES = "frequent_lines.npy"


# -- reading documents exactly as the steps stage does ---------------------------------------------------

def document_texts(path: str, job: JobConfig, shard_id: str | None = None, run_dir: str | Path | None = None
                   ) -> Iterator[tuple[str | None, str]]:
    """(url, extracted NFC text) of every document of a shard that reaches the per-document steps: the extract
    stage's copy in `run_dir` when there is one, else read and extracted by the same code (outcomes)."""
    seconds = {"read": 0.0, "extract": 0.0}
    items = replay(path, shard_id, run_dir, seconds) if shard_id and run_dir else None
    try:
        for o in items if items is not None else outcomes(path, job, seconds):
            if o.text is not None:
                yield o.rec.url, o.text
    except ShardError:
        # The steps stage reports this shard under shards_failed; what was read before the damage still counts.
        return


# -- counting --------------------------------------------------------------------------------------------

def _reduce(hashes: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sum `counts` per distinct hash; returns sorted distinct hashes and their counts."""
    if not len(hashes):
        return hashes.astype(np.uint64), counts.astype(np.uint32)
    order = np.argsort(hashes, kind="stable")
    h, c = hashes[order], counts[order]
    starts = np.flatnonzero(np.r_[True, h[1:] != h[:-1]])
    return h[starts], np.add.reduceat(c, starts).astype(np.uint32)


class _Counter:
    """Distinct-document counts per hash, compacted every `chunk` new entries to bound memory."""

    # 1M pending Python ints are ~40 MB; compacting them costs one sort of (distinct so far + 1M) uint64s.
    def __init__(self, chunk: int = 1_000_000):
        self.hashes = np.empty(0, np.uint64)
        self.counts = np.empty(0, np.uint32)
        self._pending: list[int] = []
        self.chunk = chunk

    def add_document(self, doc_hashes: set[int]) -> None:
        self._pending.extend(doc_hashes)
        if len(self._pending) >= self.chunk:
            self.compact()

    def compact(self) -> None:
        if not self._pending:
            return
        new = np.fromiter(self._pending, np.uint64, len(self._pending))
        self._pending = []
        self.hashes, self.counts = _reduce(np.concatenate([self.hashes, new]),
                                           np.concatenate([self.counts, np.ones(len(new), np.uint32)]))


def _partition_bits(partitions: int) -> int:
    """Bits of hash prefix for `partitions` (rounded up to a power of two)."""
    return (partitions - 1).bit_length()


def _part_of(hashes: np.ndarray, bits: int) -> np.ndarray:
    return (hashes >> np.uint64(64 - bits)).astype(np.int64) if bits else np.zeros(len(hashes), np.int64)


def count_group(group: int, shards: list[tuple[str, str]], job: JobConfig, run_dir: str, cfg: dict) -> dict:
    """The task per shard group: count lines, write one file per hash partition."""
    c = Config(**cfg)
    out = Path(run_dir) / OUT_DIR
    t0 = time.time()
    counter = _Counter()
    documents = lines = 0
    for path, shard_id in shards:
        for _url, text in document_texts(path, job, shard_id, run_dir):
            hashes = document_line_hashes(text, c.min_line_chars)
            documents += 1
            lines += len(hashes)
            counter.add_document(hashes)
    counter.compact()
    bits = _partition_bits(c.partitions)
    parts = _part_of(counter.hashes, bits)
    for p in range(1 << bits):
        sel = parts == p  # hashes are sorted, so each partition's slice stays sorted
        with atomic_path(out / f"group-{group:05d}.part-{p:03d}.npz") as tmp:
            with open(tmp, "wb") as f:
                np.savez(f, hashes=counter.hashes[sel], counts=counter.counts[sel])
    return {"group": group, "shards": len(shards), "documents": documents, "document_lines": lines,
            "distinct_lines": int(len(counter.hashes)), "seconds": round(time.time() - t0, 3)}


def merge_partition(part: int, groups: int, run_dir: str, min_repeats: int) -> dict:
    """The task per hash partition: sum every group's counts, keep hashes on >= min_repeats documents."""
    out = Path(run_dir) / OUT_DIR
    hs, cs = [], []
    for g in range(groups):
        with np.load(out / f"group-{g:05d}.part-{part:03d}.npz") as z:
            hs.append(z["hashes"])
            cs.append(z["counts"])
    h, c = _reduce(np.concatenate(hs), np.concatenate(cs))
    frequent = h[c >= min_repeats]
    with atomic_path(out / f"frequent-{part:03d}.npy") as tmp:
        with open(tmp, "wb") as f:
            np.save(f, frequent)
    return {"distinct_lines": int(len(h)), "frequent_lines": int(len(frequent)),
            "frequent_line_occurrences": int(c[c >= min_repeats].sum())}


def prepass(cfg: Config, job: JobConfig, run_dir: Path, executor, shards: list[tuple[str, str]] | None = None) -> dict:
    """Count lines across all input shards ((path, shard id) pairs; by default the job's inputs) and write
    RUN/line_dedup/frequent_lines.npy; return its figures."""
    out = Path(run_dir) / OUT_DIR
    if shards is None:
        paths = shard_paths(job.input)
        shards = list(zip(paths, shard_ids(paths)))
    t0 = time.time()
    out.mkdir(parents=True, exist_ok=True)
    groups = [shards[i:i + cfg.group_size] for i in range(0, len(shards), cfg.group_size)]
    settings = cfg.model_dump()
    group_stats = executor.map(count_group, [(g, members, job, str(run_dir), settings) for g, members in enumerate(groups)],
                               desc="line dedup: count")
    n_parts = 1 << _partition_bits(cfg.partitions)
    part_stats = executor.map(merge_partition, [(p, len(groups), str(run_dir), cfg.min_repeats)
                                                for p in range(n_parts)], desc="line dedup: merge")
    frequent = [np.load(out / f"frequent-{p:03d}.npy") for p in range(n_parts)]
    # partitions are the hash's top bits, in order, and each is sorted: the concatenation is sorted
    with atomic_path(out / FREQUENT_LINES) as tmp:
        with open(tmp, "wb") as f:
            np.save(f, np.concatenate(frequent) if frequent else np.empty(0, np.uint64))
    figures = {
        "settings": settings,
        "shards": len(shards),
        "groups": len(groups),
        "documents": sum(s["documents"] for s in group_stats),
        "document_lines": sum(s["document_lines"] for s in group_stats),
        "distinct_lines": sum(s["distinct_lines"] for s in part_stats),
        "frequent_lines": sum(s["frequent_lines"] for s in part_stats),
        "frequent_line_occurrences": sum(s["frequent_line_occurrences"] for s in part_stats),
        "seconds": round(time.time() - t0, 3),
    }
    return figures
