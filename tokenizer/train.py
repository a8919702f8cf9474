"""Train a SentencePiece tokenizer on a seeded, streamed sample of documents, and measure it on held-out ones.

`train_tokenizer(files, out_dir, cfg)` reads Parquet/JSONL files batch by batch, keeps each document for the
training sample or the held-out set by a hash of (seed, id), so the sample is the same whatever the sharding,
writes the sample's lines to a temporary text file, and lets SentencePiece read at most `input_sentence_size`
lines of it (memory stays bounded by that, not by the corpus). Outputs in `out_dir`: `tokenizer.model`,
`tokenizer.vocab` and `stats.json` (fertility per eojeol and per character, byte-fallback share, Hangul and
Hanja coverage, all on the held-out documents). `pipeline tokenizer train` is the command line for it.
Input without documents (a run that kept nothing) trains nothing: `stats.json` says "no documents" with zero
counts, and no tokenizer.model is left behind.
"""

from __future__ import annotations

import glob
import json
import math
import os
import shutil
import tempfile
from pathlib import Path

import pyarrow.parquet as pq

from core.atomic import atomic_path, write_json
from core.docfiles import iter_text_batches, unit_hash
from core.errors import ConfigError, RunError
from core.sections import TokenizerConfig

# Fixed ids so that packing, the loader and the model agree without reading the model: 0 unk, 1 bos, 2 eos.
UNK_ID, BOS_ID, EOS_ID = 0, 1, 2


def run_input_files(run_dir: str | os.PathLike) -> tuple[str, list[str]]:
    """(what is read, its files) of a run directory: "mix" once the mix stage wrote its manifest, even when the
    mix is empty (falling back to documents/ would train on what the mix left out), else "documents"."""
    p = Path(run_dir)
    if (p / "mix" / "manifest.json").exists():
        return "mix", sorted(glob.glob(str(p / "mix" / "*.parquet")))
    return "documents", sorted(glob.glob(str(p / "documents" / "*.parquet")))


def input_files(spec: str) -> list[str]:
    """A run directory (its mix/ if mixed, else documents/) or a glob of Parquet/JSONL files."""
    p = Path(spec)
    if p.is_dir():
        if (p / "mix" / "manifest.json").exists() or (p / "documents").is_dir():
            return run_input_files(p)[1]
        files = sorted(glob.glob(str(p / "*.parquet")))
    else:
        files = sorted(glob.glob(os.path.expanduser(spec)))
    if not files:
        raise ConfigError(f"tokenizer input: no Parquet/JSONL files found at {spec}")
    return files


def count_documents(files: list[str], cfg: TokenizerConfig) -> int:
    total = 0
    for f in files:
        if f.endswith(".parquet"):
            total += pq.read_metadata(f).num_rows
        else:
            total += sum(len(t) for t, _ in iter_text_batches(f, batch_rows=cfg.batch_rows))
    return total


def _chunks(line: str, limit: int):
    while len(line) > limit:
        cut = line.rfind(" ", 0, limit)
        cut = cut if cut > 0 else limit
        yield line[:cut]
        line = line[cut:].lstrip()
    if line:
        yield line


def heldout_probability(want: int, n_docs: int) -> float:
    # Each document is a seeded coin flip; the held-out probability has a margin of 3 standard deviations (+5)
    # so that `want` documents are found, and is capped at half the corpus for tiny inputs.
    return min(0.5, (want + 3 * math.sqrt(want) + 5) / n_docs) if want and n_docs > 1 else 0.0


def heldout_texts(files: list[str], cfg: TokenizerConfig, n_docs: int) -> list[str]:
    """The held-out documents `write_sample` would set aside, without writing a sample: the figures of an
    existing tokenizer are measured on the same documents as those of a trained one."""
    p_heldout = heldout_probability(cfg.heldout_documents, n_docs)
    seen: set[str] = set()
    heldout: list[str] = []
    row = 0
    for f in files:
        for texts, ids in iter_text_batches(f, batch_rows=cfg.batch_rows):
            for text, doc_id in zip(texts, ids):
                key = doc_id if doc_id is not None else f"{os.path.basename(f)}/{row}"
                row += 1
                if unit_hash(cfg.seed, "tokenizer", key) >= 1.0 - p_heldout and key not in seen:
                    seen.add(key)
                    heldout.append(text)
                    if len(heldout) >= cfg.heldout_documents:
                        return heldout
    return heldout


