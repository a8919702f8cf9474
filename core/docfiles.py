"""Reading documents' text from Parquet and JSONL(.gz) files in bounded batches, and the seeded per-document coin.

Shared by the mix stage (pipeline/mix.py), the tokenizer (tokenizer/train.py, tokenizer/pack.py) and the
ablation: every reader of a run's documents/ or mix/ files, or of a user's JSONL source, goes through
`iter_document_batches`, so a text column is read one way everywhere (NFC for JSONL; Parquet written by us is NFC).
`unit_hash` is the coin of the mix's sampling and of the tokenizer's train/val split: fixed by (seed, source,
document id), so the same seed gives the same choice whatever the sharding or the executor.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from typing import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from core.errors import RunError
from core.text import nfc

# Every document file a run writes (filtered/, documents/, rejected/, mix/). zstd against pyarrow's default
# snappy on 5,000 kowiki articles: 7.7 against 10.5 MB, and the text column reads in 5.6 against 9.5 ns a
# token (reading is most of what the tokenize stage adds to its tokenizer's encode).
PARQUET_COMPRESSION = "zstd"


def iter_text_batches(path: str, text_key: str = "text", id_key: str = "id", batch_rows: int = 1000,
                      utf8: bool = False) -> Iterator[tuple[list, list[str | None]]]:
    """Yield (texts, ids) batches from a Parquet or JSONL(.gz) file; ids are None where the file has none.
    `utf8=True` gives a Parquet file's texts as UTF-8 bytes, never decoded into str: for an encoder that takes
    bytes (SentencePiece), half the cost of reading them (bench/speed/tokenize_external.py)."""
    for texts, ids, _ in iter_document_batches(path, text_key, id_key, batch_rows, utf8=utf8):
        yield texts, ids


def iter_document_batches(path: str, text_key: str = "text", id_key: str = "id", batch_rows: int = 1000,
                          size_key: str | None = None, utf8: bool = False
                          ) -> Iterator[tuple[list[str], list[str | None], np.ndarray | None]]:
    """(texts, ids, sizes) batches; sizes are the `size_key` column as int64 (None without a size_key), and a
    file without it, or a row without a value or with one below 1, is an error naming the file."""
    if path.endswith(".parquet"):
        pf = pq.ParquetFile(path)
        names = set(pf.schema_arrow.names)
        if text_key not in names:
            raise RunError(f"{path}: no column {text_key!r} (columns: {sorted(names)})")
        if size_key is not None and size_key not in names:
            raise RunError(f"{path}: no column {size_key!r} to rehydrate by ({_SIZE_HINT})")
        cols = [text_key] + ([id_key] if id_key in names else []) + ([size_key] if size_key is not None else [])
        for batch in pf.iter_batches(batch_size=batch_rows, columns=cols):
            column = batch.column(text_key)
            if utf8:  # the same bytes as a binary column: no UTF-8 decoding into str
                texts = [t or b"" for t in column.cast(pa.binary()).to_pylist()]
            else:
                texts = [t or "" for t in column.to_pylist()]
            ids = batch.column(id_key).to_pylist() if id_key in names else [None] * len(texts)
            sizes = _sizes(batch.column(size_key).to_pylist(), path, size_key) if size_key is not None else None
            yield texts, [None if i is None else str(i) for i in ids], sizes
        return
    if path.endswith((".jsonl", ".jsonl.gz", ".json", ".json.gz")):
        opener = gzip.open if path.endswith(".gz") else open
        texts, ids, sizes = [], [], []
        with opener(path, "rt", encoding="utf-8") as fh:
            for line in fh:
                if not line.strip():
                    continue
                rec = json.loads(line)
                texts.append(nfc(str(rec.get(text_key) or "")))
                ids.append(None if rec.get(id_key) is None else str(rec[id_key]))
                if size_key is not None:
                    sizes.append(rec.get(size_key))
                if len(texts) >= batch_rows:
                    yield texts, ids, (_sizes(sizes, path, size_key) if size_key is not None else None)
                    texts, ids, sizes = [], [], []
        if texts:
            yield texts, ids, (_sizes(sizes, path, size_key) if size_key is not None else None)
        return
    raise RunError(f"{path}: not a .parquet or .jsonl(.gz) file")


_SIZE_HINT = "dedup writes cluster_size on the documents it keeps; rehydrate a run's documents with a dedup: section"


def _sizes(values: list, path: str, size_key: str) -> np.ndarray:
    if any(v is None for v in values):
        raise RunError(f"{path}: rows without {size_key!r} to rehydrate by ({_SIZE_HINT})")
    sizes = np.array(values, dtype=np.int64)
    if len(sizes) and sizes.min() < 1:
        raise RunError(f"{path}: {size_key!r} holds {int(sizes.min())}; a cluster holds at least 1 document")
    return sizes


def unit_hash(seed: int, source: str, doc_id: str) -> float:
    """A uniform number in [0, 1) fixed by (seed, source, document id)."""
    h = hashlib.blake2b(f"{seed}\x00{source}\x00{doc_id}".encode(), digest_size=8).digest()
    return int.from_bytes(h, "little") / 2.0**64
