"""Build the recall development set: labeled Korean pages no model, threshold or cut-off of the project was
fitted on, wrapped as HTML pages in Common-Crawl-style WARC shards, so they go through `pipeline run` like the
web. `bench/quality/devset_recall.py` runs a config on it and prints what each drop rule costs on each clean register.

    python data/make_devset.py [--shared ../shared/data] [--out /tmp/ko-devset] [--seed 20261201]
    python data/make_devset.py --fixture tests/fixtures/devset    # the small committed slice the tests use

Writes OUT/devset-0000N.warc.gz and OUT/manifest.jsonl: one line per page with url, shard, id, register,
label (keep / drop), source, charset, chars (characters of the document's text, for keep pages). Seeded: the same inputs give the same pages.

Which documents, and why none of them was seen by what it checks (the rule: what fits a model, a threshold
or a cut-off never checks it):

- `wiki_heldout` (keep). Korean Wikipedia, `kowiki-ref`. The perplexity model (models/ko-wiki-lm) trained on
  every article except the 1-in-50 slice by id hash (`trainers.lm.build.is_heldout(id, text, 50)`, 736
  articles); so only that slice is unseen by the LM. Within it we leave out the records before 5,000 (the
  bundled sample draws its articles from the first `needed * 8` = 3,200 lines, data/make_sample.py; 5,000 is
  `trainers.quality_data.KOWIKI_SKIP`) and every article the quality classifier drew as a positive (its 4,000
  `kowiki-<id>` ids are recomputed here by running its seeded recipe, `trainers.quality_data.positives`).
  That slice is exactly the sample `configs/perplexity_cutoffs.yaml` was computed on (its p30 / p90): every
  kowiki article was seen either by the LM or by those cut-offs, there is no third slice. So the held-out
  slice checks the model, and a perplexity cut-off that decides anything must not come from it: the default
  after this measurement keeps every bucket (the buckets are an annotation), see configs/ko-web.yaml.
  Articles of at least 200 characters on at least two lines (the classifier's and the sample's recipe: a
  one-line stub is not what a web article looks like), cut at a line boundary to at most 3,000 characters.
- `statute_tail` (keep). Korean statutes, `ko-statutes`. The classifier's positives are up to four pieces per
  statute, cut from lines 0, 15, 30 and 45 to at most 1,500 characters (`quality_data.positives`); the sample
  uses the openings of the statutes listed in data/sample/manifest.jsonl. We take, from statutes the sample
  does not use, only the lines after the last line any classifier piece covered (recomputed with the same
  cut), as documents of at most 1,500 characters, at most two per statute. The heuristic thresholds in
  filters/gopher.py and filters/c4_fineweb.py quote measurements on all 287 whole statutes
  (bench/quality/measure_thresholds.py); those were checks of FineWeb-2/Gopher/C4 numbers, not fits, and no
  threshold was moved to fit them.
- `ko-registers-dev` (keep), all 129 documents, one register each (`policy_briefing`, `news_wikitree`,
  `news_wikinews`, `listing_airbnb`, `bill_hardwrapped`, `constitution`): checking only, nothing is ever
  fitted on this file (../shared/data/README.md).
- Junk (drop): pages of the sample generator's junk kinds (data/sample_pages.py), drawn with this script's own
  seed: `spam` (gambling/adult), `comment_board` (movie comment boards around real reviews), `section_index`
  (news section index pages: menus and headline lists), `foreign_en` / `foreign_ja` / `foreign_zh`. Note the
  templates are the same the quality classifier's negatives were rendered from: the classifier recognises
  these templates, so its figures on them say little about unseen junk.
- `review_single` (drop): one real Naver movie review per page (NSMC, CC0), in a blog template. A single
  short colloquial review is low-quality web text the pipeline is meant to drop (too short to teach a model
  anything, often slang, ㅋㅋ, misspelled). The classifier's negatives hold every NSMC review the sample does
  not use, joined into threads; its training command splits examples 80/10/10 by `quality_train.split_of`.
  We take reviews only from threads that fell in its test split (never trained on, never used to choose
  hyper-parameters), and none the sample uses. The comment boards take their reviews from the same pool.

Licenses: Wikipedia text is CC BY-SA 3.0/4.0, KLUE premises CC BY-SA 4.0, statutes, bills and the
constitution are public works of the Korean government (공공저작물), NSMC is CC0; the committed fixture
(tests/fixtures/devset/) is under the same terms (its README says so).
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "data"))
sys.path.insert(0, str(REPO_ROOT))

import make_sample  # noqa: E402 - the sample's WARC writer and legacy-charset variants
import sample_pages as pages  # noqa: E402
import sample_text as st  # noqa: E402

from trainers import quality_data  # noqa: E402 - the classifier's recipe, rerun to know what it saw
from trainers.lm.build import is_heldout  # noqa: E402
from trainers.quality import split_of  # noqa: E402
from core.text import nfc  # noqa: E402

QUALITY_SEED = 20240310  # trainers.quality_data's default --seed, as models/ko-quality/MODEL_CARD.md built it
QUALITY_TRAIN_SEED = 0  # `pipeline quality train --seed` default: the split the model card reports
WIKI_MAX_CHARS = 3000
STATUTE_MAX_CHARS = 1500
JUNK_KINDS = ("spam", "comment_board", "section_index", "foreign_en", "foreign_ja", "foreign_zh")
DEVSET_START = datetime(2024, 6, 1, 0, 0, 0, tzinfo=timezone.utc)
PAGES_PER_SHARD = 250


def read_jsonl(path: Path):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def _lines(text: str) -> list[str]:
    return [p.strip() for p in text.split("\n") if p.strip()]


def classifier_seen(shared: Path) -> tuple[set[str], set[str], set[str]]:
    """Rerun the classifier's seeded recipe: (kowiki ids among its positives, review ids it trained or validated
    on, review ids in its test split). Checked against the counts models/ko-quality/MODEL_CARD.md reports."""
    rng = random.Random(QUALITY_SEED)
    skip_statutes, skip_reviews = quality_data.sample_sources(REPO_ROOT / "data" / "sample" / "manifest.jsonl")
    pos = quality_data.positives(shared, 4000, rng, skip_statutes)
    state = rng.getstate()
    neg = quality_data.negatives(shared, rng, skip_reviews, 400, 200)
    # The same thread loop again, with the same generator state, to learn which review ids each thread holds.
    rng.setstate(state)
    reviews = [(d["id"], d["text"], d.get("rating", "")) for d in read_jsonl(shared / "nsmc-reviews.jsonl.gz")
               if d["text"].strip() and d["id"] not in skip_reviews]
    rng.shuffle(reviews)
    threads, i, boards = {}, 0, 0
    while i < len(reviews):
        k = rng.randint(5, 12)
        picked = reviews[i:i + k]
        i += k
        threads["\n".join(t for _, t, _ in picked)] = [r for r, _, _ in picked]
        if boards < 200:
            pages.comments_page(rng, "x", [(t, r) for _, t, r in picked])
            boards += 1
    splits = {"train": 0, "valid": 0, "test": 0}
    seen_reviews, test_reviews = set(), set()
    for label, rows in ((quality_data_label(True), pos), (quality_data_label(False), neg)):
        # `quality train` numbers the documents it reads (NFC, stripped; none of these is empty) per class
        for n, row in enumerate(rows):
            split = split_of(QUALITY_TRAIN_SEED, label, n, nfc(row["text"]).strip()[:4000])
            splits[split] += 1
            if row.get("recipe") == "comment_thread":
                (test_reviews if split == "test" else seen_reviews).update(threads[row["text"]])
    if splits != {"train": 6344, "valid": 766, "test": 795}:
        raise SystemExit(f"the classifier recipe did not reproduce (splits {splits}); refusing to guess what it saw")
    wiki_ids = {r["id"].removeprefix("kowiki-") for r in pos if r["recipe"] == "kowiki"}
    return wiki_ids, seen_reviews, test_reviews - seen_reviews


def quality_data_label(curated: bool) -> str:
    from filters.quality import NEGATIVE_LABEL, POSITIVE_LABEL

    return POSITIVE_LABEL if curated else NEGATIVE_LABEL


def wiki_docs(shared: Path, classifier_wiki: set[str]) -> list[dict]:
    out = []
    for n, d in enumerate(read_jsonl(shared / "kowiki-ref.jsonl.gz")):
        if n < quality_data.KOWIKI_SKIP or not is_heldout(str(d.get("id", "")), d["text"], 50):
            continue
        if d["id"] in classifier_wiki:
            continue
        lines = _lines(d["text"])
        if len(lines) >= 2 and sum(map(len, lines)) >= 200:
            out.append({"id": d["id"], "register": "wiki_heldout", "title": d["title"],
                        "lines": quality_data.cut_lines(lines, WIKI_MAX_CHARS), "source": "kowiki-ref"})
    return out


def statute_docs(shared: Path) -> list[dict]:
    sample_statutes, _ = quality_data.sample_sources(REPO_ROOT / "data" / "sample" / "manifest.jsonl")
    out = []
    for d in read_jsonl(shared / "ko-statutes.jsonl.gz"):
        if d["path"] in sample_statutes:
            continue
        lines = _lines(d["text"])
        last_seen = -1  # the classifier's pieces: _cut(lines[k:], 1500) for k = 0, 15, 30, 45
        for k in range(0, min(len(lines), 60), 15):
            last_seen = max(last_seen, k + len(quality_data.cut_lines(lines[k:], quality_data.MAX_DOC_CHARS)) - 1)
        rest = lines[last_seen + 1:]
        for part in range(2):
            piece = quality_data.cut_lines(rest, STATUTE_MAX_CHARS)
            rest = rest[len(piece):]
            if sum(map(len, piece)) >= 200 and len(piece) >= 2:
                out.append({"id": f"statute:{d['path']}#tail{part}", "register": "statute_tail",
                            "title": d["제목"], "lines": piece, "source": "ko-statutes"})
    return out


# Page titles for ko-registers-dev documents, which have none. Not their first line: a title repeated as the
# first paragraph (and in other pages' related-link lists) would make a duplicated line the source never had.
REGISTER_TITLES = {"policy_briefing": "정책 브리핑", "news_wikitree": "위키트리 뉴스", "news_wikinews": "위키뉴스",
                   "listing_airbnb": "숙소 소개", "bill_hardwrapped": "의안 원문", "constitution": "대한민국헌법"}


def register_docs(shared: Path) -> list[dict]:
    return [{"id": d["id"], "register": d["register"], "lines": _lines(d["text"]), "source": "ko-registers-dev",
             "title": f"{REGISTER_TITLES.get(d['register'], d['register'])} {d['id'].rsplit('-', 1)[-1]}"}
            for d in read_jsonl(shared / "ko-registers-dev.jsonl.gz")]


class DevPages:
    """Renders each document as a page of one of the sample's templates; url serials are unique."""

    def __init__(self, rng: random.Random, titles: list[str]):
        self.rng, self.titles, self.serial = rng, titles, 5000

    def _next(self) -> int:
        self.serial += self.rng.randint(1, 29)
        return self.serial

    def article(self, doc: dict, legacy_every: int = 8) -> dict:
        rng = self.rng
        related = rng.sample(self.titles, k=8)
        encoding, label, declared = "utf-8", "utf-8", "header+meta"
        if rng.randrange(legacy_every) == 0:  # legacy-encoded pages, as old Korean servers send them
            variant = rng.choice(make_sample.LEGACY_VARIANTS)
            try:
                "\n".join(doc["lines"] + [doc["title"]]).encode(variant[0])
                encoding, label, declared = variant
            except UnicodeEncodeError:
                pass
        meta = label if "meta" in declared else None
        template = rng.choice([0, 0, 1, 2])
        if template == 0:
            site = rng.choice(st.NEWS_SITES)
            url = f"https://{site[1]}/news/articleView.html?idxno={self._next()}"
            body = pages.news_page(rng, site, doc["title"], doc["lines"], related, meta)[1]
        elif template == 1:
            host = rng.choice(st.BLOG_HOSTS)
            url = f"https://{host}/{self._next()}"
            body = pages.blog_page(rng, host.split(".")[0], doc["title"], doc["lines"], related, meta)[1]
        else:
            url = f"https://{st.WIKI_PORTAL[1]}/entry/{self._next()}"
            body = pages.wiki_portal_page(rng, doc["title"], doc["lines"], related, meta)[1]
        return {"url": url, "id": doc["id"], "register": doc["register"], "label": "keep", "source": doc["source"],
                "chars": len("\n".join(doc["lines"])),
                "charset": encoding, "charset_declared": declared, "header_charset": label if "header" in declared else None,
                "body": body.encode(encoding, errors="xmlcharrefreplace"), "content_type": "text/html"}

    def junk(self, kind: str, reviews: list[tuple[str, str, str]]) -> dict:
        rng, source = self.rng, "written"
        if kind == "spam":
            url, body = f"https://{rng.choice(st.SPAM_HOSTS)}/{self._next()}.html", pages.spam_page(rng)[1]
        elif kind == "comment_board":
            picked = [reviews.pop() for _ in range(rng.randint(5, 12))]
            url = f"https://movie.yeonghwanara.example/review/{self._next()}?page={rng.randint(1, 9)}"
            body = pages.comments_page(rng, f"영화 {self._next()}", [(t, r) for _, t, r in picked])[1]
            source = "nsmc:" + ",".join(i for i, _, _ in picked)
        elif kind == "section_index":
            site = rng.choice(st.NEWS_SITES)
            url = f"https://{site[1]}/news/articleList.html?sc_section_code=S1N{rng.randint(1, 9)}&page={self._next()}"
            body = pages.boilerplate_heavy_page(rng, site, self.titles)[1]
        elif kind.startswith("foreign_"):
            lang = kind.split("_")[1]
            host = {"en": st.ENGLISH_SITE, "ja": st.JAPANESE_SITE, "zh": st.CHINESE_SITE}[lang][1]
            url, body = f"https://{host}/posts/{self._next()}", pages.foreign_page(rng, lang, rng.random() < 0.2)[1]
        elif kind == "review_single":
            rid, text, _ = reviews.pop()
            host = rng.choice(st.BLOG_HOSTS)
            url = f"https://{host}/{self._next()}"
            # a title of its own, not the review's opening (which would make a repeated n-gram the review lacks)
            title = f"{rng.choice(['관람 후기', '영화 보고 왔어요', '오늘 본 영화', '한줄평'])} {self._next() % 1000}"
            body = pages.blog_page(rng, host.split(".")[0], title, [text], rng.sample(self.titles, k=8))[1]
            source = "nsmc:" + rid
        else:
            raise ValueError(kind)
        return {"url": url, "id": url, "register": kind, "label": "drop", "source": source, "charset": "utf-8",
                "charset_declared": "header+meta", "header_charset": "utf-8", "body": body.encode("utf-8"),
                "content_type": "text/html"}


