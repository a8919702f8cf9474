"""Read input shards into raw records: WARC (response records), WET (conversion records), JSONL, Parquet.

`read_shard(path, cfg)` yields `RawRecord`s: either a payload to extract (HTML bytes or plain text) or a record
that already failed (`drop_reason` set: `read_no_hangul` (input.prefilter_korean), `read_not_html`,
`read_binary_payload`, `read_empty_payload`, `read_too_large`, `read_invalid_json`, `read_no_text`,
`read_invalid_feed`, `read_corrupt_record`, `read_truncated_record`, `read_fetch_failed` (cc_index)). Every
record that reaches the reader becomes a document that is accounted for; only records that are not documents at
all (warcinfo, request, metadata) are skipped. A shard that cannot be opened -- missing, or not a regular file
(a FIFO or /dev/zero would hang or never end) -- raises ShardError; one that breaks part-way (truncated gzip)
yields what it could read and then raises PartialShard.

Damaged WARC records cost only themselves. In a WARC with one gzip member per record (Common Crawl's layout)
warcio sees one member at a time, so after a damaged member, or a record whose Content-Length is wrong, the
reader goes on at the next member; in an uncompressed WARC it goes on at the next line that starts a
`WARC/1.` record. The damaged record is a document dropped as `read_corrupt_record` (`read_truncated_record`
when the file ends inside it).

Memory is bounded by `input.max_payload_bytes`: a larger payload, or a JSONL line longer than it, is
skipped in chunks and dropped as `read_too_large`. Text leaves the reader as valid Unicode: lone surrogates
(from JSON `\\ud800` escapes) become U+FFFD, invalid UTF-8 in a Parquet string column is replaced.

Feeds (RSS, Atom, RDF; by content type or by their root element) are decoded here and become text
documents, their items one paragraph each (pipeline/read/feeds.py); `read_invalid_feed` if that fails. Character
references in text read as text (WET, JSONL, Parquet, feeds) are decoded (`unescape_refs`).

Paths are local paths or fsspec URLs, or with `input.format: cc_index` the `ccindex://` shards that
pipeline/read/ccindex.py plans from Common Crawl's URL index. WARC handles its own per-record gzip; `.zst` and `.gz` on other formats
are decompressed by fsspec. The WARC reader is pipeline/read/warc.py; charset decoding (byte order marks, header and
meta charsets, the detector) is `decode_html` in pipeline/read/charset.py. The record type, `open_shard` and
the surrogate scrub are in pipeline/read/records.py, which every reader imports.
"""

from __future__ import annotations

import io
import json
from typing import Iterator


from core.config import InputConfig
from core.errors import ShardError
from pipeline.read.ccindex import read_cc_index_shard
from pipeline.read.charset import unescape_refs
from pipeline.read.records import PartialShard, RawRecord, open_shard, scrub_surrogates
from pipeline.read.warc import read_warc


