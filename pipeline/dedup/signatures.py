"""MinHash signatures and LSH band keys, computed per shard and written to disk (one task per shard).

The permutations are datasketch 2.x's default scheme ("affine32"), taken from `datasketch.MinHash(num_perm,
seed).permutations` so they are the same numbers: each 32-bit shingle hash h is pre-mixed with the MurmurHash3
finalizer fmix32, then permutation k is a_k * h + b_k mod 2^32 and the signature keeps the minimum. We apply
them to all shingles of a batch of documents as one (shingles × num_perm) uint32 matrix and reduce per document
with `np.minimum.reduceat`; fed the same 32-bit shingle hashes the result equals datasketch's bit for bit.

Bands and rows come from `datasketch.lsh._optimal_param`. A band key is a 64-bit hash of the band index and its
rows. `signature_shard` writes, under RUN/dedup/:
  signatures/<shard>.arrow        doc row → full signature (Arrow IPC, read back memory-mapped to verify pairs)
  docs/<shard>.parquet            row, id, score, exact key, represents (what the clustering, the keep choice
                                  and the kept documents' `cluster_size` need)
  buckets/part-<p>/<shard>.parquet  (key, ref) for every band key with key % P == p, and exact keys
A document reference `ref` packs (shard index << 32 | row), so it is unique and stable across runs.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from core.atomic import atomic_path
from core.errors import RunError
from pipeline.dedup.hashing import exact_keys, fmix64, shingle_hashes

# Rows of shingles × num_perm processed at once: 16k × 112 × 4 B ≈ 7 MB, fits in L2/L3-friendly chunks.
_CHUNK_SHINGLES = 16384
EXACT_BAND = 0xFFFF  # band index given to exact keys in the bucket files
# Column written on every kept document (rewrite.py). An input that already has it (documents deduplicated
# before, e.g. per crawl) stands for that many documents, so a cluster of such documents adds their sizes.
SIZE_COLUMN = "cluster_size"
_F1, _F2 = np.uint32(0x85EBCA6B), np.uint32(0xC2B2AE35)


def fmix32(h: np.ndarray) -> np.ndarray:
    h = h ^ (h >> np.uint32(16))
    h = h * _F1
    h ^= h >> np.uint32(13)
    h *= _F2
    h ^= h >> np.uint32(16)
    return h


@lru_cache(maxsize=8)
def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """datasketch's affine32 permutation parameters (a, b), each uint32[num_perm]."""
    from datasketch import MinHash

    m = MinHash(num_perm=num_perm, seed=seed, scheme="affine32")
    a, b = m.permutations
    return np.ascontiguousarray(a, dtype=np.uint32), np.ascontiguousarray(b, dtype=np.uint32)


@lru_cache(maxsize=32)
def lsh_params(threshold: float, num_perm: int, false_positive_weight: float, false_negative_weight: float):
    """(bands, rows) minimizing datasketch's weighted false-positive/false-negative probability."""
    from datasketch.lsh import _optimal_param

    return _optimal_param(threshold, num_perm, false_positive_weight, false_negative_weight)


def minhash_signatures(hashes: np.ndarray, doc_index: np.ndarray, n_docs: int, num_perm: int, seed: int) -> np.ndarray:
    """(n_docs, num_perm) uint32 signatures; a document without shingles keeps the all-0xFFFFFFFF signature.

    `doc_index` must be ascending (as `shingle_hashes` returns it)."""
    a, b = permutations(num_perm, seed)
    out = np.full((n_docs, num_perm), np.uint32(0xFFFFFFFF), dtype=np.uint32)
    if len(hashes) == 0:
        return out
    hv = fmix32(hashes.astype(np.uint32))
    buf = np.empty((min(_CHUNK_SHINGLES, len(hv)), num_perm), dtype=np.uint32)
    for lo in range(0, len(hv), _CHUNK_SHINGLES):
        hi = min(lo + _CHUNK_SHINGLES, len(hv))
        m = buf[: hi - lo]
        np.multiply(hv[lo:hi, None], a, out=m)
        m += b
        docs = doc_index[lo:hi]
        starts = np.flatnonzero(np.concatenate(([True], docs[1:] != docs[:-1])))
        seg_docs = docs[starts]
        mins = np.minimum.reduceat(m, starts, axis=0)
        # A document split across two chunks appears in both: merge with what the earlier chunk found.
        out[seg_docs] = np.minimum(out[seg_docs], mins)
    return out


