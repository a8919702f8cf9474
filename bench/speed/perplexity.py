"""Perplexity scoring throughput (documents/s on one core) and bucket shares per corpus.

    python bench/speed/perplexity.py                             # throughput on 2 KB documents
    python bench/speed/perplexity.py --shares ../shared/data/nsmc-reviews.jsonl.gz ../shared/data/kowiki-ref.jsonl.gz

Throughput: ~2 KB documents cut from Korean text (--corpus, default: the held-out Wikipedia paragraphs of
tests/test_perplexity.py repeated when no corpus is given) are scored three ways, each timed over the same
documents, in CPU seconds of the process (so docs/s per core):
- raw      `kenlm.Model.score` on text already normalized and SentencePiece-tokenized (the floor: KenLM alone)
- tok+lm   SentencePiece encode + KenLM score of pre-normalized lines (what `LMScorer.score_lines` does)
- step     `perplexity_v1.filter(doc)` end to end: normalize, encode, score, bucket, metadata
The ratio step/raw is our overhead. Target (issue 3): >= 2,000 documents/s per core on the step.

--shares: the share of documents in each bucket (head/middle/tail) per corpus, with the committed cutoffs.
For kowiki-ref only the documents `lm train --heldout-every 50` held out are scored (the rest trained the model).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from datatrove.data import Document

from bench.harness import cpu_seconds
from filters.lm_normalize import normalize_text
from filters.lm_score import load_scorer
from filters.perplexity import PerplexityFilter
from trainers.lm.build import is_heldout, read_documents

FALLBACK_TEXT = (
    "르 몽드는 나치 독일의 점령으로부터 해방된 1944년에 드골 장군이 이끄는 새 정부의 명령에 따라 12월 18일에 "
    "창간되었다. 창업자는 위베르 뵈브메리이다.\n만화와 그림은 싣지않으며, 타블로이드 판이다. 모든 권력으로부터의 "
    "독립을 표방하는 이 신문은 창간 초기부터 국내외 뉴스를 깊이 있게 분석, 보도해 정확성과 독립성을 인정받았다.\n"
)


def two_kb_documents(corpus: list[str], n: int, size_bytes: int = 2048) -> list[str]:
    """n documents of about `size_bytes` UTF-8 bytes, whole lines cut from the corpus (or the fallback text)."""
    def lines():
        if corpus:
            for path in corpus:
                for _, text in read_documents(path):
                    yield from (ln for ln in text.split("\n") if ln.strip())
        while True:
            yield from FALLBACK_TEXT.strip().split("\n")

    docs, buf, size = [], [], 0
    for line in lines():
        room = size_bytes - size
        encoded = line.encode("utf-8")
        if len(encoded) >= room:  # cut the last line so the document is size_bytes, not one paragraph more
            buf.append(encoded[:room].decode("utf-8", errors="ignore"))
            docs.append("\n".join(buf))
            buf, size = [], 0
            if len(docs) >= n:
                break
            continue
        buf.append(line)
        size += len(encoded) + 1
    return docs


def throughput(model_dir: str, cutoffs: str, corpus: list[str], n: int, repeat: int) -> None:
    docs = two_kb_documents(corpus, n)
    scorer = load_scorer(model_dir)
    step = PerplexityFilter(model_dir=model_dir, cutoffs=cutoffs)
    normalized = [normalize_text(d) for d in docs]
    tokenized = [[" ".join(p) for p in scorer.sp.encode(lines, out_type=str, num_threads=1)] for lines in normalized]
    lm = scorer.lm
    avg_bytes = sum(len(d.encode("utf-8")) for d in docs) / len(docs)
    print(f"{len(docs)} documents, {avg_bytes:.0f} bytes and {sum(map(len, normalized)) / len(docs):.1f} lines each")

    def raw():
        for lines in tokenized:
            for line in lines:
                lm.score(line, bos=True, eos=True)

    def tok_lm():
        for lines in normalized:
            scorer.score_lines(lines)

    def full_step():
        for d in docs:
            step.filter(Document(d, id="b"))

    results = {}
    for name, fn in (("raw kenlm.score", raw), ("sp.encode + kenlm", tok_lm), ("perplexity_v1 step", full_step)):
        best = min(_timed(fn) for _ in range(repeat))  # best of `repeat`
        results[name] = len(docs) / best
    for name, rate in results.items():  # MB/s in UTF-8 bytes of the original documents
        print(f"{name:22s} {rate:9.0f} docs/s/core   {rate * avg_bytes / 1e6:6.2f} MB/s")
    print(f"overhead step / raw: {results['raw kenlm.score'] / results['perplexity_v1 step']:.2f}x")


def _timed(fn) -> float:
    # CPU seconds of this process (all its threads), not wall time: per-core cost, and steadier than wall time
    # on a machine shared with other jobs
    t0 = cpu_seconds()
    fn()
    return cpu_seconds() - t0


def shares(model_dir: str, cutoffs: str, corpora: list[str], max_docs: int, heldout_every: int) -> None:
    step = PerplexityFilter(model_dir=model_dir, cutoffs=cutoffs)
    print(f"cutoffs: head < {step.head_below} <= middle < {step.tail_from} <= tail")
    for path in corpora:
        counts = {"head": 0, "middle": 0, "tail": 0}
        heldout_only = "kowiki" in Path(path).name
        for doc_id, text in read_documents(path):
            if heldout_only and not is_heldout(doc_id, text, heldout_every):
                continue
            doc = Document(text, id=doc_id)
            step.filter(doc)
            counts[doc.metadata["perplexity_bucket"]] += 1
            if max_docs and sum(counts.values()) >= max_docs:
                break
        total = sum(counts.values())
        label = Path(path).name + (" (held-out slice)" if heldout_only else "")
        print(f"{label:40s} n={total:6d}  " + "  ".join(f"{b} {c / total:6.1%}" for b, c in counts.items()))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="models/ko-wiki-lm")
    p.add_argument("--cutoffs", default="configs/perplexity_cutoffs.yaml")
    p.add_argument("--corpus", nargs="*", default=[], help="text to cut 2 KB documents from")
    p.add_argument("--docs", type=int, default=1000)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--shares", nargs="*", help="corpora whose bucket shares to print (skips the throughput run)")
    p.add_argument("--max-docs", type=int, default=0)
    p.add_argument("--heldout-every", type=int, default=50)
    args = p.parse_args()
    if args.shares:
        shares(args.model, args.cutoffs, args.shares, args.max_docs, args.heldout_every)
    else:
        throughput(args.model, args.cutoffs, args.corpus, args.docs, args.repeat)


if __name__ == "__main__":
    main()
