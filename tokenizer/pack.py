"""Encode documents with the trained tokenizer and pack them into fixed-length Arrow token shards.

`encode_shard` runs as one task per document shard: it encodes each document, appends EOS, sends it to the
train or validation split by a hash of (seed, document id) (repeats of a document in the mix share the id, so
they land in the same split), and packs each split's token stream into rows of exactly `seq_len + 1` tokens
(inputs and next-token targets of one sequence). Rows are written as Arrow IPC *files* with one column
`tokens`, a fixed-size list of uint16 (uint32 when the vocabulary has more than 65536 pieces), under
`tokens/train-NNNNN.arrow` and `tokens/val-NNNNN.arrow` (NNNNN = the document shard's index). The last partial
row of each shard is returned to the driver instead of being dropped: `write_token_shards` packs those tails in
shard order into one more shard, and only the final remainder (< seq_len + 1 tokens per split) is lost.

The same inputs, tokenizer and seed give byte-identical shards whatever the executor. Without documents
(no tokenizer was trained) `write_empty_manifest` writes a manifest with zero counts and no shards.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pyarrow as pa

from pipeline.atomic import atomic_path, write_json
from pipeline.mix import iter_text_batches, unit_hash
from pipeline.models import cached

SPLITS = ("train", "val")
# Rows per Arrow record batch: 1024 rows of 513 uint16 tokens is ~1 MB, small enough to bound task memory.
ROWS_PER_BATCH = 1024


def token_type(vocab_size: int) -> pa.DataType:
    return pa.uint16() if vocab_size <= 2**16 else pa.uint32()


def shard_schema(seq_len: int, vocab_size: int) -> pa.Schema:
    return pa.schema([("tokens", pa.list_(token_type(vocab_size), seq_len + 1))])


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _load_sp(path: str):
    import sentencepiece as spm

    return spm.SentencePieceProcessor(model_file=path)


class Packer:
    """Collects one split's token stream and writes full rows of `row_len` tokens to an Arrow file, lazily."""

    def __init__(self, path: Path, schema: pa.Schema, row_len: int):
        self.path, self.schema, self.row_len = path, schema, row_len
        self.dtype = np.uint16 if schema.field("tokens").type.value_type == pa.uint16() else np.uint32
        self.pending: list[np.ndarray] = []
        self.pending_tokens = 0
        self.sequences = self.tokens = self.documents = 0
        self._ctx = self._writer = None

    def add(self, ids: list[int]) -> None:
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
                 seed: int, eos_id: int, batch_rows: int = 1000, tokenizer_sha256: str = "") -> dict:
    """Encode and pack one document shard into train/val Arrow files; return per-split counts and tails."""
    # The hash is part of the cache key: a tokenizer retrained at the same path must not hit a stale cache entry
    # in a reused worker process.
    sp = cached(f"sentencepiece {tokenizer_sha256}", tokenizer_path, _load_sp)
    schema = shard_schema(seq_len, sp.get_piece_size())
    packers = {s: Packer(Path(out_dir) / f"{s}-{index:05d}.arrow", schema, seq_len + 1) for s in SPLITS}
    row = 0
    for texts, ids in iter_text_batches(doc_path, batch_rows=batch_rows):
        # One thread: the executor gives each task one CPU.
        encoded = sp.encode(texts, out_type=int, num_threads=1)
        for doc_id, toks in zip(ids, encoded):
            key = doc_id if doc_id is not None else f"{os.path.basename(doc_path)}/{row}"
            row += 1
            if not toks:
                continue
            split = "val" if unit_hash(seed, "split", key) < val_fraction else "train"
            toks.append(eos_id)
            packers[split].add(toks)
    return {s: packers[s].close() for s in SPLITS}


def write_token_shards(doc_files: list[str], tokenizer_path: str, out_dir: Path, *, seq_len: int,
                       val_fraction: float, seed: int, eos_id: int, executor, batch_rows: int = 1000) -> dict:
    """Encode every document shard as one task, pack the tails, write `manifest.json`; return the manifest."""
    import sentencepiece as spm

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    vocab_size = spm.SentencePieceProcessor(model_file=tokenizer_path).get_piece_size()
    tokenizer_sha256 = sha256_file(tokenizer_path)
    items = [(f, tokenizer_path, str(out_dir), i, seq_len, val_fraction, seed, eos_id, batch_rows, tokenizer_sha256)
             for i, f in enumerate(doc_files)]
    results = executor.map(encode_shard, items, "tokenize: encode + pack")

    shards, splits = [], {}
    for split in SPLITS:
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
    _remove_stale_shards(out_dir, {s["file"] for s in shards})
    manifest = {
        "tokenizer": os.path.relpath(tokenizer_path, out_dir), "tokenizer_sha256": tokenizer_sha256,
        "vocab_size": vocab_size, "dtype": str(token_type(vocab_size)), "eos_id": eos_id,
        "seq_len": seq_len, "row_tokens": seq_len + 1, "seed": seed, "val_fraction": val_fraction,
        "documents": sum(s["documents"] for s in splits.values()),
        "tokens": sum(s["tokens"] for s in splits.values()),
        "sequences": sum(s["sequences"] for s in splits.values()),
        "splits": splits, "shards": shards,
        "inputs": [os.path.basename(f) for f in doc_files],
    }
    write_json(out_dir / "manifest.json", manifest)
    return manifest


def _remove_stale_shards(out_dir: Path, keep: set[str]) -> None:
    for stale in out_dir.glob("*.arrow"):  # from an earlier run with more shards: not ours any more
        if stale.name not in keep:
            stale.unlink()


def write_empty_manifest(doc_files: list[str], out_dir: Path, *, seq_len: int, val_fraction: float, seed: int,
                         eos_id: int) -> dict:
    """`manifest.json` of a run with no documents to encode: zero counts, no shards, "note": "no documents"."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _remove_stale_shards(out_dir, set())
    manifest = {
        "note": "no documents", "tokenizer": None, "tokenizer_sha256": None, "vocab_size": 0, "dtype": None,
        "eos_id": eos_id, "seq_len": seq_len, "row_tokens": seq_len + 1, "seed": seed, "val_fraction": val_fraction,
        "documents": 0, "tokens": 0, "sequences": 0,
        "splits": {s: {"documents": 0, "tokens": 0, "sequences": 0, "tokens_dropped": 0} for s in SPLITS},
        "shards": [], "inputs": [os.path.basename(f) for f in doc_files],
    }
    write_json(out_dir / "manifest.json", manifest)
    return manifest
