"""Read input shards into raw records: WARC (response records), WET (conversion records), JSONL, Parquet.

`read_shard(path, cfg)` yields `RawRecord`s: either a payload to extract (HTML bytes or plain text) or a record
that already failed (`drop_reason` set: `read_not_html`, `read_binary_payload`, `read_empty_payload`,
`read_too_large`, `read_invalid_json`, `read_no_text`, `read_invalid_feed`, `read_corrupt_record`,
`read_truncated_record`). Every record that reaches the reader becomes a document that is accounted for;
only records that are not documents at all (warcinfo, request, metadata) are skipped. A shard that cannot be opened -- missing, or not a regular
file (a FIFO or /dev/zero would hang or never end) -- raises ShardError; one that breaks part-way (truncated
gzip) yields what it could read and then raises PartialShard.

Damaged WARC records cost only themselves. In a WARC with one gzip member per record (Common Crawl's layout)
warcio sees one member at a time, so after a damaged member, or a record whose Content-Length is wrong, the
reader goes on at the next member; in an uncompressed WARC it goes on at the next line that starts a
`WARC/1.` record. The damaged record is a document dropped as `read_corrupt_record` (`read_truncated_record`
when the file ends inside it).

Memory is bounded by `input.max_payload_bytes`: a larger payload, or a JSONL line longer than it, is
skipped in chunks and dropped as `read_too_large`. Text leaves the reader as valid Unicode: lone surrogates
(from JSON `\\ud800` escapes) become U+FFFD, invalid UTF-8 in a Parquet string column is replaced.

Feeds (RSS, Atom, RDF; by content type or by their root element) are decoded here and become text
documents, their items one paragraph each (pipeline/feeds.py); `read_invalid_feed` if that fails. Character
references in text read as text (WET, JSONL, Parquet, feeds) are decoded (`unescape_refs`).

Paths are local paths or fsspec URLs. WARC handles its own per-record gzip; `.zst` and `.gz` on other formats
are decompressed by fsspec. Charset decoding (byte order marks, header and meta charsets, the detector) lives
in `decode_html`.
"""

from __future__ import annotations

import codecs
import functools
import io
import json
import os
import re
import stat
import zlib
from dataclasses import dataclass, field
from typing import Iterator

import fsspec

from pipeline import feeds
from pipeline.config import InputConfig, is_remote
from pipeline.errors import ShardError


@dataclass(slots=True)
class RawRecord:
    index: int  # position in the shard, among records that are documents
    url: str | None = None
    html: bytes | None = None  # WARC payload, to decode and extract
    text: str | None = None  # WET/JSONL/Parquet text, already extracted
    charset_header: str | None = None
    drop_reason: str | None = None
    meta: dict = field(default_factory=dict)


class PartialShard(ShardError):
    """The shard broke after some records were read; those records are still processed."""

    def __init__(self, msg: str, records_read: int):
        super().__init__(msg)
        self.records_read = records_read


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
    reader = {"warc": _read_warc, "wet": _read_warc, "jsonl": _read_jsonl, "parquet": _read_parquet}[fmt]
    yield from reader(path, cfg)


def _open(path: str, compression: str | None = "infer"):
    if not is_remote(path):
        local = path[len("file://"):] if path.startswith("file://") else path
        try:
            st = os.stat(local)
        except FileNotFoundError:
            raise ShardError(f"shard not found: {path}") from None
        except (OSError, ValueError) as e:
            raise ShardError(f"shard cannot be opened: {path}: {e}") from None
        if not stat.S_ISREG(st.st_mode):  # /dev/zero never ends, a FIFO blocks: neither is a shard
            raise ShardError(f"{path}: not a regular file")
    try:
        return fsspec.open(path, "rb", compression=compression).open()
    except FileNotFoundError:
        raise ShardError(f"shard not found: {path}") from None
    except (OSError, ValueError) as e:
        raise ShardError(f"shard cannot be opened: {path}: {e}") from None


# --- WARC / WET -------------------------------------------------------------------------------------------

_HTML_TYPES = ("text/html", "application/xhtml+xml", "application/xml", "text/xml")


