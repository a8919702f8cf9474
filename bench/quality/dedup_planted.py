"""Planted near-duplicate sets built from kowiki-ref (../shared/data, CC BY-SA), shared by the dedup benches.

`make_corpus(n_docs, dup_share, seed)` returns documents (id, text) and the planted (original, variant) pairs.
Each variant applies one or two of: 2-5% of eojeol replaced, one sentence dropped, numbers changed, a different
site header/footer. Bases are independent articles cut to 500-3,000 characters; for more documents than there
are articles, a base is built from sentences of several articles (scale bench only).
"""

from __future__ import annotations

import random
import re
from itertools import islice

from bench.harness import jsonl_records

EDITS = ("eojeol", "sentence", "numbers", "boilerplate")
HEADERS = ["홈 | 뉴스 | 로그인 | 회원가입", "전체메뉴 검색 바로가기", "본문 바로가기 | 주메뉴 바로가기"]
FOOTERS = ["저작권자 © 무단전재 및 재배포 금지", "Copyright ⓒ All rights reserved. 개인정보처리방침 | 이용약관", "기사제보 및 보도자료 문의"]


def load_articles(path: str, limit: int, min_chars: int = 500, max_chars: int = 3000) -> list[str]:
    """The first `limit` articles of at least `min_chars` characters, cut to `max_chars`."""
    long_enough = (r["text"] for r in jsonl_records(path) if len(r["text"]) >= min_chars)
    return [t[:max_chars] for t in islice(long_enough, limit)]


def edit(text: str, kind: str, rng: random.Random, vocab: list[str]) -> str:
    if kind == "eojeol":
        ws = text.split(" ")
        for i in rng.sample(range(len(ws)), max(1, int(len(ws) * rng.uniform(0.02, 0.05)))):
            ws[i] = rng.choice(vocab)
        return " ".join(ws)
    if kind == "sentence":
        sents = re.split(r"(?<=[.다])\s+", text)
        if len(sents) > 3:
            del sents[rng.randrange(1, len(sents))]
        return " ".join(sents)
    if kind == "numbers":
        return re.sub(r"\d+", lambda m: str(int(m.group()) + rng.randint(1, 9)), text)
    return rng.choice(HEADERS) + "\n" + text + "\n" + rng.choice(FOOTERS)


def make_corpus(articles: list[str], n_docs: int, dup_share: float, seed: int = 0, synthetic: bool = False):
    """(docs [(id, text)], pairs [(original id, variant id, edits)]); ~dup_share of docs are variants.

    synthetic: every base is built from sentences of 4 random articles (for more documents than articles)."""
    rng = random.Random(seed)
    vocab = [w for a in articles[:200] for w in a.split()][:20000]
    n_variants = int(n_docs * dup_share)
    n_bases = n_docs - n_variants
    docs, pairs = [], []
    for i in range(n_bases):
        if i < len(articles) and not synthetic:
            text = articles[i]
        else:  # synthetic base: sentences of 4 random articles
            parts = [rng.choice(articles) for _ in range(4)]
            text = " ".join(p[rng.randrange(0, max(1, len(p) - 400)) :][:400] for p in parts)
        docs.append((f"d{i:08d}", text))
    for j in range(n_variants):
        oi = rng.randrange(n_bases)
        kinds = rng.sample(EDITS, rng.choice((1, 1, 2)))
        text = docs[oi][1]
        for k in kinds:
            text = edit(text, k, rng, vocab)
        vid = f"v{j:08d}"
        docs.append((vid, text))
        pairs.append((docs[oi][0], vid, "+".join(kinds)))
    return docs, pairs
