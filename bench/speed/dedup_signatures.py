"""Signature throughput on ~2 KB Korean documents, one core: ours vs datasketch's update loop and MinHash.bulk.

Documents: kowiki-ref articles (../shared/data, CC BY-SA) cut to 2,048 UTF-8 bytes (~700 Hangul syllables).
All three compute 112-permutation signatures of the same char 5-gram shingles in the same run.
Usage: python bench/speed/dedup_signatures.py [--docs 2000] [--data PATH]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from datasketch import MinHash

from bench.harness import SHARED, jsonl_records, shared_data
from pipeline.dedup.hashing import shingle_hashes, shingle_strings
from pipeline.dedup.signatures import minhash_signatures


def load_docs(path: str, n: int, size: int = 2048) -> list[str]:
    out = []
    for record in jsonl_records(path):
        b = record["text"].encode("utf-8")
        if len(b) >= size:
            out.append(b[:size].decode("utf-8", "ignore"))
            if len(out) == n:
                break
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=2000)
    ap.add_argument("--data", default=str(SHARED / "kowiki-ref.jsonl.gz"))
    ap.add_argument("--shingle", default="char")
    ap.add_argument("--ngram", type=int, default=5)
    ap.add_argument("--num-perm", type=int, default=112)
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    docs = load_docs(shared_data(args.data), args.docs)
    P = args.num_perm
    # Shingling as strings is part of the datasketch paths' cost (they need bytes per shingle).
    n_loop = min(len(docs), 300)  # the update loop is slow: time a subset
    t0 = time.perf_counter()
    for d in docs[:n_loop]:
        m = MinHash(num_perm=P)
        for s in shingle_strings(d, args.shingle, args.ngram):
            m.update(s.encode("utf-8"))
    loop = n_loop / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    MinHash.bulk([[s.encode("utf-8") for s in shingle_strings(d, args.shingle, args.ngram)] for d in docs], num_perm=P)
    bulk = len(docs) / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    for i in range(0, len(docs), 256):
        batch = docs[i : i + 256]
        h, di = shingle_hashes(batch, args.shingle, args.ngram)
        minhash_signatures(h, di, len(batch), P, 1)
    ours = len(docs) / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    for i in range(0, len(docs), 256):
        batch = docs[i : i + 256]
        h, di = shingle_hashes(batch, args.shingle, args.ngram, hash="sha1")
        minhash_signatures(h, di, len(batch), P, 1)
    ours_sha1 = len(docs) / (time.perf_counter() - t0)
    mean_kb = np.mean([len(d.encode()) for d in docs]) / 1024
    print(f"docs={len(docs)} mean={mean_kb:.2f}KB shingle={args.shingle}-{args.ngram} num_perm={P} one core")
    print(f"datasketch update loop : {loop:9.0f} docs/s")
    print(f"datasketch MinHash.bulk: {bulk:9.0f} docs/s")
    print(f"ours hash=sha1         : {ours_sha1:9.0f} docs/s  ({ours_sha1 / loop:.1f}x loop, {ours_sha1 / bulk:.1f}x bulk)")
    print(f"ours hash=fast         : {ours:9.0f} docs/s  ({ours / loop:.1f}x loop, {ours / bulk:.1f}x bulk)")


if __name__ == "__main__":
    main()
