"""Select pages by language in Common Crawl's columnar URL index, then fetch only those WARC records.

Korean is under 1% of a crawl. Instead of reading every WARC file, `input.format: cc_index` reads the index
(Parquet with `url`, `content_languages`, `warc_filename`, `warc_record_offset`, `warc_record_length`, ...,
partitioned by `crawl=`/`subset=`), keeps the rows whose `content_languages` list one of `cc_index.languages`
(a filter evaluated inside the Parquet scan, which reads only the columns it needs), and reads each hit as a
byte range of its WARC file: every record is its own gzip member, so the range decompresses alone.

    input:
      format: cc_index
      paths: ["s3://commoncrawl/cc-index/table/cc-main/warc/crawl=CC-MAIN-2024-22/subset=warc/"]
      cc_index: {warc_prefix: "s3://commoncrawl/", languages: [kor], records_per_shard: 2000,
                 storage_options: {anon: true}}

Planning (`plan_shards`, in the driver) counts the hits of every row group of every index file (only the
`content_languages` column is read) and cuts them into shards of `records_per_shard` hits. A shard is a
string, so the rest of the pipeline handles it like a file path:

    ccindex://s3://commoncrawl/cc-index/.../part-00000-....c000.gz.parquet#rg=3-5&hits=120-2120

the hits numbered 120 to 2119 (in row order) among those of row groups 3 and 4 of that index file. The
plan depends only on the index and the filter, so shard ids stay the same across resumes.
`read_cc_index_shard` reads those row groups again with the same filter, takes its slice of hits, fetches them
in (warc_filename, offset) order, a batch of ranges at a time (concurrent requests on s3:// and https://), and
reads each range with the WARC reader: damage, the payload limit and input.prefilter_korean apply as for a
file. Every hit is one document: a range that holds no readable record is dropped as
`read_corrupt_record`, one whose WARC file does not exist as `read_fetch_failed`.
"""

from __future__ import annotations

import functools
import io
import json
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Iterator

import fsspec

from core.config import InputConfig
from core.errors import ConfigError, ShardError
from pipeline.read.records import PartialShard, RawRecord
from pipeline.read.warc import read_warc_stream

SCHEME = "ccindex://"
COLUMNS = ["url", "warc_filename", "warc_record_offset", "warc_record_length"]
FETCH_BATCH = 32  # ranges requested together: concurrent on async filesystems, memory <= 32 payloads
_GZIP_MAGIC = b"\x1f\x8b\x08"
_SHARD_RE = re.compile(r"^ccindex://(?P<file>.+)#rg=(?P<a>\d+)-(?P<b>\d+)&hits=(?P<s>\d+)-(?P<e>\d+)$")


def language_filter(languages: list[str], primary_only: bool):
    """The scan filter on `content_languages` (CC's comma-separated ISO-639-3 codes, primary first)."""
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    codes = "|".join(re.escape(code) for code in languages)
    pattern = f"^({codes})(,|$)" if primary_only else f"(^|,)({codes})(,|$)"
    return pc.match_substring_regex(ds.field("content_languages"), pattern)


def plan_shards(cfg: InputConfig, key: str = "input.paths") -> list[str]:
    """`ccindex://` shards covering every hit of the index in `cfg.paths`, `records_per_shard` hits each."""
    cc = cfg.cc_index
    options = json.dumps(cc.storage_options, sort_keys=True, default=str)
    return list(_plan(tuple(cfg.paths), tuple(cc.languages), cc.primary_only, cc.records_per_shard, options, key))


@functools.lru_cache(maxsize=8)
def _plan(paths: tuple, languages: tuple, primary_only: bool, per_shard: int, options_json: str,
          key: str) -> tuple[str, ...]:
    # Cached: the run asks the driver for the shard list more than once (the run, the line-dedup defaults).
    options = json.loads(options_json)
    files = index_files(list(paths), options, key)
    expr = language_filter(list(languages), primary_only)
    with ThreadPoolExecutor(max_workers=16) as pool:  # row-group counts are small reads: I/O bound
        counts = list(pool.map(lambda f: _hits_per_row_group(f, expr, options), files))
    shards = []
    for file, per_rg in zip(files, counts):
        for a, b, s, e in cut(per_rg, per_shard):
            shards.append(f"{SCHEME}{file}#rg={a}-{b}&hits={s}-{e}")
    return tuple(shards)


def index_files(paths: list[str], options: dict, key: str = "input.paths") -> list[str]:
    """The index's Parquet files, sorted: each entry of `paths` is a directory (searched recursively), a glob
    or a file. A directory or glob with no Parquet file is a ConfigError naming it."""
    out: list[str] = []
    for i, pat in enumerate(paths):
        fs, root = fsspec.core.url_to_fs(pat, **options)
        if any(c in pat for c in "*?["):
            found = fs.glob(root)
        elif fs.isdir(root):
            found = [p for p in fs.find(root) if p.endswith(".parquet")]
        else:
            found = [root]
        if not found:
            raise ConfigError(f"{key}[{i}]: {pat!r}: no index Parquet file there")
        out.extend(fs.unstrip_protocol(p) if "://" in pat else p for p in found)
    return sorted(dict.fromkeys(out))


