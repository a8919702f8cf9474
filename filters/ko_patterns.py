"""Korean patterns shared by filters/signals.py, gopher.py and c4_fineweb.py: word lists and sentence ends.

Word lists live in data files under configs/ (one entry a line, `#` comments), loaded with `load_word_list`
by the path a step gets in config. `SentenceEnds` answers "does this line end a sentence?" for Korean:
terminal punctuation (C4's . ! ? " ' plus CJK full-width marks) or a sentence-final ending (다/요/죠/까)
optionally followed by punctuation, so prose such as "회의는 내일 열린다" counts without a final period.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache

from core.errors import ConfigError
from core.models import resolve_model_path
from core.text import nfc

# C4's END_PUNCTUATION (. ? ! " ') plus full-width and curly closing marks seen in Korean text.
TERMINAL_PUNCT = (".", "?", "!", '"', "'", "。", "？", "！", "”", "’", "」", "』")
ELLIPSIS = ("...", "…", "ㆍㆍㆍ", "···")
# What may follow a sentence-final ending: punctuation, tilde (해요~), ellipsis, closing quotes/brackets.
_AFTER_ENDING = r"""[.!?~…。？！"'”’」』)\]]*"""
# A sentence ending inside a line: terminal punctuation followed by a space, a closing quote or the end.
# "3.14" and "www.naver.com" do not count (no space after the dot).
_SENTENCE_MARK = re.compile(r"""[.!?。？！](?=[\s"'”’」』)\]]|$)""")
# Only the tail of a line is inspected: a line end is decided by its last few characters, and searching
# from the end keeps a 10 KB line as cheap as a short one.
_TAIL = 12


@lru_cache(maxsize=32)
def load_word_list(path: str) -> tuple[str, ...]:
    """Entries of a word-list file (NFC, stripped, without comments and blank lines), in file order."""
    resolved = resolve_model_path(path)
    if not os.path.isfile(resolved):
        raise ConfigError(f"word list not found: {path}")
    with open(resolved, encoding="utf-8") as f:
        entries = [nfc(ln.strip()) for ln in f]
    return tuple(e for e in entries if e and not e.startswith("#"))


class SentenceEnds:
    """Tests lines for a Korean sentence end, given the list of sentence-final endings."""

    def __init__(self, endings: tuple[str, ...]):
        alternatives = "|".join(re.escape(e) for e in sorted(endings, key=len, reverse=True))
        self._ending_at_end = re.compile(rf"(?:{alternatives}){_AFTER_ENDING}$")

    def has_ending(self, line: str) -> bool:
        """The line ends with a sentence-final ending (다/요/죠/까), punctuation after it allowed."""
        return self._ending_at_end.search(line[-_TAIL:]) is not None

    def is_terminal(self, line: str) -> bool:
        """C4's rule adapted to Korean: terminal punctuation but not an ellipsis, or a sentence-final ending.
        `line` must be stripped."""
        if line.endswith(TERMINAL_PUNCT) and not line.endswith(ELLIPSIS):
            return True
        return self.has_ending(line)

    def count_sentences(self, line: str) -> int:
        """Sentences in a line: sentence marks followed by a space or the end, plus one for a final
        ending without punctuation (가장 큰 도시이다)."""
        n = len(_SENTENCE_MARK.findall(line))
        if not line.endswith(TERMINAL_PUNCT) and self.has_ending(line):
            n += 1
        return n


@lru_cache(maxsize=8)
def sentence_ends(path: str) -> SentenceEnds:
    return SentenceEnds(load_word_list(path))
