"""A fast path for the usual WARC record: one whole gzip member holding one well-formed record.

warcio parses a record's headers a line at a time through three layers of buffered readers, which costs
~0.1 ms a record: more than undoing the record's gzip, and most of what reading a Common Crawl WARC file costs
once the Korean pre-filter has turned the foreign pages away. `parse_member` parses the member's bytes with
a few splits instead, and says so only when the record is exactly what warcio would read the same way:

- the member starts with `WARC/1.0` or `WARC/1.1` and CRLF, every header line is `Name: value` (valid UTF-8,
  no continuation line, no bare LF), and the headers end with an empty line;
- a numeric Content-Length, the block exactly that long, nothing but whitespace after it in the member;
- a WARC-Target-URI that warcio would not rewrite (no `<...>`, no space);
- for an HTTP response, the HTTP headers obey the same rules and name no Content-Encoding or
  Transfer-Encoding (warcio undoes those).

Anything else returns None, and warc.py hands the same bytes to warcio: a damaged or unusual record is read
exactly as before. tests/test_warc_fast.py reads the fixtures, the sample and crafted edge cases both ways and
compares every field.
"""

from __future__ import annotations

_WARC_STARTS = (b"WARC/1.0\r\n", b"WARC/1.1\r\n")
_HTTP_RECORDS = ("response", "request", "revisit")  # the record types warcio parses HTTP headers for
_HTTP_SCHEMES = ("http:", "https:")


class Parsed:
    """What read_warc_stream needs of one record."""

    __slots__ = ("rec_type", "headers", "http_content_type", "has_http", "payload")

    def __init__(self, rec_type, headers, has_http, http_content_type, payload):
        self.rec_type, self.headers, self.has_http = rec_type, headers, has_http
        self.http_content_type, self.payload = http_content_type, payload


def _headers(block: bytes) -> dict | None:
    """`Name: value` lines (CRLF-separated, no terminator) as {lowercased name: first value}, or None when a
    line is one warcio reads differently from a plain split (continuation, blank, no colon, bare LF, not
    UTF-8)."""
    if b"\n" in block.replace(b"\r\n", b""):
        return None
    try:
        text = block.decode("utf-8")
    except UnicodeDecodeError:
        return None
    out: dict = {}
    for line in text.split("\r\n"):
        if not line.strip() or line[0] in " \t":
            return None
        name, sep, value = line.partition(":")
        if not sep:
            return None
        key = name.rstrip(" \t").lower()
        if key not in out:
            out[key] = value.strip()
    return out


def parse_member(data: bytes) -> Parsed | None:
    """The record in `data` (a whole decompressed gzip member), or None: let warcio read it."""
    if not data.startswith(_WARC_STARTS):
        return None
    end = data.find(b"\r\n\r\n", 10)
    if end < 0:
        return None
    headers = _headers(data[10:end]) if end > 10 else None
    if headers is None:
        return None
    length = headers.get("content-length")
    if length is None or not (length.isascii() and length.isdigit()):
        return None
    start, length = end + 4, int(length)
    stop = start + length
    if len(data) < stop or data[stop:].strip():
        return None  # a short record, a long one, or a second record in the member
    rec_type = headers.get("warc-type")
    uri = headers.get("warc-target-uri")
    if uri is not None and ((uri.startswith("<") and uri.endswith(">")) or " " in uri):
        return None
    block = data[start:stop]
    if rec_type in _HTTP_RECORDS and length and uri is None:
        return None  # warcio fails on it: let it
    if rec_type == "response" and length and uri.startswith(_HTTP_SCHEMES):
        if not block.startswith(b"HTTP/"):
            return None
        hend = block.find(b"\r\n\r\n")
        if hend < 0:
            return None
        status_end = block.find(b"\r\n", 0, hend + 2)
        status = block[:status_end]
        if not status.strip() or b"\n" in status:
            return None
        http = _headers(block[status_end + 2 : hend]) if status_end < hend else {}
        if http is None or "content-encoding" in http or "transfer-encoding" in http:
            return None
        return Parsed(rec_type, headers, True, http.get("content-type"), block[hend + 4 :])
    # A request or revisit record's HTTP headers are not read: neither is a document, and warcio (which does
    # not check them) reads either to its end whatever they hold.
    return Parsed(rec_type, headers, False, None, block)
