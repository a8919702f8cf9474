"""Measure the Korean signals and heuristic-filter scores on real Korean text, and what each filter drops.

    python bench/quality/measure_thresholds.py [--data ../shared/data] [--limit 6000]

Corpora (from --data, see its README): kowiki-ref articles as they are (paragraphs joined by newlines);
kowiki-2k = consecutive kowiki articles joined into ~2 KB documents (the size of an extracted web page);
ko-statutes (formal); nsmc-reviews single reviews (short, colloquial); nsmc-2k = reviews joined into ~2 KB
documents (a comment board page). Prints score percentiles per corpus, then the share of each corpus each
step drops at its defaults (alone, on the original text), the top reasons, and the share dropped by the
chain. The figures quoted beside the defaults in filters/signals.py, filters/gopher.py and filters/c4_fineweb.py
come from here.
"""

from __future__ import annotations

import argparse
import collections
import os
import time
from itertools import islice

import numpy as np
from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import get_filter_result

from bench.harness import SHARED, jsonl_texts, shared_data
from filters.c4_fineweb import C4LinesKo, FineWebQualityKo
from filters.gopher import GopherQualityKo, GopherRepetitionKo
from filters.signals import KoQualityFilter, compute_signals

PERCENTILES = (0.1, 1, 2, 5, 50, 95, 99, 99.9)
TARGET_CHARS = 2000  # a 2 KB document: the median extracted Korean web page is of this order


def join_to_size(texts: list[str], target: int = TARGET_CHARS) -> list[str]:
    docs, buf, size = [], [], 0
    for t in texts:
        buf.append(t)
        size += len(t)
        if size >= target:
            docs.append("\n".join(buf))
            buf, size = [], 0
    return docs


def steps() -> dict[str, object]:
    return {
        "ko_quality_v1": KoQualityFilter(),
        "gopher_repetition_v1": GopherRepetitionKo(),
        "gopher_quality_ko_v1": GopherQualityKo(),
        "c4_lines_ko_v1": C4LinesKo(),
        "fineweb_quality_ko_v1": FineWebQualityKo(),
    }


def scores(text: str, filters: dict) -> dict[str, float]:
    """Every score the steps write, computed with all thresholds ignored (each step's filter() writes its
    metadata before deciding; the decisions are discarded here)."""
    doc = Document(text=text, id="x")
    row = dict(compute_signals(doc))
    for name in ("gopher_repetition_v1", "gopher_quality_ko_v1", "fineweb_quality_ko_v1"):
        filters[name].filter(doc)
    row.update({k: v for k, v in doc.metadata.items() if not k.startswith("_")})
    row["newline_per_eojeol"] = text.count("\n") / row["eojeol_count"] if row["eojeol_count"] else 0.0
    c4doc = Document(text=text, id="x")
    n_lines = len([ln for ln in text.split("\n") if ln.strip()])
    filters["c4_lines_ko_v1"].filter(c4doc)
    row["c4_line_removed_frac"] = c4doc.metadata.get("c4_lines_removed", 0) / n_lines if n_lines else 0.0
    row["c4_sentences"] = sum(map(filters["c4_lines_ko_v1"]._ends.count_sentences, c4doc.text.split("\n")))
    return row


def drops(texts: list[str], filters: dict) -> tuple[dict[str, collections.Counter], int]:
    reasons = {name: collections.Counter() for name in filters}
    chain_dropped = 0
    for text in texts:
        for name, f in filters.items():
            ok, reason = get_filter_result(f.filter(Document(text=text, id="x")))
            if not ok:
                reasons[name][reason] += 1
        doc = Document(text=text, id="x")
        for f in filters.values():
            if not get_filter_result(f.filter(doc))[0]:
                chain_dropped += 1
                break
    return reasons, chain_dropped


def sweep(name: str, texts: list[str], rows: list[dict]) -> None:
    """Drop shares at alternative values of the thresholds whose defaults depart from the papers."""
    n = len(texts)
    eojeol = np.array([r["eojeol_count"] for r in rows])
    sentences = np.array([r["c4_sentences"] for r in rows])
    print(f"alternatives on {name}:")
    print("  gopher min_eojeol     " + ", ".join(f"{m}: {100 * np.mean(eojeol < m):.2f}%" for m in (20, 30, 50)))
    print("  c4 min_sentences      " + ", ".join(f"{m}: {100 * np.mean(sentences < m):.2f}%" for m in (3, 5)))
    total_lines = sum(len([ln for ln in t.split("\n") if ln.strip()]) for t in texts)
    shares = []
    for m in (2, 3):
        f = C4LinesKo(min_eojeol_per_line=m)
        for t in texts:
            f.filter(Document(text=t, id="x"))
        # datatrove's stats dict has no __contains__ (`in` loops forever); a missing key reads as 0
        removed = f.stats["c4_ko_line_too_few_eojeol"].total
        shares.append(f"{m}: {100 * removed / total_lines:.2f}% of lines")
    print("  c4 min_eojeol_per_line " + ", ".join(shares))
    curly = sum("{" in t for t in texts)
    print(f"  documents containing '{{': {100 * curly / n:.2f}%")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(SHARED))
    ap.add_argument("--limit", type=int, default=6000, help="articles/reviews read per corpus (0 = all)")
    args = ap.parse_args()

    shared_data(args.data)
    kowiki = list(islice(jsonl_texts(os.path.join(args.data, "kowiki-ref.jsonl.gz")), args.limit * 4 or None))
    nsmc = list(jsonl_texts(os.path.join(args.data, "nsmc-reviews.jsonl.gz")))
    corpora = {
        "kowiki": kowiki[: args.limit],
        "kowiki-2k": join_to_size(kowiki)[: args.limit],
        "statutes": list(jsonl_texts(os.path.join(args.data, "ko-statutes.jsonl.gz"))),
        "nsmc": nsmc[: args.limit],
        "nsmc-2k": join_to_size(nsmc),
    }
    filters = steps()
    for name, texts in corpora.items():
        t0 = time.perf_counter()
        rows = [scores(t, filters) for t in texts]
        print(f"\n== {name}: {len(texts)} docs, median {int(np.median([len(t) for t in texts]))} chars "
              f"({time.perf_counter() - t0:.1f}s)")
        print(f"{'score':24s}" + "".join(f"{'p' + str(p):>9s}" for p in PERCENTILES))
        for key in rows[0]:
            vals = np.array([r[key] for r in rows], dtype=float)
            print(f"{key:24s}" + "".join(f"{v:9.3f}" for v in np.percentile(vals, PERCENTILES)))
        reasons, chained = drops(texts, filters)
        print(f"dropped at defaults (each step alone; chain of all: {100 * chained / len(texts):.2f}%)")
        for step, counter in reasons.items():
            total = sum(counter.values())
            top = ", ".join(f"{r} {100 * c / len(texts):.2f}%" for r, c in counter.most_common(4))
            print(f"  {step:24s} {100 * total / len(texts):6.2f}%  {top}")
        if name.startswith("kowiki"):
            sweep(name, texts, rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
