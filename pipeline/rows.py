"""The rows a shard writes: the base columns of kept and rejected documents, the Parquet schema with every
step's declared score columns, one row from a document's metadata, and the buffered atomic Parquet writer.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from datatrove.data import Document

from core.atomic import atomic_path
from core.docfiles import PARQUET_COMPRESSION

_PA_TYPES = {float: pa.float64(), int: pa.int64(), str: pa.string(), bool: pa.bool_()}

# Columns every kept/rejected row has, before the steps' score columns.
KEPT_BASE = {"id": str, "text": str, "url": str, "source": str, "source_shard": str, "charset": str,
             "text_chars": int, "warc_date": str}
REJECTED_BASE = {"id": str, "url": str, "source": str, "source_shard": str, "reason": str, "step": str,
                 "snippet": str, "text_chars": int, "duplicate_of": str, "error": str}


class TableWriter:
    """Buffers rows and writes Parquet row groups to a temp file; `commit` renames it into place."""

    def __init__(self, path: Path, schema: pa.Schema, row_group_size: int):
        self.path, self.schema, self.row_group_size = path, schema, row_group_size
        self._ctx = atomic_path(path)
        self._tmp = self._ctx.__enter__()
        self._writer = pq.ParquetWriter(self._tmp, schema, compression=PARQUET_COMPRESSION)
        self._rows: list[dict] = []
        self.count = 0

    def add(self, row: dict) -> None:
        self._rows.append(row)
        if len(self._rows) >= self.row_group_size:
            self._flush()

    def _flush(self) -> None:
        if self._rows:
            self._writer.write_table(pa.Table.from_pylist(self._rows, schema=self.schema))
            self.count += len(self._rows)
            self._rows = []

    def commit(self) -> None:
        self._flush()
        self._writer.close()
        self._ctx.__exit__(None, None, None)

    def abort(self, exc: BaseException) -> None:
        try:
            # On a full disk closing writes the footer and fails again; the file is deleted either way, and
            # the error worth reporting is `exc`.
            with contextlib.suppress(OSError):
                self._writer.close()
        finally:
            self._ctx.__exit__(type(exc), exc, exc.__traceback__)


COLUMN_NAMES: dict[pa.Schema, frozenset[str]] = {}


def column_names(schema: pa.Schema) -> frozenset[str]:
    """`schema.names` builds a new list on every access; asked once per metadata key of every row, it made
    `_row` ~2.5% of the whole profiled pass (bench/speed/profile_pass.py)."""
    names = COLUMN_NAMES.get(schema)
    if names is None:
        names = COLUMN_NAMES[schema] = frozenset(schema.names)
    return names


def utf8_len(doc: Document) -> int:
    """UTF-8 size of `doc.text`, cached while the text is the same object (most steps leave it alone; the size
    is needed after every step for `bytes_out`)."""
    cached = doc.metadata.get("utf8_len")
    if cached is not None and cached[0] is doc.text:
        return cached[1]
    n = len(doc.text.encode())
    doc.metadata["utf8_len"] = (doc.text, n)
    return n


def schema(base: dict[str, type], step_columns: dict[str, type]) -> pa.Schema:
    cols = dict(base)
    for k, t in step_columns.items():
        cols.setdefault(k, t)
    fields = [pa.field(k, _PA_TYPES[t]) for k, t in cols.items()]
    fields.append(pa.field("metadata", pa.string()))  # anything a step wrote without declaring it, as JSON
    return pa.schema(fields)


def row(schema: pa.Schema, values: dict[str, Any], metadata: dict[str, Any]) -> dict:
    row = dict(values)
    extra = {}
    names = column_names(schema)
    for k, v in metadata.items():
        if k.startswith("_"):
            continue
        if k in names:
            row.setdefault(k, v)
        else:
            extra[k] = v
    row["metadata"] = json.dumps(extra, ensure_ascii=False, default=str) if extra else None
    return row
