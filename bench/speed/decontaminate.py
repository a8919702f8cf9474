"""Benchmark decontamination (`decontaminate_v1`): throughput, and which unit and n catch paraphrased copies.

    python bench/speed/decontaminate.py [--questions 50000] [--docs 2000] [--repeat 3]     # throughput
    python bench/speed/decontaminate.py --units [--questions 50000] [--planted 2000] [--clean 3000] [--bundled]

Text: ../shared/data/kowiki-ref.jsonl.gz when present, else the bundled data/sources/ko-wiki.jsonl.gz (300
articles; questions are then recombined sentence halves to reach --questions). Articles are split in two
disjoint sets: questions come from sentences of 30-150 characters of the first, clean documents from the second.

Throughput: a JSONL benchmark of --questions rows (question + four choices made of eojeol of other sentences +
answer) is indexed as the step indexes it (char 20-grams unless --unit/--ngram), then `filter()` runs on --docs
documents of 2 KB (2,048 UTF-8 bytes) of clean text, 1% of them with a planted question; CPU seconds of
this process, best of --repeat. Printed: index build time and size, peak RSS, docs/s per core, and the step's
share of the per-document pass (~500 docs/s per core: README "Performance").

--units: --planted questions of the index are planted as they are and paraphrased (2 particles changed, spacing
changed, 1 eojeol swapped for another, all three); a copy counts as caught when any n-gram of it matches. The
false positives are clean articles of the second set in which any n-gram matches.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import re
import sys
import tempfile
import time

from datatrove.data import Document

from bench.harness import ROOT, SHARED, chunks, cpu_seconds, jsonl_texts, peak_rss_mib
from filters.decontaminate import Decontaminate

KOWIKI = str(SHARED / "kowiki-ref.jsonl.gz")
BUNDLED = str(ROOT / "data" / "sources" / "ko-wiki.jsonl.gz")
DOC_BYTES = 2048
PASS_DOCS_PER_CORE = 500  # README "Performance": the per-document pass after profiling, 513-562 docs/s per core
_SENT = re.compile(r"(?<=[.?!])\s+|\n+")
_HANGUL = re.compile(r"[가-힣]")
# A particle or ending at the end of an eojeol and what a paraphrase puts in its place (the grammar of the
# result does not matter here: a web copy of a question changes such endings, not the content words).
PARTICLES = [("에서", "에"), ("으로", "로"), ("은", "이"), ("는", "가"), ("이", "은"), ("가", "는"), ("을", "은"),
             ("를", "는"), ("에", "에서"), ("의", ""), ("와", "과"), ("과", "와"), ("도", "는"), ("로", "으로")]


def articles(bundled: bool = False) -> tuple[str, list[str]]:
    path = KOWIKI if os.path.exists(KOWIKI) and not bundled else BUNDLED
    return path, list(jsonl_texts(path))


def sentences(texts: list[str]) -> list[str]:
    out = []
    for t in texts:
        for s in _SENT.split(t):
            s = s.strip()
            if 30 <= len(s) <= 150 and len(_HANGUL.findall(s)) >= len(s) // 2:
                out.append(s)
    return out


def questions(pool: list[str], n: int, rng: random.Random) -> list[str]:
    """n distinct questions: the pool's sentences, then recombined halves of them when the pool is short."""
    qs = list(dict.fromkeys(pool))[:n]
    seen = set(qs)
    while len(qs) < n:
        a, b = rng.choice(pool).split(), rng.choice(pool).split()
        q = " ".join(a[: len(a) // 2] + b[len(b) // 2:])
        if q not in seen:
            seen.add(q)
            qs.append(q)
    return qs


def split_articles(texts: list[str]) -> tuple[list[str], list[str]]:
    return [t for i, t in enumerate(texts) if i % 10], [t for i, t in enumerate(texts) if i % 10 == 0]


def write_benchmark(path: str, qs: list[str], vocab: list[str], rng: random.Random) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for q in qs:
            choices = [" ".join(rng.sample(vocab, 3)) for _ in range(4)]
            f.write(json.dumps({"question": q, "A": choices[0], "B": choices[1], "C": choices[2], "D": choices[3],
                                "answer": rng.randint(1, 4)}, ensure_ascii=False) + "\n")


# ---- paraphrases ------------------------------------------------------------------------------------------------

def change_particles(q: str, rng: random.Random, k: int = 2) -> str:
    words = q.split()
    idx = [i for i, w in enumerate(words) if len(w) > 1 and any(w.endswith(p) for p, _ in PARTICLES)]
    for i in rng.sample(idx, min(k, len(idx))):
        p, r = next((p, r) for p, r in PARTICLES if words[i].endswith(p))
        words[i] = words[i][: -len(p)] + r
    return " ".join(words)


def change_spacing(q: str, rng: random.Random) -> str:
    words = q.split()
    out = words[0]
    for w in words[1:]:  # about a third of the spaces go, as in hastily retyped Korean
        out += ("" if rng.random() < 0.33 else " ") + w
    long = [m.start() for m in re.finditer(r"\S{4,}", out)]
    if long:  # and one long eojeol is split
        i = rng.choice(long) + 2
        out = out[:i] + " " + out[i:]
    return out


def swap_word(q: str, rng: random.Random, vocab: list[str]) -> str:
    words = q.split()
    if len(words) > 2:
        words[rng.randrange(1, len(words) - 1)] = rng.choice(vocab)
    return " ".join(words)


SETTINGS = [("char", 13), ("char", 15), ("char", 18), ("char", 20), ("char", 25), ("char", 30), ("char", 40),
            ("char", 50), ("eojeol", 5), ("eojeol", 8), ("eojeol", 10), ("eojeol", 13)]


def units(args, texts: list[str], rng: random.Random) -> None:
    qa, clean = split_articles(texts)
    pool = sentences(qa)
    qs = questions(pool, args.questions, rng)
    vocab = [w for s in pool[:5000] for w in s.split() if len(w) >= 2]
    planted = rng.sample(qs, min(args.planted, len(qs)))
    kinds = {
        "exact": planted,
        "particles": [change_particles(q, rng) for q in planted],
        "spacing": [change_spacing(q, rng) for q in planted],
        "word": [swap_word(q, rng, vocab) for q in planted],
        "all three": [swap_word(change_spacing(change_particles(q, rng), rng), rng, vocab) for q in planted],
    }
    # a clean article that holds one of the questions word for word (Wikipedia repeats some sentences across
    # articles) is a true match, not a false one: such articles are left out of the false-positive count
    qset = set(qs)
    candidates = clean[: args.clean]
    clean = [t for t in candidates if not any(s.strip() in qset for s in _SENT.split(t))]
    print(f"{len(candidates) - len(clean)} of {len(candidates)} clean articles hold a question word for word: left out")
    short = [i for i, q in enumerate(planted) if len(q) < 50]
    print(f"{len(qs):,} questions from {len(pool):,} sentences; {len(planted):,} planted ({len(short)} under 50 "
          f"characters); {len(clean):,} clean articles, {sum(map(len, clean)) / 1e6:.1f} M characters")
    print(f"{'unit':6s} {'n':>3s} " + " ".join(f"{k:>9s}" for k in kinds) + f" {'short/all':>9s}"
          f" {'clean matched':>14s} {'n-grams':>8s}")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "bench.jsonl")
        write_benchmark(path, qs, vocab, rng)
        for unit, n in SETTINGS:
            step = Decontaminate([{"name": "b", "path": path, "columns": ["question"]}], unit=unit, ngram=n)
            size = step.index(step.benchmarks[0]).size
            caught = {k: [step.matches(t)[0].size > 0 for t in texts_] for k, texts_ in kinds.items()}
            fp = [t for t in clean if step.matches(t)[0].size]
            cells = " ".join(f"{100 * sum(c) / len(c):8.1f}%" for c in caught.values())
            short_all = 100 * sum(caught["all three"][i] for i in short) / max(1, len(short))
            print(f"{unit:6s} {n:3d} {cells} {short_all:8.1f}% {len(fp):6d} ({100 * len(fp) / len(clean):4.1f}%)"
                  f" {size:8,d}", flush=True)
            if args.show_matches and fp:
                s, e, _ = step.matches(fp[0])
                print(f"       e.g. {fp[0][max(0, s[0] - 10): e[0] + 10]!r}")


# ---- throughput -------------------------------------------------------------------------------------------------

def throughput(args, texts: list[str], rng: random.Random) -> None:
    qa, clean = split_articles(texts)
    pool = sentences(qa)
    qs = questions(pool, args.questions, rng)
    vocab = [w for s in pool[:5000] for w in s.split() if len(w) >= 2]
    docs = chunks(itertools.cycle(clean), args.docs, DOC_BYTES)
    for i in range(0, len(docs), 100):  # 1% of documents carry a question, in the middle
        mid = len(docs[i]) // 2
        docs[i] = docs[i][:mid] + "\n" + rng.choice(qs) + "\n" + docs[i][mid:]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "bench.jsonl")
        write_benchmark(path, qs, vocab, rng)
        rss0 = peak_rss_mib()
        t0 = time.perf_counter()  # the step indexes its benchmarks when it is built
        step = Decontaminate([{"name": "synthetic", "path": path, "columns": ["question", "A", "B", "C", "D"]}],
                             unit=args.unit, ngram=args.ngram)
        build = time.perf_counter() - t0
        index = step.index(step.benchmarks[0])
        rss1 = peak_rss_mib()
        print(f"{len(qs):,} questions (+4 choices each) from {args.source}; {args.unit} {args.ngram}-grams")
        print(f"index: {index.size:,} n-grams, {index.nbytes / 2**20:.1f} MiB with its bitmap, built in {build:.2f} s; "
              f"peak RSS {rss0:.0f} -> {rss1:.0f} MiB")
        best, dropped, matched = 0.0, 0, 0
        for _ in range(args.repeat):
            batch = [Document(t, str(i)) for i, t in enumerate(docs)]
            c0 = cpu_seconds()
            results = [step.filter(d) for d in batch]
            cpu = cpu_seconds() - c0
            best = max(best, len(batch) / cpu)
            dropped = sum(1 for r in results if r is not True)
            matched = sum(1 for d in batch if d.metadata["decontam_matches"])
        print(f"{len(docs):,} documents of {DOC_BYTES} bytes, {matched} with a match, {dropped} dropped; best of "
              f"{args.repeat}: {best:,.0f} docs/s per core (CPU time) = {100 * PASS_DOCS_PER_CORE / best:.1f}% of the "
              f"pass's CPU time at {PASS_DOCS_PER_CORE} docs/s per core")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--units", action="store_true", help="measure eojeol vs char n-grams on paraphrased copies")
    ap.add_argument("--questions", type=int, default=50_000)
    ap.add_argument("--planted", type=int, default=2000)
    ap.add_argument("--clean", type=int, default=3000)
    ap.add_argument("--docs", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--unit", default="char", choices=["char", "eojeol"])
    ap.add_argument("--ngram", type=int, default=20)
    ap.add_argument("--show-matches", action="store_true", help="print a false positive per setting")
    ap.add_argument("--bundled", action="store_true",
                    help="use data/sources/ko-wiki.jsonl.gz even where kowiki-ref is there")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    args.source, texts = articles(args.bundled)
    (units if args.units else throughput)(args, texts, rng)
    return 0


if __name__ == "__main__":
    sys.exit(main())
