"""Megatron-LM indexed datasets (`PREFIX.bin` + `PREFIX.idx`), written with numpy, read by Megatron as they are.

`tokenize.formats: [arrow, megatron]` writes, beside the Arrow shards, `tokens/megatron/train.{bin,idx}` and
`tokens/megatron/val.{bin,idx}`: one sequence per document (its tokens, EOS appended, BOS first with
`add_bos`), as Megatron's `tools/preprocess_data.py --append-eod` writes them, so document boundaries are kept
and Megatron's GPTDataset builds its own samples across them. Train and validation are the same documents as in
the Arrow shards (the same hash of seed and document id).

The layout is Megatron-Core's `megatron/core/datasets/indexed_dataset.py` (`_IndexWriter`, `_IndexReader`;
identical in megatron-core 0.16.1 and 0.19.2):

    PREFIX.bin  the tokens of every sequence, back to back, in the index's dtype (no header)
    PREFIX.idx  b"MMIDIDX\\x00\\x00"       9 bytes, magic
                <Q version = 1
                <B dtype code            (DType enum: uint8 1, int8 2, int16 3, int32 4, int64 5, float64 6,
                                          float32 7, uint16 8)
                <Q sequence_count        S
                <Q document_count        D + 1 (the document indices start with 0)
                int32[S] sequence_lengths
                int64[S] sequence_pointers  byte offset of each sequence in PREFIX.bin
                int64[D + 1] document_indices  sequence index where each document ends: 0, 1, 2, ..., S here

The dtype follows Megatron's `DType.optimal_dtype(vocab_size)`: uint16 below 65500 pieces, else int32 (the
enum has no uint32). Writing streams: each encode task appends its documents' tokens to a part file per split
(`tokens/megatron/parts/`) and keeps one int32 length per document; the driver then concatenates the parts in
shard order (`shutil.copyfileobj`) and writes the merged index section by section from the parts' indexes
(memory-mapped), so memory is bounded by a buffer and a shard's document count, never by the corpus.
Checksums of both files go into `tokens/manifest.json` under "megatron".
"""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

import numpy as np

from core.atomic import atomic_path

HEADER = b"MMIDIDX\x00\x00"
VERSION = 1
DTYPE_CODES = {np.dtype(np.uint8): 1, np.dtype(np.int8): 2, np.dtype(np.int16): 3, np.dtype(np.int32): 4,
               np.dtype(np.int64): 5, np.dtype(np.float64): 6, np.dtype(np.float32): 7, np.dtype(np.uint16): 8}
PREFIX_BYTES = len(HEADER) + 8 + 1 + 8 + 8  # 34: header, version, dtype code, the two counts
# Tokens buffered before a write to the .bin file: 1M tokens is 2-4 MB.
FLUSH_TOKENS = 1 << 20
# Index entries handled at once when merging: 1M entries is 8 MB.
CHUNK = 1 << 20


def token_dtype(vocab_size: int) -> np.dtype:
    """Megatron's `DType.optimal_dtype(vocab_size)`."""
    return np.dtype(np.uint16) if vocab_size < 65500 else np.dtype(np.int32)


def _write_prefix(fh, dtype: np.dtype, sequences: int) -> None:
    fh.write(HEADER)
    fh.write(struct.pack("<Q", VERSION))
    fh.write(struct.pack("<B", DTYPE_CODES[np.dtype(dtype)]))
    fh.write(struct.pack("<Q", sequences))
    fh.write(struct.pack("<Q", sequences + 1))  # one document per sequence, plus the leading 0


def read_index(idx_path: str | Path) -> tuple[np.dtype, np.ndarray, np.ndarray, np.ndarray]:
    """(dtype, sequence_lengths, sequence_pointers, document_indices) of an index file, memory-mapped."""
    buf = np.memmap(idx_path, mode="r", dtype=np.uint8)
    if bytes(buf[: len(HEADER)]) != HEADER:
        raise ValueError(f"{idx_path}: not a Megatron index (bad magic)")
    version, code, sequences, documents = struct.unpack("<QBQQ", bytes(buf[len(HEADER) : PREFIX_BYTES]))
    if version != VERSION:
        raise ValueError(f"{idx_path}: index version {version}, expected {VERSION}")
    dtype = next(d for d, c in DTYPE_CODES.items() if c == code)
    at = PREFIX_BYTES
    lengths = np.frombuffer(buf, np.int32, sequences, at)
    at += lengths.nbytes
    pointers = np.frombuffer(buf, np.int64, sequences, at)
    at += pointers.nbytes
    doc_idx = np.frombuffer(buf, np.int64, documents, at)
    return dtype, lengths, pointers, doc_idx


