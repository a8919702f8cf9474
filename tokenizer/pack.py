"""Encode documents with the trained tokenizer and pack them into fixed-length Arrow token shards.

`encode_shard` runs as one task per document shard: it encodes each document, appends EOS, sends it to the
train or validation split by a hash of (seed, document id) (repeats of a document in the mix share the id, so
they land in the same split), and packs each split's token stream into rows of exactly `seq_len + 1` tokens
(inputs and next-token targets of one sequence). Rows are written as Arrow IPC *files* with one column
`tokens`, a fixed-size list of uint16 (uint32 when the vocabulary has more than 65536 pieces), under
`tokens/train-NNNNN.arrow` and `tokens/val-NNNNN.arrow` (NNNNN = the document shard's index). The last partial
row of each shard is returned to the driver instead of being dropped: `write_token_shards` packs those tails in
shard order into one more shard, and only the final remainder (< seq_len + 1 tokens per split) is lost.

The tokenizer is the trained SentencePiece model, or an existing one (`tokenize.tokenizer`, see
`tokenizer.external`: a SentencePiece model or a Hugging Face tokenizer.json), whose vocabulary size sets the
dtype and whose EOS id (and BOS id with `add_bos`) frame each document. `formats` names what is written:
"arrow" (these shards, the default) and "megatron" (Megatron-LM's indexed datasets, `tokenizer.megatron`);
the manifest describes both, with checksums.

The same inputs, tokenizer and seed give byte-identical shards whatever the executor. Without documents
(no tokenizer was trained) `write_empty_manifest` writes a manifest with zero counts and no shards.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pyarrow as pa

from core.atomic import atomic_path, sha256_file, write_json
from core.docfiles import iter_text_batches, unit_hash
from core.models import cached
from tokenizer import megatron
from tokenizer.external import ExternalTokenizer

SPLITS = ("train", "val")
# Rows per Arrow record batch: 1024 rows of 513 uint16 tokens is ~1 MB, small enough to bound task memory.
ROWS_PER_BATCH = 1024
# Documents read and encoded per call (at most): where the ids come as Python ints (~30 bytes a token), they
# then still sit in the CPU cache when they are converted and freed. 256 against 1000: 172 against 185 ns a
# token on Korean Wikipedia with SentencePiece's int lists (bench/speed/tokenize_external.py).
ENCODE_ROWS = 256


def token_type(vocab_size: int) -> pa.DataType:
    return pa.uint16() if vocab_size <= 2**16 else pa.uint32()


def shard_schema(seq_len: int, vocab_size: int) -> pa.Schema:
    return pa.schema([("tokens", pa.list_(token_type(vocab_size), seq_len + 1))])


def _load_sp(path: str):
    """The processor, and how it hands out ids: int32 arrays where it can (`sp_gives_arrays`), else int lists."""
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=path)
    return sp, ("numpy" if sp_gives_arrays(sp) else int)


def _load_hf(path: str):

    return ExternalTokenizer("huggingface", path)


def load_tokenizer(kind: str, path: str, sha256: str = ""):
    """(encode(texts) -> a list of int lists or int32 arrays, vocabulary size) of the tokenizer file, cached per
    worker."""
    # The hash is part of the cache key: a tokenizer retrained at the same path must not hit a stale cache entry
    # in a reused worker process.
    if kind == "sentencepiece":
        # One thread: the executor gives each task one CPU. sentencepiece >= 0.2.1 hands out ids as int32
        # arrays: no Python int is made per token, then read back (~15 ns a token, a tenth of the encode).
        sp, out_type = cached(f"sentencepiece {sha256}", path, _load_sp)
        return (lambda texts: sp.encode(texts, out_type=out_type, num_threads=1)), sp.get_piece_size()
    tok = cached(f"tokenizer.json {sha256}", path, _load_hf)
    return tok.encode, tok.vocab_size


def sp_gives_arrays(sp) -> bool:
    """Whether this sentencepiece can encode into int32 arrays (`out_type="numpy"`, 0.2.1 and later)."""
    try:
        return isinstance(sp.encode([b"a"], out_type="numpy", num_threads=1)[0], np.ndarray)
    except (ValueError, TypeError):  # sentencepiece 0.2.0: no such return type
        return False


def document_tokens(toks, dtype, bos_id: int | None, eos_id: int) -> np.ndarray:
    """One document's ids with its BOS (if any) and EOS, as one array of the shards' dtype."""
    if isinstance(toks, np.ndarray):
        head = 0 if bos_id is None else 1
        doc = np.empty(len(toks) + head + 1, dtype)
        if head:
            doc[0] = bos_id
        doc[head:-1] = toks
        doc[-1] = eos_id
        return doc
    if bos_id is not None:
        toks.insert(0, bos_id)
    toks.append(eos_id)
    # From a Python list: np.fromiter, ~15 ns a token (np.asarray 18; struct.pack and array.array no faster).
    return np.fromiter(toks, dtype, len(toks))


class Packer:
    """Collects one split's token stream and writes full rows of `row_len` tokens to an Arrow file, lazily."""

    def __init__(self, path: Path, schema: pa.Schema, row_len: int):
        self.path, self.schema, self.row_len = path, schema, row_len
        self.dtype = np.uint16 if schema.field("tokens").type.value_type == pa.uint16() else np.uint32
        self.pending: list[np.ndarray] = []
        self.pending_tokens = 0
        self.sequences = self.tokens = self.documents = 0
        self._ctx = self._writer = None

    def add(self, ids) -> None:
        self.pending.append(np.asarray(ids, dtype=self.dtype))
        self.pending_tokens += len(ids)
        self.tokens += len(ids)
        self.documents += 1
        if self.pending_tokens >= self.row_len * ROWS_PER_BATCH:
            self._flush()

    def _flush(self) -> None:
        stream = np.concatenate(self.pending) if self.pending else np.empty(0, self.dtype)
        rows = len(stream) // self.row_len
        if rows:
            if self._writer is None:
                self._ctx = atomic_path(self.path)
                self._writer = pa.ipc.new_file(str(self._ctx.__enter__()), self.schema)
            flat = pa.array(stream[: rows * self.row_len], type=self.schema.field("tokens").type.value_type)
            column = pa.FixedSizeListArray.from_arrays(flat, self.row_len)
            self._writer.write_batch(pa.record_batch([column], schema=self.schema))
            self.sequences += rows
        rest = stream[rows * self.row_len :]
        self.pending, self.pending_tokens = [rest], len(rest)

    def close(self) -> dict:
        """Write what is full, close the file; return counts and the tail that did not fill a row."""
        self._flush()
        tail = self.pending[0] if self.pending else np.empty(0, self.dtype)
        info = {"file": None, "documents": self.documents, "tokens": self.tokens, "sequences": self.sequences,
                "tail": tail.tolist()}
        if self._writer is not None:
            self._writer.close()
            self._ctx.__exit__(None, None, None)
            info.update(file=self.path.name, sha256=sha256_file(self.path))
        return info


