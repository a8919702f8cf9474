"""Gopher's repetition and quality rules (Rae et al. 2021) adapted to Korean, on eojeol instead of Kiwi morphemes.

Words are eojeol: `core.text.words(doc)`, one whitespace split per document shared by every step. datatrove's
Korean word tokenizer (Kiwi) needs kiwipiepy<0.22 and runs ~10 docs/s, and its English defaults (stop words
"the"/"and", mean word length 3-10) drop most real Korean, so the checks are re-implemented here where the
tokenizer or a default is wrong; datatrove's n-gram helpers are reused as they are. C4's and FineWeb's rules,
on the same eojeol and lines: filters/c4_fineweb.py.

Steps and their drop reasons (stable snake_case; every threshold is an __init__ kwarg, None turns it off):
- gopher_repetition_v1: gopher_rep_dup_para_frac, gopher_rep_dup_para_char_frac, gopher_rep_dup_line_frac,
  gopher_rep_dup_line_char_frac, gopher_rep_top_{n}_gram, gopher_rep_dup_{n}_gram
- gopher_quality_ko_v1: gopher_ko_short_doc, gopher_ko_long_doc, gopher_ko_short_eojeol,
  gopher_ko_long_eojeol, gopher_ko_too_many_hashes, gopher_ko_too_many_ellipsis, gopher_ko_too_many_bullets,
  gopher_ko_too_many_end_ellipsis, gopher_ko_few_letter_eojeol, gopher_ko_few_stop_words
Both drop a document without a non-space character as empty_doc.

Defaults come from FineWeb-2's configs/kor_Hang.yml (huggingface/fineweb-2), the Gopher paper (Rae et al. 2021,
table A1), C4 (Raffel et al. 2020) or our measurement with bench/quality/measure_thresholds.py on ../shared/data:
kowiki-ref articles, kowiki joined into ~2 KB documents, ko-statutes, nsmc-reviews. Figures beside each default.
A default that drops must cost at most 1% of each clean register of the recall dev set (data/make_devset.py,
registers no threshold was fitted on; python bench/quality/devset_recall.py): the checks that cost more and dropped no
junk another rule kept are off by default, their scores still written where they have a column.
"""

from __future__ import annotations

import collections
import re
from typing import ClassVar

from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.filters.gopher_repetition_filter import find_all_duplicate, find_duplicates

from filters.ko_patterns import ELLIPSIS, load_word_list
from core.steps import Decision, register_step
from core.text import lines, words

STOPWORDS_PATH = "configs/ko_stopwords.txt"

_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
# Punctuation and brackets that may follow the stop word ending an eojeol (있다. 이다") 서울의,)
_EOJEOL_TRAILER = "\"'”’」』)]}>.,!?;:…~·"
# Korean lists use these as bullets besides Gopher's • and -.
_BULLETS = ("•", "-", "·", "ㆍ", "▶", "►", "■", "□", "○", "●", "◆", "◇", "※", "*", "▷")


def _ngrams(ws: list[str], n: int) -> list[tuple[str, ...]]:
    return list(zip(*(ws[i:] for i in range(n))))


def _top_ngram(ws: list[str], n: int) -> tuple[int, int]:
    """(count, characters covered) of the most frequent eojeol n-gram. datatrove's find_top_duplicate
    counts a top n-gram seen only once, which drops short unrepeated texts (a 6-eojeol text's first 2-gram
    is a third of it); Gopher means repetition, so the characters count only from two occurrences on."""
    grams = collections.Counter(_ngrams(ws, n))
    if not grams:
        return 0, 0
    gram, count = grams.most_common(1)[0]
    return count, (len(" ".join(gram)) * count if count > 1 else 0)


def _has_repeated_ngram(ws: list[str], n: int) -> bool:
    grams = _ngrams(ws, n)
    return len(set(grams)) < len(grams)


def _frac_above(value: float, limit: float | None) -> bool:
    return limit is not None and value > limit


