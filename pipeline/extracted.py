"""Read + decode + extract + NFC of one shard as one stream of outcomes, shared by the line-dedup pre-pass and
the shard pass, and the pre-pass's copy of those outcomes, so that the pass does not read and extract every
page a second time.

    RUN/line_dedup/extracted/<shard_id>.parquet   one row per record: index, url, payload size, text or drop
                                                  reason and the step that dropped it ("read" / "extract"), meta
    RUN/line_dedup/extracted/<shard_id>.json      written after it: the shard's path, records, the reader's
                                                  error (a shard that broke part-way), read and extract seconds

`outcomes(path, job, seconds)` is the one implementation of "records → extracted documents": the pre-pass
hashes the lines of what it yields, the shard pass filters it, so both see exactly the same text. With
`line_dedup.reuse_extracted` on (the default) the pre-pass writes every outcome to the files above, and the
shard pass replays them (`replay`) instead of reading the shard: on 3,000 Korean WARC pages the pass with
its pre-pass went from 355 to 445-463 documents/s per core (bench/speed/profile_pass.py). A shard the pre-pass could not open gets no copy; the pass
reads it itself, so a shard that is readable later is retried as before. The copies live beside the
pre-pass's counts, whose fingerprint (inputs, input and extract settings) removes them when those change;
the pass deletes a shard's copy once the shard's completion marker is written, and the whole directory when
the pass ends. Disk while the pass runs: the extracted text of the shards not yet done, zstd-compressed; at
peak 143 MiB for bench/scale/scale_run.py's 100,000 text-heavy pages (219 MiB of gzipped WARC).
"""

from __future__ import annotations

import contextlib
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
from core.errors import ShardError
from pipeline.read.extract import extract
from pipeline.read.charset import decode_html
from pipeline.read.readers import read_shard
from pipeline.read.records import PartialShard, RawRecord
from core.text import nfc

EXTRACTED_DIR = "line_dedup/extracted"

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


# -- the pre-pass's copy ---------------------------------------------------------------------------------

def copy_paths(run_dir: str | Path, shard_id: str) -> tuple[Path, Path]:
    base = Path(run_dir) / EXTRACTED_DIR
    return base / f"{shard_id}.parquet", base / f"{shard_id}.json"


def outcomes_with_copy(path: str, shard_id: str, job: JobConfig, run_dir: str | Path) -> Iterator[Outcome]:
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
                raise  # not readable at all: no copy; the shard pass reads (and reports) it itself
            if rows:
                writer.write_table(pa.Table.from_pylist(rows, schema=_SCHEMA))
    write_json(sidecar, {"shard": path, "records": n, "error": error,
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
    if side.get("shard") != path:
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


def remove_copy(run_dir: str | Path, shard_id: str) -> None:
    for p in copy_paths(run_dir, shard_id)[::-1]:  # sidecar first: a half-removed copy is never replayed
        with contextlib.suppress(FileNotFoundError):
            p.unlink()
