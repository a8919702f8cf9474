"""`decontaminate_v1`: remove benchmark text (KMMLU, KoBEST, HAE-RAE, CLIcK, ...) from documents, as GPT-3 did.

GPT-3 (Brown et al. 2020, appendix C) removed from its training data every 13-gram of a test set together with
200 characters on each side, which splits a document into pieces; pieces under 200 characters were discarded,
and a document cut into more than 10 pieces was dropped whole. This step does the same with the benchmark files
a team already has: JSONL, JSON, CSV/TSV (optionally .gz) or Parquet, as KMMLU, KoBEST, HAE-RAE and CLIcK are
exported; configs/decontaminate-example.yaml is a `steps:` entry for them:

    - step: decontaminate_v1
      benchmarks:
        - {name: kmmlu, path: benchmarks/kmmlu_test.csv, columns: [question, A, B, C, D]}
      unit: char         # or eojeol
      ngram: 20

Each named column of each row is indexed on its own and, joined, as the whole row, so a question, a choice, a
passage, or the question followed by its choices all count. A list-valued cell (`choices: [...]`) is one text per
element. Text is NFC, lowercased (fullwidth Latin folded), and split at anything that is not a letter, a mark
or a digit (punctuation, symbols, spaces, circled numbers ①); `unit: char` then drops the separators and takes
n consecutive characters, `unit: eojeol` takes n consecutive space-separated words. N-grams are 64-bit
polynomial hashes computed with numpy (no Python per n-gram), a sorted array per benchmark behind a bitmap,
built once per worker when the step is built (`core.models.cached`). 50,000 questions with four choices each:
3.6 M char 20-grams, 43 MiB, 2-3 s to build (peak RSS +175 MiB while building); 9,700-10,900 documents of 2 KB
per second per core (load average 2-5), 4.6-5.2% of the per-document pass's CPU time (`python bench/speed/decontaminate.py`).

Eojeol or characters (`python bench/speed/decontaminate.py --units`, 2026-12-01): 50,000 questions made of
kowiki-ref sentences of 30-150 characters; 2,000 of them planted as they are and as paraphrased copies (2
particles changed, about a third of the spaces removed and one long eojeol split, 1 eojeol swapped, all three);
caught = any n-gram of the copy matches. Clean: 2,995 other kowiki articles (2.2 M characters; 5 holding a
question word for word left out), matched = any n-gram matches:

    unit    n   exact  particles  spacing  word  all three  all three, <50 chars  clean matched
    char   13   100.0     93.3     100.0   97.2     81.3          50.4               9.2%
    char   15   100.0     86.9     100.0   93.9     72.2          32.5               4.1%
    char   18   100.0     76.7     100.0   85.3     57.8          14.5               1.8%  (0.94% of characters removed)
    char   20   100.0     68.3     100.0   79.2     49.0           7.6               1.0%  (0.54%)
    char   25    95.4     49.8      95.4   64.2     33.0           0.4               0.8%  (0.41%)
    char   30    84.5     36.9      84.5   50.4     22.2           0.0               0.6%
    char   50    40.8      7.8      40.8   14.3      3.8           0.0               0.2%
    eojeol  5   100.0     82.5      41.9   93.8     19.1           5.1               2.6%
    eojeol  8    95.5     48.4      12.7   65.5      2.5           0.0               0.4%
    eojeol 13    59.7     16.1       1.7   27.4      0.1           0.0               0.2%

A Korean eojeol carries its particles and endings, so an eojeol n-gram breaks at every particle and at every
spacing change (which Korean web text is full of: eojeol 8 catches 12.7% of respaced copies), and 13 eojeol is ~45
characters, longer than many questions. Characters with the spaces removed ignore spacing and lose only the
n-grams that touch a change. Clean articles matched at n >= 20 are mostly passages Wikipedia itself repeats
with small changes (the country-article template "48개의 공항이 있으며 그중 10개는 포장된 활주로가 있다", the
친일파 708인 명단 note) and a few set phrases (《가톨릭 대사전》(Catholic Encyclopedia)에 의하); at 13-15 they are
common biography phrases ("경기고등학교를 졸업하고 서울대학교 정치학과에 진학"). Default: `unit: char`, `ngram: 20`,
which catches every exact or respaced copy of a question of 30+ characters, two thirds of copies with two particles
changed, and removes 0.54% of clean Wikipedia's characters. It is also about GPT-3's 13 English words: ~17 tokens,
which is ~28 Korean characters with spaces (0.608 tokens per character, README "Performance"), ~21 without.

A document left with no piece of at least `min_piece_chars`, or cut into more than `max_pieces` pieces, is
dropped as `benchmark_contamination`; otherwise the matched spans and their windows are removed and the pieces
joined by newlines. Columns: `decontam_matches` (matched n-grams), `decontam_benchmarks` (their benchmarks,
comma-separated). Counters: `matches:<benchmark>` (documents with an n-gram of that benchmark),
`decontam_chars_removed`, `decontam_pieces_dropped` (pieces under `min_piece_chars`).
"""

