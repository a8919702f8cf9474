"""Stage `extract`: every shard read, decoded, extracted and NFC-normalized once, into a copy that line dedup
and the per-document steps both read.

    RUN/extracted/<shard_id>.parquet   one row per record: index, url, payload size, text or drop reason and
                                       the step that dropped it ("read" / "extract"), meta
    RUN/extracted/<shard_id>.json      written after it, the shard's marker: its path, the stage's fingerprint,
                                       records, the reader's error (a shard that broke part-way), read and
                                       extract seconds

`outcomes(path, job, seconds)` is the one implementation of "records → extracted documents". `run(ctx)` writes
one copy per shard (one task each); a shard whose marker holds this stage's fingerprint is skipped. A shard
that cannot be opened gets no copy and leaves the stage unfinished, so the next run tries it again; the steps
stage reads such a shard itself and reports it under `shards_failed`. Records dropped here are not accounted for
here: the steps stage replays them (`replay`) and writes them to rejected/ with their reasons, in record order.
Replaying instead of reading and extracting again made the pass with its line-dedup pre-pass go from 355 to
445-463 documents/s per core (bench/speed/profile_pass.py). Disk: the extracted text of the run's pages,
zstd-compressed (143 MiB for bench/scale/scale_run.py's 100,000 text-heavy pages, 219 MiB of gzipped WARC).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from core.atomic import atomic_path, read_json, write_json
from core.budget import DocumentTimeout, time_limit
from core.config import JobConfig
from core.errors import RunError, ShardError
from pipeline.read.extract import extract
from core.redact import redact
from pipeline.layout import EXTRACTED_DIR
from pipeline.read.charset import decode_html
from pipeline.read.readers import read_shard
from pipeline.read.records import PartialShard, RawRecord
from core.text import nfc


_SCHEMA = pa.schema([
    pa.field("index", pa.int64()), pa.field("url", pa.string()), pa.field("size", pa.int64()),
    pa.field("text", pa.string()), pa.field("drop_reason", pa.string()), pa.field("step", pa.string()),
    pa.field("meta", pa.string()),
])
_ROWS_PER_GROUP = 1000


@dataclass(slots=True)
class Outcome:
    rec: RawRecord      # index, url, meta (with "charset" for decoded HTML), drop_reason when dropped
    size: int           # bytes in: the payload, or the UTF-8 size of text read as text (WET, JSONL, Parquet)
    text: str | None    # the extracted NFC text; None when dropped
    step: str | None    # "read" or "extract" when dropped


def outcomes(path: str, job: JobConfig, seconds: dict[str, float]) -> Iterator[Outcome]:
    """Every record of the shard, read, decoded and extracted exactly as `pipeline run` does; the time spent
    is added to `seconds["read"]` and `seconds["extract"]`. Raises what `read_shard` raises (ShardError,
    PartialShard) after yielding what could be read."""
    ex = job.extract
    timeout = job.execution.document_timeout_s
    min_chars = max(1, ex.min_chars)
    t = time.perf_counter()
    for rec in read_shard(path, job.input):
        t1 = time.perf_counter()
        seconds["read"] += t1 - t
        size = len(rec.html) if rec.html is not None else len((rec.text or "").encode())
        if rec.drop_reason:
            yield Outcome(rec, size, None, "read")
            t = time.perf_counter()
            continue
        text = ""
        try:
            with time_limit(timeout):
                if rec.html is not None:
                    html, charset, _clean = decode_html(rec.html, rec.charset_header)
                    rec.meta["charset"] = charset
                    text = extract(html, ex.extractor, rec.meta, min_chars=min_chars)
                else:
                    text = nfc(rec.text).strip()
        except ImportError:  # a missing extractor package is the installation's fault, not the page's
            raise
        except DocumentTimeout:
            rec.drop_reason, rec.meta["error"] = "extract_timeout", f"over execution.document_timeout_s={timeout}"
        except Exception as e:  # noqa: BLE001 - whatever one page does to a decoder or parser is that page's drop
            rec.drop_reason, rec.meta["error"] = "extract_failed", f"{type(e).__name__}: {e}"[:300]
        if not rec.drop_reason and len(text) < min_chars:
            rec.drop_reason = "extract_empty"
        seconds["extract"] += time.perf_counter() - t1
        yield Outcome(rec, size, None, "extract") if rec.drop_reason else Outcome(rec, size, text, None)
        t = time.perf_counter()


# -- the copy ------------------------------------------------------------------------------------------

def copy_paths(run_dir: str | Path, shard_id: str) -> tuple[Path, Path]:
    base = Path(run_dir) / EXTRACTED_DIR
    return base / f"{shard_id}.parquet", base / f"{shard_id}.json"


def outcomes_with_copy(path: str, shard_id: str, job: JobConfig, run_dir: str | Path, fingerprint: str = ""
                       ) -> Iterator[Outcome]:
    """`outcomes`, also written to the shard's copy. The sidecar (written last, after the Parquet file is in
    place) makes the copy valid; a shard that cannot be opened, or a failed write, leaves no sidecar."""
    data, sidecar = copy_paths(run_dir, shard_id)
    data.parent.mkdir(parents=True, exist_ok=True)
    seconds = {"read": 0.0, "extract": 0.0}
    rows: list[dict] = []
    n = 0
    error = None
    with atomic_path(data) as tmp:
        with pq.ParquetWriter(tmp, _SCHEMA, compression="zstd") as writer:
            try:
                for o in outcomes(path, job, seconds):
                    n += 1
                    rows.append({"index": o.rec.index, "url": o.rec.url, "size": o.size, "text": o.text,
                                 "drop_reason": o.rec.drop_reason, "step": o.step,
                                 "meta": json.dumps(o.rec.meta, ensure_ascii=False, default=str) if o.rec.meta else None})
                    if len(rows) >= _ROWS_PER_GROUP:
                        writer.write_table(pa.Table.from_pylist(rows, schema=_SCHEMA))
                        rows = []
                    yield o
            except PartialShard as e:
                error = str(e)
            except ShardError:
                raise  # not readable at all: no copy; the steps stage reads (and reports) it itself
            if rows:
                writer.write_table(pa.Table.from_pylist(rows, schema=_SCHEMA))
    write_json(sidecar, {"shard": redact(path), "fingerprint": fingerprint, "records": n, "error": redact(error) if error else None,
                         "seconds": {k: round(v, 6) for k, v in seconds.items()}})
    if error:
        raise PartialShard(error, n)


def replay(path: str, shard_id: str, run_dir: str | Path, seconds: dict[str, float]) -> Iterator[Outcome] | None:
    """The shard's copy, or None when there is no complete copy of this `path`. `seconds` gets the pre-pass's
    read and extract time, plus the time spent reading the copy as "read". The iterator raises PartialShard at
    its end when the pre-pass's read of the shard broke part-way."""
    data, sidecar = copy_paths(run_dir, shard_id)
    if not sidecar.exists() or not data.exists():
        return None
    side = read_json(sidecar)
    if side.get("shard") != redact(path):  # the sidecar names the shard without credentials
        return None
    seconds["read"] += side["seconds"]["read"]
    seconds["extract"] += side["seconds"]["extract"]

    def it() -> Iterator[Outcome]:
        t = time.perf_counter()
        n = 0
        for batch in pq.ParquetFile(data).iter_batches(batch_size=_ROWS_PER_GROUP):
            cols = batch.to_pydict()
            rows = [Outcome(RawRecord(index=index, url=url, drop_reason=reason, meta=json.loads(meta) if meta else {}),
                            size, text, step)
                    for index, url, size, text, reason, step, meta in zip(
                        cols["index"], cols["url"], cols["size"], cols["text"], cols["drop_reason"], cols["step"],
                        cols["meta"])]
            n += len(rows)
            seconds["read"] += time.perf_counter() - t
            yield from rows
            t = time.perf_counter()
        if n != side["records"]:
            raise ShardError(f"{data}: {n} records, its sidecar says {side['records']}")
        if side.get("error"):
            raise PartialShard(side["error"], n)

    return it()