def _read_warc(path: str, cfg: InputConfig) -> Iterator[RawRecord]:
    # gzip is undone here, not by warcio: warcio treats a truncated last member as a clean end of file and
    # the record in it would vanish uncounted. _GzipMembers raises instead, and it ends the stream warcio sees
    # at each member's end, so a record with a wrong Content-Length cannot swallow the records after it.
    # zstd is undone by fsspec.
    is_gz = path.lower().endswith(".gz")
    fh = _open(path, None if is_gz else "infer")
    gz = _GzipMembers(fh) if is_gz else None
    n = 0
    try:
        stream = fh if gz is None else (gz if gz.next_member() else None)
        while stream is not None:
            it = _RecordIterator(stream, check_digests=False)
            damage: BaseException | None = None
            damaged: RawRecord | None = None  # the document the damage costs (None: it hit a non-document record)
            tail = b""  # the damaged record's payload: records it swallowed are looked for in it
            for record in _guarded(it):
                if isinstance(record, BaseException):  # the record could not even be parsed
                    if n == 0 and not (gz is not None and isinstance(record, TruncatedInput) and gz.resync()):
                        raise ShardError(f"{path}: not a readable WARC file: {type(record).__name__}: {record}") from None
                    damage, damaged = record, RawRecord(index=n)
                    n += 1
                    break
                rtype = record.rec_type
                is_doc = rtype in ("response", "conversion", "resource")
                rec = None
                if is_doc:
                    rec = RawRecord(index=n, url=_scrub(record.rec_headers.get_header("WARC-Target-URI")))
                    n += 1
                    rec.meta["warc_record_id"] = record.rec_headers.get_header("WARC-Record-ID")
                    rec.meta["warc_date"] = record.rec_headers.get_header("WARC-Date")
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
                    _classify(rec, record, rtype, payload)
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
    finally:
        fh.close()


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


def _classify(rec: RawRecord, record, rtype: str, payload: bytes | None) -> None:
    """Set the record's text or HTML, or its drop reason."""
    if payload is None:
        rec.drop_reason = "read_too_large"
        return
    if not payload.strip():
        rec.drop_reason = "read_empty_payload"
        return
    if rtype == "conversion":  # WET: plain UTF-8 text already extracted by Common Crawl
        rec.text = unescape_refs(payload.decode("utf-8", errors="replace"))
        return
    ctype = ""
    if record.http_headers is not None:
        ctype = (record.http_headers.get_header("Content-Type") or "").lower()
    mime = ctype.split(";")[0].strip()
    # A UTF-16/32 page is full of zero bytes: its byte order mark says it is text, not binary.
    if b"\x00" in payload[:4096] and not sniff_bom(payload):
        rec.drop_reason = "read_binary_payload"
    elif mime in feeds.FEED_TYPES or (mime in _HTML_TYPES or not mime) and feeds.feed_kind(payload):
        _read_feed(rec, payload, ctype)
    elif mime and mime not in _HTML_TYPES:
        rec.drop_reason = "read_not_html"
        rec.meta["content_type"] = mime
    else:
        rec.html = payload
        rec.charset_header = _charset_from_content_type(ctype)


def _read_feed(rec: RawRecord, payload: bytes, ctype: str) -> None:
    """A feed is one document: its items as text (pipeline/feeds.py), decoded here like a page."""
    decoded, charset, _clean = decode_html(payload, _charset_from_content_type(ctype))
    rec.meta["charset"] = charset
    rec.meta["feed"] = feeds.feed_kind(payload) or "unknown"
    try:
        rec.text = feeds.feed_text(decoded)
    except (ValueError, RuntimeError, RecursionError) as e:  # resiliparse on an item's HTML
        rec.drop_reason, rec.meta["error"] = "read_invalid_feed", f"{type(e).__name__}: {e}"[:300]


class TruncatedInput(OSError):
    """The gzip stream ends inside a member (the file was cut short)."""


class CorruptGzip(TruncatedInput):
    """A gzip member fails to decompress (bad deflate data or CRC); later members may still be intact."""


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


