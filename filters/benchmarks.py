"""The benchmark files `decontaminate_v1` reads, and the `benchmarks:` entries of its config that name them.

A benchmark is a JSONL, JSON, CSV/TSV (optionally .gz) or Parquet file, as KMMLU, KoBEST, HAE-RAE and CLIcK are
exported, and the columns whose text is indexed. `Benchmark` checks an entry when the config is validated (the
file exists, reads as its format, has the columns), so `pipeline validate` names the file or column in one line;
`benchmark_texts` yields the texts filters/ngram_index.py indexes: every cell of the named columns (each element
of a list-valued cell on its own) and each row's cells joined, NFC.
"""

import csv
import gzip
import io
import itertools
import json
import os
import unicodedata
from typing import Annotated, Any, Iterator

from pydantic import AfterValidator, BaseModel, ConfigDict, model_validator
from pydantic_core import PydanticCustomError

from core.models import resolve_model_path

_FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv", ".tsv": "tsv",
            ".parquet": "parquet"}


def file_format(path: str) -> str | None:
    """jsonl / csv / tsv / parquet from the file name (a `.gz` suffix allowed except on Parquet), else None."""
    name = path.lower().removesuffix(".gz")
    fmt = _FORMATS.get(os.path.splitext(name)[1])
    return None if fmt == "parquet" and path.lower().endswith(".gz") else fmt


def _open_text(path: str) -> io.StringIO:
    """The whole file as text (benchmark files are a few MB): UTF-8 (with or without BOM), else CP949, which is
    what Korean Excel writes a CSV in."""
    with (gzip.open if path.lower().endswith(".gz") else open)(path, "rb") as f:
        data = f.read()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp949")
        except UnicodeDecodeError as e:
            raise ValueError(f"neither UTF-8 nor CP949 (byte {e.start})") from None
    return io.StringIO(text, newline="")


def _json_records(path: str) -> Iterator[dict]:
    with _open_text(path) as f:
        head = f.read(1)
        while head and head.isspace():
            head = f.read(1)
        if head == "[":  # a .json file holding one array of records
            yield from json.loads(head + f.read())
            return
        for lineno, line in enumerate(itertools.chain([head + f.readline()], f), 1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as e:
                    raise ValueError(f"line {lineno}: {e.msg} (column {e.colno})") from None


def file_columns(path: str, fmt: str) -> list[str]:
    """The column names a benchmark file has: its header, Parquet schema, or the keys of its first record."""
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return list(pq.read_schema(path).names)
    if fmt in ("csv", "tsv"):
        with _open_text(path) as f:
            return next(csv.reader(f, delimiter="\t" if fmt == "tsv" else ","), [])
    # every line is parsed here (~0.5 s for 50,000 rows), so a broken line stops `pipeline validate`, not a worker
    keys: list[str] = []
    for rec in _json_records(path):
        if not isinstance(rec, dict):
            raise ValueError(f"a record is a {type(rec).__name__}, not an object with named fields")
        keys = keys or list(rec)
    return keys


def file_rows(path: str, fmt: str, columns: list[str]) -> Iterator[list[Any]]:
    """The named columns of every row, in order (a missing cell is None)."""
    if fmt == "parquet":
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(path)
        for batch in pf.iter_batches(columns=columns, batch_size=8192):
            cols = [batch.column(c).to_pylist() for c in columns]
            yield from zip(*cols)
    elif fmt in ("csv", "tsv"):
        with _open_text(path) as f:
            for rec in csv.DictReader(f, delimiter="\t" if fmt == "tsv" else ","):
                yield [rec.get(c) for c in columns]
    else:
        for rec in _json_records(path):
            if isinstance(rec, dict):
                yield [rec.get(c) for c in columns]


def _cell_texts(value: Any) -> list[str]:
    if value is None or (isinstance(value, float) and value != value):
        return []
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _cell_texts(v)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _cell_texts(v)]
    return [str(value)]


def _one_line(s: str) -> str:
    return " ".join(str(s).split())


def _bad(message: str) -> PydanticCustomError:
    # the message goes in as context: a path with braces in it is not a template
    return PydanticCustomError("benchmark", "{message}", {"message": _one_line(message)})


class Benchmark(BaseModel):
    """One benchmark file: `name` (used in counters and columns), `path`, the `columns` whose text is indexed."""

    model_config = ConfigDict(extra="forbid")
    name: str
    path: str
    columns: list[str]

    @model_validator(mode="after")
    def _check_file(self) -> "Benchmark":
        # checked when the config is validated, so `pipeline validate` names the file or column in one line
        if not self.name or not all(c.isalnum() or c in "_-." for c in self.name):
            raise _bad(f"benchmark name {self.name!r}: use letters, digits, _ - .")
        if not self.columns:
            raise _bad(f"benchmark {self.name}: columns is empty")
        path = resolve_model_path(self.path)
        if not os.path.isfile(path):
            raise _bad(f"benchmark {self.name}: file not found: {self.path}")
        fmt = file_format(path)
        if fmt is None:
            raise _bad(f"benchmark {self.name}: {self.path}: not .jsonl, .json, .csv, .tsv or .parquet "
                       "(optionally .gz, not Parquet)")
        try:
            have = file_columns(path, fmt)
        except Exception as e:  # noqa: BLE001 - json, csv and pyarrow raise their own kinds; name the file
            problem = f"{type(e).__name__}: {e}"[:200]
            raise _bad(f"benchmark {self.name}: {self.path} cannot be read as {fmt}: {problem}") from None
        missing = [c for c in self.columns if c not in have]
        if missing:
            raise _bad(f"benchmark {self.name}: unknown column {missing[0]!r} in {self.path}; its columns: "
                       + ", ".join(map(str, have))[:300])
        return self


def unique_names(benchmarks: list[Benchmark]) -> list[Benchmark]:
    names = [b.name for b in benchmarks]
    if not names:
        raise _bad("at least one benchmark is needed")
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup:
        raise _bad(f"benchmark name {dup!r} is used twice")
    return benchmarks


Benchmarks = Annotated[list[Benchmark], AfterValidator(unique_names)]


def benchmark_texts(path: str, columns: list[str]) -> Iterator[str]:
    """Every cell of the named columns, and each row's cells joined (question followed by its choices)."""
    for row in file_rows(path, file_format(path) or "jsonl", columns):
        cells = [unicodedata.normalize("NFC", t) for v in row for t in _cell_texts(v)]
        yield from cells
        if len(cells) > 1:
            yield "\n".join(cells)

