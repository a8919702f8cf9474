"""How fastText lid.176 scores real Korean text: the evidence for `language_id_v1`'s `min_score`.

    python bench/quality/measure_lid.py [--shared ../shared/data] [--docs 2000]

Runs `filters.language.LanguageID(...).predict` (the step's own truncation and newline handling) on
- kowiki: the first N Korean Wikipedia articles of `kowiki-ref.jsonl.gz`,
- statutes: every statute in `ko-statutes.jsonl.gz`,
- nsmc single: the first N Naver movie reviews of `nsmc-reviews.jsonl.gz`, one review per document,
- nsmc x10: reviews joined 10 per document, one per line, like a comment page (N documents),
and prints the share whose top label is `ko`, percentiles p0 (minimum), p1, p5, p10, p50 of the Korean
probability (0 when `ko` is not in the top 3), and the share the step would drop at min_score 0.65 (FineWeb's
lid.176 cut) and 0.842 (FineWeb-2's kor_Hang value, calibrated for GlotLID, not lid.176). A document is dropped
unless its top label is `ko` with a score of at least min_score, the step's own rule. The data sets are not in
the repository (see data/sample/README.md for their licenses); the script exits with one line when absent.
"""

from __future__ import annotations

import argparse
import sys
from itertools import islice
from pathlib import Path

import numpy as np

from bench.harness import ROOT, SHARED, jsonl_texts, shared_data
from filters.language import LanguageID

THRESHOLDS = (0.65, 0.842)
PERCENTILES = (0, 1, 5, 10, 50)  # p0 = the minimum
REVIEWS_PER_PAGE = 10


def nonempty_texts(path: Path, limit: int | None) -> list[str]:
    """The first `limit` non-empty texts, stripped."""
    return list(islice((t for t in map(str.strip, jsonl_texts(path)) if t), limit))


def corpora(shared: Path, n_docs: int) -> dict[str, list[str]]:
    reviews = nonempty_texts(shared / "nsmc-reviews.jsonl.gz", n_docs * REVIEWS_PER_PAGE)
    pages = ["\n".join(reviews[i:i + REVIEWS_PER_PAGE]) for i in range(0, len(reviews), REVIEWS_PER_PAGE)]
    return {
        "kowiki": nonempty_texts(shared / "kowiki-ref.jsonl.gz", n_docs),
        "statutes": nonempty_texts(shared / "ko-statutes.jsonl.gz", None),
        "nsmc single": reviews[:n_docs],
        f"nsmc x{REVIEWS_PER_PAGE}": pages[:n_docs],
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", default=str(SHARED),
                    help="folder with kowiki-ref, ko-statutes and nsmc-reviews .jsonl.gz")
    ap.add_argument("--docs", type=int, default=2000, help="documents per corpus (statutes: all)")
    args = ap.parse_args()
    shared = Path(args.shared)
    shared_data(*(shared / n for n in ("kowiki-ref.jsonl.gz", "ko-statutes.jsonl.gz", "nsmc-reviews.jsonl.gz")))

    lid = LanguageID(languages=["ko"], model_path=str(ROOT / "models/lid.176.ftz"))
    pct_head = " ".join(f"{'p' + str(p):>6}" for p in PERCENTILES)
    drop_head = " ".join(f"{'drop@' + str(t):>10}" for t in THRESHOLDS)
    print(f"fastText lid.176 ({lid.model_path}), first {lid.max_chars} characters of each document")
    print(f"{'corpus':12} {'docs':>5} {'chars p50':>9} {'top=ko':>7} {pct_head}  {drop_head}  other top labels")
    for name, texts in corpora(shared, args.docs).items():
        preds = lid.predict(texts)
        top_ko = np.array([lang == "ko" for lang, _, _ in preds])
        ko_score = np.array([ko for _, _, ko in preds])
        top_score = np.array([score for _, score, _ in preds])
        pcts = np.percentile(ko_score, PERCENTILES)
        drops = [np.mean(~(top_ko & (top_score >= t))) for t in THRESHOLDS]
        others: dict[str, int] = {}
        for lang, _, _ in preds:
            if lang != "ko":
                others[lang] = others.get(lang, 0) + 1
        other_text = ", ".join(f"{k} {v}" for k, v in sorted(others.items(), key=lambda kv: -kv[1])[:4]) or "-"
        chars = int(np.median([len(t) for t in texts]))
        print(f"{name:12} {len(texts):>5} {chars:>9} {top_ko.mean():>7.1%} "
              + " ".join(f"{p:>6.4f}" for p in pcts) + "  "
              + " ".join(f"{d:>10.1%}" for d in drops) + f"  {other_text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
