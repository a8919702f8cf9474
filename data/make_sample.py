"""Build the bundled sample: Common-Crawl-style `.warc.gz` shards of Korean web pages plus a manifest of what each
page is meant to be.

    python data/make_sample.py                      # rebuild data/sample/ exactly (seeded, byte-identical)
    python data/make_sample.py --pages-per-shard 1000 --out /tmp/bigger-sample

Article text is real (Korean Wikipedia, Korean statutes, Naver movie reviews from `--shared`, by default
`../shared/data` beside the repository); page chrome, spam and foreign-language prose are written by us
(`data/sample_text.py`, `data/sample_pages.py`). Each shard starts with a `warcinfo` record, then a `request` and a
`response` record per page, gzipped per record as Common Crawl does. `manifest.jsonl` holds one line per response:
url, shard, kind, lang, charset, charset_declared, duplicate_of, source, pii_in_body. See data/sample/README.md.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import random
import re
import struct
import sys
import uuid
import zlib
from datetime import datetime, timedelta, timezone
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

import sample_pages as pages
import sample_text as st

REPO_ROOT = Path(__file__).resolve().parent.parent
# Share of pages of each kind; articles take the rest (~58%). Small kinds get at least one page per shard.
KIND_SHARES = {
    "boilerplate_heavy": 0.06, "comments": 0.10, "foreign_en": 0.02, "foreign_ja": 0.01, "foreign_zh": 0.01,
    "english_korean_nav": 0.01, "spam": 0.07, "exact_duplicate": 0.04, "near_duplicate": 0.05,
    "empty": 0.01, "binary": 0.01, "symbols": 0.01, "plain_text": 0.01,
}
# Legacy-encoded article pages per shard (~5% of 100): (charset used for the bytes, label declared, where declared).
# "ks_c_5601-1987" is what many old Korean servers send; browsers (WHATWG) decode every EUC-KR label as CP949,
# while Python maps that label to euc_kr, so this page (which uses CP949-only syllables) breaks a naive decoder.
LEGACY_VARIANTS = [
    ("euc-kr", "euc-kr", "header"), ("cp949", "cp949", "header"), ("euc-kr", "euc-kr", "meta"),
    ("cp949", "ks_c_5601-1987", "header"), ("euc-kr", "EUC-KR", "header+meta"),
]
NO_DECLARATION = ("euc-kr", None, "none")  # exactly one page in the whole sample, in shard 0
PII_LINES = [
    "문의: 담당자 {name} 010-{a:04d}-{b:04d}, 이메일 {mail}@example.com",
    "제보는 전화 010-{a:04d}-{b:04d} 또는 이메일 {mail}@example.co.kr 로 보내 주시기 바랍니다.",
    "행사 관련 문의는 사무국(02-{c:03d}-{b:04d}, {mail}@example.com)으로 하면 된다.",
    "신청자 {name}(주민등록번호 {y:02d}0{m}1{d}-{g}{b:04d}{e:02d}), 연락처 010-{a:04d}-{b:04d}",
]
WARC_START = datetime(2024, 3, 1, 0, 0, 0, tzinfo=timezone.utc)


def require_reference(shared: Path, script: str, *names: str) -> None:
    """Exit with one line on stderr, code 2, nothing written, when a reference corpus `script` is built from is
    not in `shared` (../shared/data beside the repository by default; not shipped with it)."""
    for name in names:
        if not (shared / name).is_file():
            print(f"{script}: no {shared / name}: built from the reference corpora in ../shared/data "
                  f"(--shared DIR); nothing written", file=sys.stderr)
            raise SystemExit(2)


def read_jsonl(path: Path, limit: int) -> list[dict]:
    rows = []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            rows.append(json.loads(line))
            if len(rows) >= limit:
                break
    return rows


def load_articles(shared: Path, needed: int) -> list[dict]:
    """Articles of 700-1400 characters (1-4 KB of UTF-8): ~3/4 Wikipedia, ~1/4 statute openings."""
    wiki = []
    # About 1 Wikipedia article in 5 is 700-1400 chars with 2+ lines (measured on the first 3,000 lines).
    for d in read_jsonl(shared / "kowiki-ref.jsonl.gz", limit=needed * 8):
        paragraphs = [p.strip() for p in d["text"].split("\n") if p.strip()]
        if 700 <= len(d["text"]) <= 1400 and len(paragraphs) >= 2:
            wiki.append({"source": d["id"], "title": d["title"], "paragraphs": paragraphs})
    statutes = []
    for d in read_jsonl(shared / "ko-statutes.jsonl.gz", limit=10**6):
        paragraphs, size = [], 0
        for p in d["text"].split("\n"):
            if p.strip() and size < 900:
                paragraphs.append(p.strip())
                size += len(p)
        if len(paragraphs) >= 2 and size <= 1800:
            statutes.append({"source": "statute:" + d["path"], "title": d["제목"], "paragraphs": paragraphs})
    rng = random.Random(0)
    rng.shuffle(wiki)
    rng.shuffle(statutes)
    n_statutes = min(len(statutes), needed // 4)
    mixed = wiki[: needed - n_statutes] + statutes[:n_statutes]
    rng.shuffle(mixed)
    return mixed


def load_reviews(shared: Path, limit: int) -> list[tuple[str, str, str]]:
    return [(d["id"], d["text"], d.get("rating", "")) for d in read_jsonl(shared / "nsmc-reviews.jsonl.gz", limit)
            if d["text"].strip()]


def near_duplicate(rng: random.Random, paragraphs: list[str]) -> tuple[list[str], str]:
    """Drop one sentence, change some numbers, replace 2-5% of eojeol with other eojeol of the same text."""
    sentences = [re.split(r"(?<=[.!?])\s+", p) for p in paragraphs]
    candidates = [(i, j) for i, ss in enumerate(sentences) for j in range(len(ss)) if len(ss) > 1 or len(sentences) > 2]
    if candidates:
        i, j = rng.choice(candidates)
        del sentences[i][j]
    paragraphs = [" ".join(ss) for ss in sentences if ss]
    paragraphs = [re.sub(r"\d+", lambda m: str(int(m.group()) + rng.randint(1, 9)) if rng.random() < 0.5 else m.group(), p)
                  for p in paragraphs]
    words = [w for p in paragraphs for w in p.split()]
    rate = rng.uniform(0.02, 0.05)
    changed = set(rng.sample(range(len(words)), k=max(1, round(rate * len(words)))))
    out, k = [], 0
    for p in paragraphs:
        ws = p.split()
        out.append(" ".join(rng.choice(words) if (k + n) in changed else w for n, w in enumerate(ws)))
        k += len(ws)
    return out, f"sentence_dropped,numbers_changed,eojeol_changed={rate:.3f}"


def pii_line(rng: random.Random) -> str:
    template = rng.choice(PII_LINES[:3]) if rng.random() < 0.9 else PII_LINES[3]
    return template.format(name=rng.choice(st.REPORTERS)[0], mail=rng.choice(st.REPORTERS)[1] + str(rng.randint(1, 99)),
                           a=rng.randint(1000, 9999), b=rng.randint(0, 9999), c=rng.randint(100, 999),
                           y=rng.randint(60, 99), m=rng.randint(1, 9), d=rng.randint(0, 2), g=rng.randint(1, 2),
                           e=rng.randint(0, 99))


def tiny_png(rng: random.Random) -> bytes:
    """A valid 8x8 RGB PNG with random pixels (binary junk a crawler fetches)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"".join(b"\x00" + bytes(rng.randrange(256) for _ in range(24)) for _ in range(8))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


