"""Text normalization and hashing for dedup: exact-duplicate keys and 32-bit shingle hashes, a batch at a time.

`exact_keys(texts)` hashes NFC text with whitespace collapsed (blake2b, 64 bits): two documents with the same
key are `duplicate`s. `shingle_hashes(texts, shingle, ngram)` returns the 32-bit hash of every shingle of every
document of a batch, plus the document each belongs to, computed with numpy over the whole batch at once (no
Python loop per shingle). `shingle_strings` gives the same shingles as strings, for datasketch and the tests.

Why our own normalization: datatrove's `simplify_text` applies NFD and strips combining marks, which turns
every Hangul syllable into 2-3 jamo (한국어 → ㅎㅏㄴㄱㅜㄱㅇㅓ), so char n-grams of jamo and eojeol of jamo. Here
text stays NFC; it is lower-cased, ASCII digits become 0 (so "2023년"/"2024년" edits do not break shingles, as
datatrove's own `replace_numbers` does), punctuation is dropped and whitespace runs become one space.

Why our own shingle hash: datasketch hashes each shingle with SHA-1 in a Python loop (~0.4 µs per shingle, most
of `MinHash.bulk`'s time). `hash="fast"` computes a polynomial hash over code points mixed by the 64-bit
MurmurHash3 finalizer, vectorized. `hash="sha1"` is datasketch's own `sha1_hash32` of the shingle's UTF-8
bytes, for bit-exact signatures (tests/test_dedup.py checks both against datasketch).
"""

from __future__ import annotations

import hashlib
import struct
import sys
import unicodedata

import numpy as np

SEPARATOR = "\x00"  # joins the documents of a batch; NUL never survives normalization inside a document

_KEEP, _DROP, _SPACE, _SEP, _DIGIT = 0, 1, 2, 3, 4


def _char_classes() -> np.ndarray:
    """Class of every code point (uint8 table, 1.1 MB): punctuation/symbols/controls dropped, spaces, digits."""
    table = np.zeros(sys.maxunicode + 1, dtype=np.uint8)
    for cp in range(0x3400):  # punctuation and whitespace below U+3400 (incl. CJK punctuation U+3000-303F)
        cat = unicodedata.category(chr(cp))
        if chr(cp).isspace():
            table[cp] = _SPACE
        elif cat[0] in "PSC":
            table[cp] = _DROP
    for cp in range(0xFE00, 0x10000):  # fullwidth forms and specials
        if unicodedata.category(chr(cp))[0] in "PSC":
            table[cp] = _DROP
    table[0xFF10:0xFF1A] = _DIGIT
    table[ord("0") : ord("9") + 1] = _DIGIT
    table[0] = _SEP
    return table


_CLASSES = _char_classes()

# 64-bit constants: MurmurHash3's fmix64 and an odd multiplier for the polynomial hash (from splitmix64).
_M1, _M2 = np.uint64(0xFF51AFD7ED558CCD), np.uint64(0xC4CEB9FE1A85EC53)
_POLY = np.uint64(0x9E3779B97F4A7C15)
_S33 = np.uint64(33)


def fmix64(h: np.ndarray) -> np.ndarray:
    h = h ^ (h >> _S33)
    h *= _M1
    h ^= h >> _S33
    h *= _M2
    h ^= h >> _S33
    return h


def exact_keys(texts: list[str]) -> np.ndarray:
    """64-bit key of each text after NFC and whitespace collapse (uint64); equal keys = exact duplicates."""
    out = np.empty(len(texts), dtype=np.uint64)
    for i, t in enumerate(texts):
        norm = " ".join(unicodedata.normalize("NFC", t).split())
        out[i] = int.from_bytes(hashlib.blake2b(norm.encode("utf-8"), digest_size=8).digest(), "little")
    return out


def normalized_codepoints(texts: list[str]) -> np.ndarray:
    """Code points (uint32) of the normalized documents joined by SEPARATOR, no space next to a separator."""
    joined = SEPARATOR.join(unicodedata.normalize("NFC", t.replace(SEPARATOR, " ")) for t in texts).lower()
    cp = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
    cls = _CLASSES[cp]
    keep = cls != _DROP
    cp, cls = cp[keep], cls[keep]
    cp = np.where(cls == _DIGIT, np.uint32(ord("0")), cp)
    # Collapse whitespace runs to their first space, then drop a space at a document's start or end.
    is_space = cls == _SPACE
    prev_boundary = np.concatenate(([True], is_space[:-1] | (cls[:-1] == _SEP)))
    keep = ~(is_space & prev_boundary)
    cp, cls = cp[keep], cls[keep]
    is_space = cls == _SPACE
    next_boundary = np.concatenate(((cls[1:] == _SEP), [True]))
    keep = ~(is_space & next_boundary)
    cp, is_space = cp[keep], is_space[keep]
    cp[is_space] = ord(" ")
    return cp


def normalize_for_shingles(text: str) -> str:
    return normalized_codepoints([text]).tobytes().decode("utf-32-le")


