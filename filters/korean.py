"""Korean web-spam steps: boilerplate-line removal, gambling/adult spam, URL blocklist.

Registered steps (config keys are the `__init__` arguments):
- `ko_boilerplate_lines_v1`: removes news footers, bylines, photo credits, 더보기/댓글 widgets, menus and
  breadcrumbs, login/cookie notices and share buttons line by line (patterns in
  configs/ko_boilerplate_patterns.txt); drops the document as `ko_boilerplate_only` when too little is left.
  Run it before the document-level filters, so that they judge the article, not its page furniture.
- `ko_spam_v1`: scores gambling and adult spam with weighted lexicons (configs/ko_spam_*.txt, matching in
  filters/spam_lexicon.py); reasons `ko_gambling_spam`, `ko_adult`.
- `url_blocklist_v1`: drops documents whose URL host or a parent domain is listed: in configs/url_blocklist.txt
  (reason `url_blocklist`) or in the configured categories of the UT1 blacklists that datatrove ships (reason
  `url_blocklist:ut1_<category>`).

Data files are read lazily, once per worker (`pipeline.models.cached`), so a step pickles as a few paths.
Every default threshold below was measured with `python bench/ko_filters_calibrate.py` on ../shared/data
(kowiki-ref, ko-statutes, nsmc-reviews: clean text, so what these steps do there is false positives).
"""

# No `from __future__ import annotations` here: the config keys are validated against `__init__`'s annotations
# (pipeline/steps.py), which must be the `Ut1Categories` type itself, not a string naming it.
import io
import os
import re
import tarfile
from dataclasses import dataclass
from functools import partial
from typing import Annotated, ClassVar
from urllib.parse import urlsplit

import datatrove
import numpy as np
from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter
from pydantic import AfterValidator, Field, ValidationInfo
from pydantic_core import PydanticCustomError

from filters.spam_lexicon import Lexicon, load_lexicon, matching_copy
from pipeline.errors import ConfigError
from pipeline.models import cached, resolve_model_path
from pipeline.steps import register_step
from pipeline.text import lines as doc_lines
from pipeline.text import nfc


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
        # list "태원군(太原郡) · 상당군(上黨郡) · ..." (bench/ko_filters_calibrate.py found 7 such lines)
        and all(len(x) <= max_item_chars and any(ch.isalpha() for ch in x) and "(" not in x for x in items)
        and not _SENTENCE_END.search(items[-1])
    )


