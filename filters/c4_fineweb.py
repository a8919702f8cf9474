"""C4's line rules (Raffel et al. 2020) and FineWeb's quality rules adapted to Korean: a sentence ends with
punctuation or with 다/요/죠/까 (`filters.ko_patterns.sentence_ends`), words are eojeol (`core.text.words`).

datatrove's C4QualityFilter knows only English sentence ends (. ? ! " '), and its FineWebQualityFilter counts a
line as punctuated only by its final character and divides newlines by Kiwi tokens, so both are re-implemented
here on the lines and eojeol every step shares. Gopher's rules: filters/gopher.py.

Steps and their drop reasons (stable snake_case; every threshold is an __init__ kwarg, None turns it off):
- c4_lines_ko_v1 (removes lines, then may drop): c4_ko_lorem_ipsum, c4_ko_curly_bracket, c4_ko_too_few_sentences
- fineweb_quality_ko_v1: fineweb_ko_line_punct_ratio, fineweb_ko_short_line_ratio, fineweb_ko_char_dup_ratio,
  fineweb_ko_list_ratio
Both drop a document without a non-space character as empty_doc.

Where the defaults come from (FineWeb-2's kor_Hang.yml, C4, our measurements) and the recall rule they meet
(at most 1% of each clean register of the dev set) are as for the Gopher rules: filters/gopher.py's docstring.
Figures beside each default.
"""

from __future__ import annotations

import re
from typing import ClassVar

from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.filters.gopher_repetition_filter import find_duplicates

from filters.ko_patterns import load_word_list, sentence_ends
from core.steps import Decision, register_step
from core.text import lines, words

SENTENCE_ENDINGS_PATH = "configs/ko_sentence_endings.txt"
POLICY_PHRASES_PATH = "configs/ko_policy_phrases.txt"

# Wikipedia-style citation marks, C4's CITATION_REGEX plus the Korean [편집] / [출처 필요].
_CITATION = re.compile(r"\[\d*\]|\[edit\]|\[citation needed\]|\[편집\]|\[출처 필요\]")


