"""Apply the cluster decisions: per shard, staged outputs; then renames and the completion marker.

`rewrite_shard` (one task per shard) streams a documents file by row batches and writes
  RUN/dedup/documents/<shard>.parquet        the rows that are kept: the input's columns and rows unchanged, plus
                                              `cluster_size` (int64, last), the number of documents the row stands
                                              for: 1 for a document without duplicates, the size of its cluster
                                              (exact and near duplicates together, clusters.py) for a kept
                                              representative. An input that already has the column (deduplicated
                                              before) keeps its position and values, and a representative gets
                                              the sum over its cluster, so the sizes always add up to the documents
                                              that went into every dedup before (rehydration in pipeline/mix.py).
  RUN/dedup/rejected/dedup-<shard>.parquet   the dropped rows: every input column but text, plus reason,
                                              step="dedup", snippet, text_chars, duplicate_of (the kept id)
`commit_staged` then moves each staged file over its final path with `os.replace`. The list of moves is written
first (`RUN/dedup/_STAGED`), so a run that stops half-way through the renames finishes them on the next try;
`RUN/dedup/_SUCCESS` is written last and makes any later run a no-op.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from core.atomic import atomic_path, read_json, write_json
from core.docfiles import PARQUET_COMPRESSION
from pipeline.dedup.signatures import SIZE_COLUMN, input_sizes

STEP_NAME = "dedup"


def staged_paths(dedup_dir: Path, shard: str) -> tuple[Path, Path]:
    return dedup_dir / "documents" / f"{shard}.parquet", dedup_dir / "rejected" / f"dedup-{shard}.parquet"


def _rejected_batch(batch: pa.RecordBatch, reasons: list[str], kept_ids: list[str], snippet_chars: int) -> pa.Table:
    text = batch.column("text")
    cols = {name: batch.column(name) for name in batch.schema.names if name != "text"}
    cols["reason"] = pa.array(reasons, pa.string())
    cols["step"] = pa.array([STEP_NAME] * len(reasons), pa.string())
    cols["snippet"] = pc.utf8_slice_codeunits(text, 0, snippet_chars)
    cols["text_chars"] = pc.utf8_length(text).cast(pa.int64())
    cols["duplicate_of"] = pa.array(kept_ids, pa.string())
    return pa.table(cols)


def rewrite_shard(
    doc_path: str, shard: str, shard_index: int, dedup_dir: str, snippet_chars: int, row_group_size: int, sample_rows: list[int]
) -> dict:
    """Task: write the staged kept/rejected files of one shard. Returns counts and the sampled members."""
    ddir = Path(dedup_dir)
    clusters = pq.read_table(
        ddir / "clusters.parquet", columns=["row", "kept", "reason", "kept_id", "cluster_documents"],
        filters=[("shard_index", "=", shard_index)],
    )
    heads = clusters.filter(clusters.column("kept"))
    head_rows = heads.column("row").to_numpy()
    head_order = np.argsort(head_rows)
    head_rows = head_rows[head_order]
    head_sizes = heads.column("cluster_documents").to_numpy()[head_order]
    dropped = clusters.filter(pc.invert(clusters.column("kept")))
    drop_rows = dropped.column("row").to_numpy()
    order = np.argsort(drop_rows)
    drop_rows = drop_rows[order]
    drop_reason = np.array(dropped.column("reason").to_pylist(), dtype=object)[order]
    drop_kept = np.array(dropped.column("kept_id").to_pylist(), dtype=object)[order]
    samples = set(sample_rows)
    sampled: dict[int, dict] = {}
    kept_path, rej_path = staged_paths(ddir, shard)
    pf = pq.ParquetFile(doc_path)
    counts = {"documents_in": 0, "documents_kept": 0, "duplicate": 0, "near_duplicate": 0,
              "represented_in": 0, "represented_kept": 0}
    in_schema = pf.schema_arrow
    has_sizes = SIZE_COLUMN in in_schema.names
    size_field = pa.field(SIZE_COLUMN, pa.int64())
    if has_sizes:
        size_index = in_schema.get_field_index(SIZE_COLUMN)
        out_schema = in_schema.set(size_index, size_field)
    else:
        size_index, out_schema = len(in_schema), in_schema.append(size_field)
    row0 = 0
    rej_writer = None
    # The rejected file exists only for a shard with drops, so it is renamed by hand rather than by atomic_path.
    rej_tmp = rej_path.with_name(f"{rej_path.name}.tmp-{os.getpid()}")
    rej_path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(kept_path) as kept_tmp:
        kept_writer = pq.ParquetWriter(kept_tmp, out_schema, compression=PARQUET_COMPRESSION)
        for batch in pf.iter_batches(batch_size=row_group_size):
            n = batch.num_rows
            rows = np.arange(row0, row0 + n)
            is_dropped = np.isin(rows, drop_rows)
            for r in samples.intersection(range(row0, row0 + n)):
                i = r - row0
                sampled[r] = {
                    "id": batch.column("id")[i].as_py(),
                    "url": batch.column("url")[i].as_py() if "url" in batch.schema.names else None,
                    "snippet": (batch.column("text")[i].as_py() or "")[:snippet_chars],
                }
            sizes = input_sizes(batch.column(SIZE_COLUMN), doc_path) if has_sizes else np.ones(n, np.int64)
            counts["represented_in"] += int(sizes.sum())
            is_head = np.isin(rows, head_rows)
            sizes[is_head] = head_sizes[np.searchsorted(head_rows, rows[is_head])]
            kept = pa.Table.from_batches([batch.filter(pa.array(~is_dropped))])
            kept_sizes = pa.array(sizes[~is_dropped], pa.int64())
            counts["represented_kept"] += int(sizes[~is_dropped].sum())
            if has_sizes:
                kept = kept.set_column(size_index, size_field, kept_sizes)
            else:
                kept = kept.append_column(size_field, kept_sizes)
            kept_writer.write_table(kept, row_group_size=row_group_size)
            if is_dropped.any():
                pos = np.searchsorted(drop_rows, rows[is_dropped])
                reasons = drop_reason[pos].tolist()
                rej = _rejected_batch(batch.filter(pa.array(is_dropped)), reasons, drop_kept[pos].tolist(), snippet_chars)
                if rej_writer is None:
                    rej_writer = pq.ParquetWriter(rej_tmp, rej.schema, compression=PARQUET_COMPRESSION)
                rej_writer.write_table(rej, row_group_size=row_group_size)
                for reason in reasons:
                    counts[reason] += 1
            counts["documents_in"] += n
            counts["documents_kept"] += int(n - is_dropped.sum())
            row0 += n
        kept_writer.close()
    if rej_writer is not None:
        rej_writer.close()
        os.replace(rej_tmp, rej_path)
    return {"shard": shard, **counts, "sampled": sampled}


def commit_staged(dedup_dir: Path, moves: list[tuple[str, str]]) -> None:
    """Rename staged files over their final paths; resumable: `_STAGED` lists the moves, done ones are skipped."""
    marker = dedup_dir / "_STAGED"
    if not marker.exists():
        write_json(marker, {"moves": moves})
    for src, dst in read_json(marker)["moves"]:
        if Path(src).exists():
            Path(dst).parent.mkdir(parents=True, exist_ok=True)
            os.replace(src, dst)