def build(shared: Path, seed: int, counts: dict[str, int]) -> list[dict]:
    """Every page of the dev set, shuffled; `counts` caps documents per register (0 = all)."""
    rng = random.Random(seed)
    classifier_wiki, _, test_reviews = classifier_seen(shared)
    _, sample_reviews = quality_data.sample_sources(REPO_ROOT / "data" / "sample" / "manifest.jsonl")
    docs = wiki_docs(shared, classifier_wiki) + statute_docs(shared) + register_docs(shared)
    by_register: dict[str, list[dict]] = {}
    for d in docs:
        by_register.setdefault(d["register"], []).append(d)
    kept = []
    for reg, rows in sorted(by_register.items()):
        rng.shuffle(rows)
        cap = counts.get(reg, counts.get("default", 0))
        kept += rows[:cap] if cap else rows
    reviews = sorted((d["id"], d["text"], d.get("rating", "")) for d in read_jsonl(shared / "nsmc-reviews.jsonl.gz")
                     if d["id"] in test_reviews and d["id"] not in sample_reviews and d["text"].strip())
    rng.shuffle(reviews)
    maker = DevPages(rng, [d["title"] for d in kept])
    out = [maker.article(d) for d in kept]
    for kind in JUNK_KINDS + ("review_single",):
        out += [maker.junk(kind, reviews) for _ in range(counts.get(kind, counts.get("junk", 0)))]
    rng.shuffle(out)
    return out


