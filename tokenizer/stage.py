"""Barrier stage `tokenize`: train the tokenizer on the mixed output and write packed token shards.

Reads `RUN/mix/*.parquet` when the mix stage ran (its manifest exists), else `RUN/documents/*.parquet`.
Writes `RUN/tokenizer/` (tokenizer.model, .vocab, stats.json, see `tokenizer.train`) and `RUN/tokens/`
(train-*.arrow, val-*.arrow, manifest.json, see `tokenizer.pack`), one encode task per document shard.
Config: the `tokenize:` section, `Config` below (tokenizer settings plus packing).
A run with no documents to read (every page dropped, or a mix of empty sources) trains nothing: stats.json and
tokens/manifest.json say "no documents" with zero counts, and the stage's result carries the same note.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from tokenizer.pack import write_empty_manifest, write_token_shards
from tokenizer.train import EOS_ID, TokenizerConfig, run_input_files, train_tokenizer


class Config(TokenizerConfig):
    # Tokens per training sequence; each stored row holds seq_len + 1 (inputs and shifted targets).
    seq_len: int = Field(default=512, ge=8)
    # Share of documents (by a hash of their id) held out for validation loss.
    val_fraction: float = Field(default=0.01, ge=0, lt=1)


def run(cfg: Config, job, run_dir: Path, executor) -> dict:
    run_dir = Path(run_dir)
    source, files = run_input_files(run_dir)
    stats = train_tokenizer(files, run_dir / "tokenizer", cfg)
    if stats.get("note") == "no documents":
        manifest = write_empty_manifest(files, run_dir / "tokens", seq_len=cfg.seq_len, val_fraction=cfg.val_fraction,
                                        seed=cfg.seed, eos_id=EOS_ID)
    else:
        manifest = write_token_shards(
            files, str(run_dir / "tokenizer" / "tokenizer.model"), run_dir / "tokens", seq_len=cfg.seq_len,
            val_fraction=cfg.val_fraction, seed=cfg.seed, eos_id=EOS_ID, executor=executor, batch_rows=cfg.batch_rows)
    result = {
        "input": source,
        "vocab_size": stats["vocab_size"],
        "fertility_tokens_per_eojeol": stats["fertility_tokens_per_eojeol"],
        "fertility_tokens_per_char": stats["fertility_tokens_per_char"],
        "byte_fallback_share": stats["byte_fallback_share"],
        "documents": manifest["documents"], "tokens": manifest["tokens"],
        "train_sequences": manifest["splits"]["train"]["sequences"],
        "val_sequences": manifest["splits"]["val"]["sequences"],
    }
    if "note" in manifest:
        result["note"] = manifest["note"]
    return result
