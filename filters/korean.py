"""Korean web-spam steps: boilerplate-line removal, gambling/adult spam (the URL blocklist is filters/urls.py).

Registered steps (config keys are the `__init__` arguments):
- `ko_boilerplate_lines_v1`: removes news footers, bylines, photo credits, 더보기/댓글 widgets, menus and
  breadcrumbs, login/cookie notices and share buttons line by line (patterns in
  configs/ko_boilerplate_patterns.txt); drops the document as `ko_boilerplate_only` when too little is left.
  Run it before the document-level filters, so that they judge the article, not its page furniture.
- `ko_spam_v1`: scores gambling and adult spam with weighted lexicons (configs/ko_spam_*.txt, matching in
  filters/spam_lexicon.py); reasons `ko_gambling_spam`, `ko_adult`.

Data files are read lazily, once per worker (`core.models.cached`), so a step pickles as a few paths.
Every default threshold below was measured with `python bench/quality/ko_filters_calibrate.py` on ../shared/data
(kowiki-ref, ko-statutes, nsmc-reviews: clean text, so what these steps do there is false positives).
"""

import re
from typing import ClassVar

from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter

from filters.spam_lexicon import Lexicon, load_lexicon, matching_copy
from core.errors import ConfigError
from core.models import cached, resolve_model_path
from core.steps import Decision, register_step
from core.text import lines as doc_lines
from core.text import nfc


def _read_data_lines(path: str, what: str) -> list[str]:
    """Non-comment, non-blank NFC lines of a data file (`#` starts a comment line)."""
    try:
        with open(path, encoding="utf-8") as f:
            raw = f.read().splitlines()
    except OSError as e:
        raise ConfigError(f"{what} file cannot be read: {path}: {e.strerror}") from None
    return [nfc(s.strip()) for s in raw if s.strip() and not s.strip().startswith("#")]


def load_boilerplate_patterns(path: str) -> re.Pattern:
    """One regex per line, joined into one case-insensitive alternation (one C-level pass per line)."""
    patterns = _read_data_lines(path, "boilerplate patterns")
    for lineno, p in enumerate(patterns, 1):
        try:
            re.compile(p)
        except re.error as e:
            raise ConfigError(f"{path}: pattern {lineno} ({p!r}) is not a valid regex: {e}") from None
    if not patterns:
        return re.compile(r"(?!x)x")  # matches nothing
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


# Menu separators: bars and arrows with any spacing; middle dots only with spaces around them, because
# prose writes 남·북, 한·중·일 without spaces while menus write 정치 · 경제 · 사회. A separator starts where
# its whitespace starts (never inside a run of it): a search tried at every space of a long run would rescan
# the rest of the run each time, quadratic in its length; a match starting inside a run has one starting at
# the run's first space anyway, so the matches are the same.
_MENU_SEPARATOR = re.compile(r"(?:(?<!\s)|(?!\s))(?:\s*[|ㅣ>›»]\s*|\s+[·•∙]\s+)")
_MENU_CHARS = "|ㅣ>›»·•∙"
# A menu item never ends a sentence; a line whose items do is a list in prose.
_SENTENCE_END = re.compile(r"(?:[.!?。]|[다요죠까])$")


def is_menu_line(line: str, min_items: int, max_item_chars: int) -> bool:
    """A line of `min_items`+ short items separated by | · > (정치 | 경제 | 사회 | 문화, 홈 > 뉴스 > 사회)."""
    if sum(line.count(c) for c in _MENU_CHARS) < min_items - 1:
        return False
    items = [x for x in _MENU_SEPARATOR.split(line) if x]
    return (
        len(items) >= min_items
        # menu items are plain words: "1>3>2>5>4" (a ranking in a review) is not a menu, nor is a kowiki
        # list "태원군(太原郡) · 상당군(上黨郡) · ..." (bench/quality/ko_filters_calibrate.py found 7 such lines)
        and all(len(x) <= max_item_chars and any(ch.isalpha() for ch in x) and "(" not in x for x in items)
        and not _SENTENCE_END.search(items[-1])
    )