@register_step("gopher_repetition_v1")
class GopherRepetitionKo(BaseFilter):
    """Gopher's repetition rules on eojeol. datatrove's GopherRepetitionFilter.filter() tokenizes inside
    (split_into_words → Kiwi for Korean), so the method is rewritten around `words(doc)`; its duplicate
    helpers (find_duplicates, find_all_duplicate) are reused unchanged."""

    name = "👯 Gopher repetition (ko)"
    columns: ClassVar[dict[str, type]] = {"dup_line_frac": float}
    decisions: ClassVar[tuple[Decision, ...]] = (
        Decision("dup_line_frac", "dup_line_frac", "max", "gopher_rep_dup_line_frac"),
    )

    def __init__(
        self,
        # Gopher table A1. FineWeb-2 turns the paragraph checks off because trafilatura output has few blank
        # lines; we keep them: they cost nothing and catch pages that repeat a block. kowiki: 0% dropped.
        dup_para_frac: float | None = 0.3,
        dup_para_char_frac: float | None = 0.2,
        # FineWeb-2 kor_Hang (Gopher: 0.3). Lines, not words: the value carries over to eojeol as is.
        dup_line_frac: float | None = 0.374,
        # Off as in FineWeb-2, which checks duplicate line characters in fineweb_quality (char_dup_ratio 0.1).
        dup_line_char_frac: float | None = None,
        # FineWeb-2 kor_Hang, measured there on Kiwi morphemes. An eojeol n-gram spans 2-3x the characters of
        # a morpheme n-gram, so a repeated span registers only when it is longer: the same numbers are at
        # least as lenient on eojeol. With all of the above, bench/quality/measure_thresholds.py --limit 4000 drops
        # 0.08% of kowiki-2k (articles joined into ~2 KB documents), 0.23% of kowiki articles, 0.7% of
        # statutes (2 of 287: formulaic clauses repeated), 0% of nsmc-2k comment pages.
        top_n_grams: tuple[tuple[int, float], ...] | None = ((2, 0.282), (3, 0.228), (4, 0.185)),
        # Duplicated 5- to 10-gram fractions: off by default. FineWeb-2 kor_Hang's values were
        # (5, 0.201) (6, 0.184) (7, 0.168) (8, 0.154) (9, 0.14) (10, 0.127); formulaic legal Korean (court
        # decisions, statutes repeating "제N조제N항 각 호 외의 부분") trips them, and on the dev set
        # (data/make_devset.py: registers no model or cut-off was fitted on; python bench/quality/devset_recall.py) and
        # on the bundled sample they would drop no junk page at all (0 of 440 and 0 of 128), only statute text.
        dup_n_grams: tuple[tuple[int, float], ...] | None = None,
    ):
        super().__init__()
        self.dup_para_frac = dup_para_frac
        self.dup_para_char_frac = dup_para_char_frac
        self.dup_line_frac = dup_line_frac
        self.dup_line_char_frac = dup_line_char_frac
        self.top_n_grams = tuple(sorted(top_n_grams or ()))
        self.dup_n_grams = tuple(sorted(dup_n_grams or ()))

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        text = doc.text
        ws = words(doc)
        if not ws:
            return False, "empty_doc"
        ls = lines(doc)
        line_dups, line_dup_chars = find_duplicates(ls)
        doc.metadata["dup_line_frac"] = line_dups / len(ls)

        paragraphs = _PARAGRAPH_BREAK.split(text.strip())
        para_dups, para_dup_chars = find_duplicates(paragraphs)
        if _frac_above(para_dups / len(paragraphs), self.dup_para_frac):
            return False, "gopher_rep_dup_para_frac"
        if _frac_above(para_dup_chars / len(text), self.dup_para_char_frac):
            return False, "gopher_rep_dup_para_char_frac"
        if _frac_above(line_dups / len(ls), self.dup_line_frac):
            return False, "gopher_rep_dup_line_frac"
        if _frac_above(line_dup_chars / len(text), self.dup_line_char_frac):
            return False, "gopher_rep_dup_line_char_frac"
        # Ascending n, stopping at the first n without any repeated n-gram: a longer n-gram cannot repeat
        # when none of its sub-n-grams does, and clean prose stops after n=2 and n=5 (3x faster).
        for n, limit in self.top_n_grams:
            count, chars = _top_ngram(ws, n)
            if _frac_above(chars / len(text), limit):
                return False, f"gopher_rep_top_{n}_gram"
            if count < 2:
                break
        for n, limit in self.dup_n_grams:
            if not _has_repeated_ngram(ws, n):
                break
            if _frac_above(find_all_duplicate(ws, n) / len(text), limit):
                return False, f"gopher_rep_dup_{n}_gram"
        return True


