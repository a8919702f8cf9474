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

from core.errors import ConfigError
from core.sections import TokenizeConfig as Config
from tokenizer import external
from tokenizer.pack import write_empty_manifest, write_token_shards
from tokenizer.train import (
    EOS_ID,
    count_documents,
    heldout_texts,
    run_input_files,
    train_tokenizer,
)


def check_files(cfg: Config, where: str = "tokenize") -> None:
    """What the section's types cannot check, because it needs the file: an existing tokenizer loads, and holds
    the EOS token (and the BOS token with add_bos) the config names or the tokenizer declares. ConfigError
    naming the key (`where.eos_token: ...`)."""
    if cfg.tokenizer is None:
        return
    key = "tokenizer"
    try:
        external.load(*external.resolve_path(cfg.tokenizer))
        key = "eos_token"
        external.special_id(cfg.tokenizer, cfg.eos_token, "eos_token", required=True)
        key = "bos_token"
        external.special_id(cfg.tokenizer, cfg.bos_token, "bos_token", required=False)
        if cfg.add_bos:
            key = "add_bos"
            external.special_id(cfg.tokenizer, cfg.bos_token, "bos_token", required=True)
    except ValueError as e:
        raise ConfigError(f"{where}.{key}: {e}") from None


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
