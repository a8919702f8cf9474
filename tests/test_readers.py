"""Readers and decoding: every format, legacy Korean charsets, and each kind of broken input."""

from __future__ import annotations

import gzip
import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard

from core.config import InputConfig
from core.errors import ShardError
from pipeline.read.charset import decode_html
from pipeline.read.readers import read_shard
from pipeline.read.records import PartialShard
from warcgen import gzip_members, html_page, write_warc

KO = ["대한민국의 수도는 서울이며, 서울은 한강을 끼고 있는 도시이다.", "조선 시대에는 한양이라고 불렸다."]


def cfg(**kw) -> InputConfig:
    return InputConfig(paths=["x"], **kw)


def test_decode_euc_kr_from_http_header():
    body = html_page("서울", KO).encode("cp949")
    text, cs, clean = decode_html(body, "euc-kr")
    assert "한강을 끼고" in text and cs == "cp949" and clean


def test_decode_cp949_only_extension_syllables():
    # 똠 and 햏 are outside EUC-KR's 2,350 syllables but inside CP949: Python's euc_kr codec fails on them.
    body = html_page("똠방각하", ["햏자 똠양꿍"]).encode("cp949")
    with pytest.raises(UnicodeDecodeError):
        body.decode("euc_kr")
    text, cs, clean = decode_html(body, "EUC-KR")
    assert "햏자 똠양꿍" in text and clean


def test_decode_meta_charset_only():
    body = html_page("서울", KO, charset_meta="euc-kr").encode("cp949")
    text, cs, _ = decode_html(body, None)
    assert "한양이라고" in text and cs == "cp949"


def test_decode_wrong_header_charset_falls_back():
    body = html_page("서울", KO).encode("cp949")  # declared utf-8, really cp949, no meta
    text, cs, _ = decode_html(body, "utf-8")
    assert "한양이라고" in text


def test_decode_no_declaration_detects():
    body = html_page("서울", KO * 5).encode("cp949")
    text, cs, _ = decode_html(body, None)
    assert "한양이라고" in text


def test_decode_invalid_utf8_is_replaced_not_raised():
    body = html_page("서울", KO).encode("utf-8") + b"\xff\xfe\xfa broken"
    text, _, _ = decode_html(body, "utf-8")
    assert "한강" in text


def test_warc_kinds_of_records(tmp_path):
    big = "<html><body>" + "가" * 6_000_000 + "</body></html>"
    path = write_warc(tmp_path / "a.warc.gz", [
        {"url": "http://x/1", "body": html_page("서울", KO)},
        {"url": "http://x/2", "body": b""},
        {"url": "http://x/3", "body": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "content_type": "image/png"},
        {"url": "http://x/4", "body": "%PDF-1.4 plain", "content_type": "application/pdf"},
        {"url": "http://x/5", "body": big},
    ])
    recs = list(read_shard(str(path), cfg()))
    assert [r.url for r in recs] == [f"http://x/{i}" for i in range(1, 6)]  # warcinfo is not a document
    assert [r.drop_reason for r in recs] == [None, "read_empty_payload", "read_binary_payload", "read_not_html",
                                              "read_too_large"]
    assert b"\xea\xb0\x80" not in (recs[4].html or b"")  # the 10 MB page was skipped, not buffered


def test_warc_truncated_gzip_keeps_records_before(tmp_path):
    path = write_warc(tmp_path / "t.warc.gz", [{"url": f"http://x/{i}", "body": html_page("서울", KO)} for i in range(5)])
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 200])  # cut into the last gzip member
    got = []
    with pytest.raises(PartialShard):
        for r in read_shard(str(path), cfg()):
            got.append(r)
    assert [r.drop_reason for r in got] == [None, None, None, None, "read_truncated_record"]


def test_warc_wrong_content_length(tmp_path):
    path = write_warc(tmp_path / "c.warc.gz", [{"url": f"http://x/{i}", "body": html_page("서울", KO)} for i in range(3)])
    # Rewrite the second record with a Content-Length larger than its payload.
    members, data, pos = [], path.read_bytes(), 0
    d = gzip_members(data)
    raw = gzip.decompress(d[2])
    raw = raw.replace(b"Content-Length: ", b"Content-Length: 9", 1)
    d[2] = gzip.compress(raw)
    path.write_bytes(b"".join(d))
    got = list(read_shard(str(path), cfg()))  # the shard is not partial: the next gzip member is the next record
    assert [r.drop_reason for r in got] == [None, "read_corrupt_record", None]


