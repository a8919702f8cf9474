"""Korean text signals (`ko_signals_v1`, an annotator) and the filter that thresholds them (`ko_quality_v1`).

Signals written to doc.metadata (Parquet columns), all cheap regex counts over the whole text:
- hangul_ratio       share of letters (Unicode L*) that are Hangul syllables or jamo
- jamo_run_ratio     share of non-space characters inside runs of >= 2 bare jamo (ㅋㅋㅋ, ㅎㅎ, ㅠㅠ)
- sentence_end_ratio share of non-empty lines that end a sentence: terminal punctuation, or a Korean
                     sentence-final ending 다/요/죠/까 with optional punctuation (configs/ko_sentence_endings.txt)
- emoticon_ratio     share of non-space characters in emoji or kaomoji (^^, ㅠㅠ, T_T, ;;)
- eojeol_count       whitespace-separated words (core.text.words)

`ko_quality_v1` drops with reasons ko_low_hangul_ratio, ko_jamo_spam, ko_emoticon_spam,
ko_few_sentence_endings (off by default: `min_sentence_end_ratio` says why) and empty_doc for a document
without a non-space character. It reuses the signals
`ko_signals_v1` wrote when the text has not changed since, and computes them itself otherwise.
Thresholds were measured with bench/quality/measure_thresholds.py on ../shared/data (kowiki-ref = clean prose,
ko-statutes = formal, nsmc-reviews = colloquial); the figures are beside each default.

    steps:
      - step: ko_signals_v1
      - step: ko_quality_v1
        min_hangul_ratio: 0.4
"""

from __future__ import annotations

import re
from typing import ClassVar

from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter

from filters.ko_patterns import sentence_ends
from core.steps import Annotator, Decision, Distribution, register_step
from core.text import hangul_ratio, lines, words

SENTENCE_ENDINGS_PATH = "configs/ko_sentence_endings.txt"

# Runs, not single characters, are matched and their lengths summed: findall then returns a list about the
# size of the eojeol list instead of one entry per character (2.5x faster on 2 KB kowiki documents).
# A letter as str.isalpha says: \w minus decimal digits and underscore, minus the other numerals \w also
# matches (superscripts ²³, subscripts ₂, fractions, Roman numerals, circled ① used by statutes).
# Bare compatibility jamo (ㄱ..ㅣ, U+3131-U+3163) in runs of two or more: ㅋㅋ laughter, ㅎㅎ, ㅠㅠ crying,
# ㄷㄷ, ㅇㅇ. A single jamo (ㄱ. 항목) is a list label, not spam.
_JAMO_RUN = re.compile("[\u3131-\u3163]{2,}")
# Emoji blocks (pictographs, emoticons, transport, supplemental symbols, dingbats and misc symbols,
# variation selector) and the kaomoji common on Korean boards.
_EMOTICON = re.compile(
    "[\U0001f000-\U0001faff\u2600-\u27bf\u2b50\u2b55\ufe0f]+"
    r"|\^\^+|\^[_\-ㅡ.oO]\^|[ㅠㅜ]{2,}|[ㅠㅜT][_.][ㅠㅜT]|;;+|>_<|-_-;*|ㅡㅡ;*|ㅡ_ㅡ|:-?[)(DP](?![A-Za-z])|\(_ _\)"
)

SIGNAL_COLUMNS: dict[str, type] = {
    "hangul_ratio": float,
    "jamo_run_ratio": float,
    "sentence_end_ratio": float,
    "emoticon_ratio": float,
    "eojeol_count": int,
}
# The report plots the Hangul share whichever of the two steps wrote it (its length plots cover eojeol_count);
# the other signals get a histogram where a threshold of the run decides on them.
SIGNAL_DISTRIBUTIONS = (Distribution("hangul_ratio", "Hangul share"),)


def compute_signals(doc: Document, sentence_endings_path: str = SENTENCE_ENDINGS_PATH) -> dict[str, float | int]:
    """The five signals of `doc`, cached in doc.metadata["_ko_signals"] while doc.text is unchanged."""
    cached = doc.metadata.get("_ko_signals")
    if cached is not None and cached[0] is doc.text:
        return cached[1]
    text = doc.text
    ws = words(doc)
    non_space = sum(map(len, ws))
    ends = sentence_ends(sentence_endings_path)
    ls = lines(doc)
    signals: dict[str, float | int] = {
        "hangul_ratio": hangul_ratio(text),
        "jamo_run_ratio": sum(map(len, _JAMO_RUN.findall(text))) / non_space if non_space else 0.0,
        "sentence_end_ratio": sum(map(ends.is_terminal, ls)) / len(ls) if ls else 0.0,
        "emoticon_ratio": sum(map(len, _EMOTICON.findall(text))) / non_space if non_space else 0.0,
        "eojeol_count": len(ws),
    }
    doc.metadata["_ko_signals"] = (text, signals)
    doc.metadata.update(signals)
    return signals


