"""`pipeline clean RUN_DIR`: delete the work files of a run, which its user never reads, to free disk.

    pipeline clean RUN_DIR [--dry-run]

Deleted:
  extracted/                      the extract stage's copy of every page's text (about the size of the extracted
                                  text of every page read: the largest work file of a run). A later run that
                                  has to run line dedup or the steps again (their settings changed) reads and
                                  extracts the input shards themselves, by the same code, with the same result
                                  (tests/test_extracted.py); the input shards must then still be there.
  dedup/signatures, buckets, pairs, docs   MinHash signatures and candidate pairs, once dedup has finished
                                  (dedup/_SUCCESS): a finished dedup never reads them again, and a dedup whose
                                  settings change starts over. dedup/stats.json and clusters.parquet stay.
Everything a run hands its user (documents/, rejected/, mix/, tokenizer/, tokens/, the report, summary.json)
and every stage marker stay: a later `pipeline run` with the same config still skips every stage.

Only a ko-curate run directory is touched, and not while a run holds its lock. A run directory in object
storage has no work files there (they are never uploaded): clean the local one the run used.
"""

from __future__ import annotations

import argparse
import os
import shutil
from pathlib import Path

from core.errors import ConfigError
from pipeline.layout import EXTRACTED_DIR
from pipeline.rundir import MARKER, RunLock

DEDUP_WORK = ("signatures", "buckets", "pairs", "docs")


def work_files(run_dir: Path) -> list[Path]:
    """What `clean` deletes in this run directory (only what exists)."""
    out = [run_dir / EXTRACTED_DIR]
    if (run_dir / "dedup" / "_SUCCESS").exists():
        out += [run_dir / "dedup" / name for name in DEDUP_WORK]
    return [p for p in out if p.exists()]


def size_of(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def clean(run_dir: str | Path, dry_run: bool = False, log=print) -> int:
    """Delete the work files of `run_dir` (see the module docstring); returns the bytes freed (or that would be)."""
    if "://" in str(run_dir):  # checked on the string: Path("s3://b/run") would read "s3:/b/run"
        raise ConfigError(f"{run_dir}: a run directory in object storage holds no work files; clean the local "
                          "directory the run staged its files in")
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ConfigError(f"{run_dir}: no such run directory")
    if not (run_dir / MARKER).exists():
        raise ConfigError(f"{run_dir} is not a ko-curate run directory (no {MARKER}): nothing was deleted")
    with RunLock(run_dir):  # no run works in it meanwhile
        total = 0
        for path in work_files(run_dir):
            size = size_of(path)
            total += size
            log(f"{'would delete' if dry_run else 'deleted'} {path.relative_to(run_dir)}/ ({_human(size)})")
            if not dry_run:
                shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else os.unlink(path)
    log(f"{'would free' if dry_run else 'freed'} {_human(total)} in {run_dir}")
    return total


def _human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", help="a run directory (the config's output)")
    parser.add_argument("--dry-run", action="store_true", help="say what would be deleted, delete nothing")


def main(args: argparse.Namespace) -> int:
    clean(args.run_dir, dry_run=args.dry_run)
    return 0
