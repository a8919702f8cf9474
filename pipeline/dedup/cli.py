"""`pipeline dedup --input DIR_OR_GLOB --output DIR [--threshold 0.8 --num-perm 112 ...]`: dedup alone.

Reads Parquet files with at least `id` and `text` (a run's documents/ directory, or any glob), never modifies
them, and writes a run-shaped directory: OUTPUT/documents/<name>.parquet (cluster representatives),
OUTPUT/rejected/dedup-<name>.parquet, OUTPUT/dedup/ (signatures, buckets, pairs, clusters, stats.json, _SUCCESS)
and OUTPUT/summary.json {"dedup": {...}}. Exit 0 ok, 2 bad arguments, 1 run failure.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
from pathlib import Path

from pydantic import ValidationError

from core.atomic import write_json
from core.config import ExecutionConfig
from pipeline.dedup.stage import Config, dedup_files
from core.errors import ConfigError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--input", required=True, help="directory of .parquet files, or a glob")
    parser.add_argument("--output", required=True, help="output directory (run layout)")
    parser.add_argument("--threshold", type=float, default=Config().threshold, help="Jaccard threshold (default 0.8)")
    parser.add_argument("--num-perm", type=int, default=Config().num_perm, help="MinHash permutations (default 112)")
    parser.add_argument("--shingle", choices=["char", "eojeol"], default=Config().shingle)
    parser.add_argument("--ngram", type=int, default=Config().ngram)
    parser.add_argument("--no-exact", action="store_true", help="skip exact dedup")
    parser.add_argument("--no-fuzzy", action="store_true", help="skip MinHash-LSH dedup")
    parser.add_argument("--keep", choices=["quality_then_id", "lowest_id"], default=Config().keep)
    parser.add_argument("--score-column", default=Config().score_column)
    parser.add_argument("--partitions", type=int, default=Config().num_band_partitions, help="bucket partitions (tasks)")
    parser.add_argument("--backend", choices=["ray", "local"], default="ray")
    parser.add_argument("--num-cpus", type=int, default=None, help="embedded Ray CPUs (default: all)")


def input_files(spec: str) -> list[str]:
    p = Path(spec)
    files = sorted(str(f) for f in p.glob("*.parquet")) if p.is_dir() else sorted(glob.glob(os.path.expanduser(spec)))
    if not files:
        raise ConfigError(f"--input: no .parquet files match {spec}")
    return files


def main(args: argparse.Namespace) -> int:
    from pipeline.executor import Executor

    try:
        cfg = Config(
            exact=not args.no_exact, fuzzy=not args.no_fuzzy, threshold=args.threshold, num_perm=args.num_perm,
            shingle=args.shingle, ngram=args.ngram, keep=args.keep, score_column=args.score_column,
            num_band_partitions=args.partitions,
        )
        files = input_files(args.input)
    except ValidationError as e:
        err = e.errors()[0]
        raise ConfigError(f"--{'-'.join(str(x) for x in err['loc']).replace('_', '-')}: {err['msg']}") from None
    out = Path(args.output)
    targets = [(f, str(out / "documents" / Path(f).name), str(out / "rejected" / f"dedup-{Path(f).name}")) for f in files]
    executor = Executor(ExecutionConfig(backend=args.backend, num_cpus=args.num_cpus))
    try:  # ConfigError (exit 2) and RunError (exit 1) are reported by pipeline.cli.main
        summary = dedup_files(cfg, targets, out / "dedup", executor)
    finally:
        executor.shutdown()
    write_json(out / "summary.json", {"dedup": summary})
    print(json.dumps(summary, ensure_ascii=False))
    return 0
