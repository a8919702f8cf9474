"""Barrier stage `tokenize`: train the tokenizer on the mixed output (or use an existing one) and write token shards.

Reads `RUN/mix/*.parquet` when the mix stage ran (its manifest exists), else `RUN/documents/*.parquet`.
Writes `RUN/tokenizer/` (tokenizer.model, .vocab, stats.json, see `tokenizer.train`) and `RUN/tokens/`
(train-*.arrow, val-*.arrow, manifest.json, see `tokenizer.pack`), one encode task per document shard.
Config: the `tokenize:` section, `Config` below (tokenizer settings plus packing).

With `tokenizer: PATH` (a Hugging Face tokenizer.json or a SentencePiece .model, see `tokenizer.external`)
nothing is trained: the file is copied into `RUN/tokenizer/`, measured into stats.json, and its vocabulary,
EOS and BOS ids are used. `formats: [arrow, megatron]` adds Megatron-LM indexed datasets under
`RUN/tokens/megatron/` (see `tokenizer.megatron`). For example:

    tokenize:
      tokenizer: models/llama-ko/tokenizer.json   # instead of vocab_size, model_type, ...
      eos_token: "</s>"                           # when no tokenizer_config.json beside it names one
      formats: [arrow, megatron]
      seq_len: 2048

A run with no documents to read (every page dropped, or a mix of empty sources) trains nothing: stats.json and
tokens/manifest.json say "no documents" with zero counts, and the stage's result carries the same note.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from tokenizer import external
from tokenizer.pack import write_empty_manifest, write_token_shards
from tokenizer.train import (EOS_ID, TokenizerConfig, count_documents, heldout_texts, run_input_files,
                             train_tokenizer)


class Config(TokenizerConfig):
    # Tokens per training sequence; each stored row holds seq_len + 1 (inputs and shifted targets).
    seq_len: int = Field(default=512, ge=8)
    # Share of documents (by a hash of their id) held out for validation loss.
    val_fraction: float = Field(default=0.01, ge=0, lt=1)
    # With `tokenizer`: the EOS appended to every document, and the BOS put before it when `add_bos`. None:
    # the tokenizer's own (a SentencePiece model's ids; the tokenizer_config.json beside a tokenizer.json).
    eos_token: str | None = Field(default=None, validate_default=True)
    bos_token: str | None = Field(default=None, validate_default=True)
    # Off by default, as for our own tokenizer (documents are separated by EOS only); Llama-style models that
    # were trained with BOS at each document start want it on.
    add_bos: bool = Field(default=False, validate_default=True)
    # Token outputs: "arrow" (tokens/*.arrow, read by tokenizer.loader and `pipeline train`) and/or "megatron"
    # (tokens/megatron/{train,val}.{bin,idx}, Megatron-LM's indexed datasets).
    formats: list[Literal["arrow", "megatron"]] = Field(default_factory=lambda: ["arrow"], min_length=1)

    @field_validator("eos_token", "bos_token")
    @classmethod
    def _special_token(cls, value: str | None, info: ValidationInfo) -> str | None:
        spec = info.data.get("tokenizer")
        if spec is None:
            if value is not None:
                raise ValueError("only with tokenizer: (our own tokenizer's ids are fixed: 0 unk, 1 bos, 2 eos)")
            return value
        external.special_id(spec, value, info.field_name, required=info.field_name == "eos_token")
        return value

    @field_validator("add_bos")
    @classmethod
    def _add_bos(cls, value: bool, info: ValidationInfo) -> bool:
        spec = info.data.get("tokenizer")
        if value and spec is None:
            raise ValueError("only with tokenizer: (our own tokenizer's documents end with EOS only)")
        if value and "bos_token" in info.data:  # absent when bos_token failed its own check
            external.special_id(spec, info.data["bos_token"], "bos_token", required=True)
        return value

    @field_validator("formats")
    @classmethod
    def _unique_formats(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError(f"a format is listed twice: {value}")
        return value


def run(cfg: Config, job, run_dir: Path, executor) -> dict:
    run_dir = Path(run_dir)
    source, files = run_input_files(run_dir)
    formats = tuple(cfg.formats)
    if cfg.tokenizer is None:
        for name in ("tokenizer.json", "tokenizer_config.json"):  # an earlier run's external tokenizer
            (run_dir / "tokenizer" / name).unlink(missing_ok=True)
        stats = train_tokenizer(files, run_dir / "tokenizer", cfg)
        tokenizer_path, kind, eos_id, bos_id, extra = run_dir / "tokenizer" / "tokenizer.model", "sentencepiece", EOS_ID, None, {}
    else:
        n_docs = count_documents(files, cfg)
        stats, tok = external.install(cfg, files, run_dir / "tokenizer", heldout_texts(files, cfg, n_docs) if n_docs else None)
        tokenizer_path, kind, eos_id, bos_id = Path(tok.path), tok.kind, tok.eos_id, tok.bos_id
        extra = {"tokenizer_source": "external", "tokenizer_type": kind, "bos_id": stats["bos_id"], "add_bos": cfg.add_bos}
    if stats.get("note") == "no documents":
        manifest = write_empty_manifest(files, run_dir / "tokens", seq_len=cfg.seq_len, val_fraction=cfg.val_fraction,
                                        seed=cfg.seed, eos_id=eos_id, formats=formats, extra=extra)
    else:
        manifest = write_token_shards(
            files, str(tokenizer_path), run_dir / "tokens", seq_len=cfg.seq_len,
            val_fraction=cfg.val_fraction, seed=cfg.seed, eos_id=eos_id, executor=executor, batch_rows=cfg.batch_rows,
            tokenizer_kind=kind, bos_id=bos_id, formats=formats, extra=extra)
    result = {
        "input": source,
        "vocab_size": stats["vocab_size"],
        "fertility_tokens_per_eojeol": stats["fertility_tokens_per_eojeol"],
        "fertility_tokens_per_char": stats["fertility_tokens_per_char"],
        "byte_fallback_share": stats["byte_fallback_share"],
        "documents": manifest["documents"], "tokens": manifest["tokens"],
        "train_sequences": manifest["splits"]["train"].get("sequences", 0),
        "val_sequences": manifest["splits"]["val"].get("sequences", 0),
    }
    if cfg.tokenizer is not None:
        result.update(tokenizer_type=kind, unk_share=stats["unk_share"])
    if "megatron" in manifest:
        result["megatron_documents"] = sum(s["documents"] for s in manifest["megatron"]["splits"].values())
    if "note" in manifest:
        result["note"] = manifest["note"]
    return result