@register_step("c4_lines_ko_v1")
class C4LinesKo(BaseFilter):
    """C4's line rules with Korean sentence ends: keeps lines that end a sentence (punctuation or 다/요/죠/까),
    removes javascript, policy and over-long-word lines, then drops the document when fewer than
    `min_sentences` sentences are left. Rewrites doc.text to the kept lines."""

    name = "⛰ C4 lines (ko)"
    columns: ClassVar[dict[str, type]] = {"c4_lines_removed": int}

    def __init__(
        self,
        remove_citations: bool = True,  # C4
        # C4 removes every line that does not end a sentence; FineWeb turns this off (datatrove
        # examples/fineweb.py: C4QualityFilter(filter_no_terminal_punct=False)) and so do we: on the dev set
        # (python bench/quality/devset_recall.py) it removed 165 of the ~200 lines of a hard-wrapped bill on average
        # (lines broken mid-sentence, as published) and 21% of statute text (lists of duties); menus and links are
        # the boilerplate and line-dedup steps' work. True restores C4, with Korean endings counted as terminal.
        filter_no_terminal_punct: bool = False,
        # C4: 3 words. Measured: among lines that end a sentence, 3 removes 0.06% of kowiki article lines
        # and 0.08% of kowiki-2k lines (2 removes 0%): Korean prose lines are rarely that short; what it
        # removes on the web is "감사합니다." and "로그인 하세요." lines.
        min_eojeol_per_line: int | None = 3,
        max_word_length: int | None = 1000,  # C4: lines holding a "word" this long are code or data
        # C4: 5 sentences after line removal. Measured: kowiki-2k p0.1 = 19 sentences, so 3 and 5 both drop 0%
        # of it; on kowiki articles 5 drops 24.8% and 3 drops 10.1% (one-paragraph stubs). Korean wiki
        # sentences run ~12 eojeol, so 3 of them carry about what C4's 5 English ones do.
        # 1 by default: formal Korean packs a paragraph into one sentence. On the dev set (python
        # bench/quality/devset_recall.py) 3 dropped the constitution's preamble (one sentence), 2 of 255 statute pieces
        # (two-sentence amendments) and a two-sentence Wikipedia article, and no junk that other rules kept;
        # 1 still drops a page where no sentence is left.
        min_sentences: int | None = 1,
        filter_lorem_ipsum: bool = True,  # C4: drops the document
        filter_javascript: bool = True,  # C4: drops the line
        # C4 drops a document with '{' in a kept line. Measured: 0.42% of kowiki-2k contain one (formulas);
        # 0.34% are dropped (the '{' sits in a kept line). Off by default: on the dev set (python
        # bench/quality/devset_recall.py) and the bundled sample it would drop no junk page at all, only a Wikipedia
        # article with a formula (1 of 190); code pages are not Korean prose the other rules keep anyway.
        filter_curly_bracket: bool = False,
        filter_policy: bool = True,  # C4: drops the line; English + Korean phrases in the data file
        policy_phrases_path: str = POLICY_PHRASES_PATH,
        sentence_endings_path: str = SENTENCE_ENDINGS_PATH,
    ):
        super().__init__()
        self.remove_citations = remove_citations
        self.filter_no_terminal_punct = filter_no_terminal_punct
        self.min_eojeol_per_line = min_eojeol_per_line
        self.max_word_length = max_word_length
        self.min_sentences = min_sentences
        self.filter_lorem_ipsum = filter_lorem_ipsum
        self.filter_javascript = filter_javascript
        self.filter_curly_bracket = filter_curly_bracket
        self.filter_policy = filter_policy
        self.policy_phrases = tuple(p.lower() for p in load_word_list(policy_phrases_path))
        self.sentence_endings_path = sentence_endings_path
        self._ends = sentence_ends(sentence_endings_path)

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        doc.metadata["c4_lines_removed"] = 0
        source_lines = lines(doc)
        if not source_lines:
            return False, "empty_doc"
        kept: list[str] = []
        sentences = 0
        # C4's order: lorem ipsum and '{' drop the page only when found in a line that would be kept
        for line in source_lines:
            if self.max_word_length is not None and any(len(w) > self.max_word_length for w in line.split()):
                self.stat_update("c4_ko_line_too_long_word")
                continue
            if self.remove_citations:
                line = _CITATION.sub("", line).strip()
            if self.filter_no_terminal_punct and not self._ends.is_terminal(line):
                self.stat_update("c4_ko_line_no_terminal_punct")
                continue
            if self.min_eojeol_per_line is not None and len(line.split()) < self.min_eojeol_per_line:
                self.stat_update("c4_ko_line_too_few_eojeol")
                continue
            lowered = line.lower()
            if self.filter_lorem_ipsum and "lorem ipsum" in lowered:
                return False, "c4_ko_lorem_ipsum"
            if self.filter_javascript and "javascript" in lowered:
                self.stat_update("c4_ko_line_javascript")
                continue
            if self.filter_curly_bracket and "{" in line:
                return False, "c4_ko_curly_bracket"
            if self.filter_policy and any(p in lowered for p in self.policy_phrases):
                self.stat_update("c4_ko_line_policy")
                continue
            kept.append(line)
            sentences += self._ends.count_sentences(line)
        removed = len(source_lines) - len(kept)
        self.stat_update("c4_ko_lines_removed", value=removed)
        doc.metadata["c4_lines_removed"] = removed
        if self.min_sentences is not None and sentences < self.min_sentences:
            return False, "c4_ko_too_few_sentences"
        new_text = "\n".join(kept)
        if new_text != doc.text:
            doc.text = new_text
        return True


