"""Feeds are documents (RSS, Atom, RDF, in any Korean encoding), character references come out as characters
whatever the charset, and a page the main-content extractor empties falls back to another extraction."""

from __future__ import annotations

import time


from pipeline.read.extract import extract
from pipeline.read.feeds import feed_kind, feed_text
from pipeline.read.charset import decode_html, unescape_refs
from pipeline.read.readers import read_shard
from test_hostile_readers import KO, cfg, run_cli
from warcgen import html_page, write_warc

ITEMS = [("서울의 봄", "벚꽃은 4월 초에 가장 많이 피고 사람들이 한강으로 나온다."),
         ("부산의 여름", "해운대 해수욕장에는 여름마다 수많은 피서객이 몰려든다.")]


def rss(encoding: str, escaped: bool = True) -> str:
    items = []
    for title, desc in ITEMS:
        body = f"<p>{desc}</p><p>똠방각하 &#54633;&#xD55C; 끝</p>"
        body = body.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") if escaped else f"<![CDATA[{body}]]>"
        items.append(f"<item><title>{title}</title><link>http://b/1</link><description>{body}</description></item>")
    return (f'<?xml version="1.0" encoding="{encoding}"?>\n<rss version="2.0"><channel><title>블로그</title>'
            f"<description>채널 설명</description>{''.join(items)}</channel></rss>")


ATOM = ('<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>피드</title>'
        '<entry><title type="html">첫 글 &amp;lt;1&amp;gt;</title><summary>요약입니다.</summary>'
        '<content type="html"><![CDATA[<div><p>본문은 <b>길게</b> 쓴다.</p><p>둘째 문단.</p></div>]]></content></entry>'
        '<entry><title>둘째 글</title><content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>XHTML 본문.</p></div></content></entry>'
        "</feed>")

RDF = ('<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">'
       '<channel><title>c</title></channel><item><title>RDF 항목</title><description>RDF 설명이다.</description></item></rdf:RDF>')


def test_rss_in_euc_kr_declared_only_in_the_xml_declaration():
    payload = rss("euc-kr").encode("cp949")
    assert feed_kind(payload) == "rss"
    decoded, cs, clean = decode_html(payload, None)
    assert cs == "cp949" and clean
    text = feed_text(decoded)
    assert text.split("\n\n")[0].splitlines() == ["서울의 봄", ITEMS[0][1], "똠방각하 합한 끝"]
    assert "채널 설명" not in text and ITEMS[1][1] in text


def test_cdata_atom_and_rdf():
    text = feed_text(rss("utf-8", escaped=False))
    assert ITEMS[0][1] in text and "<p>" not in text and "합한" in text
    text = feed_text(ATOM)
    assert text.splitlines() == ["첫 글 <1>", "요약입니다.", "본문은 길게 쓴다.", "둘째 문단.", "", "둘째 글", "XHTML 본문."]
    assert feed_kind(RDF.encode()) == "rdf" and feed_text(RDF) == "RDF 항목\nRDF 설명이다."
    assert feed_kind(b"\xff\xfe" + ATOM.encode("utf-16-le")) == "atom"
    assert feed_kind(html_page("서울", KO).encode()) is None


def test_malformed_feeds_keep_what_they_have():
    # Unescaped &, an unclosed <item>, a media:title before the real title, a file cut in the middle.
    feed = ("<rss><channel><item><media:title>미디어</media:title><title>A & B 제목</title>"
            "<description>첫 설명 & 끝</description><item><title>둘째</title><description>둘째 설명</description>"
            "</item><item><title>셋째</title><description>잘린 설")
    assert feed_text(feed).split("\n\n") == ["A & B 제목\n첫 설명 & 끝", "둘째\n둘째 설명", "셋째\n잘린 설"]


def test_entity_expansion_expands_nothing():
    bomb = ('<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa">'
            + "".join(f'<!ENTITY {c} "{("&" + p + ";") * 10}">' for p, c in zip("abcdefgh", "bcdefghi"))
            + ']><rss><channel><item><title>폭탄 &i;</title><description>설명 &i; 끝</description></item></channel></rss>')
    assert feed_kind(bomb.encode()) == "rss"
    t = time.perf_counter()
    text = feed_text(bomb)
    assert time.perf_counter() - t < 1 and len(text) < 100 and "설명 &i; 끝" in text