def detect_format(path: str, configured: str) -> str:
    if configured != "auto":
        return configured
    name = path.lower().rsplit("/", 1)[-1]
    for suffix in (".gz", ".zst", ".zstd", ".bz2", ".xz"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    if name.endswith(".warc.wet") or name.endswith(".wet"):
        return "wet"
    if name.endswith(".warc") or name.endswith(".arc"):
        return "warc"
    if name.endswith(".jsonl") or name.endswith(".json") or name.endswith(".ndjson"):
        return "jsonl"
    if name.endswith(".parquet"):
        return "parquet"
    raise ShardError(f"cannot tell the format of {path} from its name; set input.format")


def read_shard(path: str, cfg: InputConfig) -> Iterator[RawRecord]:
    fmt = detect_format(path, cfg.format)
    # a `ccindex://` shard: records fetched by byte range (pipeline/read/ccindex.py)
    reader = {"warc": read_warc, "wet": read_warc, "cc_index": read_cc_index_shard,
              "jsonl": _read_jsonl, "parquet": _read_parquet}[fmt]
    yield from reader(path, cfg)


# --- JSONL / Parquet --------------------------------------------------------------------------------------


def _read_jsonl(path: str, cfg: InputConfig) -> Iterator[RawRecord]:
    fh = open_shard(path)
    n = 0
    limit = cfg.max_payload_bytes
    try:
        stream = io.BufferedReader(fh) if not isinstance(fh, io.BufferedReader) else fh
        while True:
            try:
                line, size = _read_line(stream, limit)
            except (OSError, EOFError, ValueError) as e:
                raise PartialShard(f"{path}: stopped after {n} lines: {type(e).__name__}: {e}", n) from None
            if line is None and size == 0:
                return
            if line is not None and not line.strip():
                continue
            rec = RawRecord(index=n)
            n += 1
            if line is None:  # longer than input.max_payload_bytes: skipped, never held in memory
                rec.drop_reason = "read_too_large"
                rec.meta["line_bytes"] = size
                yield rec
                continue
            try:
                obj = json.loads(line)
                if not isinstance(obj, dict):
                    raise ValueError("not a JSON object")
            except (ValueError, RecursionError) as e:  # RecursionError: [[[[... nested deeper than Python's stack
                rec.drop_reason = "read_invalid_json"
                rec.meta["error"] = f"{type(e).__name__}: {e}"[:200]
                yield rec
                continue
            # Lone surrogates can only come from \ud8xx escapes: lines without a \u escape skip the check.
            _fill_from_row(rec, obj, cfg, scrub=b"\\u" in line)
            yield rec
    finally:
        fh.close()


def _read_line(stream, limit: int) -> tuple[bytes | None, int]:
    """The next line and its size in bytes; (None, size) for a line longer than `limit` bytes, whose rest is
    skipped 1 MiB at a time; (None, 0) at the end of the stream."""
    line = stream.readline(limit + 1)
    if len(line) <= limit or line.endswith(b"\n"):
        return (line or None), len(line)
    size = len(line)
    while True:
        chunk = stream.readline(1 << 20)
        size += len(chunk)
        if not chunk or chunk.endswith(b"\n"):
            return None, size


def _read_parquet(path: str, cfg: InputConfig) -> Iterator[RawRecord]:
    import pyarrow.parquet as pq

    fh = open_shard(path, compression=None)
    n = 0
    try:
        try:
            pf = pq.ParquetFile(fh)
        except Exception as e:  # pyarrow raises ArrowInvalid/OSError subclasses for a non-Parquet file
            raise ShardError(f"{path}: not a readable Parquet file: {e}") from None
        if cfg.text_key not in pf.schema_arrow.names:
            raise ShardError(f"{path}: no column {cfg.text_key!r} (input.text_key); columns: {pf.schema_arrow.names}")
        try:
            for batch in pf.iter_batches(batch_size=1024):
                for row in _rows(batch):
                    rec = RawRecord(index=n)
                    n += 1
                    _fill_from_row(rec, row, cfg, scrub=False)
                    yield rec
        except OSError as e:
            raise PartialShard(f"{path}: stopped after {n} rows: {e}", n) from None
    finally:
        fh.close()


def _rows(batch) -> list[dict]:
    """The batch's rows as dicts. pyarrow does not check that a string column holds valid UTF-8 when it reads
    one, and converting an invalid value raises: then the string columns are read as bytes and decoded with
    replacement, so one bad value costs nothing but its bad bytes."""
    try:
        return batch.to_pylist()
    except UnicodeDecodeError:
        import pyarrow as pa

        cols = {}
        for name, col in zip(batch.schema.names, batch.columns):
            if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
                raw = col.view(pa.binary() if pa.types.is_string(col.type) else pa.large_binary()).to_pylist()
                cols[name] = [None if v is None else v.decode("utf-8", errors="replace") for v in raw]
            else:
                cols[name] = col.to_pylist()
        return [dict(zip(cols, vals)) for vals in zip(*cols.values())]


def _fill_from_row(rec: RawRecord, row: dict, cfg: InputConfig, scrub: bool) -> None:
    text = row.get(cfg.text_key)
    url = row.get(cfg.url_key)
    rec.url = (scrub_surrogates(url) if scrub else url) if isinstance(url, str) else None
    if row.get(cfg.id_key) is not None:
        rec.meta["source_id"] = scrub_surrogates(str(row[cfg.id_key])) if scrub else str(row[cfg.id_key])
    if not isinstance(text, str):
        rec.drop_reason = "read_no_text"
    elif not text.strip():
        rec.drop_reason = "read_empty_payload"
    elif len(text) > cfg.max_payload_bytes:
        rec.drop_reason = "read_too_large"
    else:
        rec.text = unescape_refs(scrub_surrogates(text) if scrub else text)