# No `from __future__ import annotations` here: the config keys are validated against `__init__`'s annotations
# (core/steps.py), which must be the `Benchmarks` type itself, not a string naming it.
import csv
import gzip
import io
import itertools
import json
import os
import unicodedata
from typing import Annotated, Any, ClassVar, Iterable, Iterator, Literal

import numpy as np
from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter
from pydantic import AfterValidator, BaseModel, ConfigDict, model_validator
from pydantic_core import PydanticCustomError

from core.models import cached, resolve_model_path
from core.steps import register_step

# ---- benchmark files --------------------------------------------------------------------------------------------

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


def _unique_names(benchmarks: list[Benchmark]) -> list[Benchmark]:
    names = [b.name for b in benchmarks]
    if not names:
        raise _bad("at least one benchmark is needed")
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup:
        raise _bad(f"benchmark name {dup!r} is used twice")
    return benchmarks


Benchmarks = Annotated[list[Benchmark], AfterValidator(_unique_names)]

# ---- tokens and n-gram hashes -----------------------------------------------------------------------------------

# Normalized code point per code point below _TABLE_SIZE (BMP and SMP), 0 for a separator. Above it (CJK
# extension B and later: Hanja) every character is a letter, as itself.
_TABLE_SIZE = 0x20000
_TABLE: np.ndarray | None = None
_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)  # splitmix64's finalizer
_BASE = 0x9E3779B97F4A7C15  # odd, so a unit mod 2^64
# B^k mod 2^64 for the position of a character inside an eojeol (numpy's uint64 products wrap mod 2^64)
_POW = np.concatenate(([np.uint64(1)], np.cumprod(np.full(4095, _BASE, np.uint64)))).astype(np.uint64)
_SEP = "\x00"  # joins the texts of an index batch; a separator like any control character
_CHUNK_CHARS = 1 << 20  # documents longer than this are looked up in overlapping chunks


def _table() -> np.ndarray:
    global _TABLE
    if _TABLE is None:
        t = np.zeros(_TABLE_SIZE, np.uint32)
        for c in range(_TABLE_SIZE):
            ch = chr(c)
            cat = unicodedata.category(ch)
            if cat[0] in "LM" or cat in ("Nd", "Nl"):
                low = ch.lower()
                t[c] = ord(low) if len(low) == 1 else c
        for c in range(0xFF10, 0xFF5B):  # fullwidth digits and Latin letters as ASCII (web text uses both)
            if t[c]:
                t[c] = ord(unicodedata.normalize("NFKC", chr(c)).lower())
        _TABLE = t
    return _TABLE


def _mix(x: np.ndarray) -> np.ndarray:
    x = x ^ (x >> np.uint64(30))
    x *= _M1
    x ^= x >> np.uint64(27)
    x *= _M2
    x ^= x >> np.uint64(31)
    return x