def encode_shard(doc_path: str, tokenizer_path: str, out_dir: str, index: int, seq_len: int, val_fraction: float,
                 seed: int, eos_id: int, batch_rows: int = 1000, tokenizer_sha256: str = "",
                 tokenizer_kind: str = "sentencepiece", bos_id: int | None = None,
                 formats: tuple[str, ...] = ("arrow",)) -> dict:
    """Encode one document shard into its train/val Arrow files (per-split counts and tails) and, with
    "megatron" in `formats`, its Megatron part datasets (under "megatron": per-split prefix and counts)."""
    encode, vocab_size = load_tokenizer(tokenizer_kind, tokenizer_path, tokenizer_sha256)
    packers, parts = {}, {}
    if "megatron" in formats:
        dtype = megatron.token_dtype(vocab_size)
        parts = {s: megatron.PartWriter(Path(out_dir) / "megatron" / "parts" / f"{s}-{index:05d}", dtype)
                 for s in SPLITS}
    if "arrow" in formats:
        schema = shard_schema(seq_len, vocab_size)
        packers = {s: Packer(Path(out_dir) / f"{s}-{index:05d}.arrow", schema, seq_len + 1) for s in SPLITS}
        dtype = packers["train"].dtype
    row = 0
    # SentencePiece takes UTF-8 bytes as they are: Parquet texts are then read without decoding them
    for texts, ids in iter_text_batches(doc_path, batch_rows=min(batch_rows, ENCODE_ROWS),
                                        utf8=tokenizer_kind == "sentencepiece"):
        for doc_id, toks in zip(ids, encode(texts)):
            key = doc_id if doc_id is not None else f"{os.path.basename(doc_path)}/{row}"
            row += 1
            if not len(toks):
                continue
            split = "val" if unit_hash(seed, "split", key) < val_fraction else "train"
            # One array for both formats.
            doc = document_tokens(toks, dtype, bos_id, eos_id)
            if packers:
                packers[split].add(doc)
            if parts:
                parts[split].add(doc)
    out = {s: packers[s].close() for s in packers}
    if parts:
        out["megatron"] = {s: parts[s].close() for s in SPLITS}
    return out


