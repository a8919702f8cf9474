"""Throughput of the Korean spam/boilerplate/URL/PII steps, in documents per second on one core.

    python bench/speed/pii_speed.py [--docs 3000] [--repeat 3]

Builds 2 KB documents (2,048 UTF-8 bytes, ~700 Hangul syllables) from ../shared/data/kowiki-ref.jsonl.gz
(falls back to a repeated inline paragraph when that file is absent) and times each step alone in this
process: `ko_boilerplate_lines_v1`, `ko_spam_v1`, `url_blocklist_v1`, `pii_mask_v1`. Two inputs:
- clean: the kowiki chunks as they are (most web documents take the fast paths);
- web-like: the same chunks with a byline, a menu, a copyright footer, a phone number, an e-mail and two
  gambling terms added, so every step does its slow path.
The best of `--repeat` runs is printed (the machine is shared; the best run is the least disturbed).
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import time

from datatrove.data import Document

from bench.harness import SHARED, chunks, jsonl_texts
from filters.korean import KoBoilerplateLines, KoSpam
from filters.pii import PiiMask
from filters.urls import UrlBlocklist

KOWIKI = str(SHARED / "kowiki-ref.jsonl.gz")
DOC_BYTES = 2048
FALLBACK = "대한민국의 수도는 서울이며, 인구는 약 5천만 명이다. 한국어는 한글로 적는다.\n"
WEB_EXTRAS = (
    "홈 > 뉴스 > 사회\n{body}\n문의 010-1234-5678, news@example.co.kr\n카지노 관련 먹튀검증 기사는 아래에.\n"
    "홍길동 기자 hong@yna.co.kr\n<저작권자 © 연합뉴스, 무단 전재 및 재배포 금지>"
)


def chunks_2kb(n: int) -> list[str]:
    """n texts of about DOC_BYTES UTF-8 bytes from consecutive articles (then the fallback paragraph, repeated)."""
    articles = jsonl_texts(KOWIKI) if os.path.exists(KOWIKI) else ()
    return chunks(itertools.chain(articles, itertools.repeat(FALLBACK)), n, DOC_BYTES)


def time_step(step, texts: list[str], repeat: int) -> float:
    """Best docs/s over `repeat` runs; each run sees fresh Documents (steps rewrite text and metadata)."""
    is_filter = hasattr(step, "filter")
    best = 0.0
    for _ in range(repeat):
        docs = [Document(t, str(i), metadata={"url": f"https://news.example.kr/{i}"}) for i, t in enumerate(texts)]
        start = time.perf_counter()
        if is_filter:
            for d in docs:
                step.filter(d)
        else:
            for d in docs:
                step.annotate(d)
        best = max(best, len(docs) / (time.perf_counter() - start))
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--docs", type=int, default=3000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    clean = chunks_2kb(args.docs)
    web = [WEB_EXTRAS.format(body=t) for t in clean]
    source = KOWIKI if os.path.exists(KOWIKI) else "inline fallback paragraph"
    print(f"{len(clean)} documents of {DOC_BYTES} bytes from {source}; best of {args.repeat}; one core")
    steps = {
        "ko_boilerplate_lines_v1": KoBoilerplateLines(),
        "ko_spam_v1": KoSpam(),
        "url_blocklist_v1": UrlBlocklist(),
        "pii_mask_v1": PiiMask(),
    }
    # load the data files once outside the timing (a worker does this once per process)
    for step in steps.values():
        time_step(step, clean[:10], 1)
    print(f"{'step':26s} {'clean docs/s':>13s} {'web-like docs/s':>16s}")
    for name, step in steps.items():
        print(f"{name:26s} {time_step(step, clean, args.repeat):13,.0f} {time_step(step, web, args.repeat):16,.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