class SampleBuilder:
    """Decides every page of every shard; `pages` ends up as a list per shard of dicts (manifest fields + body)."""

    def __init__(self, rng: random.Random, articles: list[dict], reviews: list[tuple[str, str, str]]):
        self.rng, self.articles, self.reviews = rng, articles, reviews
        self.titles = [a["title"] for a in articles]
        self.originals: list[dict] = []
        self.serial = 1000
        self.dup_urls: set[str] = set()

    def _next_id(self) -> int:
        self.serial += self.rng.randint(1, 37)
        return self.serial

    def _take_article(self, encoding: str) -> dict:
        for i, a in enumerate(self.articles):
            try:
                "\n".join(a["paragraphs"] + [a["title"]]).encode(encoding)
            except UnicodeEncodeError:
                continue
            return self.articles.pop(i)
        raise SystemExit("not enough source articles; read more of --shared or lower --pages-per-shard")

    def _render_article(self, template: int, art: dict, paragraphs: list[str], meta_charset, meta_style, extra):
        related = self.rng.sample(self.titles, k=8)
        if template == 0:
            site = self.rng.choice(st.NEWS_SITES)
            url = f"https://{site[1]}/news/articleView.html?idxno={self._next_id()}"
            _, body = pages.news_page(self.rng, site, art["title"], paragraphs, related, meta_charset, meta_style, extra)
        elif template == 1:
            host = self.rng.choice(st.BLOG_HOSTS)
            url = f"https://{host}/{self._next_id()}"
            _, body = pages.blog_page(self.rng, host.split(".")[0], art["title"], paragraphs, related,
                                      meta_charset, meta_style, extra)
        else:
            url = f"https://{st.WIKI_PORTAL[1]}/entry/{self._next_id()}"
            _, body = pages.wiki_portal_page(self.rng, art["title"], paragraphs, related, meta_charset, meta_style, extra)
        return url, body

    def article(self, legacy: tuple[str, str | None, str] | None) -> dict:
        encoding, label, declared = legacy or ("utf-8", self.rng.choice(["utf-8", "UTF-8"]), "header+meta")
        art = self._take_article(encoding)
        paragraphs = list(art["paragraphs"])
        pii = self.rng.random() < 0.2
        if pii:
            paragraphs.insert(self.rng.randint(1, len(paragraphs)), pii_line(self.rng))
        template = self.rng.choice([0, 0, 0, 1, 1, 2])  # news pages are the commonest Korean crawl pages
        meta_charset = label if "meta" in declared else None
        meta_style = self.rng.choice(["charset", "http-equiv"]) if legacy else "charset"
        extra = st.CP949_ONLY_LINE if encoding == "cp949" else None
        url, body = self._render_article(template, art, paragraphs, meta_charset, meta_style, extra)
        page = {"url": url, "kind": "article", "lang": "ko", "charset": encoding,
                "charset_declared": declared, "header_charset": label if "header" in declared else None,
                "source": art["source"], "pii_in_body": pii,
                # Chrome outside the legacy charset (©, rare Hanja in related titles) becomes &#NNN; as
                # legacy servers emit it; the article text itself was chosen to be encodable.
                "body": body.encode(encoding, errors="xmlcharrefreplace"),
                "content_type": "text/html", "_art": art, "_paragraphs": paragraphs, "_template": template}
        self.originals.append(page)
        return page

    def duplicate(self, kind: str) -> dict:
        orig = self.rng.choice([p for p in self.originals if p["charset"] == "utf-8"])
        fields = {"kind": kind, "lang": "ko", "charset": "utf-8", "charset_declared": "header+meta",
                  "header_charset": orig["header_charset"], "duplicate_of": orig["url"], "source": orig["source"],
                  "pii_in_body": orig["pii_in_body"], "content_type": "text/html"}
        if kind == "exact_duplicate":
            # The same page served under another URL: mobile host, tracking parameters or a print view.
            base = orig["url"]
            url = self.rng.choice([base.replace("https://www.", "https://m.").replace("https://news.", "https://m."),
                                   base + ("&" if "?" in base else "?") + "utm_source=naver&utm_medium=news",
                                   base.replace("articleView", "articlePrint")])
            while url == base or url in self.dup_urls:  # same original drawn twice: keep every URL unique
                url += ("&" if "?" in url else "?") + f"ref={self.rng.randint(1, 99)}"
            self.dup_urls.add(url)
            return {**fields, "url": url, "body": orig["body"]}
        paragraphs, edit = near_duplicate(self.rng, orig["_paragraphs"])
        template = (orig["_template"] + self.rng.randint(1, 2)) % 3  # syndicated copy: other site, other chrome
        url, body = self._render_article(template, orig["_art"], paragraphs, "utf-8", "charset", None)
        return {**fields, "url": url, "body": body.encode("utf-8"), "edit": edit}

    def other(self, kind: str, shard: int) -> dict:
        rng, host0 = self.rng, st.NEWS_SITES[0][1]
        page = {"kind": kind, "lang": "ko", "charset": "utf-8", "charset_declared": "header+meta",
                "header_charset": "utf-8", "source": "written", "pii_in_body": False, "content_type": "text/html"}
        if kind == "boilerplate_heavy":
            site = rng.choice(st.NEWS_SITES)
            url, body = f"https://{site[1]}/news/articleList.html?sc_section_code=S1N{rng.randint(1, 9)}&page={rng.randint(1, 50)}", \
                pages.boilerplate_heavy_page(rng, site, self.titles)[1]
        elif kind == "comments":
            picked = [self.reviews.pop(rng.randrange(len(self.reviews))) for _ in range(rng.randint(5, 12))]
            url = f"https://movie.yeonghwanara.example/review/{self._next_id()}?page={rng.randint(1, 9)}"
            body = pages.comments_page(rng, rng.choice(["영화", "이 영화", "신작"]) + f" {self._next_id()}",
                                       [(t, r) for _, t, r in picked])[1]
            page["source"] = "nsmc:" + ",".join(i for i, _, _ in picked)
        elif kind in ("foreign_en", "foreign_ja", "foreign_zh", "english_korean_nav"):
            lang = "en" if kind == "english_korean_nav" else kind.split("_")[1]
            host = {"en": st.ENGLISH_SITE, "ja": st.JAPANESE_SITE, "zh": st.CHINESE_SITE}[lang][1]
            url = f"https://{host}/posts/{self._next_id()}"
            body = pages.foreign_page(rng, lang, korean_nav=kind == "english_korean_nav")[1]
            page["lang"] = lang
        elif kind == "spam":
            url = f"https://{rng.choice(st.SPAM_HOSTS)}/{self._next_id()}.html"
            body = pages.spam_page(rng)[1]
        elif kind == "symbols":
            url, body = f"https://{host0}/tmp/{self._next_id()}.html", pages.symbols_page(rng)[1]
            page["lang"] = None
        elif kind == "empty":
            url, body = f"https://{host0}/api/ping?t={self._next_id()}", ""
            page["lang"] = None
        elif kind == "binary":
            url = f"https://cdn.{host0.split('.', 1)[1]}/photo/{self._next_id()}.png"
            return {**page, "url": url, "lang": None, "charset": None, "charset_declared": "none",
                    "header_charset": None, "body": tiny_png(rng), "content_type": "image/png"}
        elif kind == "plain_text":
            host = st.NEWS_SITES[shard % len(st.NEWS_SITES)][1]  # one robots.txt per host keeps URLs unique
            if shard % 2 == 0:
                url, body, page["lang"] = f"https://{host}/robots.txt", "User-agent: *\nDisallow: /admin/\nDisallow: /member/\n", None
            else:
                url = f"https://{host}/notice/{self._next_id()}.txt"
                body = "공지사항\n\n서버 점검으로 3월 2일 새벽 2시부터 4시까지 서비스가 중단됩니다.\n이용에 불편을 드려 죄송합니다.\n"
            page["content_type"], page["charset_declared"] = "text/plain", "header"
        else:
            raise ValueError(f"unknown kind {kind}")
        return {**page, "url": url, "body": body.encode("utf-8")}