_GZIP_MAGIC = b"\x1f\x8b\x08"  # ID1, ID2, CM=deflate: how every gzip member starts (RFC 1952)


_GZIP_OUT = 1 << 20  # decompressed bytes held at most: a gzip bomb costs time, never memory


class _GzipMembers(io.RawIOBase):
    """Multi-member gzip reader, one member at a time: reading returns the current member's bytes and then
    b"" (its end); `next_member()` goes on to the next. A truncated or corrupt stream is reported as
    TruncatedInput (an OSError) only after every byte before the damage was returned -- never as the EOFError
    that warcio takes for the normal end of an archive -- so records before the damage are still read and
    counted. After a CorruptGzip, `resync()` skips to the next member header so that the records after the
    damage are read too. Output is decompressed at most 1 MiB at a time."""

    def __init__(self, raw):
        self._raw = raw
        self._in = b""  # compressed bytes read but not yet decompressed
        self._d = None  # the current member's decompressor; None at a member's end
        self._at_head = False  # `_in` starts with the current member's own header
        self._damaged = False  # a CorruptGzip was raised: `_in` holds the data it was raised on
        self._resynced = False
        self._out, self._off = b"", 0  # decompressed bytes not yet returned (at most _GZIP_OUT)

    def readable(self) -> bool:
        return True

    def _more(self) -> bool:
        chunk = self._raw.read(1 << 16)
        if chunk:
            self._in = self._in + chunk if self._in else chunk
        return bool(chunk)

    def next_member(self) -> bool:
        """Start the next member; False at the end of the input."""
        if self._damaged:
            raise RuntimeError("next_member() after a CorruptGzip without resync()")
        self._resynced = False
        while not self._in:
            if not self._more():
                return False
        self._d, self._at_head = zlib.decompressobj(16 + zlib.MAX_WBITS), True
        return True

    def readinto(self, b) -> int:
        if self._off < len(self._out):
            n = min(len(b), len(self._out) - self._off)
            b[:n] = self._out[self._off : self._off + n]
            self._off += n
            return n
        d = self._d
        if d is None or not len(b):
            return 0
        while True:
            if not self._in and not self._more():
                self._d = None
                raise TruncatedInput("truncated gzip: the last member ends before its end marker")
            try:
                out = d.decompress(self._in, _GZIP_OUT)
            except zlib.error as e:
                self._d, self._damaged = None, True
                raise CorruptGzip(f"corrupt gzip data: {e}") from None
            self._at_head = False
            if d.eof:
                self._in, self._d = d.unused_data, None
            else:
                self._in = d.unconsumed_tail
            if out:
                self._out, self._off = out, 0
                return self.readinto(b)
            if self._d is None:
                return 0

    def resync(self) -> bool:
        """After a CorruptGzip: position at the next member header from which data decompresses (then call
        `next_member()`). False at the end of input, and after a plain truncation, which has nothing after
        it. True again if called twice."""
        if self._resynced:
            return True
        if not self._damaged:
            return False
        self._damaged = False
        data, start = self._in, (1 if self._at_head else 0)
        while True:
            i = data.find(_GZIP_MAGIC, start)
            if i < 0:
                chunk = self._raw.read(1 << 16)
                if not chunk:
                    self._in = b""
                    return False
                # Keep two bytes: a header split across the chunk boundary is still found.
                data, start = data[-2:] + chunk, 0
                continue
            if len(data) - i < 64:  # too few bytes to try: read on first
                chunk = self._raw.read(1 << 16)
                if chunk:
                    data += chunk
                    continue
            try:  # three bytes that only look like a header, inside the damaged data, fail at once
                zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data[i:], 64)
            except zlib.error:
                start = i + 1
                continue
            self._in, self._resynced = data[i:], True
            return True

    def close(self) -> None:
        self._raw.close()
        super().close()


def _read_limited(stream, limit: int) -> bytes | None:
    """Read at most `limit` bytes; None if the payload is larger (the rest is skipped, not buffered)."""
    buf = stream.read(limit + 1)
    if len(buf) > limit:
        while stream.read(1 << 20):
            pass
        return None
    return buf


