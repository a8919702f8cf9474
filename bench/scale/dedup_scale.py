"""Dedup at scale: wall time and peak RSS for 100k or 1M planted documents made from kowiki-ref text.

Bases are built from sentences of kowiki-ref articles (../shared/data, CC BY-SA), 10% planted variants
(bench/quality/dedup_planted.py), written as 64 Parquet shards in a temporary run directory, then the stage runs.
--backend local runs every task in this one process, so its peak RSS (ru_maxrss) bounds what any one worker
needs; --backend ray runs on the embedded Ray with --num-cpus workers (wall time).
Usage: python bench/scale/dedup_scale.py --docs 100000 [--backend local|ray] [--num-cpus 2]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from bench.harness import SHARED, peak_rss_mib, shared_data
from bench.quality.dedup_planted import load_articles, make_corpus
from core.config import ExecutionConfig
from pipeline.dedup.stage import Config, dedup_files
from pipeline.executor import Executor


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=100000)
    ap.add_argument("--shards", type=int, default=64)
    ap.add_argument("--partitions", type=int, default=16)
    ap.add_argument("--backend", choices=["local", "ray"], default="local")
    ap.add_argument("--num-cpus", type=int, default=2)
    ap.add_argument("--data", default=str(SHARED / "kowiki-ref.jsonl.gz"))
    args = ap.parse_args()
    t0 = time.perf_counter()
    articles = load_articles(shared_data(args.data), 34000, min_chars=300)
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp)
        (run / "documents").mkdir()
        # Generate and write shard by shard so the generator's memory is not counted as the stage's.
        per = args.docs // args.shards
        for s in range(args.shards):
            docs, _ = make_corpus(articles, per, 0.1, seed=s, synthetic=True)
            pq.write_table(pa.table({"id": [f"s{s:03d}-{d}" for d, _ in docs], "text": [t for _, t in docs]}), run / "documents" / f"s{s:04d}.parquet")
        rss_before = peak_rss_mib()
        gen_s = time.perf_counter() - t0
        files = sorted((run / "documents").glob("*.parquet"))
        targets = [(str(f), str(f), str(run / "rejected" / f"dedup-{f.name}")) for f in files]
        ex = Executor(ExecutionConfig(backend=args.backend, num_cpus=args.num_cpus))
        t1 = time.perf_counter()
        summary = dedup_files(Config(num_band_partitions=args.partitions), targets, run / "dedup", ex)
        wall = time.perf_counter() - t1
        ex.shutdown()
        rss = peak_rss_mib()
        disk = sum(p.stat().st_size for p in (run / "dedup").rglob("*") if p.is_file()) / 2**20
    print(f"docs={args.docs} shards={args.shards} partitions={args.partitions} backend={args.backend} cpus={args.num_cpus}")
    print(f"generate: {gen_s:.0f} s; dedup wall: {wall:.1f} s ({args.docs / wall:.0f} docs/s)")
    print(f"peak RSS this process: {rss:.0f} MB (before dedup: {rss_before:.0f} MB); dedup/ on disk: {disk:.0f} MB")
    print(f"summary: {summary}")


if __name__ == "__main__":
    main()