def write_sample(files: list[str], sample_txt: Path, cfg: TokenizerConfig, n_docs: int) -> tuple[list[str], int]:
    """Stream the training sample's lines to `sample_txt`; return (held-out texts, sampled documents).

    `n_docs` (> 0) is `count_documents(files, cfg)`, counted once by the caller."""
    p_heldout = heldout_probability(cfg.heldout_documents, n_docs)
    # The held-out share is taken from the top of [0, 1) and the sample from the bottom: disjoint by construction.
    p_sample = min(1.0 - p_heldout, cfg.sample_documents / n_docs)
    seen: set[str] = set()  # the mix repeats documents under the same id; sample each once
    heldout: list[str] = []
    sampled = row = 0
    with open(sample_txt, "w", encoding="utf-8") as out:
        for f in files:
            for texts, ids in iter_text_batches(f, batch_rows=cfg.batch_rows):
                for text, doc_id in zip(texts, ids):
                    key = doc_id if doc_id is not None else f"{os.path.basename(f)}/{row}"
                    row += 1
                    u = unit_hash(cfg.seed, "tokenizer", key)
                    if u >= 1.0 - p_heldout:
                        if key not in seen and len(heldout) < cfg.heldout_documents:
                            seen.add(key)
                            heldout.append(text)
                    elif u < p_sample and key not in seen:
                        seen.add(key)
                        sampled += 1
                        _write_lines(out, text, cfg)
        if not sampled:
            # Every document drew a held-out coin (two documents do, one time in four): SentencePiece cannot
            # train on nothing, so the held-out documents are the sample too, and stats.json says so.
            for text in heldout:
                _write_lines(out, text, cfg)
    return heldout, sampled


def _write_lines(out, text: str, cfg: TokenizerConfig) -> None:
    for line in text.split("\n"):
        for chunk in _chunks(line.strip(), cfg.max_sentence_chars):
            out.write(chunk + "\n")


def _is_hanja(ch: str) -> bool:
    o = ord(ch)
    return 0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0xF900 <= o <= 0xFAFF


def char_coverage(texts: list[str], covers) -> dict[str, list[int]]:
    """{"hangul": [covered, total], "hanja": [...]} by occurrence; `covers(ch)` is asked once per character."""
    known: dict[str, bool] = {}
    counts = {"hangul": [0, 0], "hanja": [0, 0]}
    for text in texts:
        for ch in text:
            kind = "hangul" if 0xAC00 <= ord(ch) <= 0xD7A3 else "hanja" if _is_hanja(ch) else None
            if kind is None:
                continue
            if ch not in known:
                known[ch] = covers(ch)
            counts[kind][0] += known[ch]
            counts[kind][1] += 1
    return counts


def measure(sp, texts: list[str]) -> dict:
    """Fertility, byte-fallback share and Hangul/Hanja coverage (by occurrence) on `texts`."""
    encoded = sp.encode(texts, out_type=int) if texts else []
    tokens = sum(len(e) for e in encoded)
    byte_tokens = sum(1 for e in encoded for t in e if sp.is_byte(t))
    eojeol = sum(len(t.split()) for t in texts)
    chars = sum(len(t) for t in texts)
    counts = char_coverage(texts, lambda ch: sp.piece_to_id(ch) != sp.unk_id())
    return {
        "heldout_documents": len(texts),
        "heldout_tokens": tokens,
        "fertility_tokens_per_eojeol": round(tokens / eojeol, 4) if eojeol else None,
        "fertility_tokens_per_char": round(tokens / chars, 4) if chars else None,
        "byte_fallback_share": round(byte_tokens / tokens, 6) if tokens else None,
        "hangul_char_coverage": round(counts["hangul"][0] / counts["hangul"][1], 6) if counts["hangul"][1] else None,
        "hanja_char_coverage": round(counts["hanja"][0] / counts["hanja"][1], 6) if counts["hanja"][1] else None,
        "hanja_chars": counts["hanja"][1],
    }


def _drop_temp_paths(model_path: Path) -> None:
    """SentencePiece stores its trainer arguments in the model, among them the random temp directory's input and
    model_prefix paths: without this the same run gives a different tokenizer.model (and tokenizer_sha256)."""
    from sentencepiece import sentencepiece_model_pb2

    proto = sentencepiece_model_pb2.ModelProto()
    proto.ParseFromString(model_path.read_bytes())
    del proto.trainer_spec.input[:]
    proto.trainer_spec.input.append("sample.txt")
    proto.trainer_spec.model_prefix = "tokenizer"
    model_path.write_bytes(proto.SerializeToString())


def no_documents_stats(cfg: TokenizerConfig, symbols: list[str], input_files: int) -> dict:
    """stats.json of a tokenizer that was not trained because its input has no documents."""
    return {
        "note": "no documents", "vocab_size": 0, "vocab_size_requested": cfg.vocab_size, "model_type": cfg.model_type,
        "character_coverage": cfg.character_coverage, "byte_fallback": cfg.byte_fallback,
        "user_defined_symbols": symbols, "eos_id": EOS_ID, "seed": cfg.seed,
        "sample_documents": 0, "input_files": input_files, "heldout_documents": 0, "heldout_tokens": 0,
        "fertility_tokens_per_eojeol": None, "fertility_tokens_per_char": None, "byte_fallback_share": None,
        "hangul_char_coverage": None, "hanja_char_coverage": None, "hanja_chars": 0,
    }


