"""The WARC fast path (pipeline/read/warc_fast.py) reads every record exactly as warcio does, or leaves it to
warcio: each file here is read both ways and every field of every record compared, errors included."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import pytest

from core.config import InputConfig
from core.errors import ShardError
from pipeline.read import warc
from pipeline.read.gzmembers import GzipMembers, TruncatedInput
from pipeline.read.warc_fast import parse_member

ROOT = Path(__file__).resolve().parents[1]
KO = "서울특별시는 대한민국의 수도이며 한강을 끼고 있다. 인구는 약 천만 명이다."
HTML = f"<html><body><p>{KO}</p></body></html>".encode()


def record(uri: str = "http://ko.example/a", body: bytes = HTML, *, http: bytes | None = None,
           warc_type: str = "response", extra: bytes = b"", version: bytes = b"WARC/1.0",
           length_delta: int = 0, end: bytes = b"\r\n\r\n", sep: bytes = b"\r\n") -> bytes:
    if http is None:
        http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
    block = (http + body) if warc_type == "response" else body
    head = [version, b"WARC-Type: " + warc_type.encode(), b"WARC-Target-URI: " + uri.encode(),
            b"WARC-Date: 2026-01-01T00:00:00Z", b"WARC-Record-ID: <urn:uuid:" + uri.encode()[-12:] + b">",
            b"Content-Length: " + str(len(block) + length_delta).encode()]
    return sep.join(head) + sep + extra + sep + block + end


def chunked(data: bytes) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(data[i:i + 50]), data[i:i + 50]) for i in range(0, len(data), 50)) + b"0\r\n\r\n"


WARCINFO = record("", b"software: tests\r\n", warc_type="warcinfo").replace(b"WARC-Target-URI: \r\n", b"")
CASES = {
    "plain": [record()],
    "warc 1.1, request and warcinfo records": [WARCINFO, record(warc_type="request", body=b"GET / HTTP/1.1\r\n\r\n"),
                                               record(version=b"WARC/1.1")],
    "continuation header line": [record(extra=b"X-Note: a\r\n  b\r\n")],
    "bare LF in the WARC headers": [record(sep=b"\n")],
    "bare LF in the HTTP headers": [record(http=b"HTTP/1.1 200 OK\nContent-Type: text/html\n\n")],
    "gzip Content-Encoding": [record(body=gzip.compress(HTML),
                                     http=b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: gzip\r\n\r\n")],
    "unknown Content-Encoding": [record(http=b"HTTP/1.1 200 OK\r\nContent-Encoding: x-nothing\r\n\r\n")],
    "chunked": [record(body=chunked(HTML), http=b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")],
    "Content-Length short": [record(length_delta=-20), record("http://ko.example/b")],
    "Content-Length long": [record(length_delta=30), record("http://ko.example/b")],
    "no blank lines after the block": [record(end=b""), record("http://ko.example/b")],
    "extra blank lines after the block": [record(end=b"\r\n\r\n\r\n\n \r\n")],
    "text after the block": [record(end=b"\r\n\r\nnot a record\r\n"), record("http://ko.example/b")],
    "URI in angle brackets": [record("<http://ko.example/a>")],
    "URI with a space": [record("http://ko.example/a b")],
    "URI not http": [record("dns:ko.example")],
    "latin-1 header value": [record(extra=b"X-Name: caf\xe9\r\n")],
    "header without a colon": [record(extra=b"Broken header line\r\n")],
    "header names cased, spaced, repeated": [record(http=b"HTTP/1.1 200 OK\r\ncontent-TYPE  :  text/plain  \r\n"
                                                          b"Content-Type: text/html\r\n\r\n")],
    "whitespace-only header line": [record(extra=b"\x0c\r\n")],
    "status line only": [record(http=b"HTTP/1.1 200 OK\r\n\r\n")],
    "no HTTP headers at all": [record(http=b"<html>not http</html>\r\n\r\n")],
    "empty status line": [record(http=b"\r\nContent-Type: text/html\r\n\r\n")],
    "Content-Length 0": [record(body=b"", http=b"")],
    "Content-Length not a number": [record(extra=b"Content-Length: 12x\r\n").replace(b"Content-Length: ", b"X-L: ", 1)],
    "no Content-Length": [record().replace(b"Content-Length", b"X-Length", 1)],
    "missing URI on a response": [record().replace(b"WARC-Target-URI", b"X-URI", 1)],
    "resource and conversion records": [record(warc_type="resource"),
                                        record("http://ko.example/c", KO.encode() * 3, warc_type="conversion")],
    "not HTML": [record(http=b"HTTP/1.1 200 OK\r\nContent-Type: application/pdf\r\n\r\n")],
    "binary": [record(body=b"\x00\x01" * 100)],
    "no Hangul": [record(body=b"<p>" + b"English only. " * 50 + b"</p>")],
    "two records in one member": [record() + record("http://ko.example/b")],
    "payload over the limit": [record(body=b"<p>" + KO.encode() * 400 + b"</p>"), record("http://ko.example/b")],
    "empty member": [b"", record()],
    "not a WARC": [b"hello world\r\n\r\n"],
}


def write(path: Path, members: list[bytes], damage: str = "") -> Path:
    data = [gzip.compress(m) for m in members]
    if damage == "truncated":
        data[-1] = data[-1][: len(data[-1]) // 2]
    elif damage == "corrupt":
        bad = bytearray(data[0])
        bad[len(bad) // 2] ^= 0xFF
        bad[len(bad) // 2 + 1] ^= 0xFF
        data[0] = bytes(bad)
    path.write_bytes(b"".join(data))
    return path


def read_both(path: Path, **cfg) -> tuple[list, list]:
    out = []
    for fast in (True, False):
        warc.FAST = fast
        got = []
        try:
            for r in warc.read_warc(str(path), InputConfig(paths=[str(path)], **cfg)):
                got.append((r.index, r.url, r.html, r.text, r.charset_header, r.drop_reason, sorted(r.meta.items())))
        except ShardError as e:
            got.append((type(e).__name__, str(e), getattr(e, "records_read", None)))
        finally:
            warc.FAST = True
        out.append(got)
    return out[0], out[1]


@pytest.fixture
def fast_reads(monkeypatch):
    """How many members the fast path read itself."""
    count = {"n": 0}

    def counted(data):
        parsed = parse_member(data)
        count["n"] += parsed is not None
        return parsed

    monkeypatch.setattr(warc, "parse_member", counted)
    return count


@pytest.mark.parametrize("damage", ["", "truncated", "corrupt"])
@pytest.mark.parametrize("case", list(CASES))
def test_crafted_records_read_the_same_both_ways(tmp_path, case, damage):
    members = [WARCINFO] + CASES[case] + [record("http://ko.example/last")]
    path = write(tmp_path / "x.warc.gz", members, damage)
    fast, slow = read_both(path, prefilter_korean=True, max_payload_bytes=4000)
    assert fast == slow


@pytest.mark.parametrize("case", ["plain", "warc 1.1, request and warcinfo records", "URI not http",
                                  "header names cased, spaced, repeated", "status line only", "Content-Length 0",
                                  "resource and conversion records", "extra blank lines after the block"])
def test_well_formed_records_take_the_fast_path(tmp_path, case, fast_reads):
    members = [WARCINFO] + CASES[case]
    path = write(tmp_path / "x.warc.gz", members)
    fast, slow = read_both(path)
    assert fast == slow
    assert fast_reads["n"] == len(members)


@pytest.mark.parametrize("case", ["continuation header line", "bare LF in the WARC headers", "gzip Content-Encoding",
                                  "chunked", "Content-Length short", "URI with a space", "latin-1 header value",
                                  "two records in one member", "no HTTP headers at all"])
def test_unusual_records_are_left_to_warcio(tmp_path, case, fast_reads):
    path = write(tmp_path / "x.warc.gz", CASES[case])
    fast, slow = read_both(path)
    assert fast == slow
    assert fast_reads["n"] < len(CASES[case])


def test_gzip_and_chunked_payloads_are_undone(tmp_path):
    """The fast path must not hand on a payload warcio would have decoded."""
    for case in ("gzip Content-Encoding", "chunked"):
        fast, _ = read_both(write(tmp_path / "x.warc.gz", CASES[case]))
        assert fast[0][2] == HTML


@pytest.mark.parametrize("path", sorted((ROOT / "data/sample").glob("*.warc.gz")) + [ROOT / "tests/fixtures/sample.wet.gz"],
                         ids=lambda p: p.name)
def test_committed_shards_read_the_same_both_ways(path, fast_reads):
    fast, slow = read_both(path, prefilter_korean=True)
    assert fast == slow and len(fast) >= 3
    assert fast_reads["n"] > len(fast)  # every record took the fast path


def test_member_read_stops_at_the_cap_and_returns_the_error_after_the_data():
    big = gzip.compress(b"x" * 3_000_000)
    gz = GzipMembers(io.BytesIO(big + big[: len(big) // 2]))
    assert gz.next_member()
    data, whole, error = gz.read_member(1_000_000)
    assert not whole and error is None and 1_000_000 < len(data) <= 2_100_000
    data2, whole, error = gz.read_member(10_000_000)
    assert whole and error is None and len(data) + len(data2) == 3_000_000
    assert gz.next_member()
    data, whole, error = gz.read_member(10_000_000)
    assert not whole and isinstance(error, TruncatedInput) and 0 < len(data) < 3_000_000
