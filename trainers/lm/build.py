"""`pipeline lm train`: train a SentencePiece + KenLM perplexity model directory from reference text.

    pipeline lm train --corpus ../shared/data/kowiki-ref.jsonl.gz --out models/ko-wiki-lm \
        [--order 5] [--vocab 12000] [--prune 0 1 1] [--heldout-every 50]

Steps, all under OUT/ (intermediate files in a temporary folder removed at the end):
1. read documents (JSONL/JSON(.gz) `text` field, Parquet `text` column, or .txt(.gz) one document per line);
   every `heldout_every`-th document by a hash of its id (or of its text when it has none) is held out;
2. normalize each document with `filters.lm_normalize.normalize_text`, the function scoring uses, one line per row;
3. train SentencePiece (unigram, identity normalization so ours is the only one) on a sample of the lines;
4. tokenize every training line, run `lmplz --discount_fallback` (built on first use, see `lmplz.py`) and
   `build_binary` (trie, quantized) into OUT/kenlm.binary;
5. score the held-out documents and write OUT/train_info.json: command, corpus, sizes, held-out perplexity.
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import hashlib
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator

import sentencepiece as spm

from core.atomic import atomic_path, write_json
from core.errors import ConfigError, RunError
from trainers.lm.lmplz import ensure_kenlm_bin
from filters.lm_normalize import normalize_text
from filters.lm_score import KENLM_BINARY, SP_MODEL, LMScorer, _load_kenlm

# Lines SentencePiece samples for training: ~300k lines of Korean Wikipedia train a 12k unigram vocabulary in
# about a minute on one core; more lines changed the held-out perplexity little (see the model card).
DEFAULT_SP_LINES = 300_000
# Korean Wikipedia uses ~2,400 distinct Hangul syllables plus Hanja; 0.9995 (SentencePiece's default, also
# cc_net's) keeps rare Hanja and symbols out of the vocabulary, where they become <unk> for KenLM.
CHARACTER_COVERAGE = 0.9995


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--corpus", nargs="+", required=True, help="reference text: .jsonl(.gz), .parquet, .txt(.gz)")
    parser.add_argument("--out", required=True, help="model directory to write (sp.model, kenlm.binary, train_info.json)")
    parser.add_argument("--order", type=int, default=5, help="n-gram order (default 5, as cc_net)")
    parser.add_argument("--vocab", type=int, default=12000, help="SentencePiece vocabulary size (default 12000)")
    parser.add_argument("--prune", type=int, nargs="*", default=[0, 1, 1],
                        help="lmplz --prune count thresholds per order (default 0 1 1: drop singleton 2+-grams)")
    parser.add_argument("--quantize", type=int, default=8, help="build_binary -q/-b bits (default 8; 0 = no quantization)")
    parser.add_argument("--pointer-bits", type=int, default=0,
                        help="build_binary -a pointer compression (default 0 = off: -a 22 saved 25%% of the file but "
                             "made KenLM 1.3x slower on the default model)")
    parser.add_argument("--heldout-every", type=int, default=50, help="hold out every Nth document by id hash (0 = none)")
    parser.add_argument("--sp-lines", type=int, default=DEFAULT_SP_LINES, help="lines sampled to train SentencePiece")
    parser.add_argument("--max-docs", type=int, default=0, help="read at most this many documents (0 = all)")
    parser.add_argument("--memory", default="1G", help="lmplz -S memory for sorting (default 1G)")


def train_main(args: argparse.Namespace) -> int:
    for path in args.corpus:
        if not Path(path).is_file():
            raise ConfigError(f"--corpus: file not found: {path}")
    if args.order < 2 or args.order > 6:
        raise ConfigError(f"--order: {args.order} outside 2..6 (the kenlm module is built for order <= 6)")
    info = train(args.corpus, Path(args.out), order=args.order, vocab=args.vocab, prune=args.prune,
                 quantize=args.quantize, pointer_bits=args.pointer_bits, heldout_every=args.heldout_every,
                 sp_lines=args.sp_lines, max_docs=args.max_docs, memory=args.memory, command=_command_line())
    print(json.dumps({k: info[k] for k in ("files", "heldout")}, ensure_ascii=False, indent=2))
    return 0


def _command_line() -> str:
    return "pipeline lm train " + " ".join(shlex.quote(a) for a in sys.argv[sys.argv.index("train") + 1:]) \
        if "train" in sys.argv else " ".join(shlex.quote(a) for a in sys.argv)


def read_documents(path: str) -> Iterator[tuple[str, str]]:
    """(id, text) of each document of a corpus file; id is "" when the file has none."""
    name = path.lower()
    if name.endswith(".parquet"):
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        if "text" not in table.column_names:
            raise ConfigError(f"--corpus {path}: no 'text' column")
        ids = table.column("id").to_pylist() if "id" in table.column_names else [""] * table.num_rows
        yield from zip((str(i) for i in ids), table.column("text").to_pylist())
        return
    opener = gzip.open if name.endswith(".gz") else open
    is_json = ".json" in name
    with opener(path, "rt", encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not is_json:
                yield "", line
                continue
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                raise ConfigError(f"--corpus {path}:{n}: invalid JSON ({e.msg})") from None
            yield str(rec.get("id", "")), rec.get("text") or ""


def is_heldout(doc_id: str, text: str, every: int) -> bool:
    """Deterministic 1-in-`every` split by a hash of the id (of the text when there is no id)."""
    if every <= 0:
        return False
    key = (doc_id or text).encode("utf-8")
    return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big") % every == 0


def train(corpus: list[str], out: Path, *, order: int = 5, vocab: int = 12000, prune: list[int] | None = None,
          quantize: int = 8, pointer_bits: int = 0, heldout_every: int = 50, sp_lines: int = DEFAULT_SP_LINES,
          max_docs: int = 0, memory: str = "1G", command: str = "", log=print) -> dict:
    """Train OUT/sp.model and OUT/kenlm.binary; return (and write to OUT/train_info.json) what was done."""
    bins = ensure_kenlm_bin(log=log)  # first: a missing build dependency fails before minutes of work
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    with tempfile.TemporaryDirectory(prefix="lm-train-", dir=out) as tmp_dir:
        tmp = Path(tmp_dir)
        counts = _write_normalized(corpus, tmp / "train.txt", tmp / "heldout.jsonl", heldout_every, max_docs)
        if counts["train_lines"] == 0:
            raise RunError(f"no text to train on in {', '.join(corpus)}")
        log(f"normalized {counts['train_documents']} training documents ({counts['train_lines']} lines), "
            f"held out {counts['heldout_documents']}")
        spm.SentencePieceTrainer.train(
            input=str(tmp / "train.txt"), model_prefix=str(tmp / "sp"), vocab_size=vocab, model_type="unigram",
            character_coverage=CHARACTER_COVERAGE, input_sentence_size=sp_lines, shuffle_input_sentence=True,
            # identity: our normalize_text is the only normalization; SentencePiece's default NFKC would map
            # compatibility jamo (ㅋ) to conjoining jamo and make training and scoring text differ.
            normalization_rule_name="identity", num_threads=min(2, os.cpu_count() or 1),
            minloglevel=2, hard_vocab_limit=False,
        )
        sp = spm.SentencePieceProcessor(model_file=str(tmp / "sp.model"))
        tokens = _tokenize(sp, tmp / "train.txt", tmp / "train.tok")
        log(f"SentencePiece vocab {sp.get_piece_size()}; {tokens} training tokens; running lmplz -o {order}")
        lmplz_cmd = [str(bins.lmplz), "-o", str(order), "--discount_fallback", "-S", memory, "-T", str(tmp),
                     "--text", str(tmp / "train.tok"), "--arpa", str(tmp / "lm.arpa")]
        if prune:
            lmplz_cmd[3:3] = ["--prune", *map(str, prune)]
        _run(lmplz_cmd)
        binary_cmd = [str(bins.build_binary), "-s"]
        if pointer_bits:
            binary_cmd += ["-a", str(pointer_bits)]
        if quantize:  # quantize probabilities and backoffs (trie only)
            binary_cmd += ["-q", str(quantize), "-b", str(quantize)]
        binary_cmd += ["trie", str(tmp / "lm.arpa"), str(tmp / KENLM_BINARY)]
        _run(binary_cmd)
        with atomic_path(out / SP_MODEL) as dst:
            os.replace(tmp / "sp.model", dst)
        with atomic_path(out / KENLM_BINARY) as dst:
            os.replace(tmp / KENLM_BINARY, dst)
        heldout = _heldout_perplexity(LMScorer(sp, _load_kenlm(str(out / KENLM_BINARY))), tmp / "heldout.jsonl")
    info = {
        "command": command,
        "date": datetime.date.today().isoformat(),
        "corpus": [{"path": p, "bytes": os.path.getsize(p)} for p in corpus],
        "normalization": "filters.lm_normalize.normalize_text (NFC, lowercase, digits→0, unicode punct→ASCII, "
                         "non-printing removed, spaces collapsed), one line per row",
        "sentencepiece": {"model_type": "unigram", "vocab_size": sp.get_piece_size(), "sampled_lines": sp_lines,
                          "character_coverage": CHARACTER_COVERAGE, "normalization_rule_name": "identity"},
        # the temporary folder's name changes every run: record it as $TMP
        "kenlm": {"order": order, "prune": prune or [], "quantize_bits": quantize, "pointer_bits": pointer_bits,
                  "lmplz": " ".join(lmplz_cmd[1:]).replace(tmp_dir, "$TMP"),
                  "build_binary": " ".join(binary_cmd[1:]).replace(tmp_dir, "$TMP")},
        **counts,
        "train_tokens": tokens,
        "files": {name: os.path.getsize(out / name) for name in (SP_MODEL, KENLM_BINARY)},
        "heldout": heldout,
        "seconds": round(time.time() - t0, 1),
    }
    write_json(out / "train_info.json", info)
    return info


def _write_normalized(corpus: list[str], train_path: Path, heldout_path: Path, every: int, max_docs: int) -> dict:
    counts = {"train_documents": 0, "train_lines": 0, "heldout_documents": 0}
    with open(train_path, "w", encoding="utf-8") as train_fh, open(heldout_path, "w", encoding="utf-8") as held_fh:
        n = 0
        for path in corpus:
            for doc_id, text in read_documents(path):
                if max_docs and n >= max_docs:
                    break
                n += 1
                if is_heldout(doc_id, text, every):
                    held_fh.write(json.dumps({"id": doc_id, "text": text}, ensure_ascii=False) + "\n")
                    counts["heldout_documents"] += 1
                    continue
                lines = normalize_text(text)
                if lines:
                    train_fh.write("\n".join(lines) + "\n")
                    counts["train_documents"] += 1
                    counts["train_lines"] += len(lines)
    return counts


def _tokenize(sp: spm.SentencePieceProcessor, src: Path, dst: Path, batch: int = 10_000) -> int:
    tokens = 0
    with open(src, encoding="utf-8") as fin, open(dst, "w", encoding="utf-8") as fout:
        buf: list[str] = []
        for line in fin:
            buf.append(line.rstrip("\n"))
            if len(buf) >= batch:
                tokens += _write_pieces(sp, buf, fout)
                buf = []
        tokens += _write_pieces(sp, buf, fout)
    return tokens


def _write_pieces(sp: spm.SentencePieceProcessor, lines: list[str], fout) -> int:
    if not lines:
        return 0
    encoded = sp.encode(lines, out_type=str)
    fout.write("\n".join(" ".join(p) for p in encoded) + "\n")
    return sum(map(len, encoded))


def _heldout_perplexity(scorer: LMScorer, heldout_path: Path) -> dict:
    """Corpus perplexity over all held-out tokens, and the median of per-document perplexities."""
    log10_prob, tokens, per_doc = 0.0, 0, []
    with open(heldout_path, encoding="utf-8") as fh:
        for line in fh:
            score = scorer.score(json.loads(line)["text"])
            if score.tokens:
                log10_prob += score.log10_prob
                tokens += score.tokens
                per_doc.append(score.perplexity)
    if not per_doc:
        return {"documents": 0}
    per_doc.sort()
    return {"documents": len(per_doc), "tokens": tokens, "perplexity": round(10 ** (-log10_prob / tokens), 1),
            "median_document_perplexity": round(per_doc[len(per_doc) // 2], 1)}


def _run(cmd: list[str]) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-10:])
        raise RunError(f"{Path(cmd[0]).name} failed (exit {proc.returncode}): {' '.join(cmd)}\n{tail}")
