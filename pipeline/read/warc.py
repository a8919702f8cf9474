"""WARC and WET shards (one gzip member per record, as Common Crawl writes them, or uncompressed) as RawRecords.

`read_warc(path, cfg)` is what `pipeline.read.readers.read_shard` calls for the `warc` and `wet` formats. Damaged
records cost only themselves (see pipeline/read/readers.py); the gzip members are undone by `GzipMembers` (gzmembers.py), not
by warcio, so that a truncated or corrupt member is noticed and skipped.
"""

from __future__ import annotations

from typing import Iterator

from pipeline.read import feeds
from pipeline.read.gzmembers import CorruptGzip, GzipMembers, TruncatedInput
from pipeline.read.warc_fast import parse_member
from pipeline.read.charset import (PREFILTER_MIN_HANGUL, charset_from_content_type, decode_html, hangul_evidence,
                              sniff_bom, unescape_refs)
from core.config import InputConfig
from core.errors import ShardError
from pipeline.read.records import PartialShard, RawRecord, open_shard, scrub_surrogates

_HTML_TYPES = ("text/html", "application/xhtml+xml", "application/xml", "text/xml")
_DOCUMENT_TYPES = ("response", "conversion", "resource")  # the WARC record types that are documents


def read_warc(path: str, cfg: InputConfig) -> Iterator[RawRecord]:
    # gzip is undone here, not by warcio: warcio treats a truncated last member as a clean end of file and
    # the record in it would vanish uncounted. GzipMembers raises instead, and it ends the stream warcio sees
    # at each member's end, so a record with a wrong Content-Length cannot swallow the records after it.
    # zstd is undone by fsspec.
    is_gz = path.lower().endswith(".gz")
    fh = open_shard(path, None if is_gz else "infer")
    try:
        yield from read_warc_stream(fh, is_gz, path, cfg)
    finally:
        fh.close()


def read_warc_stream(fh, is_gz: bool, path: str, cfg: InputConfig, first: int = 0) -> Iterator[RawRecord]:
    """The records of an open WARC stream (`path` names it in errors), numbered from `first`. The caller
    closes `fh`. Raises ShardError when not even the first record can be read, PartialShard when the
    stream ends inside a record."""
    gz = GzipMembers(fh) if is_gz else None
    n = first
    stream = fh if gz is None else (gz if gz.next_member() else None)
    cap = cfg.max_payload_bytes + (1 << 16)  # a member read whole for the fast path: payload plus headers
    while stream is not None:
        if stream is gz and FAST:
            # A whole member at a time: most are one well-formed record, read without warcio. Any other
            # (damaged, long, unusual) goes to warcio as the same bytes, then the same error if one stopped
            # the read, so that it is read, and its damage counted, exactly as before.
            data, whole, error = gz.read_member(cap)
            parsed = parse_member(data) if whole else None
            if parsed is not None:
                rtype = parsed.rec_type
                if rtype in _DOCUMENT_TYPES:
                    rec = _document(n, parsed.headers.get)
                    n += 1
                    payload = parsed.payload if len(parsed.payload) <= cfg.max_payload_bytes else None
                    ctype = (parsed.http_content_type or "").lower() if parsed.has_http else ""
                    _classify(rec, rtype, payload, ctype, cfg.prefilter_korean)
                    yield rec
                stream = gz if gz.next_member() else None
                continue
            stream = _Segment(data, _RaiseOnce(gz, error) if error is not None else gz)
        it = _RecordIterator(stream, check_digests=False)
        if gz is not None:
            # The stream is already decompressed. warcio would try gzip on its first read, and a first read of
            # one byte (a member whose first deflate bytes end a 64 KiB input chunk) vanishes into that try.
            it.reader.decompressor = it.reader.decomp_type = None
        damage: BaseException | None = None
        damaged: RawRecord | None = None  # the document the damage costs (None: it hit a non-document record)
        tail = b""  # the damaged record's payload: records it swallowed are looked for in it
        for record in _guarded(it):
            if isinstance(record, BaseException):  # the record could not even be parsed
                if n == first and not (gz is not None and isinstance(record, TruncatedInput) and gz.resync()):
                    raise ShardError(f"{path}: not a readable WARC file: {type(record).__name__}: {record}") from None
                damage, damaged = record, RawRecord(index=n)
                n += 1
                break
            rtype = record.rec_type
            is_doc = rtype in _DOCUMENT_TYPES
            rec = None
            if is_doc:
                rec = _document(n, record.rec_headers.get_header)  # warcio's lookup ignores case
                n += 1
            try:
                payload = _read_limited(record.content_stream(), cfg.max_payload_bytes) if is_doc else None
                it.read_to_end()  # the blank lines after the record: a wrong Content-Length shows here
            except Exception as e:  # noqa: BLE001 - whatever one record does to warcio costs that record
                damage, damaged = e, rec
                break
            if it.bad_end or getattr(record.raw_stream, "limit", 0) > 0:
                short = getattr(record.raw_stream, "limit", 0) > 0
                damage = ContentLengthMismatch(
                    f"Content-Length {record.rec_headers.get_header('Content-Length')}: "
                    + ("the record ends before it" if short else "the record goes on after it"),
                    truncated=short and gz is None)
                damaged, tail = rec, payload or b""
                break
            if rec is not None:
                ctype = ""
                if record.http_headers is not None:
                    ctype = (record.http_headers.get_header("Content-Type") or "").lower()
                _classify(rec, rtype, payload, ctype, cfg.prefilter_korean)
                yield rec
        if damage is None:  # this stream ended cleanly: the next gzip member, or the end of the file
            stream = gz if gz is not None and gz.next_member() else None
            continue
        if isinstance(damage, TruncatedInput):
            # A damaged gzip member: go on at the next member that decompresses (the next record).
            stream = gz if gz is not None and gz.resync() and gz.next_member() else None
        else:
            # A wrong Content-Length or a record warcio cannot parse: go on at the next line that starts a
            # WARC record (in the damaged payload, where a too-large Content-Length hides the records it
            # swallowed, then after it), else at the next gzip member.
            stream = _scan_for_record(tail, it, stream)
            if stream is not None and isinstance(damage, ContentLengthMismatch):
                damage.truncated = False  # records follow: the file does not end inside this one
            if stream is None and gz is not None and gz.next_member():
                stream = gz
        # The damaged record is counted as a document dropped for it.
        if damaged is not None:
            damaged.drop_reason = _damage_reason(damage)
            damaged.meta["error"] = f"{type(damage).__name__}: {damage}"[:300]
            yield damaged
        if stream is None and (isinstance(damage, TruncatedInput) or getattr(damage, "truncated", False)):
            raise PartialShard(f"{path}: stopped after {n} records: {type(damage).__name__}: {damage}", n) from None