@register_step("ko_signals_v1")
class KoSignals(Annotator):
    """Writes hangul_ratio, jamo_run_ratio, sentence_end_ratio, emoticon_ratio, eojeol_count."""

    name = "🇰🇷 Korean signals"
    columns: ClassVar[dict[str, type]] = SIGNAL_COLUMNS
    distributions: ClassVar[tuple[Distribution, ...]] = SIGNAL_DISTRIBUTIONS

    def __init__(self, sentence_endings_path: str = SENTENCE_ENDINGS_PATH):
        super().__init__()
        self.sentence_endings_path = sentence_endings_path
        sentence_ends(sentence_endings_path)  # a missing file is a ConfigError now, not in every worker

    def annotate(self, doc: Document) -> None:
        compute_signals(doc, self.sentence_endings_path)


@register_step("ko_quality_v1")
class KoQualityFilter(BaseFilter):
    """Thresholds on the Korean signals. Every threshold is optional (None turns the check off)."""

    name = "🇰🇷 Korean quality"
    columns: ClassVar[dict[str, type]] = SIGNAL_COLUMNS  # written too when ko_signals_v1 did not run
    distributions: ClassVar[tuple[Distribution, ...]] = SIGNAL_DISTRIBUTIONS
    decisions: ClassVar[tuple[Decision, ...]] = (
        Decision("min_hangul_ratio", "hangul_ratio", "min", "ko_low_hangul_ratio"),
        Decision("max_jamo_run_ratio", "jamo_run_ratio", "max", "ko_jamo_spam"),
        Decision("max_emoticon_ratio", "emoticon_ratio", "max", "ko_emoticon_spam"),
        Decision("min_sentence_end_ratio", "sentence_end_ratio", "min", "ko_few_sentence_endings"),
    )

    def __init__(
        self,
        # Figures: bench/quality/measure_thresholds.py --limit 4000 (kowiki = 4,000 articles, kowiki-2k = 3,817
        # articles-joined ~2 KB documents, 287 statutes, 4,000 nsmc reviews, 349 nsmc-2k comment pages).
        # Keeps out English (or Japanese, Chinese) pages with one Korean navigation line, which the LID model
        # still labels `ko`. kowiki articles p0.1 = 0.44, p1 = 0.63 (foreign names, formulas); kowiki-2k
        # p0.1 = 0.72; statutes p0.1 = 0.94; nsmc p1 = 0.56 (English-only reviews: 0.0). 0.4 drops 0.03% of
        # kowiki articles, 0% of kowiki-2k, 0.9% of nsmc reviews.
        min_hangul_ratio: float | None = 0.4,
        # kowiki and statutes p99.9 <= 0.001; nsmc reviews p95 = 0.10, p99 = 0.29; nsmc-2k pages p99.9 = 0.09.
        # A document a fifth of whose characters are ㅋㅋ/ㅠㅠ runs is chat: 0.2 drops 0% of kowiki and
        # nsmc-2k, 1.6% of nsmc reviews.
        max_jamo_run_ratio: float | None = 0.2,
        # Share of lines ending a sentence. kowiki articles p1 = 0.50 (p0.1 = 0: one-line list stubs);
        # kowiki-2k p0.1 = 0.21, p1 = 0.63; statutes p1 = 0.25 (clause headings, "삭제 <2021.7.6>" lines);
        # nsmc-2k min 0.28. Menus and link lists end few lines with 다 or a period. 0.2 drops 0.23% of kowiki
        # articles, 0.10% of kowiki-2k, 0.7% of statutes (2 of 287), 43% of single nsmc reviews.
        # Off by default (the column stays): on the dev set (data/make_devset.py, python bench/quality/devset_recall.py)
        # 0.2 dropped 9 of 10 hard-wrapped bills (lines broken mid-sentence) and 5% of statute text (lists of
        # duties, "N. ...에 관한 사항"), and every junk page it would drop was dropped by another rule too
        # (junk only it drops: 0 of 440 dev pages, 0 of 128 on the bundled sample).
        min_sentence_end_ratio: float | None = None,
        # kowiki p99.9 = 0.009 (☆ ★ ♂ in names and titles); nsmc reviews p95 = 0.05, p99 = 0.20;
        # nsmc-2k p99.9 = 0.07.
        # 0.1 keeps a few ^^ in a long text: drops 0% of kowiki and nsmc-2k, 2.3% of nsmc reviews.
        max_emoticon_ratio: float | None = 0.1,
        sentence_endings_path: str = SENTENCE_ENDINGS_PATH,
    ):
        super().__init__()
        self.min_hangul_ratio = min_hangul_ratio
        self.max_jamo_run_ratio = max_jamo_run_ratio
        self.min_sentence_end_ratio = min_sentence_end_ratio
        self.max_emoticon_ratio = max_emoticon_ratio
        self.sentence_endings_path = sentence_endings_path
        sentence_ends(sentence_endings_path)

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        s = compute_signals(doc, self.sentence_endings_path)
        if s["eojeol_count"] == 0:
            return False, "empty_doc"
        if self.min_hangul_ratio is not None and s["hangul_ratio"] < self.min_hangul_ratio:
            return False, "ko_low_hangul_ratio"
        if self.max_jamo_run_ratio is not None and s["jamo_run_ratio"] > self.max_jamo_run_ratio:
            return False, "ko_jamo_spam"
        if self.max_emoticon_ratio is not None and s["emoticon_ratio"] > self.max_emoticon_ratio:
            return False, "ko_emoticon_spam"
        if self.min_sentence_end_ratio is not None and s["sentence_end_ratio"] < self.min_sentence_end_ratio:
            return False, "ko_few_sentence_endings"
        return True