def plan_kinds(rng: random.Random, n: int) -> list[str]:
    kinds = [k for k, share in KIND_SHARES.items() for _ in range(max(1, round(share * n)))]
    kinds += ["article"] * (n - len(kinds))
    rng.shuffle(kinds)
    return kinds


def build_pages(rng: random.Random, shards: int, per_shard: int, shared: Path) -> list[list[dict]]:
    needed = shards * per_shard
    builder = SampleBuilder(rng, load_articles(shared, needed), load_reviews(shared, needed * 4))
    plans = [plan_kinds(rng, per_shard) for _ in range(shards)]
    # Articles first (all shards), then everything else, so duplicates can point at originals in any shard.
    out: list[list[dict | None]] = [[None] * per_shard for _ in range(shards)]
    for s, plan in enumerate(plans):
        article_slots = [i for i, k in enumerate(plan) if k == "article"]
        legacy = list(LEGACY_VARIANTS) + ([NO_DECLARATION] if s == 0 else [])
        legacy_slots = dict(zip(rng.sample(article_slots, k=min(len(legacy), len(article_slots))), legacy))
        for i in article_slots:
            out[s][i] = builder.article(legacy_slots.get(i))
    for s, plan in enumerate(plans):
        for i, kind in enumerate(plan):
            if kind in ("exact_duplicate", "near_duplicate"):
                out[s][i] = builder.duplicate(kind)
            elif kind != "article":
                out[s][i] = builder.other(kind, s)
    return out  # type: ignore[return-value]


