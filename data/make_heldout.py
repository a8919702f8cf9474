"""Build the held-out sets `pipeline ablate` evaluates every arm on: Korean Wikipedia, formal/legal Korean
(statutes) and conversational Korean (movie reviews), as JSONL of {id, text, source}, NFC.

    python data/make_heldout.py [--shared ../shared/data] [--out /tmp/ko-heldout]
    python data/make_heldout.py --fixture tests/fixtures/heldout      # the small committed slices the tests use

Writes OUT/kowiki.jsonl, OUT/statutes.jsonl, OUT/conversational.jsonl. Deterministic: no random draw, only
hashes and file order. What an ablation measures is how well a model trained on an arm predicts text none of
the arms could have trained on, so every document here is one that neither the bundled sample
(data/make_sample.py, listed in data/sample/manifest.jsonl), nor the mixing sources (data/sources/, which
`configs/ko-web.yaml` mixes into every arm), nor the recall dev set (data/make_devset.py) uses:

- `kowiki` (CC BY-SA 3.0/4.0, Wikipedia contributors). Articles of `kowiki-ref` in the perplexity LM's
  held-out hash slice (`trainers.lm.build.is_heldout(id, text, 50)`: the LM that scores the curated arm never
  saw them) among the first `quality_data.KOWIKI_SKIP` = 5,000 records. The dev set and the quality
  classifier's positives only take records from 5,000 on; the sample takes articles from the first 3,200
  records, and those it used (its manifest's `kowiki-<id>` sources) are left out, as are the 300 articles of
  data/sources/ko-wiki.jsonl.gz. Articles of at least 200 characters on at least two lines, cut at a line
  boundary to at most 3,000 characters (the dev set's recipe). About 100 articles.
- `statutes` (public works of the Korean government, 공공저작물). Statutes neither the sample nor
  data/sources/ko-statutes.jsonl.gz uses. Their openings are the quality classifier's positives and the next
  two 1,500-character pieces are the dev set's `statute_tail` documents (`make_devset.statute_docs`, walked
  here the same way), so we take only what follows those: one document of at most 1,500 characters per
  statute long enough to have one.
- `conversational` (NSMC, CC0). Naver movie reviews the sample does not use and that are not in the quality
  classifier's test split, from which the dev set draws its reviews (`make_devset.classifier_seen`). These
  reviews were the classifier's negatives (train/valid): the curated arm's classifier learnt to drop this
  register, which is a fact the ablation should show, not a leak, since no arm's language model saw them.
  Ten reviews per document, one per line, in file order.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "data"))
sys.path.insert(0, str(REPO_ROOT))

import make_devset  # noqa: E402 - the dev set's own recipe, rerun to know what it uses
from make_sample import require_reference  # noqa: E402

from trainers import quality_data  # noqa: E402
from trainers.lm.build import is_heldout  # noqa: E402
from core.text import nfc  # noqa: E402

REVIEWS_PER_DOC = 10
FULL = {"kowiki": 0, "statutes": 0, "conversational": 300}  # 0: every document available
FIXTURE = {"kowiki": 16, "statutes": 6, "conversational": 12}


def read_jsonl(path: Path):
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def sample_wiki_ids() -> set[str]:
    ids = set()
    for line in (REPO_ROOT / "data" / "sample" / "manifest.jsonl").read_text(encoding="utf-8").splitlines():
        src = json.loads(line).get("source") or ""
        if src.startswith("kowiki-"):
            ids.add(src.removeprefix("kowiki-"))  # kowiki-ref ids are "kowiki-<curid>", sources' bare curids
    return ids


def source_ids(name: str) -> set[str]:
    return {str(d["id"]).removeprefix("kowiki-") for d in read_jsonl(REPO_ROOT / "data" / "sources" / name)}


def wiki_docs(shared: Path) -> list[dict]:
    skip = sample_wiki_ids() | source_ids("ko-wiki.jsonl.gz")
    out = []
    for n, d in enumerate(read_jsonl(shared / "kowiki-ref.jsonl.gz")):
        if n >= quality_data.KOWIKI_SKIP:
            break
        doc_id = str(d.get("id", ""))
        if doc_id.removeprefix("kowiki-") in skip or not is_heldout(doc_id, d["text"], 50):
            continue
        lines = make_devset._lines(nfc(d["text"]))
        if len(lines) >= 2 and sum(map(len, lines)) >= 200:
            text = "\n".join(quality_data.cut_lines(lines, make_devset.WIKI_MAX_CHARS))
            out.append({"id": doc_id, "text": text, "source": "kowiki-ref"})
    return out


def statute_docs(shared: Path) -> list[dict]:
    sample_statutes, _ = quality_data.sample_sources(REPO_ROOT / "data" / "sample" / "manifest.jsonl")
    skip = sample_statutes | source_ids("ko-statutes.jsonl.gz")
    out = []
    for d in read_jsonl(shared / "ko-statutes.jsonl.gz"):
        if d["path"] in skip:
            continue
        lines = make_devset._lines(nfc(d["text"]))
        last_seen = -1  # make_devset.statute_docs' own walk: the classifier's pieces from lines 0, 15, 30, 45
        for k in range(0, min(len(lines), 60), 15):
            last_seen = max(last_seen, k + len(quality_data.cut_lines(lines[k:], quality_data.MAX_DOC_CHARS)) - 1)
        rest = lines[last_seen + 1:]
        for _ in range(2):  # the dev set's two tail pieces, whether or not it kept them
            rest = rest[len(quality_data.cut_lines(rest, make_devset.STATUTE_MAX_CHARS)):]
        piece = quality_data.cut_lines(rest, make_devset.STATUTE_MAX_CHARS)
        if len(piece) >= 2 and sum(map(len, piece)) >= 200:
            out.append({"id": f"statute:{d['path']}#heldout", "text": "\n".join(piece), "source": "ko-statutes"})
    return out


def conversational_docs(shared: Path) -> list[dict]:
    _, sample_reviews = quality_data.sample_sources(REPO_ROOT / "data" / "sample" / "manifest.jsonl")
    _, _, dev_pool = make_devset.classifier_seen(shared)
    reviews = [d for d in read_jsonl(shared / "nsmc-reviews.jsonl.gz")
               if d["text"].strip() and d["id"] not in sample_reviews and d["id"] not in dev_pool]
    out = []
    for i in range(0, len(reviews) - REVIEWS_PER_DOC + 1, REVIEWS_PER_DOC):
        group = reviews[i:i + REVIEWS_PER_DOC]
        out.append({"id": "nsmc:" + ",".join(d["id"] for d in group),
                    "text": "\n".join(nfc(d["text"].strip()) for d in group), "source": "nsmc-reviews"})
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=REPO_ROOT.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=Path("/tmp/ko-heldout"))
    parser.add_argument("--fixture", type=Path, help="write the small committed slices here instead of --out")
    args = parser.parse_args(argv)
    require_reference(args.shared, "make_heldout.py", "kowiki-ref.jsonl.gz", "ko-statutes.jsonl.gz",
                      "nsmc-reviews.jsonl.gz")
    counts, out = (FIXTURE, args.fixture) if args.fixture else (FULL, args.out)
    out.mkdir(parents=True, exist_ok=True)
    builders = {"kowiki": wiki_docs, "statutes": statute_docs, "conversational": conversational_docs}
    for name, build in builders.items():
        docs = build(args.shared)
        # A fixture takes evenly spaced documents, so it spans the slice rather than its first records.
        if counts[name] and len(docs) > counts[name]:
            step = len(docs) / counts[name]
            docs = [docs[int(i * step)] for i in range(counts[name])]
        with open(out / f"{name}.jsonl", "w", encoding="utf-8") as fh:
            for d in docs:
                fh.write(json.dumps(d, ensure_ascii=False) + "\n")
        print(f"{out / (name + '.jsonl')}: {len(docs)} documents, {sum(len(d['text']) for d in docs):,} characters")
    return 0


if __name__ == "__main__":
    sys.exit(main())