def write_token_shards(doc_files: list[str], tokenizer_path: str, out_dir: Path, *, seq_len: int,
                       val_fraction: float, seed: int, eos_id: int, executor, batch_rows: int = 1000,
                       tokenizer_kind: str = "sentencepiece", bos_id: int | None = None,
                       formats: tuple[str, ...] = ("arrow",), extra: dict | None = None) -> dict:
    """Encode every document shard as one task, pack the tails, merge the Megatron parts (with "megatron" in
    `formats`), write `manifest.json` (`extra` keys added to it); return the manifest."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tokenizer_sha256 = sha256_file(tokenizer_path)
    vocab_size = load_tokenizer(tokenizer_kind, tokenizer_path, tokenizer_sha256)[1]
    formats = tuple(formats)
    items = [(f, tokenizer_path, str(out_dir), i, seq_len, val_fraction, seed, eos_id, batch_rows, tokenizer_sha256,
              tokenizer_kind, bos_id, formats)
             for i, f in enumerate(doc_files)]
    results = executor.map(encode_shard, items, "tokenize: encode + pack")

    shards, splits = [], {}
    for split in SPLITS if "arrow" in formats else ():
        tails = Packer(out_dir / f"{split}-{len(doc_files):05d}.arrow", shard_schema(seq_len, vocab_size), seq_len + 1)
        documents = 0
        for res in results:
            info = res[split]
            documents += info["documents"]
            if info["file"]:
                shards.append({"file": info["file"], "split": split, "sequences": info["sequences"],
                               "tokens": info["sequences"] * (seq_len + 1), "documents": info["documents"],
                               "sha256": info["sha256"]})
            if info["tail"]:
                tails.pending.append(np.asarray(info["tail"], dtype=tails.dtype))
                tails.pending_tokens += len(info["tail"])
        t = tails.close()
        if t["file"]:
            shards.append({"file": t["file"], "split": split, "sequences": t["sequences"],
                           "tokens": t["sequences"] * (seq_len + 1), "documents": 0, "sha256": t["sha256"]})
        tokens = sum(r[split]["tokens"] for r in results)
        sequences = sum(s["sequences"] for s in shards if s["split"] == split)
        splits[split] = {"documents": documents, "tokens": tokens, "sequences": sequences,
                         "tokens_dropped": tokens - sequences * (seq_len + 1)}
    if "arrow" not in formats:  # the same counts, from the Megatron parts (one sequence per document)
        splits = {split: {key: sum(r["megatron"][split][key] for r in results) for key in ("documents", "tokens")}
                  for split in SPLITS}
    _remove_stale_shards(out_dir, {s["file"] for s in shards})
    megatron_section = _merge_megatron(results, out_dir, vocab_size) if "megatron" in formats else None
    if megatron_section is None:
        _remove_stale_megatron(out_dir)
    manifest = {
        "tokenizer": os.path.relpath(tokenizer_path, out_dir), "tokenizer_sha256": tokenizer_sha256,
        "vocab_size": vocab_size, "dtype": str(token_type(vocab_size)), "eos_id": eos_id,
        "seq_len": seq_len, "row_tokens": seq_len + 1, "seed": seed, "val_fraction": val_fraction,
        "documents": sum(s["documents"] for s in splits.values()),
        "tokens": sum(s["tokens"] for s in splits.values()),
        # Arrow rows; without "arrow" in formats there are none, and the Megatron counts are under "megatron".
        "sequences": sum(s.get("sequences", 0) for s in splits.values()),
        "splits": splits, "shards": shards,
        "inputs": [os.path.basename(f) for f in doc_files],
    }
    manifest.update(extra or {})
    if formats != ("arrow",):
        manifest["formats"] = list(formats)
    if megatron_section is not None:
        manifest["megatron"] = megatron_section
    write_json(out_dir / "manifest.json", manifest)
    return manifest


def _merge_megatron(results: list[dict], out_dir: Path, vocab_size: int) -> dict:
    """Concatenate each split's part datasets in shard order; the manifest's "megatron" section."""
    dtype = megatron.token_dtype(vocab_size)
    section = {"dtype": dtype.name, "layout": "one sequence per document, EOS-terminated", "splits": {}}
    for split in SPLITS:
        prefixes = [r["megatron"][split]["prefix"] for r in results if r["megatron"][split]["prefix"]]
        counts = megatron.merge_parts(prefixes, out_dir / "megatron" / split, dtype)
        entry = {"prefix": f"megatron/{split}" if prefixes else None, "documents": counts["documents"],
                 "sequences": counts["documents"], "tokens": counts["tokens"]}
        if prefixes:
            for ext in ("bin", "idx"):
                entry[f"{ext}_sha256"] = sha256_file(out_dir / "megatron" / f"{split}.{ext}")
        else:  # Megatron cannot memory-map an empty .bin: an empty split has no files
            for ext in ("bin", "idx"):
                (out_dir / "megatron" / f"{split}.{ext}").unlink(missing_ok=True)
        section["splits"][split] = entry
    parts = out_dir / "megatron" / "parts"
    if parts.is_dir() and not any(parts.iterdir()):
        parts.rmdir()
    return section


def _remove_stale_megatron(out_dir: Path) -> None:
    """An earlier run's Megatron files, when this run writes none (only the names a run writes)."""
    root = out_dir / "megatron"
    if not root.is_dir():
        return
    for split in SPLITS:
        for ext in ("bin", "idx"):
            (root / f"{split}.{ext}").unlink(missing_ok=True)
            for part in (root / "parts").glob(f"{split}-[0-9][0-9][0-9][0-9][0-9].{ext}"):
                part.unlink()
    for d in (root / "parts", root):
        if d.is_dir() and not any(d.iterdir()):
            d.rmdir()


