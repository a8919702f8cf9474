"""The recipe that builds the default quality classifier's training text (models/ko-quality/MODEL_CARD.md).

    python -m trainers.quality_data --shared ../shared/data --out /tmp/ko-quality-data

writes `positive.jsonl.gz` and `negative.jsonl.gz` (`id`, `text`, `recipe`), then
`pipeline quality train --positive .../positive.jsonl.gz --negative .../negative.jsonl.gz --out FILE`.

Positives (curated): Korean Wikipedia articles and Korean statutes (kowiki-ref, ko-statutes), cut at paragraph
boundaries to the length of a web article. Negatives (web): pages rendered with the bundled sample's own page
generators (data/sample_pages.py) and extracted by the pipeline's extractor, so the negatives are exactly the
text the pipeline would see: movie comment boards, news section indexes (menus and headline lists),
gambling/adult spam; and real NSMC movie reviews joined into comment threads (one review a line). The documents the bundled sample already holds (its first kowiki
articles, its statutes and its NSMC review ids) are left out, so scoring the sample measures unseen pages.
Everything is seeded: the same inputs give byte-identical files.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import sys
from pathlib import Path

from pipeline.read.extract import extract

ROOT = Path(__file__).resolve().parent.parent
# data/make_sample.py draws its articles from the first `needed * 8` kowiki lines (needed ≈ 300 for the
# bundled sample): skipping the first 5,000 keeps every sample article out of training.
KOWIKI_SKIP = 5000
# Web articles in the sample are 700-1,400 characters; positives are cut to at most this many.
MAX_DOC_CHARS = 1500


def _read_jsonl(path: Path):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            yield json.loads(line)


def cut_lines(paragraphs: list[str], max_chars: int) -> list[str]:
    """The leading paragraphs that fit in about `max_chars` (joined by "\n"); the first always, cut to
    `max_chars`. data/make_devset.py cuts the same way, to know where the classifier's pieces end."""
    out, size = [], 0
    for p in paragraphs:
        if out and size + len(p) > max_chars:
            break
        out.append(p[:max_chars])
        size += len(p) + 1
    return out


def _cut(paragraphs: list[str], max_chars: int) -> str:
    return "\n".join(cut_lines(paragraphs, max_chars))


def sample_sources(manifest: Path) -> tuple[set[str], set[str]]:
    """Statute paths and NSMC review ids the bundled sample already uses."""
    statutes, reviews = set(), set()
    for line in manifest.read_text(encoding="utf-8").splitlines():
        src = json.loads(line).get("source") or ""
        if src.startswith("statute:"):
            statutes.add(src.removeprefix("statute:"))
        elif src.startswith("nsmc:"):
            reviews.update(src.removeprefix("nsmc:").split(","))
    return statutes, reviews


def positives(shared: Path, n_wiki: int, rng: random.Random, skip_statutes: set[str]) -> list[dict]:
    wiki = []
    for i, d in enumerate(_read_jsonl(shared / "kowiki-ref.jsonl.gz")):
        if i < KOWIKI_SKIP:
            continue
        paragraphs = [p.strip() for p in d["text"].split("\n") if p.strip()]
        if sum(map(len, paragraphs)) >= 200:  # stubs of a line or two are not what a web article looks like
            wiki.append({"id": f"kowiki-{d['id']}", "text": _cut(paragraphs, MAX_DOC_CHARS), "recipe": "kowiki"})
    rng.shuffle(wiki)
    out = wiki[:n_wiki]
    for d in _read_jsonl(shared / "ko-statutes.jsonl.gz"):
        if d["path"] in skip_statutes:
            continue
        paragraphs = [p.strip() for p in d["text"].split("\n") if p.strip()]
        # long statutes give several pieces, so the few hundred statutes weigh something against kowiki
        for k in range(0, min(len(paragraphs), 60), 15):
            text = _cut(paragraphs[k:], MAX_DOC_CHARS)
            if len(text) >= 200:
                out.append({"id": f"statute:{d['path']}#{k}", "text": text, "recipe": "statute"})
    return out


def negatives(shared: Path, rng: random.Random, skip_reviews: set[str], n_spam: int, n_index: int) -> list[dict]:
    sys.path.insert(0, str(ROOT / "data"))
    import sample_pages as pages  # noqa: E402 - the sample generator's templates, used as they are
    import sample_text as st  # noqa: E402

    out = []
    reviews = [(d["text"], d.get("rating", "")) for d in _read_jsonl(shared / "nsmc-reviews.jsonl.gz")
               if d["text"].strip() and d["id"] not in skip_reviews]
    rng.shuffle(reviews)
    i = boards = 0
    while i < len(reviews):
        k = rng.randint(5, 12)  # the sample's comment boards hold 5-12 reviews
        picked = reviews[i:i + k]
        i += k
        # The reviews as a forum thread extracts: one per line. resiliparse's main-content mode drops the
        # reviews of the sample's comment-board template (only its chrome survives), so the rendered page
        # below alone would never show the classifier colloquial Korean.
        out.append({"id": f"thread-{len(out)}", "text": "\n".join(t for t, _ in picked), "recipe": "comment_thread"})
        if boards < n_index:  # rendered and extracted like the sample's comment boards (mostly chrome)
            html = pages.comments_page(rng, f"영화 {len(out)}", picked)[1]
            out.append({"id": f"board-{boards}", "text": extract(html, "resiliparse"), "recipe": "comment_page"})
            boards += 1
    titles = [d["title"] for _, d in zip(range(3000), _read_jsonl(shared / "kowiki-ref.jsonl.gz"))]
    for j in range(n_index):
        html = pages.boilerplate_heavy_page(rng, rng.choice(st.NEWS_SITES), titles)[1]
        out.append({"id": f"index-{j}", "text": extract(html, "resiliparse"), "recipe": "section_index"})
    for j in range(n_spam):
        html = pages.spam_page(rng)[1]
        out.append({"id": f"spam-{j}", "text": extract(html, "resiliparse"), "recipe": "spam"})
    return [d for d in out if d["text"].strip()]


def write_jsonl_gz(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # mtime=0: the same rows give byte-identical files
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
        for r in rows:
            gz.write((json.dumps(r, ensure_ascii=False) + "\n").encode())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", default=str(ROOT.parent / "shared" / "data"),
                    help="folder with kowiki-ref/ko-statutes/nsmc-reviews .jsonl.gz")
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=20240310)
    ap.add_argument("--wiki", type=int, default=4000, help="kowiki articles among the positives")
    ap.add_argument("--spam", type=int, default=400, help="spam pages among the negatives")
    ap.add_argument("--index", type=int, default=200,
                    help="news section index pages (and as many comment-board pages) among the negatives")
    args = ap.parse_args(argv)
    shared, out = Path(args.shared), Path(args.out)
    rng = random.Random(args.seed)
    skip_statutes, skip_reviews = sample_sources(ROOT / "data" / "sample" / "manifest.jsonl")
    pos = positives(shared, args.wiki, rng, skip_statutes)
    neg = negatives(shared, rng, skip_reviews, args.spam, args.index)
    write_jsonl_gz(out / "positive.jsonl.gz", pos)
    write_jsonl_gz(out / "negative.jsonl.gz", neg)
    for name, rows in (("positive", pos), ("negative", neg)):
        by = {}
        for r in rows:
            by[r["recipe"]] = by.get(r["recipe"], 0) + 1
        print(f"{name}: {len(rows)} documents {by}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
