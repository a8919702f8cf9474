"""Benchmark n-grams for `decontaminate_v1`: text to tokens, tokens to n-gram hashes, and the index they are
looked up in.

Text is NFC, lowercased (fullwidth Latin folded), and split at anything that is not a letter, a mark or a digit
(punctuation, symbols, spaces, circled numbers ①); `unit: char` then drops the separators and takes n consecutive
characters, `unit: eojeol` takes n consecutive space-separated words. N-grams are 64-bit polynomial hashes
computed with numpy (no Python per n-gram), a sorted array per benchmark behind a bitmap (`NgramIndex`). What
these cost and which unit and n to use: filters/decontaminate.py, bench/speed/decontaminate.py.
"""

from __future__ import annotations

import unicodedata
from typing import Iterable

import numpy as np

# Normalized code point per code point below _TABLE_SIZE (BMP and SMP), 0 for a separator. Above it (CJK
# extension B and later: Hanja) every character is a letter, as itself.
_TABLE_SIZE = 0x20000
_TABLE: np.ndarray | None = None
_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)  # splitmix64's finalizer
_BASE = 0x9E3779B97F4A7C15  # odd, so a unit mod 2^64
# B^k mod 2^64 for the position of a character inside an eojeol (numpy's uint64 products wrap mod 2^64)
_POW = np.concatenate(([np.uint64(1)], np.cumprod(np.full(4095, _BASE, np.uint64)))).astype(np.uint64)
_SEP = "\x00"  # joins the texts of an index batch; a separator like any control character


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