def test_missing_shard_is_a_shard_error(tmp_path):
    with pytest.raises(ShardError, match="not found"):
        list(read_shard(str(tmp_path / "nope.warc.gz"), cfg()))


def test_jsonl_gz_and_zst_with_a_bad_line(tmp_path):
    lines = [json.dumps({"id": "a", "text": "서울은 한국의 수도이다.", "url": "http://a"}, ensure_ascii=False),
             "{not json", json.dumps({"id": "b", "text": "  "}), json.dumps({"id": "c", "text": "부산은 항구 도시이다."})]
    raw = ("\n".join(lines) + "\n").encode()
    (tmp_path / "d.jsonl.gz").write_bytes(gzip.compress(raw))
    (tmp_path / "d.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(raw))
    for name in ("d.jsonl.gz", "d.jsonl.zst"):
        recs = list(read_shard(str(tmp_path / name), cfg()))
        assert [r.drop_reason for r in recs] == [None, "read_invalid_json", "read_empty_payload", None]
        assert recs[0].text == "서울은 한국의 수도이다." and recs[0].url == "http://a"


def test_parquet_and_wrong_text_key(tmp_path):
    t = pa.table({"id": ["1", "2"], "content": ["첫 문서이다.", "둘째 문서이다."]})
    pq.write_table(t, tmp_path / "d.parquet")
    recs = list(read_shard(str(tmp_path / "d.parquet"), cfg(text_key="content")))
    assert [r.text for r in recs] == ["첫 문서이다.", "둘째 문서이다."]
    with pytest.raises(ShardError, match="no column 'text'"):
        list(read_shard(str(tmp_path / "d.parquet"), cfg()))


def test_wet_conversion_records(tmp_path):
    from warcio.warcwriter import WARCWriter

    buf = io.BytesIO()
    w = WARCWriter(buf, gzip=True)
    for i, t in enumerate(["서울은 한국의 수도이다.", "부산은 항구 도시이다."]):
        w.write_record(w.create_warc_record(f"http://w/{i}", "conversion", payload=io.BytesIO(t.encode()),
                                            warc_content_type="text/plain"))
    (tmp_path / "x.warc.wet.gz").write_bytes(buf.getvalue())
    recs = list(read_shard(str(tmp_path / "x.warc.wet.gz"), cfg()))
    assert [r.text for r in recs] == ["서울은 한국의 수도이다.", "부산은 항구 도시이다."]


def test_warc_gzipped_as_one_member(tmp_path):
    path = write_warc(tmp_path / "m.warc.gz", [{"url": f"http://x/{i}", "body": html_page("서울", KO)} for i in range(3)])
    path.write_bytes(gzip.compress(b"".join(gzip.decompress(m) for m in gzip_members(path.read_bytes()))))
    recs = list(read_shard(str(path), cfg()))
    assert [(r.url, r.drop_reason) for r in recs] == [(f"http://x/{i}", None) for i in range(3)]


def test_warc_member_whose_first_read_is_one_byte(tmp_path):
    """A gzip member whose first deflate bytes end the reader's 64 KiB input chunk decompresses to one byte on
    its first read ("W"). warcio tried gzip on that byte, swallowed it, and the record read as `ARC/1.0 ...`:
    one page in a thousand of a real-looking shard was lost as read_corrupt_record."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    def record(url: str, body: bytes, rtype: str = "response") -> bytes:
        buf = io.BytesIO()
        w = WARCWriter(buf, gzip=False)
        headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
        w.write_record(w.create_warc_record(url, rtype, payload=io.BytesIO(body),
                                            http_headers=headers if rtype == "response" else None))
        return buf.getvalue()

    def member(data: bytes) -> bytes:  # stored deflate blocks: the byte after the 5-byte block header is "W"
        return gzip.compress(data, compresslevel=0, mtime=0)

    target = (1 << 16) - 16  # the next member's header (10) + block header (5) + "W" end the first chunk
    pad = target - 200
    while len(first := member(record("https://pad.example/", b"x" * pad, "resource"))) != target:
        pad += target - len(first)
    page = html_page("서울", KO).encode()
    path = tmp_path / "aligned.warc.gz"
    path.write_bytes(first + member(record("https://ko.example/", page)))
    got = [(r.url, r.drop_reason) for r in read_shard(str(path), cfg())]
    assert got == [("https://pad.example/", None), ("https://ko.example/", None)]
