"""The run directory's layout, and the identities of a run's work: shard ids (stable, file-name-safe) and
content digests of the files a stage's output depends on (word lists, models, benchmarks, mix sources), which
the stages' fingerprints include (pipeline/stages.py says which stage writes which directory).

    RUN/extracted/    stage extract: each shard's records, extracted        (work files; kept for resume)
    RUN/line_dedup/   stage line_dedup: hashes of lines repeated across pages
    RUN/filtered/     stage steps: each shard's kept documents
    RUN/rejected/     stage steps: <shard>.parquet; stage dedup: dedup-<shard>.parquet (every dropped document)
    RUN/stats/        stage steps: each shard's figures and completion marker
    RUN/documents/    stage dedup: the kept documents, deduplicated       (the user's kept text)
    RUN/dedup/        stage dedup: signatures, buckets, clusters, stats
    RUN/mix/, RUN/tokenizer/, RUN/tokens/, RUN/report.html, RUN/report.json: stages mix, tokenize, report
    RUN/_stages/      each stage's marker: fingerprint, done, figures
    RUN/summary.json, RUN/config.yaml: written by `pipeline run`
"""

from __future__ import annotations

import hashlib
from pathlib import Path

EXTRACTED_DIR = "extracted"
FILTERED_DIR = "filtered"
STAGE_MARKERS = "_stages"



def shard_ids(paths: list[str]) -> list[str]:
    """Stable, unique, file-name-safe ids: position in the sorted input list + the file's base name."""
    out = []
    for i, p in enumerate(paths):
        base = p.rstrip("/").rsplit("/", 1)[-1]
        for suffix in (".gz", ".zst", ".zstd", ".parquet", ".jsonl", ".json", ".warc", ".wet"):
            base = base.removesuffix(suffix)
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in base)[:80]
        out.append(f"{i:05d}-{safe}")
    return out


_DIGESTS: dict[tuple, str] = {}


def content_digest(path: str) -> str:
    """sha256 of a file's bytes, or of a directory's files (name and bytes); cached per process by size and
    mtime, since every shard task asks (the perplexity model is ~20 MB: ~50 ms to hash once)."""
    p = Path(path)
    files = sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p] if p.is_file() else []
    if not files:
        return "missing"
    key = (str(p.resolve()), tuple((str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files))
    digest = _DIGESTS.get(key)
    if digest is None:
        h = hashlib.sha256()
        for f in files:
            h.update(f.relative_to(p).as_posix().encode() if p.is_dir() else b"")
            with open(f, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    h.update(chunk)
        digest = _DIGESTS[key] = h.hexdigest()[:16]
    return digest
