"""Recall and false removals of the dedup stage on a planted set (≥ 10,000 docs from kowiki-ref).

Recall: share of planted pairs whose true Jaccard (on the configured shingles) is ≥ threshold that end in one
cluster. False removal: share of documents that have no planted duplicate and were removed anyway.
--compare-shingles prints the true-Jaccard distribution of planted pairs for char and eojeol n-grams (why
char 5-grams are the default) and runs the stage with each.
Usage: python bench/quality/dedup_quality.py [--docs 10000] [--compare-shingles]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from bench.harness import SHARED, shared_data
from bench.quality.dedup_planted import load_articles, make_corpus
from core.config import ExecutionConfig
from pipeline.dedup.hashing import shingle_strings
from pipeline.dedup.stage import Config, dedup_files
from pipeline.executor import Executor


def jaccard(a: str, b: str, shingle: str, n: int) -> float:
    sa, sb = set(shingle_strings(a, shingle, n)), set(shingle_strings(b, shingle, n))
    return len(sa & sb) / max(1, len(sa | sb))


def evaluate(docs, pairs, cfg: Config, workdir: Path) -> dict:
    shard_dir = workdir / "in"
    shard_dir.mkdir(parents=True)
    for s in range(4):
        part = docs[s::4]
        pq.write_table(pa.table({"id": [d[0] for d in part], "text": [d[1] for d in part]}), shard_dir / f"s{s}.parquet")
    out = workdir / "out"
    targets = [(str(p), str(out / "documents" / p.name), str(out / "rejected" / f"dedup-{p.name}")) for p in sorted(shard_dir.glob("*.parquet"))]
    t0 = time.perf_counter()
    summary = dedup_files(cfg, targets, out / "dedup", Executor(ExecutionConfig(backend="local")))
    seconds = time.perf_counter() - t0
    rej = pa.concat_tables([pq.read_table(f, columns=["id", "duplicate_of"]) for f in (out / "rejected").glob("*.parquet")]) if list((out / "rejected").glob("*.parquet")) else None
    rep = {}
    if rej is not None:
        rep = dict(zip(rej["id"].to_pylist(), rej["duplicate_of"].to_pylist()))
    cluster_of = lambda i: rep.get(i, i)  # noqa: E731  (kept docs represent themselves)
    text = dict(docs)
    with_dup = set()
    for o, v, _ in pairs:
        with_dup.update((o, v))
    by_kind = defaultdict(lambda: [0, 0])
    hi = found_hi = 0
    for o, v, kind in pairs:
        j = jaccard(text[o], text[v], cfg.shingle, cfg.ngram)
        same = cluster_of(o) == cluster_of(v) or cluster_of(v) == cluster_of(cluster_of(o))
        by_kind[kind][0] += same
        by_kind[kind][1] += 1
        if j >= cfg.threshold:
            hi += 1
            found_hi += same
    lonely = [d for d, _ in docs if d not in with_dup]
    false_removed = sum(1 for d in lonely if d in rep)
    return {
        "docs": len(docs), "planted_pairs": len(pairs), "pairs_at_or_above_threshold": hi,
        "recall_at_threshold": found_hi / max(1, hi), "recall_all_planted": sum(v[0] for v in by_kind.values()) / len(pairs),
        "docs_without_duplicate": len(lonely), "false_removed": false_removed, "false_removal_rate": false_removed / max(1, len(lonely)),
        "by_edit": {k: round(v[0] / v[1], 3) for k, v in sorted(by_kind.items())}, "seconds": round(seconds, 1), "summary": summary,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=10000)
    ap.add_argument("--dup-share", type=float, default=0.2)
    ap.add_argument("--data", default=str(SHARED / "kowiki-ref.jsonl.gz"))
    ap.add_argument("--compare-shingles", action="store_true")
    args = ap.parse_args()
    articles = load_articles(shared_data(args.data), args.docs)
    docs, pairs = make_corpus(articles, args.docs, args.dup_share)
    text = dict(docs)
    configs = [Config()]
    if args.compare_shingles:
        print("true Jaccard of planted pairs (share >= 0.8, median):")
        for sh, n in (("char", 3), ("char", 5), ("eojeol", 1), ("eojeol", 2), ("eojeol", 3), ("eojeol", 5)):
            js = np.array([jaccard(text[o], text[v], sh, n) for o, v, _ in pairs[:1000]])
            print(f"  {sh}-{n}: {np.mean(js >= 0.8):.3f}  median {np.median(js):.3f}")
        configs.append(Config(shingle="eojeol", ngram=5))
    for cfg in configs:
        with tempfile.TemporaryDirectory() as tmp:
            r = evaluate(docs, pairs, cfg, Path(tmp))
        print(f"[{cfg.shingle}-{cfg.ngram}, threshold {cfg.threshold}, num_perm {cfg.num_perm}]")
        for k, v in r.items():
            print(f"  {k}: {v}")


if __name__ == "__main__":
    main()