@register_step("ko_boilerplate_lines_v1")
class KoBoilerplateLines(BaseFilter):
    """Remove boilerplate lines from `doc.text`; drop as `ko_boilerplate_only` if under `min_chars_after` remain.

    On clean text (bench/ko_filters_calibrate.py) it removes 3 lines from 34,510 kowiki articles (newspaper
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

    def __init__(
        self,
        gambling_lexicon_path: str = "configs/ko_spam_gambling.txt",
        adult_lexicon_path: str = "configs/ko_spam_adult.txt",
        # Weighted share of eojeol matched. Measured with bench/ko_filters_calibrate.py: the highest clean
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


def _idna(host: str) -> str:
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:  # labels too long or not encodable: compare the Unicode form as it is
        return host


def normalize_host(host: str) -> str:
    host = host.strip().lower().rstrip(".")
    if host.startswith("*."):
        host = host[2:]
    return _idna(nfc(host))


@dataclass(frozen=True)
class OwnBlocklist:
    """configs/url_blocklist.txt: domains to drop, and (`!domain` lines) exceptions to the UT1 lists."""

    blocked: frozenset[str]
    allowed: frozenset[str]


def load_blocklist(path: str) -> OwnBlocklist:
    lines = _read_data_lines(path, "url blocklist")
    return OwnBlocklist(blocked=frozenset(normalize_host(d) for d in lines if not d.startswith("!")),
                        allowed=frozenset(normalize_host(d[1:]) for d in lines if d.startswith("!")))


# A domain name is at most 253 characters in its dotted ASCII form (RFC 1035 2.3.4: 255 octets on the wire),
# so no listed domain is longer and no longer suffix of a host can be listed.
MAX_DOMAIN_CHARS = 253


def host_and_parents(host: str, max_chars: int = MAX_DOMAIN_CHARS) -> list[str]:
    """m.a.example.com → [m.a.example.com, a.example.com, example.com, com]: the host and its parent domains,
    those of at most `max_chars` characters. Read from the right, so a host of 50,000 labels costs what its
    last 253 characters cost (building every suffix took 2.5 GB and 18 s)."""
    out = []
    dot = len(host)
    while dot >= 0:
        dot = host.rfind(".", 0, dot)
        if len(host) - dot - 1 > max_chars:
            break
        out.append(host[dot + 1:])
    return out[::-1]


# --- UT1 blacklists (Université Toulouse 1 Capitole, https://dsi.ut-capitole.fr/blacklists/) ----------------
# datatrove ships them in its wheel for its own URLFilter. The copy in datatrove 0.10.1,
# assets/url_filterblacklistsv0_3_0.tar.gz (18 MB), is NOT split by category: it holds one merged `domains`
# file (4,558,940 domains, 123 MB) and one `urls` file (19,586 URLs with paths, not used here, as in our own
# list). Its domains are UT1's adult and phishing lists (pornhub.com, 0-secure-paypal.com), not its gambling
# list (bet365.com, pokerstars.com, williamhill.com are not in it). In that layout the one category is
# `merged`. A UT1 tarball from the site itself (blacklists/<category>/domains) has its real categories
# (adult, gambling, phishing, malware, ...): point `ut1_path` at it and name them in `ut1_categories`.
UT1_TARBALL = os.path.join(os.path.dirname(datatrove.__file__), "assets", "url_filterblacklistsv0_3_0.tar.gz")
UT1_MERGED = "merged"
_UT1_MEMBERS: dict[tuple[str, int, float], dict[str, str]] = {}


def ut1_members(path: str) -> dict[str, str]:
    """category → tar member of its `domains` file. Listing a .tar.gz reads all of it (0.6 s for datatrove's),
    so the answer is kept per process, keyed by the file's size and mtime."""
    st = os.stat(path)
    key = (os.path.abspath(path), st.st_size, st.st_mtime)
    if key not in _UT1_MEMBERS:
        with tarfile.open(path, "r:*") as tar:
            names = [m.name for m in tar.getmembers() if m.isfile() or m.issym()]
        members = {}
        for name in names:
            parts = name.strip("/").split("/")
            if parts[-1] == "domains":
                members[parts[-2] if len(parts) > 1 else UT1_MERGED] = name
        _UT1_MEMBERS[key] = members
    return _UT1_MEMBERS[key]


def check_ut1_categories(categories: list[str], path: str) -> tuple[str, ...]:
    """The configured categories, checked against the tarball; a ConfigError (one line) names what is wrong."""
    if not categories:
        return ()
    if not os.path.isfile(path):
        raise ConfigError(f"UT1 blacklist tarball not found: {path} (datatrove 0.10.1 ships it as "
                          "datatrove/assets/url_filterblacklistsv0_3_0.tar.gz; set ut1_path to a UT1 "
                          "blacklists.tar.gz, or ut1_categories: [] to turn UT1 off)")
    try:
        members = ut1_members(path)
    except (OSError, tarfile.TarError, EOFError) as e:
        raise ConfigError(f"UT1 blacklist tarball cannot be read: {path}: {e}") from None
    unknown = [c for c in categories if c not in members]
    if unknown:
        raise ConfigError(f"unknown UT1 categor{'y' if len(unknown) == 1 else 'ies'} "
                          f"{', '.join(map(repr, unknown))}; {path} has: {', '.join(sorted(members)) or 'none'}")
    return tuple(dict.fromkeys(categories))


def _ut1_categories_valid(categories: list[str], info: ValidationInfo) -> list[str]:
    # at `pipeline validate`: a bad category or a missing tarball is a config error naming the key
    try:
        check_ut1_categories(categories, resolve_model_path(info.data.get("ut1_path", UT1_TARBALL)))
    except ConfigError as e:
        raise PydanticCustomError("ut1_categories", "{message}", {"message": str(e)}) from None
    return categories


Ut1Categories = Annotated[list[str], AfterValidator(_ut1_categories_valid), Field(validate_default=True)]


@dataclass(frozen=True)
class Ut1Index:
    """The domains of some UT1 categories as a sorted array of their 64-bit string hashes, with the category
    of each. Measured on datatrove's merged list (4,558,940 domains) with `python bench/url_blocklist.py` on a
    shared 2-core machine: a frozenset of the strings takes 5.8-6.7 s and ~490 MB per worker; this index
    3.0-4.1 s and 40 MB (RSS +48 MB) and adds 6-8 µs per document (8-14 µs without UT1, 15-22 with). The
    hash is Python's own str hash (64-bit SipHash, seeded per process): the index is built in the worker that
    uses it and never pickled. A host that is not listed matches a listed hash with probability
    4.6e6 / 2^64 = 2.5e-13 per parent domain looked up: about one false drop in 10^12 documents."""

    hashes: np.ndarray  # int64, sorted, unique
    category: np.ndarray  # uint8 index into `categories`, the first configured category listing the domain
    categories: tuple[str, ...]

    def lookup(self, domain: str) -> str | None:
        h = hash(domain)
        i = int(np.searchsorted(self.hashes, h))
        if i < len(self.hashes) and self.hashes[i] == h:
            return self.categories[self.category[i]]
        return None


def _ut1_hashes(f) -> np.ndarray:
    # UT1's domains are lowercase ASCII, one a line; the rare other line (an IDN in Unicode, a trailing dot)
    # is normalized as our own list is. Blank and `#` lines are skipped (a host of "." would match a blank one).
    lines = map(str.lower, map(str.strip, io.TextIOWrapper(f, encoding="utf-8", errors="replace")))
    return np.fromiter((hash(d if d.isascii() and d[-1] != "." and d[0] != "*" else normalize_host(d))
                        for d in lines if d and d[0] != "#"), dtype=np.int64)


def load_ut1(path: str, categories: tuple[str, ...]) -> Ut1Index:
    check_ut1_categories(list(categories), path)
    members = ut1_members(path)
    parts = []
    with tarfile.open(path, "r:*") as tar:
        for cat in categories:
            f = tar.extractfile(members[cat])
            parts.append(_ut1_hashes(f) if f is not None else np.empty(0, dtype=np.int64))
    hashes = np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)
    category = np.repeat(np.arange(len(parts), dtype=np.uint8), [len(p) for p in parts])
    order = np.argsort(hashes, kind="stable")  # stable: of a domain listed twice, the first category is kept
    hashes, category = hashes[order], category[order]
    first = np.ones(len(hashes), dtype=bool)
    first[1:] = hashes[1:] != hashes[:-1]
    return Ut1Index(hashes[first], category[first], categories)