@register_step("ko_boilerplate_lines_v1")
class KoBoilerplateLines(BaseFilter):
    """Remove boilerplate lines from `doc.text`; drop as `ko_boilerplate_only` if under `min_chars_after` remain.

    On clean text (bench/quality/ko_filters_calibrate.py) it removes 3 lines from 34,510 kowiki articles (newspaper
    staff lists "사회부/ 부장 ... | ... | ..."), none from ko-statutes or 20,008 NSMC reviews.
    """

    name = "🇰🇷 ko boilerplate lines"
    columns: ClassVar[dict[str, type]] = {"boilerplate_lines_removed": int}

    def __init__(
        self,
        patterns_path: str = "configs/ko_boilerplate_patterns.txt",
        # Lines longer than this are prose, never boilerplate: the longest footer in the pattern file's
        # examples is ~90 characters; 200 leaves room for long outlet names.
        max_line_chars: int = 200,
        # Menus: 4+ items of at most 12 characters each. 3 items would take "서울 | 부산 | 대구"-style
        # table rows; 12 characters covers the longest section names of Korean portals (오피니언·칼럼 etc.).
        menu_min_items: int = 4,
        menu_max_item_chars: int = 12,
        # A document with fewer characters left than this is all furniture. 50 characters is about one short
        # Korean sentence; the heuristic filters apply their own length minimum afterwards.
        min_chars_after: int | None = 50,
        exclusion_writer=None,
    ):
        super().__init__(exclusion_writer)
        self.patterns_path = resolve_model_path(patterns_path)
        self.max_line_chars = max_line_chars
        self.menu_min_items = menu_min_items
        self.menu_max_item_chars = menu_max_item_chars
        self.min_chars_after = min_chars_after

    def is_boilerplate(self, stripped_line: str, patterns: re.Pattern | None = None) -> bool:
        if len(stripped_line) > self.max_line_chars:
            return False
        if patterns is None:
            patterns = cached("boilerplate_patterns", self.patterns_path, load_boilerplate_patterns)
        return patterns.search(stripped_line) is not None or is_menu_line(
            stripped_line, self.menu_min_items, self.menu_max_item_chars
        )

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        patterns = cached("boilerplate_patterns", self.patterns_path, load_boilerplate_patterns)
        kept: list[str] = []
        removed_lines = removed_bytes = 0
        for line in doc.text.split("\n"):
            stripped = line.strip()
            if stripped and self.is_boilerplate(stripped, patterns):
                removed_lines += 1
                removed_bytes += len(line.encode("utf-8")) + 1  # + its newline
            else:
                kept.append(line)
        doc.metadata["boilerplate_lines_removed"] = removed_lines
        if removed_lines:
            doc.text = "\n".join(kept).strip("\n")
            self.stat_update("boilerplate_lines_removed", value=removed_lines)
            self.stat_update("boilerplate_bytes_removed", value=removed_bytes)
        if self.min_chars_after is not None and len(doc.text.strip()) < self.min_chars_after:
            return False, "ko_boilerplate_only"
        return True


