"""Hostile input at the reader: no page, path or record may crash, hang or blow the memory of a shard, and
every record that reaches the reader is a document kept or dropped with a named reason. Each case is tested
at the reader and through `pipeline run`, with a time bound far above normal."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from core.config import InputConfig
from core.errors import ShardError
from pipeline.read.extract import extract
from pipeline.read.charset import decode_html
from pipeline.read.readers import read_shard
from warcgen import gzip_members, html_page, write_warc

ROOT = Path(__file__).resolve().parents[1]
KO = ["대한민국의 수도는 서울이며, 서울은 한강을 끼고 있는 도시이다. 서울의 인구는 약 천만 명에 이른다.",
      "조선 시대에는 한양이라고 불렸으며, 오늘날 서울은 정치와 경제와 문화의 중심지이다."]


def cfg(**kw) -> InputConfig:
    return InputConfig(paths=["x"], **kw)


def read_all(path, **kw):
    """Every record the reader yields, and the ShardError it ended with (or None)."""
    got, err = [], None
    try:
        for r in read_shard(str(path), cfg(**kw)):
            got.append(r)
    except ShardError as e:
        err = e
    return got, err


def run_cli(tmp_path: Path, paths: list[str], limit_s: float = 60, **input_kw) -> tuple[dict, list[dict], list[dict]]:
    """`pipeline run` on `paths` with no steps; returns summary.json, the kept and the rejected documents."""
    out = tmp_path / "run"
    conf = {"input": {"paths": paths, **input_kw}, "output": str(out), "steps": [],
            "execution": {"backend": "local"}}
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump(conf, allow_unicode=True))
    t = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "pipeline.cli", "run", str(path), "--backend", "local", "--output", str(out)],
                       cwd=ROOT, capture_output=True, text=True, timeout=limit_s + 60)
    elapsed = time.perf_counter() - t
    assert r.returncode == 0, r.stderr
    assert elapsed < limit_s, f"took {elapsed:.0f} s"
    s = json.loads((out / "summary.json").read_text())
    assert s["documents_in"] == s["documents_kept"] + sum(s["documents_dropped"].values())
    kept = pq.read_table(out / "documents").to_pylist() if list((out / "documents").glob("*.parquet")) else []
    rejected = pq.read_table(out / "rejected").to_pylist() if list((out / "rejected").glob("*.parquet")) else []
    return s, kept, rejected


# 1. a charset label that makes Python raise a plain UnicodeError or LookupError --------------------------

@pytest.mark.parametrize("label", ["undefined", "base64", "rot13", "zlib", "x-garbage", "unicode_escape", "utf-16",
                                   "idna", "utf-7", "\x00"])
def test_garbage_charset_label_decodes(label):
    body = html_page("서울", KO + ["\\ud800 백슬래시"]).encode("utf-8")
    for header, meta in ((label, None), (None, label), (label, label)):
        page = body if meta is None else body.replace(b"<head>", f'<head><meta charset="{meta}">'.encode())
        text, cs, _ = decode_html(page, header)
        assert "한강을 끼고" in text and "\\ud800" in text and cs == "utf-8"


def test_garbage_charset_through_cli(tmp_path):
    write_warc(tmp_path / "a.warc.gz", [
        {"url": "http://a/undefined", "body": html_page("서울", KO), "content_type": "text/html; charset=undefined"},
        {"url": "http://a/base64", "body": html_page("서울", KO, charset_meta="base64")},
    ])
    s, kept, _ = run_cli(tmp_path, [str(tmp_path / "a.warc.gz")])
    assert s["documents_kept"] == 2 and not s["shards_failed"]
    assert all("한강을 끼고" in d["text"] for d in kept)


# 2. lone surrogates --------------------------------------------------------------------------------------

def test_lone_surrogates_are_replaced(tmp_path):
    lines = ['{"id": "a\\udc00", "url": "http://x/\\ud800", "text": "서울 \\ud800 한강 \\udfff 끝"}',
             '{"id": "b", "text": "이모지 \\ud83d\\ude00 쌍은 그대로"}']
    (tmp_path / "s.jsonl").write_text("\n".join(lines) + "\n")
    recs, err = read_all(tmp_path / "s.jsonl")
    assert err is None
    assert recs[0].text == "서울 \ufffd 한강 \ufffd 끝" and recs[0].url == "http://x/\ufffd"
    assert recs[0].meta["source_id"] == "a\ufffd" and recs[1].text == "이모지 \U0001F600 쌍은 그대로"
    for r in recs:
        r.text.encode("utf-8")


def test_invalid_utf8_in_parquet_is_replaced(tmp_path):
    col = pa.array(["서울은 한국의 수도이다.".encode(), b"\xed\xa0\x80 bad", None], pa.binary()).view(pa.string())
    pq.write_table(pa.table({"id": ["1", "2", "3"], "text": col}), tmp_path / "p.parquet")
    recs, err = read_all(tmp_path / "p.parquet")
    assert err is None
    assert [r.drop_reason for r in recs] == [None, None, "read_no_text"]
    assert recs[1].text == "\ufffd\ufffd\ufffd bad"


def test_surrogates_through_cli(tmp_path):
    (tmp_path / "s.jsonl").write_text('{"id": "a", "url": "http://x/\\ud800", "text": "서울은 \\ud800 한국의 수도이다."}\n')
    col = pa.array([b"\xed\xa0\x80 \xea\xb0\x80\xeb\x82\x98\xeb\x8b\xa4"], pa.binary()).view(pa.string())
    pq.write_table(pa.table({"text": col}), tmp_path / "p.parquet")
    s, kept, _ = run_cli(tmp_path, [str(tmp_path / "s.jsonl"), str(tmp_path / "p.parquet")])
    assert s["documents_kept"] == 2 and not s["shards_failed"]
    assert {d["text"] for d in kept} == {"서울은 \ufffd 한국의 수도이다.", "\ufffd\ufffd\ufffd 가나다"}


# 3. one JSONL line of 2 GB --------------------------------------------------------------------------------

def _huge_line_jsonl(path: Path, line_bytes: int) -> Path:
    """A .jsonl.gz whose second line is `line_bytes` long, written streaming (a few MB on disk)."""
    with gzip.open(path, "wb", compresslevel=1) as f:
        f.write(json.dumps({"id": "a", "text": "첫 줄은 정상이다."}, ensure_ascii=False).encode() + b"\n")
        f.write(b'{"id": "huge", "text": "')
        block = "가".encode() * (1 << 20)
        for _ in range(line_bytes // len(block)):
            f.write(block)
        f.write(b'"}\n')
        f.write(json.dumps({"id": "c", "text": "마지막 줄도 읽힌다."}, ensure_ascii=False).encode() + b"\n")
    return path


def test_huge_jsonl_line_is_skipped_not_buffered(tmp_path):
    import resource

    path = _huge_line_jsonl(tmp_path / "h.jsonl.gz", 2 << 30)
    assert path.stat().st_size < 16 << 20
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    recs, err = read_all(path)
    assert time.perf_counter() - t < 60
    assert err is None
    assert [r.drop_reason for r in recs] == [None, "read_too_large", None]
    assert recs[2].text == "마지막 줄도 읽힌다." and recs[1].meta["line_bytes"] > 2_000_000_000
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before < 200_000  # KiB: never near 2 GB


def test_deeply_nested_json_line_is_invalid_json(tmp_path):
    (tmp_path / "n.jsonl").write_text("[" * 200_000 + "\n" + '{"text": "정상 문서이다."}\n')
    recs, err = read_all(tmp_path / "n.jsonl")
    assert err is None and [r.drop_reason for r in recs] == ["read_invalid_json", None]


def test_huge_jsonl_line_through_cli(tmp_path):
    _huge_line_jsonl(tmp_path / "h.jsonl.gz", 64 << 20)
    s, kept, rejected = run_cli(tmp_path, [str(tmp_path / "h.jsonl.gz")], max_payload_bytes=1_000_000)
    assert s["documents_dropped"] == {"read_too_large": 1} and s["documents_kept"] == 2 and not s["shards_failed"]


# 4. /dev/zero, a FIFO, a directory as a shard --------------------------------------------------------------

def test_not_a_regular_file_is_a_shard_error(tmp_path):
    fifo = tmp_path / "f.jsonl"
    os.mkfifo(fifo)
    (tmp_path / "d.warc.gz").mkdir()
    for p in ("/dev/zero", str(fifo), str(tmp_path / "d.warc.gz"), f"file://{fifo}"):
        with pytest.raises(ShardError, match="not a regular file"):
            list(read_shard(p, cfg(format="jsonl" if p == "/dev/zero" else "auto")))


def test_dev_zero_and_fifo_through_cli(tmp_path):
    fifo = tmp_path / "f.warc.gz"
    os.mkfifo(fifo)
    write_warc(tmp_path / "a.warc.gz", [{"url": "http://a/1", "body": html_page("서울", KO)}])
    s, kept, _ = run_cli(tmp_path, [str(tmp_path / "a.warc.gz"), str(fifo), "/dev/zero"], format="warc")
    assert s["documents_kept"] == 1
    failed = {f["shard"]: f["error"] for f in s["shards_failed"]}
    assert set(failed) == {str(fifo), "/dev/zero"} and all("not a regular file" in e for e in failed.values())


# 5. UTF-16 / UTF-32 pages with a byte order mark ------------------------------------------------------------

BOM_PAGES = [("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff"), ("utf-32-le", b"\xff\xfe\x00\x00"),
             ("utf-8", b"\xef\xbb\xbf")]


@pytest.mark.parametrize("enc, bom", BOM_PAGES)
def test_bom_pages_are_decoded_by_their_bom(tmp_path, enc, bom):
    body = bom + html_page("서울", KO, charset_meta="euc-kr").encode(enc)
    write_warc(tmp_path / "b.warc.gz", [{"url": "http://b/1", "body": body, "content_type": "text/html; charset=iso-8859-1"}])
    recs, err = read_all(tmp_path / "b.warc.gz")
    assert err is None and recs[0].drop_reason is None
    text, cs, clean = decode_html(recs[0].html, recs[0].charset_header)
    assert cs == enc and clean and "한강을 끼고" in text and not text.startswith("\ufeff")


def test_bom_pages_through_cli(tmp_path):
    write_warc(tmp_path / "b.warc.gz", [
        {"url": f"http://b/{enc}", "body": bom + html_page("서울", KO).encode(enc), "content_type": "text/html"}
        for enc, bom in BOM_PAGES])
    s, kept, _ = run_cli(tmp_path, [str(tmp_path / "b.warc.gz")])
    assert s["documents_kept"] == 4 and s["documents_dropped"] == {}
    assert all("한강을 끼고" in d["text"] for d in kept)


# 6. a UTF-8 page behind a wrong single-byte header charset --------------------------------------------------

def test_wrong_single_byte_header_loses_to_utf8_meta():
    body = html_page("서울", KO, charset_meta="utf-8").encode("utf-8")
    for header in ("iso-8859-1", "windows-1252", "koi8-r"):
        text, cs, clean = decode_html(body, header)
        assert cs == "utf-8" and "한강을 끼고" in text and clean
    # No meta at all: UTF-8 that decodes strictly with Hangul still wins over a single-byte header.
    text, cs, _ = decode_html(html_page("서울", KO).encode("utf-8"), "iso-8859-1")
    assert cs == "utf-8"
    # A legacy Korean page keeps its header, and a Latin-1 page without Hangul keeps its Latin-1.
    assert decode_html(html_page("서울", KO).encode("cp949"), "euc-kr")[1] == "cp949"
    latin = html_page("Zürich", ["Grüße aus der Schweiz, wo die Straßen sauber sind."], charset_meta="utf-8")
    text, cs, _ = decode_html(latin.encode("iso-8859-1"), "iso-8859-1")
    assert cs == "iso-8859-1" and "Grüße" in text
    # An EUC-KR page served as Latin-1 without a meta: the detector finds it.
    text, cs, _ = decode_html(html_page("서울", KO * 3).encode("cp949"), "iso-8859-1")
    assert cs == "cp949" and "한강을 끼고" in text
    # A cp949 page served as Latin-1 with a euc-kr meta: the meta charset yields Hangul.
    text, cs, _ = decode_html(html_page("서울", KO, charset_meta="euc-kr").encode("cp949"), "iso-8859-1")
    assert cs == "cp949" and "한강을 끼고" in text


def test_wrong_single_byte_header_through_cli(tmp_path):
    write_warc(tmp_path / "a.warc.gz", [{"url": "http://a/1", "body": html_page("서울", KO, charset_meta="utf-8"),
                                         "content_type": "text/html; charset=iso-8859-1"}])
    s, kept, _ = run_cli(tmp_path, [str(tmp_path / "a.warc.gz")])
    assert s["documents_kept"] == 1 and "한강을 끼고" in kept[0]["text"] and kept[0]["charset"] == "utf-8"


# 7. a wrong WARC Content-Length ------------------------------------------------------------------------------

def _warc_with_bad_length(path: Path, delta: int, gz: bool = True, n: int = 4, bad: int = 1) -> Path:
    """n pages; record `bad` (0-based among the pages) with its Content-Length off by `delta`."""
    write_warc(path, [{"url": f"http://x/{i}", "body": html_page("서울", KO + [f"{i}번째 문서"])} for i in range(n)])
    members = gzip_members(path.read_bytes())
    raw = gzip.decompress(members[bad + 1])
    head, _, rest = raw.partition(b"Content-Length: ")
    length, _, rest = rest.partition(b"\r\n")
    members[bad + 1] = gzip.compress(head + b"Content-Length: " + str(int(length) + delta).encode() + b"\r\n" + rest)
    if gz:
        path.write_bytes(b"".join(members))
    else:
        path.write_bytes(b"".join(gzip.decompress(m) for m in members))
    return path


@pytest.mark.parametrize("gz", [True, False], ids=["gzip-per-record", "uncompressed"])
@pytest.mark.parametrize("delta", [-200, 300, 100_000], ids=["short", "long", "far-too-long"])
def test_wrong_content_length_costs_only_its_record(tmp_path, gz, delta):
    path = _warc_with_bad_length(tmp_path / ("c.warc.gz" if gz else "c.warc"), delta, gz=gz)
    recs, err = read_all(path)
    reasons = {r.url: r.drop_reason for r in recs}
    # Uncompressed, a too-large Content-Length swallows what follows: the records are found again inside the
    # damaged payload (when it was read, i.e. not larger than input.max_payload_bytes).
    assert err is None, err
    assert reasons == {"http://x/0": None, "http://x/1": "read_corrupt_record", "http://x/2": None, "http://x/3": None}
    assert "Content-Length" in recs[1].meta["error"]


def test_wrong_content_length_on_the_last_uncompressed_record_is_truncated(tmp_path):
    path = _warc_with_bad_length(tmp_path / "t.warc", 500, gz=False, n=3, bad=2)
    recs, err = read_all(path)
    assert [r.drop_reason for r in recs] == [None, None, "read_truncated_record"] and err is not None


def test_swallowed_records_beyond_max_payload_are_lost_but_counted(tmp_path):
    # A Content-Length that runs past a payload larger than max_payload_bytes: the payload is skipped, not
    # held, so the records inside it cannot be found again; the damaged record is still counted.
    path = _warc_with_bad_length(tmp_path / "l.warc", 100_000, gz=False)
    recs, err = read_all(path, max_payload_bytes=1000)
    assert [(r.url, r.drop_reason) for r in recs] == [("http://x/0", None), ("http://x/1", "read_truncated_record")]
    assert err is not None


def test_wrong_content_length_through_cli(tmp_path):
    _warc_with_bad_length(tmp_path / "c.warc.gz", 300)
    _warc_with_bad_length(tmp_path / "d.warc", -200, gz=False)
    s, kept, rejected = run_cli(tmp_path, [str(tmp_path / "c.warc.gz"), str(tmp_path / "d.warc")])
    assert s["documents_dropped"] == {"read_corrupt_record": 2} and s["documents_kept"] == 6
    assert not s["shards_failed"]
    assert {d["url"] for d in rejected} == {"http://x/1"}


def test_corrupt_member_then_wrong_length_then_more(tmp_path):
    """A damaged gzip member and a wrong Content-Length in one shard: every other record is read."""
    path = _warc_with_bad_length(tmp_path / "m.warc.gz", -200, n=5, bad=3)
    members = gzip_members(path.read_bytes())
    m = bytearray(members[2])
    m[len(m) // 2] ^= 0xFF
    members[2] = bytes(m)
    path.write_bytes(b"".join(members))
    recs, err = read_all(path)
    assert err is None
    assert [r.drop_reason for r in recs] == [None, "read_corrupt_record", None, "read_corrupt_record", None]


# 8. 100,000 nested <div> ------------------------------------------------------------------------------------

def _deep_page(depth: int) -> bytes:
    return ("<html><body>" + "<div>" * depth + "<p>" + KO[0] + "</p>" + "</div>" * depth + "</body></html>").encode()


def test_deep_nesting_extracts_without_main_content():
    meta: dict = {}
    t = time.perf_counter()
    text = extract(_deep_page(100_000).decode(), "resiliparse", meta)
    assert time.perf_counter() - t < 5
    assert KO[0] in text and meta["extract_fallback"] == "depth"
    shallow: dict = {}
    assert KO[0] in extract(html_page("서울", KO), "resiliparse", shallow) and "extract_fallback" not in shallow


def test_deep_nesting_through_cli(tmp_path):
    body = _deep_page(100_000)
    assert len(gzip.compress(body)) < 100_000
    write_warc(tmp_path / "a.warc.gz", [{"url": "http://a/deep", "body": body},
                                        {"url": "http://a/ok", "body": html_page("서울", KO)}])
    s, kept, _ = run_cli(tmp_path, [str(tmp_path / "a.warc.gz")], limit_s=30)
    assert s["documents_kept"] == 2
    deep = next(d for d in kept if d["url"] == "http://a/deep")
    assert KO[0] in deep["text"]


# Also: a gzip bomb and a WARC gzipped as one member ---------------------------------------------------------

def test_gzip_bomb_record_is_skipped_in_bounded_memory(tmp_path):
    import resource

    size = 400 << 20
    http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n"
    head = (b"WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: http://bomb/\r\nWARC-Record-ID: <urn:uuid:1>\r\n"
            b"Content-Type: application/http; msgtype=response\r\nContent-Length: " + str(len(http) + size).encode()
            + b"\r\n\r\n" + http)
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    with open(tmp_path / "bomb.warc.gz", "wb") as f:
        f.write(c.compress(head))
        zeros = b"\x00" * (1 << 20)
        for _ in range(size >> 20):
            f.write(c.compress(zeros))
        f.write(c.compress(b"\r\n\r\n") + c.flush())
    write_warc(tmp_path / "ok.warc.gz", [{"url": "http://ok/", "body": html_page("서울", KO)}])
    with open(tmp_path / "bomb.warc.gz", "ab") as f:
        f.write((tmp_path / "ok.warc.gz").read_bytes())
    assert (tmp_path / "bomb.warc.gz").stat().st_size < 2 << 20
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    recs, err = read_all(tmp_path / "bomb.warc.gz")
    assert time.perf_counter() - t < 30 and err is None
    assert [(r.url, r.drop_reason) for r in recs] == [("http://bomb/", "read_too_large"), ("http://ok/", None)]
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss < 100_000  # KiB