def test_feeds_at_the_reader(tmp_path):
    write_warc(tmp_path / "f.warc.gz", [
        {"url": "http://f/rss", "body": rss("euc-kr").encode("cp949"), "content_type": "application/rss+xml"},
        {"url": "http://f/atom", "body": ATOM, "content_type": "text/xml"},
        {"url": "http://f/rdf", "body": RDF, "content_type": "text/html"},
        {"url": "http://f/xhtml", "body": '<?xml version="1.0"?>' + html_page("서울", KO), "content_type": "application/xml"},
        {"url": "http://f/empty", "body": '<rss><channel><title>빈 피드</title></channel></rss>', "content_type": "application/rss+xml"},
    ])
    recs = {r.url: r for r in read_shard(str(tmp_path / "f.warc.gz"), cfg())}
    assert recs["http://f/rss"].meta["feed"] == "rss" and recs["http://f/rss"].meta["charset"] == "cp949"
    assert ITEMS[1][1] in recs["http://f/rss"].text and recs["http://f/rss"].html is None
    assert "본문은 길게 쓴다." in recs["http://f/atom"].text and recs["http://f/rdf"].text.startswith("RDF 항목")
    assert recs["http://f/xhtml"].html is not None and recs["http://f/xhtml"].text is None  # XHTML stays a page
    assert recs["http://f/empty"].text == ""


def test_feeds_through_cli(tmp_path):
    write_warc(tmp_path / "f.warc.gz", [
        {"url": "http://f/euckr", "body": rss("euc-kr").encode("cp949"), "content_type": "application/rss+xml"},
        {"url": "http://f/utf8", "body": rss("utf-8", escaped=False), "content_type": "application/rss+xml; charset=utf-8"},
        {"url": "http://f/empty", "body": "<rss><channel><title>빈 피드</title></channel></rss>", "content_type": "text/xml"},
    ])
    s, kept, _ = run_cli(tmp_path, [str(tmp_path / "f.warc.gz")])
    assert s["documents_kept"] == 2 and s["documents_dropped"] == {"extract_empty": 1}
    for d in kept:
        assert ITEMS[0][1] in d["text"] and ITEMS[1][1] in d["text"] and "합한" in d["text"]


# -- character references ---------------------------------------------------------------------------------

EUC_KR_REFS = html_page("서울", KO + ["똠방각하 &#54633;&#xD55C; &#xd7a3;&amp;&lt;끝&gt; &#55296;"], charset_meta="euc-kr")


def test_numeric_refs_in_an_euc_kr_page():
    html, cs, _ = decode_html(EUC_KR_REFS.encode("cp949"), None)
    assert cs == "cp949"
    assert "똠방각하 합한 힣&<끝> \ufffd" in extract(html, "resiliparse")


def test_refs_on_text_paths(tmp_path):
    assert unescape_refs("합&#54633; &#xD55C; &amp; &nbsp;x &#xD800;") == "합합 한 & \xa0x \ufffd"
    assert unescape_refs("AT&T 그대로") == "AT&T 그대로"
    (tmp_path / "r.jsonl").write_text('{"text": "&#54633;&#xD55C; 문서"}\n')
    assert [r.text for r in read_shard(str(tmp_path / "r.jsonl"), cfg())] == ["합한 문서"]


def test_numeric_refs_through_cli(tmp_path):
    write_warc(tmp_path / "a.warc.gz", [{"url": "http://a/1", "body": EUC_KR_REFS, "encoding": "cp949",
                                         "content_type": "text/html; charset=euc-kr"}])
    s, kept, _ = run_cli(tmp_path, [str(tmp_path / "a.warc.gz")])
    assert s["documents_kept"] == 1 and "똠방각하 합한 힣" in kept[0]["text"]


# -- extractor fallback -------------------------------------------------------------------------------------

P = "대한민국의 수도는 서울이며, 서울은 한강을 끼고 있는 도시이다. 서울의 인구는 약 천만 명에 이른다. "
HIDDEN = "<html><body><nav>" + "".join(f"<p>{P}{i}</p>" for i in range(12)) + "</nav></body></html>"


def test_fallback_when_main_content_keeps_nothing():
    meta: dict = {}
    text = extract(HIDDEN, "resiliparse", meta)
    assert meta == {"extract_fallback": "empty"} and text.count("서울의 인구는") == 12
    meta = {}
    assert extract(html_page("서울", KO), "resiliparse", meta) and meta == {}  # a normal page: no fallback
    short = "<html><body><nav><p>메뉴</p><p>로그인</p></nav></body></html>"
    meta = {}
    assert extract(short, "resiliparse", meta) == "" and meta == {}  # nothing to fall back to


def test_fallback_through_cli(tmp_path):
    write_warc(tmp_path / "a.warc.gz", [{"url": "http://a/nav", "body": HIDDEN}])
    s, kept, _ = run_cli(tmp_path, [str(tmp_path / "a.warc.gz")])
    assert s["documents_kept"] == 1 and kept[0]["text"].count("서울의 인구는") == 12
