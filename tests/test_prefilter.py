"""input.prefilter_korean: a page without Hangul in its raw bytes is dropped as `read_no_hangul` before it is
decoded; no Korean page may be lost, whatever its encoding (UTF-8, EUC-KR, CP949, UTF-16/32 with a BOM,
character references)."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import pytest
from warcio.warcwriter import WARCWriter

from pipeline.read.charset import PREFILTER_MIN_HANGUL, hangul_evidence
from core.config import InputConfig
from pipeline.read.readers import read_shard
from test_hostile_readers import KO, run_cli
from warcgen import html_page, write_warc

ROOT = Path(__file__).resolve().parents[1]
N = PREFILTER_MIN_HANGUL
KO_TEXT = " ".join(KO)  # 62 syllables
EN = "The capital of the country is a large city on a river, home to about ten million people."


def passes(payload: bytes) -> bool:
    return hangul_evidence(payload, N) >= N


@pytest.mark.parametrize("encoding", ["utf-8", "euc-kr", "cp949", "utf-16", "utf-16-be", "utf-32"])
def test_korean_in_every_encoding_passes(encoding):
    body = html_page("서울", KO, charset_meta=encoding).encode(encoding)  # utf-16/-32 write their BOM
    if encoding == "utf-16-be":
        body = b"\xfe\xff" + body
    assert passes(body)


def test_cp949_extended_syllables_pass():
    # 똠 햏 뷁 are not in KS X 1001: CP949 writes them with lead 81-C6 and trail 41-FE.
    body = ("<p>" + "똠방각하 햏자 뷁 " * 3 + "</p>").encode("cp949")
    assert passes(body)


def test_character_references_pass():
    assert passes(b"<p>" + "".join(f"&#{ord(c)};" for c in "대한민국의 수도는 서울").encode() + b"</p>")
    assert passes(b"<p>" + "".join(f"&#x{ord(c):X};" for c in "대한민국의 수도는 서울").encode() + b"</p>")
    assert passes(b"<p>" + "".join(f"&#x{ord(c):x};" for c in "대한민국의 수도는 서울").encode() + b"</p>")


def test_mixed_korean_english_passes():
    assert passes(html_page("Seoul", [EN, "서울특별시는 대한민국의 수도이다.", EN]).encode())


@pytest.mark.parametrize("text,encoding", [
    (EN, "utf-8"),
    ("日本の首都は東京であり、東京は日本最大の都市である。人口は約千四百万人である。", "utf-8"),
    ("中国的首都是北京，北京是中国的政治和文化中心，人口约两千万。", "utf-8"),
    ("Столица страны — большой город на реке, в нём живёт около десяти миллионов человек.", "utf-8"),
    ("La capitale du pays est une grande ville située au bord d'un fleuve, très peuplée, où l'été est chaud.", "utf-8"),
    ("Die Hauptstadt des Landes ist eine große Stadt an einem Fluss mit über zehn Millionen Einwohnern.", "utf-8"),
    ("ㅋㅋㅋㅋㅋㅋㅋㅋㅋㅋㅋㅋㅋㅋㅎㅎㅎㅎㅎㅎㅎㅎ ㅠㅠㅠㅠㅠㅠ", "utf-8"),  # jamo only: no syllable
    ("The capital & the river &#169; 2024 &#x2014; &amp; more", "utf-8"),
])
def test_pages_without_hangul_fail(text, encoding):
    assert hangul_evidence(html_page("x", [text] * 20).encode(encoding), N) == 0


def test_a_language_switcher_does_not_make_a_page_korean():
    body = html_page("News", [EN] * 20).replace("<body>", '<body><a href="/ko">한국어</a> <a href="/ja">日本語</a>')
    assert not passes(body.encode())


def test_counting_stops_at_enough():
    assert hangul_evidence(("가" * 100_000).encode(), N) == N
    assert hangul_evidence(("가" * 100_000).encode("cp949"), N) == N


def test_empty_and_binary_like_payloads():
    assert hangul_evidence(b"", N) == 0
    assert hangul_evidence(b"\xff\xfe", N) == 0  # a UTF-16 BOM and nothing after it
    assert hangul_evidence(b"\xed\xa0\x80" * 20, N) == 0  # encoded surrogates: not Hangul


def test_a_5_mb_foreign_page_costs_milliseconds():
    ascii_page = (EN + "\n").encode() * 60_000  # 5.4 MB
    ja_page = ("日本の首都は東京である。" + "\n").encode() * 150_000  # 5.4 MB, valid UTF-8
    for page in (ascii_page, ja_page):
        t = time.perf_counter()
        assert hangul_evidence(page, N) == 0
        assert time.perf_counter() - t < 0.5


def _write_mixed(path: Path) -> Path:
    pages = [
        {"url": "https://ko.example/utf8", "body": html_page("서울", KO).encode()},
        {"url": "https://ko.example/euckr", "body": html_page("서울", KO, "euc-kr").encode("cp949"),
         "content_type": "text/html; charset=euc-kr"},
        {"url": "https://ko.example/cp949-nolabel", "body": html_page("똠방각하", KO + ["똠방각하 햏자"]).encode("cp949"),
         "content_type": "text/html"},
        {"url": "https://ko.example/utf16", "body": html_page("서울", KO).encode("utf-16"), "content_type": "text/html"},
        {"url": "https://ko.example/ncr", "body": html_page("x", ["".join(f"&#{ord(c)};" for c in KO_TEXT)]).encode(),
         "content_type": "text/html; charset=iso-8859-1"},
        {"url": "https://en.example/", "body": html_page("News", [EN] * 5).encode()},
        {"url": "https://ja.example/", "body": html_page("東京", ["日本の首都は東京である。"] * 5).encode()},
        {"url": "https://en.example/pdf", "body": b"%PDF-1.4 not a page", "content_type": "application/pdf"},
    ]
    return write_warc(path, pages)


def test_reader_drops_foreign_pages_as_read_no_hangul(tmp_path):
    path = str(_write_mixed(tmp_path / "mixed.warc.gz"))
    on = {r.url: r.drop_reason for r in read_shard(path, InputConfig(paths=[path], prefilter_korean=True))}
    off = {r.url: r.drop_reason for r in read_shard(path, InputConfig(paths=[path]))}
    assert [u for u, reason in on.items() if reason is None] == [
        "https://ko.example/utf8", "https://ko.example/euckr", "https://ko.example/cp949-nolabel",
        "https://ko.example/utf16", "https://ko.example/ncr"]
    assert on["https://en.example/"] == on["https://ja.example/"] == "read_no_hangul"
    assert on["https://en.example/pdf"] == off["https://en.example/pdf"] == "read_not_html"  # its type first
    assert "read_no_hangul" not in off.values()


def test_wet_conversion_records(tmp_path):
    path = tmp_path / "x.warc.wet.gz"
    with open(path, "wb") as fh:
        w = WARCWriter(fh, gzip=True)
        for url, text in (("https://ko.example/", KO_TEXT), ("https://en.example/", EN)):
            rec = w.create_warc_record(url, "conversion", payload=io.BytesIO(text.encode()),
                                       warc_content_type="text/plain")
            w.write_record(rec)
    got = {r.url: r.drop_reason for r in read_shard(str(path), InputConfig(paths=[str(path)], prefilter_korean=True))}
    assert got == {"https://ko.example/": None, "https://en.example/": "read_no_hangul"}


def _korean_pages_dropped(shard_glob: str, manifest: Path, is_korean) -> tuple[int, list[str]]:
    korean = {d["url"] for d in map(json.loads, manifest.read_text().splitlines()) if is_korean(d)}
    seen, lost = 0, []
    for p in sorted(Path(ROOT).glob(shard_glob)):
        for rec in read_shard(str(p), InputConfig(paths=[str(p)], prefilter_korean=True)):
            if rec.url in korean:
                seen += 1
                if rec.drop_reason == "read_no_hangul":
                    lost.append(rec.url)
    return seen, lost


def test_no_korean_page_of_the_bundled_sample_is_lost():
    seen, lost = _korean_pages_dropped("data/sample/*.warc.gz", ROOT / "data/sample/manifest.jsonl",
                                       lambda d: d.get("lang") == "ko")
    assert seen >= 360 and lost == []


def test_no_korean_page_of_the_devset_slice_is_lost():
    seen, lost = _korean_pages_dropped("tests/fixtures/devset/*.warc.gz", ROOT / "tests/fixtures/devset/manifest.jsonl",
                                       lambda d: not d["register"].startswith("foreign"))
    assert seen > 0 and lost == []


def test_pipeline_run_counts_read_no_hangul(tmp_path):
    path = str(_write_mixed(tmp_path / "mixed.warc.gz"))
    summary, kept, rejected = run_cli(tmp_path, [path], prefilter_korean=True)
    assert summary["documents_in"] == 8
    assert summary["documents_dropped"]["read_no_hangul"] == 2
    assert {r["url"] for r in rejected if r["reason"] == "read_no_hangul"} == {"https://en.example/", "https://ja.example/"}
    assert {d["url"] for d in kept} >= {"https://ko.example/utf8", "https://ko.example/euckr"}
