"""The one text normalization applied before SentencePiece + KenLM, at training time and at scoring time alike.

`normalize_text(text)` follows cc_net's `text_normalizer.normalize` (lowercase, digits → 0, unicode
punctuation → ASCII, non-printing characters removed, whitespace collapsed) with one departure for Korean:
cc_net strips accents through NFD, which turns each Hangul syllable into 2-3 conjoining jamo (한국어 문장:
6 characters → 15). We use NFC instead and strip nothing. NFKC is avoided too: it maps the compatibility jamo
of "ㅋㅋㅋ" onto conjoining jamo, changing what a reader sees.

Documents are scored line by line (`normalize_text` returns the lines), so the training corpus is written
one normalized line per row by the same function; a line that normalizes to "" is skipped in both places.
"""

from __future__ import annotations

import re
import unicodedata

# cc_net's unicode punctuation map (text_normalizer.UNICODE_PUNCT), plus CJK brackets and the Korean middle dot
# "ㆍ" common in Korean text. (cc_net also maps full-width "１" to '"', an upstream slip; digits become 0 below.)
_UNICODE_PUNCT = {
    "，": ",", "。": ".", "、": ",", "„": '"', "”": '"', "“": '"', "«": '"', "»": '"',
    "」": '"', "「": '"', "《": '"', "》": '"', "´": "'", "∶": ":", "：": ":", "？": "?", "！": "!",
    "（": "(", "）": ")", "；": ";", "–": "-", "—": " - ", "．": ". ", "～": "~", "’": "'", "‘": "'",
    "…": "...", "━": "-", "〈": "<", "〉": ">", "【": "[", "】": "]", "％": "%", "►": "-",
    "『": '"', "』": '"', "ㆍ": "·",
}
# \d matches every Unicode decimal digit (Arabic, full-width, ...): cc_net replaces them all with 0 so that
# numbers do not blow up the vocabulary; dates and prices then share n-grams.
_DIGITS = re.compile(r"\d")
# Non-printing characters removed (cc_net `remove_non_printing_char` drops Unicode category C*): C0/C1
# controls but tab and newline, soft hyphen, zero-width and bidi marks, word joiners, BOM, interlinear
# annotation marks, private use. Listed as ranges rather than derived from unicodedata over all of Unicode:
# that class (with ~800k unassigned code points) made the regex 50x slower, and unassigned ones do not occur.
_NON_PRINTING = "\x00-\x08\x0b-\x1f\x7f-\x9f\xad\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff\ufff9-\ufffb\ue000-\uf8ff"
# Punctuation and non-printing characters are rare, so one regex finds them and a callback maps each hit.
_RARE = re.compile("[" + "".join(re.escape(k) for k in _UNICODE_PUNCT) + _NON_PRINTING + "]")


def _replace_rare(match: re.Match) -> str:
    return _UNICODE_PUNCT.get(match.group(), "")


def normalize_text(text: str) -> list[str]:
    """The normalized, non-empty lines of a document: the units that are scored (and trained on).

    NFC, lowercase, unicode punctuation → ASCII, digits → 0, non-printing chars dropped, runs of spaces
    collapsed. The character-level steps run once over the whole text, the split per line after.
    """
    text = unicodedata.normalize("NFC", text).lower()
    text = _RARE.sub(_replace_rare, _DIGITS.sub("0", text))
    out = []
    for raw in text.split("\n"):
        line = " ".join(raw.split())
        if line:
            out.append(line)
    return out


def normalize_line(line: str) -> str:
    """One line normalized as `normalize_text` does it ("" when nothing printable is left)."""
    return " ".join(normalize_text(line))