MANIFEST_FIELDS = ["url", "shard", "id", "register", "label", "source", "charset", "chars"]
FULL_COUNTS = {"default": 0, "wiki_heldout": 400, "statute_tail": 0, "junk": 60, "foreign_en": 20,
               "foreign_ja": 20, "foreign_zh": 20, "review_single": 200}
# The committed test fixture: a few pages of each register (3 of each ko-registers-dev register).
FIXTURE_COUNTS = {"default": 3, "wiki_heldout": 6, "statute_tail": 4, "junk": 3, "foreign_en": 2,
                  "foreign_ja": 1, "foreign_zh": 1, "review_single": 6}


def write(out_dir: Path, all_pages: list[dict], seed: int) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed + 1)
    manifest = []
    for s in range(0, len(all_pages), PAGES_PER_SHARD):
        name = f"devset-{s // PAGES_PER_SHARD:05d}.warc.gz"
        shard = all_pages[s:s + PAGES_PER_SHARD]
        make_sample.write_shard(out_dir / name, rng, shard, DEVSET_START + timedelta(hours=s // PAGES_PER_SHARD))
        manifest += [{**{k: p.get(k) for k in MANIFEST_FIELDS}, "shard": name} for p in shard]
    with open(out_dir / "manifest.jsonl", "w", encoding="utf-8") as f:
        f.writelines(json.dumps(m, ensure_ascii=False) + "\n" for m in manifest)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", type=Path, default=REPO_ROOT.parent / "shared" / "data")
    ap.add_argument("--out", type=Path, default=Path("/tmp/ko-devset"))
    ap.add_argument("--seed", type=int, default=20261201)
    ap.add_argument("--fixture", type=Path, default=None,
                    help="write the small test slice (a few pages per register) here instead")
    args = ap.parse_args(argv)
    make_sample.require_reference(args.shared, "make_devset.py", "kowiki-ref.jsonl.gz", "ko-statutes.jsonl.gz",
                                  "nsmc-reviews.jsonl.gz", "ko-registers-dev.jsonl.gz")
    out = args.fixture or args.out
    all_pages = build(args.shared, args.seed, FIXTURE_COUNTS if args.fixture else FULL_COUNTS)
    write(out, all_pages, args.seed)
    regs: dict[str, int] = {}
    for p in all_pages:
        regs[f"{p['label']}:{p['register']}"] = regs.get(f"{p['label']}:{p['register']}", 0) + 1
    print(f"wrote {len(all_pages)} pages to {out}")
    print(" ".join(f"{k}={v}" for k, v in sorted(regs.items())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