def _document(index: int, header) -> RawRecord:
    """A document record from its WARC headers; `header(lowercased name)` gives a header's value or None."""
    rec = RawRecord(index=index, url=scrub_surrogates(header("warc-target-uri")))
    rec.meta["warc_record_id"] = header("warc-record-id")
    rec.meta["warc_date"] = header("warc-date")
    return rec


def _guarded(it) -> Iterator:
    """The iterator's records, then the exception that stopped it (if any) as the last item."""
    while True:
        try:
            yield next(it)
        except StopIteration:
            return
        except Exception as e:  # noqa: BLE001 - ArchiveLoadFailed, a gzip error, a header warcio trips on
            yield e
            return


def _classify(rec: RawRecord, rtype: str, payload: bytes | None, ctype: str, prefilter_korean: bool) -> None:
    """Set the record's text or HTML, or its drop reason. `ctype`: the HTTP Content-Type, lowercased."""
    if payload is None:
        rec.drop_reason = "read_too_large"
        return
    if not payload.strip():
        rec.drop_reason = "read_empty_payload"
        return
    if rtype == "conversion":  # WET: plain UTF-8 text already extracted by Common Crawl
        if prefilter_korean and hangul_evidence(payload, PREFILTER_MIN_HANGUL) < PREFILTER_MIN_HANGUL:
            rec.drop_reason = "read_no_hangul"
            return
        rec.text = unescape_refs(payload.decode("utf-8", errors="replace"))
        return
    mime = ctype.split(";")[0].strip()
    # A UTF-16/32 page is full of zero bytes: its byte order mark says it is text, not binary.
    if b"\x00" in payload[:4096] and not sniff_bom(payload):
        rec.drop_reason = "read_binary_payload"
    elif mime and mime not in _HTML_TYPES and mime not in feeds.FEED_TYPES:
        rec.drop_reason = "read_not_html"
        rec.meta["content_type"] = mime
    elif prefilter_korean and hangul_evidence(payload, PREFILTER_MIN_HANGUL) < PREFILTER_MIN_HANGUL:
        # Before decoding, extraction and every step. After the content type, which costs less than a look
        # at the bytes (a PDF is not scanned) and keeps its own reason.
        rec.drop_reason = "read_no_hangul"
    elif mime in feeds.FEED_TYPES or feeds.feed_kind(payload):
        _read_feed(rec, payload, ctype)
    else:
        rec.html = payload
        rec.charset_header = charset_from_content_type(ctype)