_CHARSET_RE = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-:.]+)""", re.I)
# An XML declaration's encoding= is a feed's (or an XHTML page's) meta charset.
_XML_ENCODING_RE = re.compile(rb"""^\s*<\?xml[^>]+encoding\s*=\s*["']\s*([A-Za-z0-9_\-:.]+)""", re.I)


def _charset_from_content_type(ctype: str) -> str | None:
    m = re.search(r"charset\s*=\s*[\"']?([A-Za-z0-9_\-:.]+)", ctype, re.I)
    return m.group(1).lower() if m else None


# Korean legacy names all decode as cp949 (a superset of EUC-KR: it also has the 8,822 extra syllables that
# real "euc-kr" pages use). Python's euc_kr codec would fail on those.
_ALIASES = {"euc-kr": "cp949", "euc_kr": "cp949", "euckr": "cp949", "ks_c_5601-1987": "cp949",
            "ks_c_5601": "cp949", "ksc5601": "cp949", "x-windows-949": "cp949", "windows-949": "cp949",
            "uhc": "cp949", "utf8": "utf-8", "unicode": "utf-8"}
# Labels that name a Python codec but never a page's charset: they raise on any input (undefined), turn
# backslash escapes into lone surrogates (unicode_escape), or are not ASCII-compatible, which a label inside
# the page cannot be (UTF-16/32 without a byte order mark: a page in them is sniffed by its BOM instead).
_REFUSED = {"undefined", "unicode-escape", "raw-unicode-escape", "idna", "punycode", "utf-7", "utf-16",
            "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be", "mbcs", "oem"}


@functools.lru_cache(maxsize=256)
def _norm_charset(name: str | None) -> str | None:
    """A decodable charset for a label from a header or the page, or None for an unknown or unusable one."""
    if not name:
        return None
    name = name.strip().lower()
    name = _ALIASES.get(name, name)
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError):  # ValueError: a label with a NUL in it
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name in _REFUSED:
        return None  # base64, zlib, rot13 ... are codecs, not charsets
    return name


_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe\x00\x00", "utf-32-le"), (b"\x00\x00\xfe\xff", "utf-32-be"),
         (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))  # UTF-32 LE first: it begins like UTF-16 LE


def sniff_bom(payload: bytes) -> tuple[str, int] | None:
    """(charset, BOM length) when the payload starts with a byte order mark. A BOM outranks every declared
    charset (the HTML standard's encoding sniffing does the same)."""
    for bom, cs in _BOMS:
        if payload.startswith(bom):
            return cs, len(bom)
    return None


_HANGUL = re.compile("[\uac00-\ud7a3]")


def decode_html(payload: bytes, header_charset: str | None) -> tuple[str, str, bool]:
    """Decode an HTML (or XML) payload. Returns (text, charset used, clean) — clean is False when bytes were
    replaced. Never raises, whatever the bytes and the charset label.

    Order: a byte order mark, then the HTTP header charset, then <meta charset> (or the XML declaration's
    encoding), then UTF-8, then charset-normalizer's guess. A declared charset that fails to decode strictly is
    not trusted (a wrong header is common); the next is tried. A header charset other than UTF-8 that decodes
    (a single-byte one always does) but yields no Hangul from a non-ASCII page is checked against the others:
    the meta charset, UTF-8 and, when the meta charset contradicts the header or the header is a single-byte
    charset, the detector; the first that decodes strictly and yields Hangul wins (a UTF-8 or EUC-KR page
    served as iso-8859-1). The common case -- a header
    that says UTF-8 and decodes -- costs one decode, as before.
    """
    bom = sniff_bom(payload)
    if bom is not None:
        cs, skip = bom
        try:
            return payload[skip:].decode(cs), cs, True
        except UnicodeError:
            return payload[skip:].decode(cs, errors="replace"), cs, False
    header = _norm_charset(header_charset)
    meta = _meta_charset(payload)
    candidates: list[str] = []
    for cs in (header, meta, "utf-8"):
        if cs and cs not in candidates:
            candidates.append(cs)
    for cs in candidates:
        try:
            text = payload.decode(cs)
        except (UnicodeError, LookupError):  # UnicodeError: codecs such as "undefined" raise it, not a subclass
            continue
        if cs == header and cs != "utf-8" and not _HANGUL.search(text) and not payload.isascii():
            # The detector is slow (milliseconds): asked only when the page contradicts its header, or when
            # the header is a single-byte charset, whose decoding never fails and so proves nothing.
            better = _hangul_decoding(payload, [c for c in candidates if c != cs],
                                      detector=bool(meta and meta != cs) or _single_byte(cs))
            if better is not None:
                return better
        return text, cs, True
    guess = _detect(payload)
    if guess is not None:
        try:
            return payload.decode(guess), guess, True
        except (UnicodeError, LookupError):
            return payload.decode(guess, errors="replace"), guess, False
    return payload.decode("utf-8", errors="replace"), "utf-8", False