_HAS_WORD_CHAR = re.compile(r"\w")
_HAS_LETTER = re.compile(r"[^\W\d_]")


@register_step("gopher_quality_ko_v1")
class GopherQualityKo(BaseFilter):
    """Gopher's quality rules with Korean numbers. Written anew rather than configuring datatrove's
    GopherQualityFilter: that one splits with Kiwi and matches stop words as whole tokens, which eojeol
    (서울의, 있었다) never are."""

    name = "🥇 Gopher quality (ko)"
    # word_eojeol_count: Gopher's "non-symbol words", eojeol holding a letter or digit (ko_signals_v1's
    # eojeol_count counts every whitespace-separated eojeol): what min_eojeol and max_eojeol decide on.
    columns: ClassVar[dict[str, type]] = {
        "word_eojeol_count": int,
        "avg_eojeol_len": float,
        "letter_eojeol_ratio": float,
        "stop_word_types": int,
    }
    decisions: ClassVar[tuple[Decision, ...]] = (
        Decision("min_eojeol", "word_eojeol_count", "min", "gopher_ko_short_doc"),
        Decision("max_eojeol", "word_eojeol_count", "max", "gopher_ko_long_doc"),
        Decision("min_avg_eojeol_len", "avg_eojeol_len", "min", "gopher_ko_short_eojeol"),
        Decision("max_avg_eojeol_len", "avg_eojeol_len", "max", "gopher_ko_long_eojeol"),
        Decision("min_letter_eojeol_ratio", "letter_eojeol_ratio", "min", "gopher_ko_few_letter_eojeol"),
        Decision("min_stop_words", "stop_word_types", "min", "gopher_ko_few_stop_words"),
    )

    def __init__(
        self,
        # Gopher: 50 words. An eojeol is a word plus its particles or endings, so 50 eojeol is a longer text
        # than 50 English words. Measured (bench/quality/measure_thresholds.py --limit 4000): 20/30/50 eojeol drop
        # 7.4/13.6/23.5% of kowiki articles (one- or two-sentence stubs) and 0% of kowiki-2k (min 357);
        # 97.5% of nsmc reviews fall below 30.
        # 25 rather than 30: on the dev set (data/make_devset.py, python bench/quality/devset_recall.py) 30 dropped 1 of
        # 33 clean listings (6 sentences, 29 eojeol) and no rule may cost more than 1% of a clean register. 25 is
        # Gopher's 50 words at ~2 Kiwi morphemes per eojeol. Measured on slices the dev set does not use (kowiki
        # articles the LM trained on, >= 200 chars on >= 2 lines: 16,939; single NSMC reviews the quality
        # classifier trained on: 17,357): 25 drops 0.024% of the articles (as 20 and 30 do: 0.024%, 0.030%) and
        # 95.8% of the reviews (30: 98.1%); on the dev set it drops no clean document.
        min_eojeol: int | None = 25,
        max_eojeol: int | None = 100_000,  # Gopher
        # Mean eojeol length in characters (non-symbol eojeol). Measured p0.1-p99.9: kowiki-2k 3.0-4.9,
        # kowiki articles 2.75-7.9, statutes 3.0-5.4; nsmc reviews p1 = 2.0, median 3.5. FineWeb-2 kor_Hang
        # uses 1-6 on Kiwi morphemes; on eojeol 2-10 leaves room around the measured range (lists of names,
        # long compounds) and still catches runs of single syllables and unbroken strings.
        min_avg_eojeol_len: float | None = 2.0,
        max_avg_eojeol_len: float | None = 10.0,
        max_symbol_eojeol_ratio: float | None = 0.1,  # Gopher: '#' or ellipses per word
        max_bullet_lines_ratio: float | None = 0.9,  # Gopher
        max_ellipsis_lines_ratio: float | None = 0.3,  # Gopher
        # Share of eojeol containing a letter (Hangul, Latin, Hanja...). FineWeb-2 kor_Hang: 0.791 on Kiwi
        # tokens, where punctuation is a token of its own; on eojeol punctuation sticks to a word, so the
        # share is higher. Measured: kowiki-2k p0.1 = 0.87; articles p0.1 = 0.77, p1 = 0.90; statutes
        # p0.1 = 0.90. 0.7 drops 0.03% of kowiki articles (tables of figures), 0% of kowiki-2k.
        min_letter_eojeol_ratio: float | None = 0.7,
        # FineWeb-2 kor_Hang: at least 2 of its 21 stop words (configs/ko_stopwords.txt); here: at least 2
        # distinct ones ending an eojeol. Measured: kowiki-2k p0.1 = 14.8, articles p0.1 = 3, statutes
        # p0.1 = 8.6; nsmc reviews median 2. Drops 0% of kowiki; lists of bare nouns fail it.
        min_stop_words: int | None = 2,
        stopwords_path: str = STOPWORDS_PATH,
    ):
        super().__init__()
        self.min_eojeol = min_eojeol
        self.max_eojeol = max_eojeol
        self.min_avg_eojeol_len = min_avg_eojeol_len
        self.max_avg_eojeol_len = max_avg_eojeol_len
        self.max_symbol_eojeol_ratio = max_symbol_eojeol_ratio
        self.max_bullet_lines_ratio = max_bullet_lines_ratio
        self.max_ellipsis_lines_ratio = max_ellipsis_lines_ratio
        self.min_letter_eojeol_ratio = min_letter_eojeol_ratio
        self.min_stop_words = min_stop_words
        self.stopwords_path = stopwords_path
        stop_words = sorted(load_word_list(stopwords_path), key=len, reverse=True)  # 으로 before 로
        trailer = re.escape(_EOJEOL_TRAILER)
        self._stop_word_at_eojeol_end = re.compile(
            rf"({'|'.join(map(re.escape, stop_words))})(?=[{trailer}]*(?:\s|$))"
        )

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        text = doc.text
        ws = words(doc)
        if not ws:
            return False, "empty_doc"
        word_eojeol = [w for w in ws if _HAS_WORD_CHAR.search(w)]  # Gopher's "non-symbol words"
        n = len(word_eojeol)
        avg_len = sum(map(len, word_eojeol)) / n if n else 0.0
        letter_ratio = sum(1 for w in ws if _HAS_LETTER.search(w)) / len(ws)
        stop_types = len(set(self._stop_word_at_eojeol_end.findall(text)))
        doc.metadata.update(word_eojeol_count=n, avg_eojeol_len=avg_len, letter_eojeol_ratio=letter_ratio,
                            stop_word_types=stop_types)

        if self.min_eojeol is not None and n < self.min_eojeol:
            return False, "gopher_ko_short_doc"
        if self.max_eojeol is not None and n > self.max_eojeol:
            return False, "gopher_ko_long_doc"
        if self.min_avg_eojeol_len is not None and avg_len < self.min_avg_eojeol_len:
            return False, "gopher_ko_short_eojeol"
        if self.max_avg_eojeol_len is not None and avg_len > self.max_avg_eojeol_len:
            return False, "gopher_ko_long_eojeol"
        if self.max_symbol_eojeol_ratio is not None:
            if text.count("#") / len(ws) > self.max_symbol_eojeol_ratio:
                return False, "gopher_ko_too_many_hashes"
            if (text.count("...") + text.count("…")) / len(ws) > self.max_symbol_eojeol_ratio:
                return False, "gopher_ko_too_many_ellipsis"
        ls = lines(doc)
        if _frac_above(sum(1 for ln in ls if ln.startswith(_BULLETS)) / len(ls), self.max_bullet_lines_ratio):
            return False, "gopher_ko_too_many_bullets"
        if _frac_above(sum(1 for ln in ls if ln.endswith(ELLIPSIS)) / len(ls), self.max_ellipsis_lines_ratio):
            return False, "gopher_ko_too_many_end_ellipsis"
        if self.min_letter_eojeol_ratio is not None and letter_ratio < self.min_letter_eojeol_ratio:
            return False, "gopher_ko_few_letter_eojeol"
        if self.min_stop_words is not None and stop_types < self.min_stop_words:
            return False, "gopher_ko_few_stop_words"
        return True

