"""Stage `dedup`: exact and MinHash-LSH near-duplicate removal over RUN/filtered/*.parquet (the steps stage's
kept documents), written to RUN/documents/ and RUN/rejected/dedup-<shard>.parquet.

`run(cfg, job, run_dir, executor)` is called by `pipeline run` (pipeline/stages.py); `dedup_files` does the work
for any list of Parquet files (the standalone `pipeline dedup` command uses it too). Steps, each a set of tasks:
signatures per shard → candidate pairs per bucket partition → clusters (tasks per node partition) → staged
rewrite per shard → renames → RUN/dedup/_SUCCESS (holds the summary). Every kept document gets an int64
`cluster_size` column (rewrite.py): 1 without duplicates, else the number of documents of its cluster, exact and
near duplicates together (clusters.py). With `exact` off, exact copies still meet in a cluster through MinHash
(identical shingles); with `fuzzy` off clusters are exact-duplicate groups; with both off every value is 1.
Without a `dedup:` section the stage hands the steps stage's files on to documents/ as they are (a hard link
where the filesystem allows, else a copy), with no `cluster_size` column: documents/ is always where the
kept text is, and no stage ever rewrites another's files.
Conservation is checked: documents before == documents after + rows written to the dedup rejected files, and
the kept documents' `cluster_size` column (rewrite.py) adds up to the documents before.
No documents (a run that kept nothing, or whose shards all failed and wrote no documents file) is not an error:
the same steps run on nothing, write their markers and zero stats, and the summary says "no documents".
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from core.atomic import atomic_path, read_json, write_json
from core.errors import ConfigError, RunError
from core.sections import DedupConfig as Config
from pipeline.layout import FILTERED_DIR
from pipeline.dedup.buckets import partition_pairs
from pipeline.dedup.clusters import build_clusters, cluster_stats
from pipeline.dedup.rewrite import commit_staged, rewrite_shard, staged_paths
from pipeline.dedup.signatures import (
    SIZE_COLUMN,
    lsh_params,
    shard_paths,
    signature_shard,
)


def _params(cfg: Config) -> dict:
    bands, rows = lsh_params(cfg.threshold, cfg.num_perm, cfg.false_positive_weight, cfg.false_negative_weight)
    return {
        "shingle": cfg.shingle, "ngram": cfg.ngram, "hash": cfg.hash, "num_perm": cfg.num_perm, "seed": cfg.seed,
        "bands": bands, "rows": rows, "num_partitions": cfg.num_band_partitions, "exact": cfg.exact,
        "fuzzy": cfg.fuzzy, "score_column": cfg.score_column, "batch_rows": cfg.batch_rows,
    }


def run(cfg: Config | None, job, run_dir: Path, executor) -> dict:
    """filtered/ → documents/ (and rejected/dedup-*.parquet); the summary figures ({} without a dedup: section)."""
    run_dir = Path(run_dir)
    files = sorted((run_dir / FILTERED_DIR).glob("*.parquet"))
    if cfg is None:
        for f in files:
            with atomic_path(run_dir / "documents" / f.name) as tmp:
                try:
                    os.link(f, tmp)
                except OSError:  # another filesystem, or one without hard links
                    shutil.copyfile(f, tmp)
        return {}
    targets = [(str(f), str(run_dir / "documents" / f.name), str(run_dir / "rejected" / f"dedup-{f.name}")) for f in files]
    snippet = job.rejected.snippet_chars if job is not None else 300
    row_group = job.execution.row_group_size if job is not None else 2000
    return dedup_files(cfg, targets, run_dir / "dedup", executor, snippet_chars=snippet, row_group_size=row_group)


def dedup_files(
    cfg: Config, targets: list[tuple[str, str, str]], dedup_dir: Path, executor, *, snippet_chars: int = 300,
    row_group_size: int = 2000,
) -> dict:
    """targets: (input parquet, final kept path, final rejected path) per shard; input may equal final kept."""
    success = dedup_dir / "_SUCCESS"
    if success.exists():
        return read_json(success)["summary"]
    staged_marker = dedup_dir / "_STAGED"
    if staged_marker.exists():  # a previous run stopped during the renames: finish them, inputs are gone
        commit_staged(dedup_dir, [])
        done = read_json(dedup_dir / "_COMPUTED")
        write_json(success, done)
        return done["summary"]
    shards = [Path(t[0]).name.removesuffix(".parquet") for t in targets]
    if len(set(shards)) != len(shards):
        raise ConfigError("dedup: input files must have distinct names (shard ids come from file names)")
    t0 = time.perf_counter()
    params = _params(cfg)
    dd = str(dedup_dir)
    sig_results = executor.map(
        signature_shard, [(t[0], s, i, dd, params) for i, (t, s) in enumerate(zip(targets, shards))], "dedup signatures"
    )
    documents_in = sum(r["documents"] for r in sig_results)
    paths = [shard_paths(dedup_dir, s, params["num_partitions"]) for s in shards]
    sig_files = [str(p["signatures"]) for p in paths]
    min_j = cfg.min_jaccard if cfg.fuzzy else 0.0
    pair_results = executor.map(
        partition_pairs, [(dd, p, sig_files, min_j) for p in range(params["num_partitions"])], "dedup buckets"
    )
    clusters = build_clusters(dedup_dir, [str(p["docs"]) for p in paths], cfg.keep, executor)
    stats = cluster_stats(clusters, documents_in)
    wanted: dict[int, list[int]] = {}
    for c in stats["largest_clusters"]:
        for ref in c["member_refs"]:
            wanted.setdefault(ref >> 32, []).append(ref & 0xFFFFFFFF)
    rw = executor.map(
        rewrite_shard,
        [(t[0], s, i, dd, snippet_chars, row_group_size, wanted.get(i, [])) for i, (t, s) in enumerate(zip(targets, shards))],
        "dedup rewrite",
    )
    kept = sum(r["documents_kept"] for r in rw)
    dropped = {"duplicate": sum(r["duplicate"] for r in rw), "near_duplicate": sum(r["near_duplicate"] for r in rw)}
    if sum(r["documents_in"] for r in rw) != documents_in or kept + sum(dropped.values()) != documents_in:
        raise RunError(f"dedup: conservation broken: {documents_in} in, {kept} kept, {dropped} dropped")
    represented = sum(r["represented_kept"] for r in rw)
    if represented != sum(r["represented_in"] for r in rw):
        raise RunError(f"dedup: the kept documents' {SIZE_COLUMN} add up to {represented}, not to the documents in")
    for c in stats["largest_clusters"]:
        c["members"] = [rw[ref >> 32]["sampled"][ref & 0xFFFFFFFF] for ref in c.pop("member_refs")]
    summary = {
        "documents_in": documents_in,
        "documents_kept": kept,
        "dropped": dropped,
        "clusters": clusters.clusters,
        "candidate_pairs": sum(r["candidates"] for r in pair_results),
        "verified_pairs": sum(r["pairs"] for r in pair_results),
        "seconds": round(time.perf_counter() - t0, 3),
    }
    if documents_in == 0:
        summary["note"] = "no documents"
    write_json(
        dedup_dir / "stats.json",
        {
            "exact_removed": dropped["duplicate"], "near_removed": dropped["near_duplicate"], **stats,
            # Sum of the kept documents' cluster_size: documents_in, or more when the input was deduplicated before.
            "documents_represented": represented,
            "threshold": cfg.threshold, "num_perm": cfg.num_perm, "bands": params["bands"], "rows": params["rows"],
            "shingle": f"{cfg.shingle}-{cfg.ngram}gram", "hash": cfg.hash, "min_jaccard": min_j, "keep": cfg.keep,
            **({"note": summary["note"]} if "note" in summary else {}),
        },
    )
    moves = []
    for (src, kept_final, rej_final), s in zip(targets, shards):
        staged_kept, staged_rej = staged_paths(dedup_dir, s)
        moves.append((str(staged_kept), kept_final))
        if staged_rej.exists():
            moves.append((str(staged_rej), rej_final))
    write_json(dedup_dir / "_COMPUTED", {"summary": summary})
    commit_staged(dedup_dir, moves)
    write_json(success, {"summary": summary})
    return summary
