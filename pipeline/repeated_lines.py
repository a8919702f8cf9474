"""Corpus-level line dedup, CCNet style (Wenzek et al. 2019, §3.1): the pre-pass that finds the lines repeated
across many pages (footers, menus, copyright notices, byline templates) before the per-document pass.

    RUN/line_dedup/group-00000.part-003.npz   per shard group and hash partition: sorted uint64 hashes + counts
    RUN/line_dedup/group-00000.done.json      the group's completion marker (written after its parts)
    RUN/line_dedup/frequent_lines.npy         sorted uint64 hashes of lines on >= min_repeats documents
    RUN/line_dedup/done.json                  the pre-pass's figures; completion marker, written last

`prepass(cfg, job, run_dir, executor)` runs one task per group of `group_size` shards: it reads and extracts
every document exactly as `pipeline run` does (same reader, charset decoding, extractor, NFC), hashes each
normalized line (`line_hash`), and counts for every hash the number of *distinct documents* holding it, so a
sentence repeated inside one article counts once. Each group writes its counts split by the hash's top bits
into `partitions` files; one merge task per partition then sums the counts of all groups, so no process ever
holds more than one group's, or one partition's, hashes. The step `line_dedup_v1` (filters/line_dedup.py)
removes the lines whose hash is in `frequent_lines.npy`. Resumable: finished groups and a finished pre-pass
(same inputs and settings) are skipped.
"""

from __future__ import annotations

import hashlib
import shutil
import time
from pathlib import Path
from typing import Iterator

import numpy as np

from core.atomic import atomic_path, read_json, write_json
from core.config import JobConfig
from core.errors import ShardError
from core.linehash import document_line_hashes
from core.sections import LineDedupConfig as Config
from pipeline.read import shard_paths

OUT_DIR = "line_dedup"
FREQUENT_LINES = "frequent_lines.npy"


# -- reading documents exactly as the shard pass does ---------------------------------------------------

def document_texts(path: str, job: JobConfig, copy_to: tuple[str, str | Path] | None = None) -> Iterator[tuple[str | None, str]]:
    """(url, extracted NFC text) of every document of a shard that reaches the per-document steps, from the
    same code as the shard pass (pipeline.extracted.outcomes). `copy_to=(shard_id, run_dir)` also writes every
    record's outcome to the shard's copy for the pass to replay."""
    from pipeline.extracted import outcomes, outcomes_with_copy

    seconds = {"read": 0.0, "extract": 0.0}
    items = outcomes(path, job, seconds) if copy_to is None else outcomes_with_copy(path, copy_to[0], job, copy_to[1])
    try:
        for o in items:
            if o.text is not None:
                yield o.rec.url, o.text
    except ShardError:
        # The shard pass reports this shard under shards_failed; what was read before the damage still counts.
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


def count_group(group: int, paths: list[str], job: JobConfig, run_dir: str, cfg: dict,
                shard_ids: list[str] | None = None) -> dict:
    """The task per shard group: count lines, write one file per hash partition, then the marker. With
    `reuse_extracted`, each shard's outcomes are also written for the shard pass (pipeline.extracted)."""
    c = Config(**cfg)
    out = Path(run_dir) / OUT_DIR
    marker = out / f"group-{group:05d}.done.json"
    if marker.exists():
        return read_json(marker)
    t0 = time.time()
    counter = _Counter()
    documents = lines = 0
    for i, path in enumerate(paths):
        copy_to = (shard_ids[i], run_dir) if c.reuse_extracted and shard_ids else None
        for _url, text in document_texts(path, job, copy_to):
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
    stats = {"group": group, "shards": len(paths), "documents": documents, "document_lines": lines,
             "distinct_lines": int(len(counter.hashes)), "seconds": round(time.time() - t0, 3)}
    write_json(marker, stats)
    return stats


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


def _fingerprint(cfg: Config, job: JobConfig, paths: list[str]) -> str:
    import json

    keep = {"line_dedup": cfg.model_dump(), "paths": paths,
            "input": job.input.model_dump(exclude={"paths"}), "extract": job.extract.model_dump()}
    return hashlib.sha256(json.dumps(keep, sort_keys=True).encode()).hexdigest()[:16]


def prepass(cfg: Config, job: JobConfig, run_dir: Path, executor) -> dict:
    """Count lines across all input shards and write RUN/line_dedup/frequent_lines.npy; return its figures."""
    out = Path(run_dir) / OUT_DIR
    paths = shard_paths(job.input)
    fingerprint = _fingerprint(cfg, job, paths)
    done = out / "done.json"
    if done.exists():
        figures = read_json(done)
        if figures.get("fingerprint") == fingerprint:
            return {**figures, "resumed": True}
    fingerprint_file = out / "fingerprint"
    if out.exists() and (not fingerprint_file.exists() or fingerprint_file.read_text() != fingerprint):
        shutil.rmtree(out)  # left by other inputs or settings: its partial counts must not be reused
    with atomic_path(fingerprint_file) as tmp:
        tmp.write_text(fingerprint)
    from pipeline.fingerprint import (
        shard_ids,  # here, not at the top: core.steps pulls in datatrove (~0.3 s)
    )

    t0 = time.time()
    ids = shard_ids(paths)
    groups = [paths[i:i + cfg.group_size] for i in range(0, len(paths), cfg.group_size)]
    id_groups = [ids[i:i + cfg.group_size] for i in range(0, len(ids), cfg.group_size)]
    settings = cfg.model_dump()
    group_stats = executor.map(count_group, [(g, ps, job, str(run_dir), settings, id_groups[g])
                                             for g, ps in enumerate(groups)], desc="line dedup: count")
    n_parts = 1 << _partition_bits(cfg.partitions)
    part_stats = executor.map(merge_partition, [(p, len(groups), str(run_dir), cfg.min_repeats)
                                                for p in range(n_parts)], desc="line dedup: merge")
    frequent = [np.load(out / f"frequent-{p:03d}.npy") for p in range(n_parts)]
    # partitions are the hash's top bits, in order, and each is sorted: the concatenation is sorted
    with atomic_path(out / FREQUENT_LINES) as tmp:
        with open(tmp, "wb") as f:
            np.save(f, np.concatenate(frequent) if frequent else np.empty(0, np.uint64))
    figures = {
        "fingerprint": fingerprint,
        "settings": settings,
        "shards": len(paths),
        "groups": len(groups),
        "documents": sum(s["documents"] for s in group_stats),
        "document_lines": sum(s["document_lines"] for s in group_stats),
        "distinct_lines": sum(s["distinct_lines"] for s in part_stats),
        "frequent_lines": sum(s["frequent_lines"] for s in part_stats),
        "frequent_line_occurrences": sum(s["frequent_line_occurrences"] for s in part_stats),
        "seconds": round(time.time() - t0, 3),
    }
    write_json(done, figures)
    return figures