def write_shard(path: Path, rng: random.Random, shard_pages: list[dict], start: datetime) -> None:
    def record_id() -> str:
        return f"<urn:uuid:{uuid.UUID(int=rng.getrandbits(128), version=4)}>"

    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=True)
    info_id = record_id()
    info = (f"software: ko-curate data/make_sample.py\r\nformat: WARC File Format 1.0\r\n"
            f"description: ko-curate bundled sample, {len(shard_pages)} pages\r\nisPartOf: ko-curate-sample\r\n"
            "operator: ko-curate\r\n").encode()
    writer.write_record(writer.create_warc_record(
        "", "warcinfo", payload=io.BytesIO(info), length=len(info), warc_content_type="application/warc-fields",
        warc_headers_dict={"WARC-Record-ID": info_id, "WARC-Date": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                           "WARC-Filename": path.name}))
    for n, page in enumerate(shard_pages):
        date = (start + timedelta(seconds=7 * n + rng.randint(0, 6))).strftime("%Y-%m-%dT%H:%M:%SZ")
        host, _, rest = page["url"].split("://", 1)[1].partition("/")
        req_headers = StatusAndHeaders(f"GET /{rest} HTTP/1.1", [
            ("Host", host), ("User-Agent", "CCBot/2.0 (https://commoncrawl.org/faq/)"),
            ("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
            ("Accept-Language", "ko-KR,ko;q=0.9,en;q=0.5"), ("Accept-Encoding", "br,gzip")], is_http_request=True)
        content_type = page["content_type"]
        if page["header_charset"] and "header" in page["charset_declared"]:
            content_type += f"; charset={page['header_charset']}"
        resp_headers = StatusAndHeaders("200 OK", [
            ("Date", datetime.strptime(date, "%Y-%m-%dT%H:%M:%SZ").strftime("%a, %d %b %Y %H:%M:%S GMT")),
            ("Server", "nginx"), ("Content-Type", content_type), ("Content-Length", str(len(page["body"]))),
            ("Connection", "close")], protocol="HTTP/1.1")
        resp_id = record_id()
        common = {"WARC-Date": date, "WARC-Warcinfo-ID": info_id,
                  "WARC-IP-Address": f"203.0.113.{rng.randint(1, 254)}"}  # TEST-NET-3, never routed
        resp = writer.create_warc_record(page["url"], "response", payload=io.BytesIO(page["body"]),
                                         length=len(page["body"]), http_headers=resp_headers,
                                         warc_headers_dict={"WARC-Record-ID": resp_id, **common})
        req = writer.create_warc_record(page["url"], "request", http_headers=req_headers,
                                        warc_headers_dict={"WARC-Record-ID": record_id(), **common})
        writer.write_request_response_pair(req, resp)
    path.write_bytes(buf.getvalue())


MANIFEST_FIELDS = ["url", "shard", "kind", "lang", "charset", "charset_declared", "header_charset",
                   "duplicate_of", "edit", "source", "pii_in_body"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=REPO_ROOT.parent / "shared" / "data",
                        help="folder with kowiki-ref/ko-statutes/nsmc-reviews .jsonl.gz (default: ../shared/data)")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "data" / "sample")
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--pages-per-shard", type=int, default=100)
    parser.add_argument("--seed", type=int, default=20240301)
    args = parser.parse_args(argv)
    require_reference(args.shared, "make_sample.py", "kowiki-ref.jsonl.gz", "ko-statutes.jsonl.gz",
                      "nsmc-reviews.jsonl.gz")
    rng = random.Random(args.seed)
    shards = build_pages(rng, args.shards, args.pages_per_shard, args.shared)
    args.out.mkdir(parents=True, exist_ok=True)
    manifest = []
    for s, shard_pages in enumerate(shards):
        name = f"ko-sample-{s:05d}.warc.gz"
        write_shard(args.out / name, rng, shard_pages, WARC_START + timedelta(hours=3 * s))
        manifest += [{**{k: p.get(k) for k in MANIFEST_FIELDS}, "shard": name} for p in shard_pages]
    with open(args.out / "manifest.jsonl", "w", encoding="utf-8") as f:
        f.writelines(json.dumps(m, ensure_ascii=False) + "\n" for m in manifest)
    total = sum(p.stat().st_size for p in args.out.glob("*.warc.gz"))
    kinds: dict[str, int] = {}
    for m in manifest:
        kinds[m["kind"]] = kinds.get(m["kind"], 0) + 1
    print(f"wrote {len(shards)} shards, {len(manifest)} pages, {total / 1e6:.2f} MB to {args.out}")
    print(" ".join(f"{k}={v}" for k, v in sorted(kinds.items())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
