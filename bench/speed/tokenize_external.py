"""Throughput of the tokenize stage with an existing tokenizer against the tokenizer's own encode, one core.

Text: the bundled sources (data/sources/*.jsonl.gz, Korean Wikipedia and statutes, ~320 documents) or --data
(e.g. ../shared/data/kowiki-ref.jsonl.gz with --docs 5000). Tokenizers: --tokenizer PATH (a tokenizer.json or
a SentencePiece .model; repeatable), else two built here on the same text: a byte-level BPE with the
`tokenizers` library and a unigram SentencePiece model, --vocab-size pieces each. For each tokenizer, on the
same documents, --repeat rounds, on one core:
  - raw encode: `Tokenizer.encode(text, add_special_tokens=False)` per document, `encode_batch` and
    `encode_batch_fast` with TOKENIZERS_PARALLELISM=false, or `SentencePieceProcessor.encode(texts,
    num_threads=1)` with int lists and (sentencepiece >= 0.2.1) with int32 arrays, `out_type="numpy"`;
  - the stage's task `tokenizer.pack.encode_shard` (read Parquet, encode, EOS, split, pack, write Arrow), and
    with formats [arrow, megatron];
and prints the median tokens/s of each and the stage's share of the fastest raw encode (the median over rounds
of the share within a round; goal: >= 90%), plus the stats.json figures. Throughput is tokens per second of
this process's CPU time (wall time in brackets): on a shared machine CPU time is what stays comparable.

    python bench/speed/tokenize_external.py
    python bench/speed/tokenize_external.py --data ../shared/data/kowiki-ref.jsonl.gz --docs 5000 --repeat 3
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")  # one core for every figure

import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from bench.harness import ROOT, cpu_seconds, jsonl_records  # noqa: E402
from core.docfiles import PARQUET_COMPRESSION  # noqa: E402
from tokenizer import external  # noqa: E402
from tokenizer.pack import sp_gives_arrays, encode_shard  # noqa: E402

GOAL = 0.90  # the stage keeps at least this share of the tokenizer's own encode speed


def load(paths: list[str], limit: int) -> list[dict]:
    rows = []
    for path in paths:
        for r in jsonl_records(path):
            if len(rows) >= limit:
                return rows
            rows.append({"id": f"{os.path.basename(path)}/{r.get('id', len(rows))}", "text": r["text"]})
    return rows


def build_hf(texts: list[str], vocab_size: int, out: Path) -> Path:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(texts, trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=["<|endoftext|>"], show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    out.mkdir(parents=True, exist_ok=True)
    tok.save(str(out / "tokenizer.json"))
    (out / "tokenizer_config.json").write_text(json.dumps({"eos_token": "<|endoftext|>"}))
    return out / "tokenizer.json"


def build_sp(texts: list[str], vocab_size: int, out: Path) -> Path:
    import sentencepiece as spm

    out.mkdir(parents=True, exist_ok=True)
    (out / "text.txt").write_text("\n".join(texts), encoding="utf-8")
    spm.SentencePieceTrainer.train(input=str(out / "text.txt"), model_prefix=str(out / "team"), vocab_size=vocab_size,
                                   byte_fallback=True, character_coverage=0.9995, num_threads=1,
                                   hard_vocab_limit=False, minloglevel=2)
    return out / "team.model"


def rounds(fns: dict, repeat: int) -> list[dict]:
    """`repeat` rounds of one call of each function, in turns so that every variant of a round meets the same
    load; each round is {name: (CPU seconds, wall seconds, result)}."""
    out = []
    for _ in range(repeat):
        this = {}
        for name, fn in fns.items():
            c0, w0 = cpu_seconds(), time.perf_counter()
            result = fn()
            this[name] = (cpu_seconds() - c0, time.perf_counter() - w0, result)
        out.append(this)
    return out


def bench_one(path: Path, rows: list[dict], tmp: Path, repeat: int) -> None:
    kind, path_s = external.resolve_path(str(path))
    tok = external.load(kind, path_s)
    texts = [r["text"] for r in rows]
    chars = sum(len(t) for t in texts)
    print(f"\n{kind} {path.name}: vocab {tok.vocab_size}, {len(texts)} docs, {chars / 1e6:.2f} M chars")
    raws = {}
    if kind == "huggingface":
        hf = tok.hf
        raws["encode per document"] = lambda: sum(len(hf.encode(t, add_special_tokens=False).ids) for t in texts)
        raws["encode_batch"] = lambda: sum(len(e.ids) for e in hf.encode_batch(texts, add_special_tokens=False))
        raws["encode_batch_fast"] = lambda: sum(len(e.ids) for e in hf.encode_batch_fast(texts, add_special_tokens=False))
    else:
        raws["encode(num_threads=1)"] = lambda: sum(len(i) for i in tok.sp.encode(texts, out_type=int, num_threads=1))
        if sp_gives_arrays(tok.sp):  # ids as int32 arrays (sentencepiece >= 0.2.1): what the stage uses
            raws["encode(out_type=numpy)"] = lambda: sum(
                len(i) for i in tok.sp.encode(texts, out_type="numpy", num_threads=1))
    # Written as the pipeline writes documents/ and mix/, which are what the stage reads.
    pq.write_table(pa.Table.from_pylist(rows), tmp / "docs.parquet", compression=PARQUET_COMPRESSION)
    eos, _ = external.special_id(str(path), None, "eos_token", required=True)
    stages = {}
    for formats in (("arrow",), ("arrow", "megatron")):
        out = tmp / f"tokens-{kind}-{len(formats)}"
        out.mkdir()

        def stage_task(formats=formats, out=out):
            res = encode_shard(str(tmp / "docs.parquet"), path_s, str(out), 0, 512, 0.01, 1234, eos,
                               tokenizer_kind=kind, formats=formats)
            return res["train"]["tokens"] + res["val"]["tokens"]

        stages["+".join(formats)] = stage_task
    runs = rounds({**{("raw", k): f for k, f in raws.items()}, **{("stage", k): f for k, f in stages.items()}}, repeat)
    def median(values):
        return sorted(values)[len(values) // 2]

    for key in runs[0]:
        what, name = key
        cpu = median([r[key][0] for r in runs])
        wall = median([r[key][1] for r in runs])
        tokens = runs[0][key][2]
        line = f"  {what} {name:<24} {tokens / cpu / 1e3:7.0f} k tokens/s ({tokens / wall / 1e3:5.0f} k wall)"
        if what == "raw":
            print(f"{line}, {chars / cpu / 1e6:5.2f} M chars/s")
            continue
        # Per round: the stage against the fastest raw encode of the same round; the median of the rounds.
        share = median([tokens / r[key][0] / max(r[k][2] / r[k][0] for k in r if k[0] == "raw") for r in runs])
        print(f"{line} = {share:.1%} of the fastest raw encode, median of {repeat} rounds "
              f"({'meets' if share >= GOAL else 'below'} the {GOAL:.0%} goal)")
        # And against each raw encode on its own, in the same way (for SentencePiece: the usual int-list encode
        # and the array one the stage uses).
        each = {k[1]: median([tokens / r[key][0] / (r[k][2] / r[k][0]) for r in runs]) for k in runs[0] if k[0] == "raw"}
        print("      of each raw encode: " + ", ".join(f"{n} {v:.1%}" for n, v in each.items()))
    f = external.measure(tok, texts[:1000])
    print(f"  stats: {f['fertility_tokens_per_eojeol']} tokens/eojeol, {f['fertility_tokens_per_char']} tokens/char, "
          f"byte fallback ({tok.byte_fallback_rule}) {f['byte_fallback_share']:.2%}, unk {f['unk_share']:.2%}, "
          f"Hangul coverage {f['hangul_char_coverage']:.2%}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", action="append", help="jsonl.gz with text (default: data/sources/*.jsonl.gz)")
    ap.add_argument("--docs", type=int, default=2000)
    ap.add_argument("--tokenizer", action="append", help="an existing tokenizer.json or .model (repeatable)")
    ap.add_argument("--vocab-size", type=int, default=16000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    data = args.data or sorted(glob.glob(str(ROOT / "data" / "sources" / "*.jsonl.gz")))
    missing = [d for d in data if not os.path.isfile(d)]
    if missing or not data:
        print(f"no data at {missing[0] if missing else 'data/sources/*.jsonl.gz'}")
        return 1
    rows = load(data, args.docs)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        paths = [Path(p) for p in args.tokenizer or []]
        if not paths:
            texts = [r["text"] for r in rows]
            t0 = time.perf_counter()
            paths = [build_hf(texts, args.vocab_size, tmp / "hf"), build_sp(texts, args.vocab_size, tmp / "sp")]
            print(f"built a byte-level BPE and a unigram SentencePiece model ({args.vocab_size} pieces) on the same "
                  f"text in {time.perf_counter() - t0:.1f} s")
        for path in paths:
            bench_one(path, rows, tmp, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