@register_step("fineweb_quality_ko_v1")
class FineWebQualityKo(BaseFilter):
    """FineWeb's quality rules with Korean sentence ends and eojeol. datatrove's FineWebQualityFilter counts a
    line as punctuated only by its final character and divides newlines by Kiwi tokens; both change here."""

    name = "🍷 FineWeb quality (ko)"
    columns: ClassVar[dict[str, type]] = {"line_punct_ratio": float, "char_dup_ratio": float}
    decisions: ClassVar[tuple[Decision, ...]] = (
        Decision("line_punct_thr", "line_punct_ratio", "min", "fineweb_ko_line_punct_ratio"),
        Decision("char_duplicates_ratio", "char_dup_ratio", "max", "fineweb_ko_char_dup_ratio"),
    )

    def __init__(
        self,
        # FineWeb-2 kor_Hang: 0.062 (FineWeb English 0.12), counting punctuation only; we also count 다/요/죠/까
        # endings, which makes the check more lenient on the same number. Measured: drops 0.20% of kowiki
        # articles (one-line list stubs), 0.03% of kowiki-2k, 0% of statutes and nsmc-2k.
        # Off by default (the line_punct_ratio column stays): on the dev set (data/make_devset.py, python
        # bench/quality/devset_recall.py) 0.062 dropped 3 of 255 statute pieces (lists of duties without a sentence)
        # and would drop no junk page that another rule did not (0 of 440 dev pages, 0 of 128 on the sample).
        line_punct_thr: float | None = None,
        # FineWeb-2 turns this off (short_line_thr=999): Korean packs more per character than English, and
        # 30-character lines are ordinary Korean sentences.
        short_line_thr: float | None = None,
        short_line_length: int = 30,
        # FineWeb-2: 0.1 ("we changed this from 0.01 in fineweb english").
        char_duplicates_ratio: float | None = 0.1,
        # Newlines per eojeol. FineWeb-2 kor_Hang: 0.196 newlines per Kiwi token; an eojeol is a stem plus
        # particles/endings, ~2-2.5 Kiwi tokens (our estimate: Kiwi is not installed here), so ~0.45 per eojeol.
        # Measured on eojeol: kowiki-2k p99.9 = 0.084, articles p99.9 = 0.16, statutes p99.9 = 0.16, nsmc-2k
        # max 0.22: 0.45 drops none of them; it catches pages of one- or two-eojeol lines (menus, tag lists).
        max_newline_per_eojeol: float | None = 0.45,
        sentence_endings_path: str = SENTENCE_ENDINGS_PATH,
    ):
        super().__init__()
        self.line_punct_thr = line_punct_thr
        self.short_line_thr = short_line_thr
        self.short_line_length = short_line_length
        self.char_duplicates_ratio = char_duplicates_ratio
        self.max_newline_per_eojeol = max_newline_per_eojeol
        self.sentence_endings_path = sentence_endings_path
        self._ends = sentence_ends(sentence_endings_path)

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        ls = lines(doc)
        if not ls:
            return False, "empty_doc"
        punct_ratio = sum(map(self._ends.is_terminal, ls)) / len(ls)
        non_newline_chars = len(doc.text) - doc.text.count("\n")
        dup_ratio = find_duplicates(ls)[1] / non_newline_chars
        doc.metadata.update(line_punct_ratio=punct_ratio, char_dup_ratio=dup_ratio)

        if self.line_punct_thr is not None and punct_ratio < self.line_punct_thr:
            return False, "fineweb_ko_line_punct_ratio"
        if self.short_line_thr is not None:
            short = sum(1 for ln in ls if len(ln) <= self.short_line_length) / len(ls)
            if short > self.short_line_thr:
                return False, "fineweb_ko_short_line_ratio"
        if self.char_duplicates_ratio is not None and dup_ratio > self.char_duplicates_ratio:
            return False, "fineweb_ko_char_dup_ratio"
        newline_per_eojeol = doc.text.count("\n") / len(words(doc))
        if self.max_newline_per_eojeol is not None and newline_per_eojeol > self.max_newline_per_eojeol:
            return False, "fineweb_ko_list_ratio"
        return True