def train_tokenizer(files: list[str], out_dir: Path, cfg: TokenizerConfig) -> dict:
    """Train on `files`; with no documents in them, write stats.json saying so and remove an earlier model."""
    import sentencepiece as spm

    if cfg.tokenizer is not None:
        raise ConfigError("tokenizer training: an existing tokenizer is configured (tokenize.tokenizer); nothing to train")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    symbols = list(cfg.user_defined_symbols) + (["\n"] if cfg.newline_piece and "\n" not in cfg.user_defined_symbols else [])
    n_docs = count_documents(files, cfg)
    if n_docs == 0:
        for suffix in (".model", ".vocab"):  # an earlier run's model would not belong to this input
            (out_dir / f"tokenizer{suffix}").unlink(missing_ok=True)
        stats = no_documents_stats(cfg, symbols, len(files))
        write_json(out_dir / "stats.json", stats)
        return stats
    with tempfile.TemporaryDirectory(prefix="spm-", dir=out_dir) as tmp:
        sample_txt = Path(tmp) / "sample.txt"
        heldout, sampled = write_sample(files, sample_txt, cfg, n_docs)
        spm.set_random_generator_seed(cfg.seed)
        prefix = str(Path(tmp) / "tokenizer")
        try:
            spm.SentencePieceTrainer.train(
                input=str(sample_txt), model_prefix=prefix, vocab_size=cfg.vocab_size, model_type=cfg.model_type,
                character_coverage=cfg.character_coverage, byte_fallback=cfg.byte_fallback,
                user_defined_symbols=symbols, input_sentence_size=cfg.input_sentence_size,
                shuffle_input_sentence=True, num_threads=cfg.num_threads or os.cpu_count() or 1,
                unk_id=UNK_ID, bos_id=BOS_ID, eos_id=EOS_ID, pad_id=-1,
                unk_piece=cfg.unk_piece, bos_piece=cfg.bos_piece, eos_piece=cfg.eos_piece,
                # Text is NFC already. NFKC (SentencePiece's default) would turn compatibility jamo (ㅋㅋ) into
                # conjoining jamo and change what the model sees; keep whitespace as written.
                normalization_rule_name="identity", remove_extra_whitespaces=False,
                split_digits=True, allow_whitespace_only_pieces=True,
                # A small sample may not support the asked size: take what it supports and record it.
                hard_vocab_limit=False, minloglevel=2,
            )
        except RuntimeError as e:
            raise RunError(f"tokenizer training failed: {e}") from e
        for suffix in (".model", ".vocab"):
            with atomic_path(out_dir / f"tokenizer{suffix}") as dst:
                shutil.copyfile(prefix + suffix, dst)
                if suffix == ".model":
                    _drop_temp_paths(dst)
    sp = spm.SentencePieceProcessor(model_file=str(out_dir / "tokenizer.model"))
    stats = {
        "vocab_size": sp.get_piece_size(), "vocab_size_requested": cfg.vocab_size, "model_type": cfg.model_type,
        "character_coverage": cfg.character_coverage, "byte_fallback": cfg.byte_fallback,
        "user_defined_symbols": symbols, "eos_id": EOS_ID, "seed": cfg.seed,
        "sample_documents": sampled, "input_files": len(files),
        **measure(sp, heldout),
    }
    if not sampled and heldout:
        stats["note"] = "too few documents to hold any out: the held-out documents are also the training sample"
    write_json(out_dir / "stats.json", stats)
    return stats


# ---------------------------------------------------------------- CLI: pipeline tokenizer train


def add_arguments(parser) -> None:
    parser.add_argument("--input", required=True, help="run directory (uses mix/ or documents/) or a glob of Parquet/JSONL")
    parser.add_argument("--out", help="output directory (default RUN/tokenizer when --input is a run directory)")
    parser.add_argument("--vocab-size", type=int, default=8000)
    parser.add_argument("--model-type", choices=["unigram", "bpe"], default="unigram")
    parser.add_argument("--character-coverage", type=float, default=0.9995)
    parser.add_argument("--sample-documents", type=int, default=100_000)
    parser.add_argument("--heldout-documents", type=int, default=1000)
    parser.add_argument("--user-defined-symbols", nargs="*", default=[])
    parser.add_argument("--no-byte-fallback", action="store_true")
    parser.add_argument("--seed", type=int, default=1234)


def main(args) -> int:
    if args.out is None and not Path(args.input).is_dir():
        raise ConfigError("--out is required when --input is a glob")
    out = Path(args.out or Path(args.input) / "tokenizer")
    try:
        cfg = TokenizerConfig(vocab_size=args.vocab_size, model_type=args.model_type,
                              character_coverage=args.character_coverage, sample_documents=args.sample_documents,
                              heldout_documents=args.heldout_documents, user_defined_symbols=args.user_defined_symbols,
                              byte_fallback=not args.no_byte_fallback, seed=args.seed)
    except ValueError as e:
        raise ConfigError(f"tokenizer train: {str(e).splitlines()[-1]}") from None
    stats = train_tokenizer(input_files(args.input), out, cfg)
    print(json.dumps(stats, ensure_ascii=False))
    return 0
