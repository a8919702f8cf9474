"""Line normalization and hashing for corpus-level line dedup (CCNet, Wenzek et al. 2019, §3.1): shared by the
pre-pass that counts lines across pages (pipeline/repeated_lines.py) and the step that removes the frequent
ones (filters/line_dedup.py), so both see exactly the same hashes.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

_DIGITS = re.compile(r"\d")


class _PunctOrSymbolToSpace(dict):
    """`str.translate` table: code point → " " for Unicode punctuation and symbols (categories P*, S*), itself
    otherwise; filled on first sight of each character, so later lookups stay in C."""

    def __missing__(self, cp: int) -> str | int:
        out = " " if unicodedata.category(chr(cp))[0] in "PS" else cp
        self[cp] = out
        return out


_PUNCT_OR_SYMBOL_TO_SPACE = _PunctOrSymbolToSpace()
# Every P*/S* character is outside \w (letters, digits, "_") and \s, except "_" (Pc): so only runs of these
# candidates need the category lookup, and most of a Korean line (Hangul, Latin, digits, spaces) is skipped in C.
_PUNCT_OR_SYMBOL_CANDIDATES = re.compile(r"(?:[^\w\s]|_)+")


def _punct_or_symbol_to_space(m: re.Match) -> str:
    return m.group().translate(_PUNCT_OR_SYMBOL_TO_SPACE)


def normalize_line(line: str) -> str:
    """CCNet's `normalize_for_dedup`, minus its accent stripping (NFD would split Hangul into jamo): NFC,
    lowercase, digits → 0, punctuation and symbols removed, whitespace collapsed.

    Same result as the plain per-character loop `"".join(" " if category(ch)[0] in "PS" else ch ...)` followed by
    whitespace runs collapsed (str.split's whitespace is the same Unicode set as re's), ~1.6x faster: that
    loop was the largest single cost of the per-document pass (bench/speed/profile_pass.py)."""
    s = unicodedata.normalize("NFC", line).lower()
    s = _DIGITS.sub("0", s)
    return " ".join(_PUNCT_OR_SYMBOL_CANDIDATES.sub(_punct_or_symbol_to_space, s).split())


def normalized_lines(text: str) -> list[str]:
    """`normalize_line` of every line of `text` (split on "\n"), with the character-level work done once over
    the whole text: none of it can move, add or remove a "\n" (it is not punctuation, a symbol, a digit or a
    cased letter, and NFC never composes across it), so the lines come out exactly as one call per line gives
    them (tests/test_line_dedup.py checks this on every line of the bundled sample), ~1.4x faster."""
    s = unicodedata.normalize("NFC", text).lower()
    s = _PUNCT_OR_SYMBOL_CANDIDATES.sub(_punct_or_symbol_to_space, _DIGITS.sub("0", s))
    return [" ".join(line.split()) for line in s.split("\n")]


def line_hash(normalized: str) -> int:
    """64-bit blake2b of a normalized line (collisions: ~n²/2^65, 0.03 at a billion distinct lines)."""
    return int.from_bytes(hashlib.blake2b(normalized.encode("utf-8"), digest_size=8).digest(), "little")


def document_line_hashes(text: str, min_line_chars: int) -> set[int]:
    """The distinct hashes of a document's lines that are long enough to count."""
    out = set()
    for norm in normalized_lines(text):
        if len(norm) >= min_line_chars:
            out.add(line_hash(norm))
    return out