def _fragment(file: str, options: dict, row_groups=None):
    import pyarrow.dataset as ds
    from pyarrow import fs as pafs

    fs, path = fsspec.core.url_to_fs(file, **options)
    return ds.ParquetFileFormat().make_fragment(path, filesystem=pafs.PyFileSystem(pafs.FSSpecHandler(fs)),
                                                row_groups=row_groups)


def _hits_per_row_group(file: str, expr, options: dict) -> list[int]:
    # split_by_row_group reads the footer once; the row-group fragments share it.
    return [part.count_rows(filter=expr) for part in _fragment(file, options).split_by_row_group()]


def cut(hits_per_row_group: list[int], per_shard: int) -> list[tuple[int, int, int, int]]:
    """Shards of at most `per_shard` hits as (first row group, end row group, first hit, end hit); hits are
    numbered from the first hit of the shard's first row group. Row groups without hits start no shard."""
    shards = []
    start_rg, skip, take = None, 0, 0
    for rg, count in enumerate(hits_per_row_group):
        pos = 0
        while pos < count:
            if start_rg is None:
                start_rg, skip = rg, pos
            n = min(per_shard - take, count - pos)
            take, pos = take + n, pos + n
            if take == per_shard:
                shards.append((start_rg, rg + 1, skip, skip + take))
                start_rg, take = None, 0
    if start_rg is not None:
        last = max(i for i, c in enumerate(hits_per_row_group) if c)
        shards.append((start_rg, last + 1, skip, skip + take))
    return shards


def parse_shard(shard: str) -> tuple[str, int, int, int, int]:
    m = _SHARD_RE.match(shard)
    if m is None:
        raise ShardError(f"not a cc_index shard: {shard}")
    return m["file"], int(m["a"]), int(m["b"]), int(m["s"]), int(m["e"])


def shard_hits(shard: str, cfg: InputConfig) -> list[dict]:
    """The shard's index rows (url, warc_filename, offset, length), in the order their records are read."""
    file, a, b, s, e = parse_shard(shard)
    cc = cfg.cc_index
    expr = language_filter(cc.languages, cc.primary_only)
    try:
        # One thread: the hits come in row order, as the plan counted them.
        table = _fragment(file, cc.storage_options, list(range(a, b))).to_table(columns=COLUMNS, filter=expr,
                                                                               use_threads=False)
        rows = table.slice(s, e - s).to_pylist()
    except (OSError, ValueError) as err:  # pyarrow's ArrowInvalid is a ValueError
        raise ShardError(f"{file}: cannot read the index: {type(err).__name__}: {err}") from None
    if len(rows) != e - s:
        raise ShardError(f"{shard}: the index holds {len(rows)} of the shard's {e - s} hits (was it changed?)")
    return sorted(rows, key=lambda r: (r["warc_filename"], r["warc_record_offset"]))


def read_cc_index_shard(shard: str, cfg: InputConfig) -> Iterator[RawRecord]:

    cc = cfg.cc_index
    hits = shard_hits(shard, cfg)
    fs, root = fsspec.core.url_to_fs(cc.warc_prefix, **cc.storage_options)
    root = root.rstrip("/")
    n = 0
    for i in range(0, len(hits), FETCH_BATCH):
        batch = hits[i : i + FETCH_BATCH]
        paths = [f"{root}/{h['warc_filename']}" for h in batch]
        starts = [h["warc_record_offset"] for h in batch]
        ends = [h["warc_record_offset"] + h["warc_record_length"] for h in batch]
        datas = fs.cat_ranges(paths, starts, ends, on_error="return")
        for hit, data in zip(batch, datas):
            if isinstance(data, FileNotFoundError):
                yield RawRecord(index=n, url=hit["url"], drop_reason="read_fetch_failed",
                                meta={"error": f"{hit['warc_filename']}: not found"})
                n += 1
                continue
            if isinstance(data, BaseException):  # what the filesystem's own retries did not overcome
                msg = f"{shard}: fetching {hit['warc_filename']} at {hit['warc_record_offset']}: {type(data).__name__}: {data}"
                # Nothing read yet: a plain ShardError leaves no marker, so the next run retries the shard.
                raise (PartialShard(msg, n) if n else ShardError(msg))
            got = 0
            label = f"{hit['warc_filename']}@{hit['warc_record_offset']}"
            error = None if data.startswith(_GZIP_MAGIC) else "the range does not start a gzip member"
            try:
                # The hit's record only: the reader would look for the next member after damage, and what it
                # found there would be another page.
                for rec in read_warc_stream(io.BytesIO(data), True, label, cfg, first=n) if error is None else ():
                    got += 1
                    yield rec
                    break
            except ShardError as err:  # PartialShard too: the damaged record was yielded before it
                error = err
            if got == 0:  # the range holds no record the reader could read: the hit still is a document
                yield RawRecord(index=n, url=hit["url"], drop_reason="read_corrupt_record",
                                meta={"error": f"{label}: {error or 'no record in the range'}"[:300]})
                got = 1
            n += got