def _poly_windows(values: np.ndarray, n: int) -> np.ndarray:
    """Hash of every window of n consecutive values (uint64), len(values)-n+1 of them."""
    m = len(values) - n + 1
    h = values[:m].astype(np.uint64)
    for j in range(1, n):
        h = h * _POLY + values[j : j + m]
    return fmix64(h)


def _fold32(h: np.ndarray) -> np.ndarray:
    return (h ^ (h >> np.uint64(32))).astype(np.uint32)


def shingle_hashes(texts: list[str], shingle: str, ngram: int, hash: str = "fast") -> tuple[np.ndarray, np.ndarray]:
    """(hashes uint32, doc index int64 ascending) for every shingle of every text.

    A document shorter than one n-gram contributes a single shingle, itself; an empty one contributes none.
    """
    if hash == "sha1":
        return _sha1_shingle_hashes(texts, shingle, ngram)
    cp = normalized_codepoints(texts)
    if len(cp) == 0:
        return np.empty(0, np.uint32), np.empty(0, np.int64)
    if shingle == "char":
        units, is_sep = cp.astype(np.uint64), cp == 0
    else:
        units, is_sep = _eojeol_units(cp)
    unit_doc = np.cumsum(is_sep) - is_sep  # a separator belongs to the document before it
    hashes, docs = [], []
    if len(units) >= ngram:
        win = _poly_windows(units, ngram)
        sep_count = np.concatenate(([0], np.cumsum(is_sep)))
        valid = sep_count[ngram:] == sep_count[: len(win)]
        hashes.append(_fold32(win[valid]))
        docs.append(unit_doc[: len(win)][valid])
    # Documents with 1..n-1 units: one shingle of the whole document (units of doc d are contiguous).
    unit_counts = np.bincount(unit_doc[~is_sep], minlength=len(texts))
    short = np.flatnonzero((unit_counts > 0) & (unit_counts < ngram))
    if len(short):
        firsts = np.searchsorted(unit_doc, short, side="left")
        sh = [_poly_windows(units[f : f + unit_counts[d]], int(unit_counts[d]))[0] for d, f in zip(short, firsts)]
        hashes.append(_fold32(np.array(sh, dtype=np.uint64)))
        docs.append(short)
    if not hashes:
        return np.empty(0, np.uint32), np.empty(0, np.int64)
    h, d = np.concatenate(hashes), np.concatenate(docs).astype(np.int64)
    order = np.argsort(d, kind="stable")
    return h[order], d[order]


def _eojeol_units(cp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(one uint64 hash per eojeol or separator, is-separator mask); separators stay so windows can't cross them."""
    boundary = (cp == ord(" ")) | (cp == 0)
    bpos = np.flatnonzero(boundary)
    tok_start = np.concatenate(([0], bpos + 1))
    tok_end = np.concatenate((bpos, [len(cp)]))
    # Token hash without a Python loop: sum over its chars of fmix64(char * POLY + position in token).
    token_of_char = np.cumsum(boundary) - boundary
    pos_in_token = (np.arange(len(cp)) - tok_start[token_of_char]).astype(np.uint64)
    contrib = fmix64(cp.astype(np.uint64) * _POLY + pos_in_token)
    contrib[boundary] = 0
    cum = np.concatenate(([np.uint64(0)], np.cumsum(contrib, dtype=np.uint64)))
    token_hash = fmix64(cum[tok_end] - cum[tok_start]) | np.uint64(1)  # never 0, the separator's value
    nonempty = tok_end > tok_start
    sep_after = np.zeros(len(tok_start), dtype=bool)
    sep_after[: len(bpos)] = cp[bpos] == 0
    take = np.stack([nonempty, sep_after], axis=1).ravel()
    vals = np.stack([token_hash, np.zeros(len(tok_start), np.uint64)], axis=1).ravel()[take]
    is_sep = np.stack([np.zeros(len(tok_start), bool), sep_after], axis=1).ravel()[take]
    return vals, is_sep


def shingle_strings(text: str, shingle: str, ngram: int) -> list[str]:
    """The shingles of one document as strings (the same sets `shingle_hashes` hashes), for datasketch and tests."""
    norm = normalize_for_shingles(text)
    units = list(norm) if shingle == "char" else norm.split(" ")
    units = [u for u in units if u]
    if not units:
        return []
    joiner = "" if shingle == "char" else " "
    if len(units) < ngram:
        return [joiner.join(units)]
    return [joiner.join(units[i : i + ngram]) for i in range(len(units) - ngram + 1)]


def sha1_hash32(data: bytes) -> int:
    """datasketch.hashfunc.sha1_hash32, inlined."""
    return struct.unpack("<I", hashlib.sha1(data).digest()[:4])[0]


def _sha1_shingle_hashes(texts: list[str], shingle: str, ngram: int) -> tuple[np.ndarray, np.ndarray]:
    hashes: list[int] = []
    docs: list[int] = []
    for i, t in enumerate(texts):
        sh = shingle_strings(t, shingle, ngram)
        hashes.extend(sha1_hash32(s.encode("utf-8")) for s in sh)
        docs.extend([i] * len(sh))
    return np.array(hashes, dtype=np.uint32), np.array(docs, dtype=np.int64)