class PartWriter:
    """One task's documents of one split: appends tokens to `PATH.bin`, writes `PATH.idx` on close. Lazy: a
    split without documents leaves no files."""

    def __init__(self, prefix: Path, dtype: np.dtype):
        self.prefix, self.dtype = Path(prefix), np.dtype(dtype)
        self.lengths: list[int] = []
        self.pending: list[np.ndarray] = []
        self.pending_tokens = 0
        self._ctx = self._fh = None

    def add(self, ids) -> None:
        self.pending.append(np.asarray(ids, dtype=self.dtype))
        self.pending_tokens += len(ids)
        self.lengths.append(len(ids))
        if self.pending_tokens >= FLUSH_TOKENS:
            self._flush()

    def _flush(self) -> None:
        if not self.pending:
            return
        if self._fh is None:
            self._ctx = atomic_path(self.prefix.with_name(self.prefix.name + ".bin"))
            self._fh = open(self._ctx.__enter__(), "wb")
        self._fh.write(np.concatenate(self.pending).tobytes())
        self.pending, self.pending_tokens = [], 0

    def close(self) -> dict:
        """Finish both files; return {"prefix", "documents", "tokens"} (prefix None when nothing was added)."""
        self._flush()
        if self._fh is None:
            return {"prefix": None, "documents": 0, "tokens": 0}
        self._fh.close()
        self._ctx.__exit__(None, None, None)
        write_index(self.prefix.with_name(self.prefix.name + ".idx"), self.dtype, [np.asarray(self.lengths, np.int32)])
        return {"prefix": str(self.prefix), "documents": len(self.lengths), "tokens": int(sum(self.lengths))}


def write_index(idx_path: Path, dtype: np.dtype, length_chunks, sequences: int | None = None) -> None:
    """Write an index of one document per sequence from int32 length arrays (an iterable, read twice when
    `sequences` is given: once for the lengths, once for the pointers; pass a list or a re-iterable)."""
    chunks = length_chunks if sequences is not None else list(length_chunks)
    total = sequences if sequences is not None else sum(len(c) for c in chunks)
    itemsize = np.dtype(dtype).itemsize
    with atomic_path(idx_path) as tmp, open(tmp, "wb") as fh:
        _write_prefix(fh, dtype, total)
        for c in chunks:
            fh.write(np.asarray(c, np.int32).tobytes())
        offset = 0
        for c in chunks:
            ends = np.cumsum(np.asarray(c, np.int64) * itemsize)
            fh.write((ends - np.asarray(c, np.int64) * itemsize + offset).tobytes())
            offset += int(ends[-1]) if len(ends) else 0
        for start in range(0, total + 1, CHUNK):
            fh.write(np.arange(start, min(total + 1, start + CHUNK), dtype=np.int64).tobytes())


def _part_lengths(idx_paths: list[Path]):
    """Re-iterable over the parts' length arrays, CHUNK entries at a time, memory-mapped."""

    class _Chunks:
        def __iter__(self):
            for p in idx_paths:
                lengths = read_index(p)[1]
                for start in range(0, len(lengths), CHUNK):
                    yield lengths[start : start + CHUNK]

    return _Chunks()


def merge_parts(prefixes: list[str], out_prefix: Path, dtype: np.dtype) -> dict:
    """Concatenate part datasets (in the order given) into `out_prefix.{bin,idx}`, then delete the parts.
    Return {"documents", "tokens"}; no parts (an empty split) writes nothing, since Megatron cannot memory-map
    an empty .bin file."""
    out_prefix = Path(out_prefix)
    idx_paths = [Path(p + ".idx") for p in prefixes]
    sequences = sum(len(read_index(p)[1]) for p in idx_paths)
    tokens = 0
    if prefixes:
        with atomic_path(out_prefix.with_name(out_prefix.name + ".bin")) as tmp, open(tmp, "wb") as out:
            for p in prefixes:
                with open(p + ".bin", "rb") as part:
                    shutil.copyfileobj(part, out, 1 << 24)
            tokens = out.tell() // np.dtype(dtype).itemsize
        write_index(out_prefix.with_name(out_prefix.name + ".idx"), dtype, _part_lengths(idx_paths), sequences)
    for p in prefixes:
        Path(p + ".bin").unlink(missing_ok=True)
        Path(p + ".idx").unlink(missing_ok=True)
    return {"documents": sequences, "tokens": tokens}