@register_step("url_blocklist_v1")
class UrlBlocklist(BaseFilter):
    """Drop documents whose `metadata["url"]` host, or any parent domain of it, is in our own blocklist
    (reason `url_blocklist`) or in a configured UT1 category (reason `url_blocklist:ut1_<category>`, e.g.
    `url_blocklist:ut1_merged`, so the report counts drops per category). Our own list is looked up first and
    wins when a domain is in both; `!domain` lines of the file and `allow_domains` are exceptions to the UT1
    lists (their false positives on Korean sites), not to our own list. Of a host's parent domains the most
    specific one listed decides: allowing yes24.com does not allow a listed bad.yes24.com."""

    name = "⛔ url blocklist"
    columns: ClassVar[dict[str, type]] = {}

    def __init__(
        self,
        blocklist_path: str = "configs/url_blocklist.txt",
        # Domains added in config on top of the file (same format: example.com, *.casino).
        extra_domains: list[str] = [],  # noqa: B006  (never mutated; pydantic validates a list)
        # The tarball holding UT1's `domains` files; datatrove's copy by default (see UT1_TARBALL).
        ut1_path: str = UT1_TARBALL,
        # UT1 categories to drop, checked against the tarball ([] turns UT1 off). datatrove's copy has one.
        ut1_categories: Ut1Categories = [UT1_MERGED],  # noqa: B006
        # Exceptions to the UT1 lists, on top of the file's `!domain` lines (same format as extra_domains).
        allow_domains: list[str] = [],  # noqa: B006
        exclusion_writer=None,
    ):
        super().__init__(exclusion_writer)
        self.blocklist_path = resolve_model_path(blocklist_path)
        self.extra_domains = frozenset(normalize_host(d) for d in extra_domains)
        self.ut1_path = resolve_model_path(ut1_path)
        # checked against the tarball when the config is validated, and again when the worker loads it: listing
        # the tarball here would cost every construction 0.6 s
        self.ut1_categories = tuple(dict.fromkeys(ut1_categories))
        self.allow_domains = frozenset(normalize_host(d) for d in allow_domains)

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        url = doc.metadata.get("url")
        if not url:
            return True
        try:
            host = urlsplit(url if "//" in url else "//" + url).hostname
        except ValueError:  # malformed URL (bad port, unbalanced brackets): nothing to match on
            self.stat_update("url_unparsable")
            return True
        if not host:
            return True
        own: OwnBlocklist = cached("url_blocklist", self.blocklist_path, load_blocklist)
        candidates = host_and_parents(normalize_host(host))
        for candidate in candidates:
            if candidate in own.blocked or candidate in self.extra_domains:
                return False, "url_blocklist"
        if not self.ut1_categories:
            return True
        ut1: Ut1Index = cached(f"ut1_blacklists:{','.join(self.ut1_categories)}", self.ut1_path,
                               partial(load_ut1, categories=self.ut1_categories))
        for candidate in candidates:
            if candidate in own.allowed or candidate in self.allow_domains:
                return True
            category = ut1.lookup(candidate)
            if category is not None:
                return False, f"url_blocklist:ut1_{category}"
        return True