def band_keys(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """(n_docs, bands) uint64 keys: documents share a key iff their band rows are equal (up to 2^-64)."""
    n = len(signatures)
    sig = signatures[:, : bands * rows].reshape(n, bands, rows).astype(np.uint64)
    key = np.broadcast_to(np.arange(1, bands + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15), (n, bands))
    key = fmix64(key.copy())
    for j in range(rows):
        key = fmix64(key ^ sig[:, :, j])
    return key


def exact_bucket_keys(exact: np.ndarray) -> np.ndarray:
    return fmix64(exact ^ np.uint64(EXACT_BAND))


def partition_of(keys: np.ndarray, num_partitions: int) -> np.ndarray:
    return (keys % np.uint64(num_partitions)).astype(np.int64)


def shard_paths(dedup_dir: Path, shard: str, num_partitions: int) -> dict[str, Path]:
    return {
        "signatures": dedup_dir / "signatures" / f"{shard}.arrow",
        "docs": dedup_dir / "docs" / f"{shard}.parquet",
        **{f"part{p}": dedup_dir / "buckets" / f"part-{p:04d}" / f"{shard}.parquet" for p in range(num_partitions)},
    }


def signature_shard(
    doc_path: str, shard: str, shard_index: int, dedup_dir: str, params: dict
) -> dict:
    """Task: read one documents Parquet file by row batches and write its signatures, docs and bucket files.

    `params` holds shingle, ngram, hash, num_perm, seed, bands, rows, num_partitions, exact, fuzzy,
    score_column, batch_rows. Returns {"shard", "documents", "seconds"}.
    """
    import time

    t0 = time.perf_counter()
    out = shard_paths(Path(dedup_dir), shard, params["num_partitions"])
    pf = pq.ParquetFile(doc_path)
    score_col = params.get("score_column")
    has_score = bool(score_col) and score_col in pf.schema_arrow.names
    has_sizes = SIZE_COLUMN in pf.schema_arrow.names
    columns = ["id", "text"] + ([score_col] if has_score else []) + ([SIZE_COLUMN] if has_sizes and SIZE_COLUMN != score_col else [])
    P = params["num_partitions"]
    bucket_keys: list[list[np.ndarray]] = [[] for _ in range(P)]
    bucket_refs: list[list[np.ndarray]] = [[] for _ in range(P)]
    docs_tables = []
    sig_schema = pa.schema([("signature", pa.list_(pa.uint32(), params["num_perm"]))])
    row0 = 0
    with atomic_path(out["signatures"]) as sig_tmp, pa.OSFile(str(sig_tmp), "wb") as sink:
        writer = pa.ipc.new_file(sink, sig_schema)
        for batch in pf.iter_batches(batch_size=params["batch_rows"], columns=columns):
            texts = batch.column("text").to_pylist()
            n = len(texts)
            rows = np.arange(row0, row0 + n, dtype=np.int64)
            refs = (np.int64(shard_index) << np.int64(32)) | rows
            exact = exact_keys(texts)
            score = (
                batch.column(score_col).cast(pa.float64())
                if has_score
                else pa.nulls(n, pa.float64())
            )
            represents = input_sizes(batch.column(SIZE_COLUMN), doc_path) if has_sizes else np.ones(n, np.int64)
            docs_tables.append(
                pa.table({"row": rows, "id": batch.column("id").cast(pa.string()), "score": score, "exact": exact,
                          "represents": represents})
            )
            keys_parts = []
            if params["fuzzy"]:
                h, d = shingle_hashes(texts, params["shingle"], params["ngram"], params["hash"])
                sig = minhash_signatures(h, d, n, params["num_perm"], params["seed"])
                writer.write_batch(pa.record_batch([pa.FixedSizeListArray.from_arrays(pa.array(sig.ravel()), params["num_perm"])], schema=sig_schema))
                has_shingles = np.zeros(n, dtype=bool)
                has_shingles[d] = True
                bk = band_keys(sig, params["bands"], params["rows"])[has_shingles]
                keys_parts.append((bk.ravel(), np.repeat(refs[has_shingles], params["bands"])))
            if params["exact"]:
                keys_parts.append((exact_bucket_keys(exact), refs))
            for keys, krefs in keys_parts:
                part = partition_of(keys, P)
                for p in range(P):
                    sel = part == p
                    bucket_keys[p].append(keys[sel])
                    bucket_refs[p].append(krefs[sel])
            row0 += n
        writer.close()
    docs = pa.concat_tables(docs_tables) if docs_tables else pa.table(
        {"row": pa.array([], pa.int64()), "id": pa.array([], pa.string()), "score": pa.array([], pa.float64()),
         "exact": pa.array([], pa.uint64()), "represents": pa.array([], pa.int64())}
    )
    with atomic_path(out["docs"]) as tmp:
        pq.write_table(docs, tmp)
    for p in range(P):
        keys = np.concatenate(bucket_keys[p]) if bucket_keys[p] else np.empty(0, np.uint64)
        refs = np.concatenate(bucket_refs[p]) if bucket_refs[p] else np.empty(0, np.int64)
        with atomic_path(out[f"part{p}"]) as tmp:
            pq.write_table(pa.table({"key": keys, "ref": refs}), tmp)
    return {"shard": shard, "documents": row0, "seconds": time.perf_counter() - t0}


def input_sizes(column, path: str) -> np.ndarray:
    """The documents each input row already stands for (its `cluster_size`); a missing value counts as 1."""
    sizes = np.array(pc.fill_null(column.cast(pa.int64()), 1).to_numpy(zero_copy_only=False), dtype=np.int64)
    if len(sizes) and sizes.min() < 1:
        raise RunError(f"{path}: column {SIZE_COLUMN!r} holds {int(sizes.min())}; a document stands for at least 1")
    return sizes


def read_signature_rows(path: Path, rows: np.ndarray) -> np.ndarray:
    """Signatures of the given rows of one shard, read from the memory-mapped Arrow file."""
    with pa.memory_map(str(path)) as src:
        reader = pa.ipc.open_file(src)
        batches = [reader.get_batch(i) for i in range(reader.num_record_batches)]
        if not batches:
            return np.empty((0, 0), np.uint32)
        width = batches[0].schema.field("signature").type.list_size
        starts = np.cumsum([0] + [b.num_rows for b in batches])
        out = np.empty((len(rows), width), dtype=np.uint32)
        which = np.searchsorted(starts, rows, side="right") - 1
        for bi in np.unique(which):
            flat = batches[bi].column(0).values.to_numpy(zero_copy_only=True).reshape(-1, width)
            sel = which == bi
            out[sel] = flat[rows[sel] - starts[bi]]
        return out