@register_step("ko_spam_v1")
class KoSpam(BaseFilter):
    """Drop gambling (`ko_gambling_spam`) and adult (`ko_adult`) spam; scores are weighted eojeol shares.

    A lexicon fires when its weighted matches reach `min_matches` AND either the eojeol share exceeds
    `max_*_score` or, in documents of `min_lines_for_line_share`+ lines, the share of lines with a match
    exceeds `max_line_share`. `min_matches` keeps a news story that names 카지노 once from ever being dropped.
    """

    name = "🎰 ko spam"
    columns: ClassVar[dict[str, type]] = {
        "ko_spam_gambling_score": float,
        "ko_spam_gambling_line_share": float,
        "ko_spam_adult_score": float,
        "ko_spam_adult_line_share": float,
    }
    # Each lexicon fires on its eojeol share or its line share; both also need `min_matches`, which is not a
    # column, so the audit's sweep of these thresholds ignores it.
    decisions: ClassVar[tuple[Decision, ...]] = (
        Decision("max_gambling_score", "ko_spam_gambling_score", "max", "ko_gambling_spam"),
        Decision("max_adult_score", "ko_spam_adult_score", "max", "ko_adult"),
        Decision("max_line_share", "ko_spam_gambling_line_share", "max", "ko_gambling_spam"),
        Decision("max_line_share", "ko_spam_adult_line_share", "max", "ko_adult"),
    )

    def __init__(
        self,
        gambling_lexicon_path: str = "configs/ko_spam_gambling.txt",
        adult_lexicon_path: str = "configs/ko_spam_adult.txt",
        # Weighted share of eojeol matched. Measured with bench/quality/ko_filters_calibrate.py: the highest clean
        # scores are 0.060 gambling (kowiki 007 카지노 로얄, of 34,510 articles) and 0.015 adult (kowiki);
        # the made-up ads in that script score 0.5-0.7, SEO filler with one term a line ~0.075 (caught by the
        # line share). No spam corpus is bundled: re-measure on labelled crawl data when there is some.
        max_gambling_score: float | None = 0.08,
        max_adult_score: float | None = 0.08,
        # Weighted share of lines with a match: highest clean value 0.45 (kowiki 섹스와 젠더의 구분, which the
        # unweighted share of 0.56 would have dropped at 0.3); SEO spam 0.97-1.0.
        max_line_share: float | None = 0.5,
        # Under 5 lines the line share is mostly 0 or 1 by construction, so it decides nothing there.
        min_lines_for_line_share: int = 5,
        # Weighted matches needed before anything fires: NSMC reviews of the film Casino score up to 0.078
        # with one or two matches (스콜세지 ... 이번엔 카지노 라스베가스!); no clean document is dropped at 3.
        min_matches: float = 3.0,
        exclusion_writer=None,
    ):
        super().__init__(exclusion_writer)
        self.gambling_lexicon_path = resolve_model_path(gambling_lexicon_path)
        self.adult_lexicon_path = resolve_model_path(adult_lexicon_path)
        self.max_gambling_score = max_gambling_score
        self.max_adult_score = max_adult_score
        self.max_line_share = max_line_share
        self.min_lines_for_line_share = min_lines_for_line_share
        self.min_matches = min_matches

    def _fires(self, matched: float, share: float, line_share: float, n_lines: int, max_score: float | None) -> bool:
        if matched < self.min_matches:
            return False
        if max_score is not None and share > max_score:
            return True
        return (
            self.max_line_share is not None
            and n_lines >= self.min_lines_for_line_share
            and line_share > self.max_line_share
        )

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        lines = doc_lines(doc)
        collapsed = matching_copy(doc.text)
        verdict: bool | tuple[bool, str] = True
        line_copies = None  # per-line matching copies, computed once and only when some lexicon may match
        for kind, path, max_score, reason in (
            ("gambling", self.gambling_lexicon_path, self.max_gambling_score, "ko_gambling_spam"),
            ("adult", self.adult_lexicon_path, self.max_adult_score, "ko_adult"),
        ):
            lexicon: Lexicon = cached("spam_lexicon", path, load_lexicon)
            if line_copies is None and lexicon.may_match(collapsed):
                line_copies = [matching_copy(ln) for ln in lines]
            matched, n_eojeol, matched_lines, n_lines = lexicon.score(lines, collapsed, line_copies)
            share = matched / n_eojeol if n_eojeol else 0.0
            line_share = matched_lines / n_lines if n_lines else 0.0
            doc.metadata[f"ko_spam_{kind}_score"] = round(share, 4)
            doc.metadata[f"ko_spam_{kind}_line_share"] = round(line_share, 4)
            if verdict is True and self._fires(matched, share, line_share, n_lines, max_score):
                verdict = (False, reason)
        return verdict
