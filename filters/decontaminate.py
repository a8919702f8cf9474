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

This module is the step (match, cut around the matches, drop what is left in shreds); filters/benchmarks.py
reads the benchmark files and checks their config entries, filters/ngram_index.py hashes and indexes n-grams.

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
from typing import ClassVar, Literal

import numpy as np
from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter

from core.models import cached, resolve_model_path
from core.steps import register_step
from filters.benchmarks import Benchmark, Benchmarks, benchmark_texts, unique_names
from filters.ngram_index import NgramIndex, build_index, ngram_hashes, tokens

_CHUNK_CHARS = 1 << 20  # documents longer than this are looked up in overlapping chunks


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
        unique_names(self.benchmarks)
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