def tokens(text: str, unit: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(values, starts, ends): a 64-bit value per token and its [start, end) in `text` (code point offsets)."""
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")
    norm = _table()[np.minimum(codes, _TABLE_SIZE - 1)]
    if codes.size and codes.max() >= _TABLE_SIZE:
        norm = np.where(codes >= _TABLE_SIZE, codes, norm)
    word = norm != 0
    if unit == "char":
        pos = np.flatnonzero(word)
        return _mix(norm[pos].astype(np.uint64) + np.uint64(1)), pos, pos + 1
    edges = np.diff(word.view(np.int8), prepend=np.int8(0), append=np.int8(0))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    if not starts.size:
        return np.empty(0, np.uint64), starts, ends
    lengths = ends - starts
    first = np.zeros(starts.size, np.int64)
    np.cumsum(lengths[:-1], out=first[1:])
    offsets = np.arange(int(lengths.sum())) - np.repeat(first, lengths)
    chars = _mix(norm[word].astype(np.uint64) + np.uint64(1)) * _POW[offsets & 4095]
    return _mix(np.add.reduceat(chars, first) + lengths.astype(np.uint64)), starts, ends


def ngram_hashes(values: np.ndarray, n: int) -> np.ndarray:
    """Hash of every window of n consecutive values (sum of v[i+k] * B^k mod 2^64, mixed), by doubling."""
    total = values.size
    if total < n:
        return np.empty(0, np.uint64)
    out, out_len = None, 0
    block, m, k = values, 1, n
    while k:
        if k & 1:
            if out is None:
                out, out_len = block, m
            else:
                count = total - out_len - m + 1
                out = out[:count] + block[out_len:out_len + count] * np.uint64(pow(_BASE, out_len, 1 << 64))
                out_len += m
        k >>= 1
        if k:
            block = block[:-m] + block[m:] * np.uint64(pow(_BASE, m, 1 << 64))
            m *= 2
    return _mix(out)  # a new array: `values` is never written to


def build_index(texts: Iterable[str], unit: str, n: int, batch_chars: int = 500_000) -> np.ndarray:
    """Sorted unique n-gram hashes of `texts`; no n-gram spans two texts."""
    parts: list[np.ndarray] = []
    batch: list[str] = []
    size = 0

    def flush():
        if not batch:
            return
        joined = _SEP.join(batch)
        values, starts, ends = tokens(joined, unit)
        h = ngram_hashes(values, n)
        if h.size:
            seps = np.zeros(len(joined) + 1, np.int64)
            seps[1:] = np.cumsum(np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), "<u4") == 0)
            seg = seps[starts]
            parts.append(_sorted_unique(h[seg[: h.size] == seg[n - 1:]]))
        batch.clear()

    for t in texts:
        batch.append(t.replace(_SEP, " "))
        size += len(t)
        if size >= batch_chars:
            flush()
            size = 0
    flush()
    return _sorted_unique(np.concatenate(parts)) if parts else np.empty(0, np.uint64)


def _sorted_unique(h: np.ndarray) -> np.ndarray:
    # np.unique in numpy 2.3+ hashes before it sorts: 5x slower here than a sort and a neighbour comparison
    h = np.sort(h)
    return h[np.concatenate(([True], h[1:] != h[:-1]))] if h.size else h


class NgramIndex:
    """Sorted unique n-gram hashes with a bitmap in front: a lookup in the sorted array misses the CPU cache at
    every step of its binary search (~1.4 ms for the ~700 n-grams of a 2 KB document against 3.5 M entries,
    bench/speed/decontaminate.py), the bitmap costs one memory access per n-gram and passes ~3% of clean n-grams
    (32 bits per entry) on to the binary search."""

    def __init__(self, hashes: np.ndarray):
        self.hashes = hashes
        bits = min(30, max(16, int(np.ceil(np.log2(max(1, hashes.size) * 32)))))
        self.shift = np.uint64(64 - bits)
        self.bitmap = np.zeros(1 << (bits - 6), np.uint64)
        if hashes.size:
            top = hashes >> self.shift  # sorted, since the hashes are
            words = (top >> np.uint64(6)).astype(np.intp)
            first = np.flatnonzero(np.diff(words, prepend=-1))
            self.bitmap[words[first]] = np.bitwise_or.reduceat(np.uint64(1) << (top & np.uint64(63)), first)

    @property
    def size(self) -> int:
        return int(self.hashes.size)

    @property
    def nbytes(self) -> int:
        return int(self.hashes.nbytes + self.bitmap.nbytes)

    def contains(self, h: np.ndarray) -> np.ndarray:
        top = h >> self.shift
        words = self.bitmap[(top >> np.uint64(6)).astype(np.intp)]
        maybe = np.flatnonzero((words >> (top & np.uint64(63))) & np.uint64(1))
        found = np.zeros(h.size, bool)
        if maybe.size:
            cand = h[maybe]
            pos = np.minimum(np.searchsorted(self.hashes, cand), self.hashes.size - 1)
            found[maybe] = self.hashes[pos] == cand
        return found


def benchmark_texts(path: str, columns: list[str]) -> Iterator[str]:
    """Every cell of the named columns, and each row's cells joined (question followed by its choices)."""
    for row in file_rows(path, file_format(path) or "jsonl", columns):
        cells = [unicodedata.normalize("NFC", t) for v in row for t in _cell_texts(v)]
        yield from cells
        if len(cells) > 1:
            yield "\n".join(cells)


# ---- the step ---------------------------------------------------------------------------------------------------


@register_step("decontaminate_v1")
class Decontaminate(BaseFilter):
    """Remove benchmark n-grams with a window around them; drop as `benchmark_contamination` what is left in
    shreds (more than `max_pieces` pieces, or no piece of `min_piece_chars`)."""

    name = "🧪 benchmark decontamination"
    columns: ClassVar[dict[str, type]] = {"decontam_matches": int, "decontam_benchmarks": str}
    param_ranges: ClassVar[dict[str, tuple[float, float]]] = {"ngram": (1, 1000)}

    def __init__(
        self,
        benchmarks: Benchmarks,
        # unit and n: measured on paraphrased copies and clean Wikipedia (module docstring, bench/speed/decontaminate.py)
        unit: Literal["char", "eojeol"] = "char",
        ngram: int = 20,
        # GPT-3's numbers (Brown et al. 2020, appendix C): 200 characters each side, pieces under 200 characters
        # discarded, more than 10 pieces drops the document.
        window_chars: int = 200,
        min_piece_chars: int = 200,
        max_pieces: int = 10,
        exclusion_writer=None,
    ):
        super().__init__(exclusion_writer)
        self.benchmarks = [b if isinstance(b, Benchmark) else Benchmark(**b) for b in benchmarks]
        _unique_names(self.benchmarks)
        self.unit, self.ngram = unit, ngram
        self.window_chars, self.min_piece_chars, self.max_pieces = window_chars, min_piece_chars, max_pieces
        # Indexed here, where the worker builds its steps (pipeline/shard.py, once per process; the indexes are
        # cached by `core.models.cached`, not held by the step), not on the first document: 50,000 questions
        # take ~2.5 s (bench/speed/decontaminate.py), a large benchmark set more than the per-document time budget
        # (execution.document_timeout_s), which would then drop every document as step_timeout.
        for bench in self.benchmarks:
            self.index(bench)

    def index(self, bench: Benchmark) -> NgramIndex:
        kind = f"benchmark {bench.name} ({self.unit} {self.ngram}-grams of {','.join(bench.columns)})"
        return cached(kind, resolve_model_path(bench.path),
                      lambda p: NgramIndex(build_index(benchmark_texts(p, bench.columns), self.unit, self.ngram)))

    def matches(self, text: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """(starts, ends) in `text` of each matched n-gram, and the benchmarks matched (in config order)."""
        if len(text) <= _CHUNK_CHARS:
            return self._matches(text)
        # A long document in overlapping chunks: ~50 bytes of numpy arrays per character otherwise. An n-gram
        # that starts in a chunk is found in it unless it spans more than `overlap` characters (n tokens with
        # ~60 separator characters around each); one found in two chunks is counted once.
        overlap = 64 * self.ngram
        found, names = [], set()
        for a in range(0, len(text), _CHUNK_CHARS):
            st, en, nm = self._matches(text[a:a + _CHUNK_CHARS + overlap])
            found.append((st + a, en + a))
            names.update(nm)
            if a + _CHUNK_CHARS + overlap >= len(text):
                break
        starts, first = np.unique(np.concatenate([f[0] for f in found]), return_index=True)
        ends = np.concatenate([f[1] for f in found])[first]
        return starts, ends, [b.name for b in self.benchmarks if b.name in names]

    def _matches(self, text: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
        values, starts, ends = tokens(text, self.unit)
        h = ngram_hashes(values, self.ngram)
        hit = np.zeros(h.size, bool)
        names = []
        if h.size:
            for bench in self.benchmarks:
                found = self.index(bench).contains(h)
                if found.any():
                    hit |= found
                    names.append(bench.name)
        first = np.flatnonzero(hit)
        return starts[first], ends[first + self.ngram - 1], names

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        text = doc.text
        m_starts, m_ends, names = self.matches(text)
        doc.metadata["decontam_matches"] = int(m_starts.size)
        doc.metadata["decontam_benchmarks"] = ",".join(names)
        if not m_starts.size:
            return True
        for name in names:
            self.stat_update(f"matches:{name}")
        pieces = _pieces(text, m_starts, m_ends, self.window_chars)
        if len(pieces) > self.max_pieces:
            return False, "benchmark_contamination"
        kept = [p for p in pieces if len(p) >= self.min_piece_chars]
        if len(kept) < len(pieces):
            self.stat_update("decontam_pieces_dropped", value=len(pieces) - len(kept))
        if not kept:
            return False, "benchmark_contamination"
        new_text = "\n".join(kept)
        self.stat_update("decontam_chars_removed", value=len(text) - len(new_text))
        doc.text = new_text
        return True


def _pieces(text: str, starts: np.ndarray, ends: np.ndarray, window: int) -> list[str]:
    """What is left of `text` once each [start, end) and `window` characters on each side are removed, cut at
    whitespace (no half eojeol left at a cut), stripped, empty pieces left out."""
    lo = np.maximum(starts - window, 0)
    hi = np.minimum(ends + window, len(text))
    hi = np.maximum.accumulate(hi)
    breaks = np.flatnonzero(lo[1:] > hi[:-1])
    g_lo = np.concatenate(([lo[0]], lo[breaks + 1]))
    g_hi = np.concatenate((hi[breaks], [hi[-1]]))
    pieces, prev = [], 0
    for a, b in zip(g_lo.tolist(), g_hi.tolist()):
        a = _word_start(text, a, prev)
        b = _word_end(text, b)
        piece = text[prev:a].strip()
        if piece:
            pieces.append(piece)
        prev = max(prev, b)
    tail = text[prev:].strip()
    if tail:
        pieces.append(tail)
    return pieces


_MAX_SNAP = 40  # an eojeol is rarely longer; text without spaces is cut where the window ends


def _word_start(text: str, i: int, floor: int) -> int:
    """Move a cut at i back to the start of the eojeol it falls in (not before `floor`)."""
    stop = max(floor, i - _MAX_SNAP)
    j = i
    while j > stop and not text[j - 1].isspace():
        j -= 1
    return j if j == floor or text[j - 1].isspace() else i


def _word_end(text: str, i: int) -> int:
    """Move a cut at i forward to the end of the eojeol it falls in."""
    stop = min(len(text), i + _MAX_SNAP)
    j = i
    while j < stop and not text[j].isspace():
        j += 1
    return j if j == len(text) or text[j].isspace() else i