def _remove_stale_shards(out_dir: Path, keep: set[str]) -> None:
    for stale in out_dir.glob("*.arrow"):  # from an earlier run with more shards: not ours any more
        if stale.name not in keep:
            stale.unlink()


def write_empty_manifest(doc_files: list[str], out_dir: Path, *, seq_len: int, val_fraction: float, seed: int,
                         eos_id: int, formats: tuple[str, ...] = ("arrow",), extra: dict | None = None) -> dict:
    """`manifest.json` of a run with no documents to encode: zero counts, no shards, "note": "no documents"."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _remove_stale_shards(out_dir, set())
    _remove_stale_megatron(out_dir)
    formats = tuple(formats)
    manifest = {
        "note": "no documents", "tokenizer": None, "tokenizer_sha256": None, "vocab_size": 0, "dtype": None,
        "eos_id": eos_id, "seq_len": seq_len, "row_tokens": seq_len + 1, "seed": seed, "val_fraction": val_fraction,
        "documents": 0, "tokens": 0, "sequences": 0,
        "splits": {s: {"documents": 0, "tokens": 0, "sequences": 0, "tokens_dropped": 0} for s in SPLITS},
        "shards": [], "inputs": [os.path.basename(f) for f in doc_files],
    }
    manifest.update(extra or {})
    if formats != ("arrow",):
        manifest["formats"] = list(formats)
    if "megatron" in formats:
        manifest["megatron"] = {"dtype": None, "layout": "one sequence per document, EOS-terminated", "splits": {
            s: {"prefix": None, "documents": 0, "sequences": 0, "tokens": 0} for s in SPLITS}}
    write_json(out_dir / "manifest.json", manifest)
    return manifest