def extract_shard(path: str, shard_id: str, job: JobConfig, run_dir: str, fingerprint: str) -> dict:
    """The task per shard: its copy, unless one with this fingerprint exists. Returns the shard's figures."""
    _, sidecar = copy_paths(run_dir, shard_id)
    if sidecar.exists():
        side = read_json(sidecar)
        if side.get("shard") == redact(path) and side.get("fingerprint") == fingerprint:
            return {**side, "resumed": True}
    try:
        for _ in outcomes_with_copy(path, shard_id, job, run_dir, fingerprint):
            pass
    except PartialShard:
        pass  # the copy holds what was read and the error; the steps stage reports the shard as partial
    except ShardError as e:
        return {"shard": redact(path), "records": 0, "error": redact(str(e)), "unreadable": True}
    except OSError as e:  # a failed write (disk full): the run stops
        raise RunError(f"extract: shard {shard_id} ({path}): {type(e).__name__}: {e}") from e
    return read_json(sidecar)


def run(ctx) -> dict:
    """Stage `extract` (pipeline/stages.py): every shard's copy, one task each."""
    prune_shards(ctx.run_dir / EXTRACTED_DIR, [sid for _, sid in ctx.shards])
    results = ctx.executor.map(extract_shard, [(p, sid, ctx.job, str(ctx.run_dir), ctx.fingerprint) for p, sid in ctx.shards],
                               desc="extract")
    done = [sid for (_, sid), r in zip(ctx.shards, results) if not r.get("unreadable")]
    return {"shards": len(results), "records": sum(r["records"] for r in results),
            "unreadable": len(results) - len(done), "_shards_done": done, "_incomplete": len(done) < len(results)}


def prune_shards(directory: Path, shard_ids: list[str]) -> None:
    """Delete the per-shard files in `directory` (`<shard_id>.<suffix>`; a shard id starts with 5 digits) that
    belong to no shard of this run: an input removed from the config must not leave outputs a later stage reads."""
    if not directory.is_dir():
        return
    for p in directory.iterdir():
        if p.is_file() and p.name[:5].isdigit() and not any(p.name.startswith(i + ".") for i in shard_ids):
            p.unlink()
