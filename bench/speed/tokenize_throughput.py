"""Tokenization throughput (tokens/s on one core) and tokenizer quality on Korean Wikipedia.

Data: kowiki-ref.jsonl.gz from ../shared/data (Korean Wikipedia, CC BY-SA); not needed by the tests.
Trains the default 8000-piece unigram tokenizer on the first --train-docs articles (or loads --tokenizer), then
on the next --docs articles measures
  - SentencePiece encode alone, one thread (tokens/s per core);
  - the whole `encode_shard` task (read Parquet, encode, EOS, split, pack, write Arrow), one process;
  - fertility (tokens per eojeol, per character) and the byte-fallback share, i.e. what `mix.chars_per_token`
    should be for this tokenizer.

    python bench/speed/tokenize_throughput.py --train-docs 3000 --docs 2000
"""

from __future__ import annotations

import argparse
import tempfile
import time
from itertools import islice
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import sentencepiece as spm

from bench.harness import SHARED, jsonl_records, shared_data
from tokenizer.pack import encode_shard
from tokenizer.train import EOS_ID, TokenizerConfig, measure, train_tokenizer


def load(path: str, skip: int, limit: int) -> list[dict]:
    return [{"id": str(r["id"]), "text": r["text"]} for r in islice(jsonl_records(path), skip, skip + limit)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(SHARED / "kowiki-ref.jsonl.gz"))
    ap.add_argument("--train-docs", type=int, default=3000)
    ap.add_argument("--docs", type=int, default=2000)
    ap.add_argument("--vocab-size", type=int, default=8000)
    ap.add_argument("--tokenizer", help="an existing tokenizer.model (skips training)")
    args = ap.parse_args()
    shared_data(args.data)

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model = args.tokenizer
        if model is None:
            pq.write_table(pa.Table.from_pylist(load(args.data, 0, args.train_docs)), tmp / "train.parquet")
            t0 = time.perf_counter()
            train_tokenizer([str(tmp / "train.parquet")], tmp / "tok",
                            TokenizerConfig(vocab_size=args.vocab_size, heldout_documents=0, num_threads=1))
            print(f"tokenizer training on {args.train_docs} docs, 1 thread: {time.perf_counter() - t0:.1f} s")
            model = str(tmp / "tok" / "tokenizer.model")
        rows = load(args.data, args.train_docs, args.docs)
        texts = [r["text"] for r in rows]
        chars = sum(len(t) for t in texts)
        sp = spm.SentencePieceProcessor(model_file=model)

        t0 = time.perf_counter()
        tokens = sum(len(ids) for ids in sp.encode(texts, out_type=int, num_threads=1))
        dt = time.perf_counter() - t0
        print(f"encode only, 1 thread: {len(texts)} docs, {chars / 1e6:.2f} M chars, {tokens / 1e6:.2f} M tokens "
              f"in {dt:.2f} s = {tokens / dt / 1e3:.0f} k tokens/s, {chars / dt / 1e6:.2f} M chars/s")

        pq.write_table(pa.Table.from_pylist(rows), tmp / "docs.parquet")
        (tmp / "tokens").mkdir()
        t0 = time.perf_counter()
        res = encode_shard(str(tmp / "docs.parquet"), model, str(tmp / "tokens"), 0, 512, 0.01, 1234, EOS_ID)
        dt = time.perf_counter() - t0
        packed = res["train"]["tokens"] + res["val"]["tokens"]
        print(f"encode_shard (read, encode, pack, write), 1 process: {packed / dt / 1e3:.0f} k tokens/s")

        stats = measure(sp, texts)
        print(f"fertility: {stats['fertility_tokens_per_eojeol']} tokens/eojeol, "
              f"{stats['fertility_tokens_per_char']} tokens/char (chars/token {1 / stats['fertility_tokens_per_char']:.2f}), "
              f"byte fallback {stats['byte_fallback_share']:.4%}, Hangul coverage {stats['hangul_char_coverage']:.4%}, "
              f"Hanja coverage {stats['hanja_char_coverage']:.2%} of {stats['hanja_chars']} Hanja")


if __name__ == "__main__":
    main()
