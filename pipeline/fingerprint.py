"""Identities of a run's work: shard ids (stable, file-name-safe) and the fingerprint of everything a shard's
output depends on (the settings that shape it and the contents of every file its steps read). A shard whose
completion marker holds another fingerprint runs again; dedup's fingerprint includes it too.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from core.config import JobConfig
from core.steps import step_files


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


def config_fingerprint(job: JobConfig) -> str:
    """What a shard's output depends on: the settings that shape it and the contents of every file a step
    reads (word lists, models, benchmarks). A shard whose marker holds another fingerprint runs again."""
    keep = job.model_dump(include={"input", "extract", "steps", "rejected", "line_dedup"})
    keep["input"].pop("paths", None)
    if job.execution.score_all:  # only when on, so that runs made before the setting keep their fingerprint
        keep["score_all"] = True
    keep["files"] = sorted({path: _content_digest(path) for spec in job.steps if isinstance(spec, dict)
                            for path in step_files(spec)}.items())
    return hashlib.sha256(json.dumps(keep, sort_keys=True, default=str).encode()).hexdigest()[:16]


_DIGESTS: dict[tuple, str] = {}


def _content_digest(path: str) -> str:
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