@functools.lru_cache(maxsize=64)
def _single_byte(charset: str) -> bool:
    """Every byte decodes to one character (iso-8859-*, windows-125*, koi8-r ...): any bytes decode."""
    try:
        return len(bytes(range(256)).decode(charset)) == 256
    except (UnicodeError, LookupError):
        return False


def _hangul_decoding(payload: bytes, charsets: list[str], detector: bool) -> tuple[str, str, bool] | None:
    """The first of `charsets` (then the detector's guess) that decodes strictly and yields Hangul."""
    if detector:
        charsets = charsets + [cs for cs in [_detect(payload)] if cs and cs not in charsets]
    for cs in charsets:
        try:
            text = payload.decode(cs)
        except (UnicodeError, LookupError):
            continue
        if _HANGUL.search(text):
            return text, cs, True
    return None


def _detect(payload: bytes) -> str | None:
    from charset_normalizer import from_bytes

    try:
        best = from_bytes(payload[:200_000]).best()
    except Exception:  # noqa: BLE001 - a detector failure only means no guess
        return None
    return _norm_charset(best.encoding) if best is not None else None


def _meta_charset(payload: bytes) -> str | None:
    head = payload[:4096]
    m = _XML_ENCODING_RE.match(head) or _CHARSET_RE.search(head)
    if not m:
        return None
    cs = _norm_charset(m.group(1).decode("ascii", "ignore"))
    return cs


_CHAR_REF = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")


def unescape_refs(text: str) -> str:
    """Numeric and named character references (`&#54633;`, `&#xD55C;`, `&amp;`) as characters: a page in a
    legacy charset writes what the charset lacks as a reference, and text read as text (WET, JSONL, Parquet)
    still carries them. References to surrogates or NUL come out as U+FFFD (html.unescape follows the HTML
    standard); text without a reference is returned as is, after one search."""
    if "&" not in text or not _CHAR_REF.search(text):
        return text
    import html

    return html.unescape(text)


_SURROGATE = re.compile("[\ud800-\udfff]")


def _scrub(s: str | None) -> str | None:
    """`s` with lone surrogates (which JSON's \\ud800 escapes can produce, and which UTF-8 cannot encode)
    replaced by U+FFFD; `s` itself when it has none."""
    if s is None or s.isascii():
        return s
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", s)
    return s


# --- JSONL / Parquet --------------------------------------------------------------------------------------


def _read_jsonl(path: str, cfg: InputConfig) -> Iterator[RawRecord]:
    fh = _open(path)
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

    fh = _open(path, compression=None)
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
    rec.url = (_scrub(url) if scrub else url) if isinstance(url, str) else None
    if row.get(cfg.id_key) is not None:
        rec.meta["source_id"] = _scrub(str(row[cfg.id_key])) if scrub else str(row[cfg.id_key])
    if not isinstance(text, str):
        rec.drop_reason = "read_no_text"
    elif not text.strip():
        rec.drop_reason = "read_empty_payload"
    elif len(text) > cfg.max_payload_bytes:
        rec.drop_reason = "read_too_large"
    else:
        rec.text = unescape_refs(_scrub(text) if scrub else text)