def _read_feed(rec: RawRecord, payload: bytes, ctype: str) -> None:
    """A feed is one document: its items as text (pipeline/read/feeds.py), decoded here like a page."""
    decoded, charset, _clean = decode_html(payload, charset_from_content_type(ctype))
    rec.meta["charset"] = charset
    rec.meta["feed"] = feeds.feed_kind(payload) or "unknown"
    try:
        rec.text = feeds.feed_text(decoded)
    except (ValueError, RuntimeError, RecursionError) as e:  # resiliparse on an item's HTML
        rec.drop_reason, rec.meta["error"] = "read_invalid_feed", f"{type(e).__name__}: {e}"[:300]


class ContentLengthMismatch(ValueError):
    """A record's Content-Length does not match where the record ends; `truncated`: the file ends inside it."""

    def __init__(self, msg: str, truncated: bool):
        super().__init__(msg)
        self.truncated = truncated


def _damage_reason(e: BaseException) -> str:
    if isinstance(e, ContentLengthMismatch):
        return "read_truncated_record" if e.truncated else "read_corrupt_record"
    if isinstance(e, TruncatedInput) and not isinstance(e, CorruptGzip):
        return "read_truncated_record"
    return "read_corrupt_record"


def _record_iterator_class():
    from warcio.archiveiterator import ArchiveIterator

    class RecordIterator(ArchiveIterator):
        """warcio's iterator, which notes (instead of printing to stderr and reading on) a record that is not
        followed by a blank line: its Content-Length is wrong, and what follows is not the next record."""

        bad_end = False

        def _consume_blanklines(self):
            line = self.reader.readline(1 << 16)
            if line.strip() and not line.startswith(b"WARC/"):
                self.bad_end = True
                return line, 0
            empty = 0
            while line and not line.strip():
                empty += len(line)
                line = self.reader.readline(1 << 16)
            return (line or None), empty

    return RecordIterator


def _RecordIterator(stream, **kw):  # noqa: N802 - a class built on first use, so warcio loads lazily
    global _RECORD_ITERATOR
    if _RECORD_ITERATOR is None:
        _RECORD_ITERATOR = _record_iterator_class()
    return _RECORD_ITERATOR(stream, **kw)


_RECORD_ITERATOR = None
FAST = True  # pipeline/read/warc_fast.py for the usual record; tests turn it off to compare


class _RaiseOnce:
    """`base`, whose next read raises `error` (once): a member's damage, replayed after its bytes."""

    def __init__(self, base, error: BaseException):
        self.base, self.error = base, error

    def read(self, size: int = -1) -> bytes:
        if self.error is not None:
            error, self.error = self.error, None
            raise error
        return self.base.read(size)


_WARC_LINE = b"WARC/1."


class _Segment:
    """A read-only stream: `head`, then the rest of `base`."""

    def __init__(self, head: bytes, base):
        self.head, self.pos, self.base = head, 0, base

    def read(self, size: int = -1) -> bytes:
        if self.pos < len(self.head):
            if size is None or size < 0:
                out, self.pos = self.head[self.pos:] + self.base.read(), len(self.head)
                return out
            out = self.head[self.pos : self.pos + size]
            self.pos += len(out)
            return out
        return self.base.read(size)

    def unread(self) -> bytes:
        return self.head[self.pos :]

    def close(self) -> None:
        pass


def _scan_for_record(tail: bytes, it, stream) -> _Segment | None:
    """A stream that starts at the next line beginning with `WARC/1.`: first in `tail` (a damaged payload),
    then in what the abandoned iterator `it` had not parsed yet. None when the stream ends first. Memory is
    bounded: the bytes skipped are read in 64 KiB chunks and dropped."""
    reader = it.reader
    buffered = reader.read(reader.rem_length()) if reader is not None and reader.rem_length() else b""
    if isinstance(stream, _Segment):  # flatten: one level however many records were damaged
        base, rest = stream.base, stream.unread()
    else:
        base, rest = stream, b""
    pending = (it.next_line or b"") if it.bad_end else b""
    i = tail.find(b"\n" + _WARC_LINE)
    if i >= 0:
        return _Segment(tail[i + 1 :] + pending + buffered + rest, base)
    buf = pending + buffered + rest
    at_line_start = True
    while True:
        if at_line_start and buf.startswith(_WARC_LINE):
            return _Segment(buf, base)
        i = buf.find(b"\n" + _WARC_LINE)
        if i >= 0:
            return _Segment(buf[i + 1 :], base)
        chunk = base.read(1 << 16)
        if not chunk:
            return None
        buf, at_line_start = buf[-len(_WARC_LINE) :] + chunk, False


def _read_limited(stream, limit: int) -> bytes | None:
    """Read at most `limit` bytes; None if the payload is larger (the rest is skipped, not buffered)."""
    buf = stream.read(limit + 1)
    if len(buf) > limit:
        while stream.read(1 << 20):
            pass
        return None
    return buf

