"""Weighted spam lexicons matched on Korean eojeol, robust to spaced and symbol-broken spellings.

Used by `ko_spam_v1` (filters/korean.py): `load_lexicon(path)` reads a data file such as
configs/ko_spam_gambling.txt (format documented in its header), and `Lexicon.score(lines)` returns
(weighted matched eojeol, eojeol count, weighted lines with a match, line count) for a document.

Matching, and why:
- Spammers break terms to dodge filters: 토 토, 토*토, 카.지.노. Each eojeol is matched on a copy with
  everything but Hangul syllables, letters and digits removed, and runs of one-syllable eojeol are joined
  (토 토 사 이 트 → 토토사이트). Ordinary prose almost never has runs of one-syllable eojeol that spell a term.
- Terms of 3+ syllables (카지노, 먹튀검증) are rare inside other words, so they match anywhere in an eojeol
  (온라인카지노사이트). Short terms (오피, 토토, 슬롯) are syllables of ordinary words (오피스텔, 오피니언,
  에티오피아), so they match only a whole eojeol: listed prefix + term + listed suffixes + a particle (조사).
- Most documents contain no term at all: one regex search over the whole collapsed text (C speed) skips them
  before any per-eojeol work, and in the others only lines whose own collapsed copy has a term are split.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.errors import ConfigError
from core.text import nfc

# Korean particles (조사) and copula endings that may follow a whole-eojeol term (사설토토를, 오피는, 토토입니다).
# 아/야 (vocative) are left out on purpose: 에티오피아 would otherwise read as 에티 + 오피 + 아.
PARTICLES = (
    "에서는 에서도 으로는 으로도 에게는 입니다 이라는 에서 에게 으로 까지 부터 처럼 보다 이나 이랑 한테 하고 이다 이며 이고 "
    "에는 로는 와의 과의 은 는 이 가 을 를 의 에 로 와 과 도 만 랑 나 요"
).split()

# Characters kept in the matching copy: Hangul syllables, compatibility jamo (ㅋr지노), Latin letters, digits.
# Joining the kept runs is ~2.5x faster than deleting the rest with re.sub (measured on 2 KB kowiki chunks).
_KEPT_RUN = re.compile(r"[0-9A-Za-z가-힣ㄱ-ㅣ]+")


def matching_copy(text: str) -> str:
    return "".join(_KEPT_RUN.findall(text)).lower()


_PARTICLE_SET = frozenset(PARTICLES)
_LONGEST_PARTICLE = max(map(len, PARTICLES))


def _longest_first(terms) -> tuple[str, ...]:
    # longest first, so that 카지노사이트 wins over 카지노 and takes its own weight
    return tuple(sorted(terms, key=lambda t: (-len(t), t)))


def _alternation(terms) -> str:
    return "|".join(re.escape(t) for t in _longest_first(terms))


@dataclass
class Lexicon:
    """A compiled lexicon. Build it with `load_lexicon`; the same object serves every document."""

    weights: dict[str, float]
    substring_terms: frozenset[str]
    word_terms: frozenset[str]
    prefixes: tuple[str, ...]
    suffixes: tuple[str, ...]
    exceptions: frozenset[str]

    def __post_init__(self) -> None:
        everything = self.substring_terms | self.word_terms
        self._any_term = re.compile(_alternation(everything)) if everything else None
        self._substring = re.compile(_alternation(self.substring_terms)) if self.substring_terms else None
        # Whole-eojeol terms are matched without a regex: `prefix? term suffix* particle?` as a regex, with
        # suffixes that chain into one another (사이트 + 추천 = 사이트추천), parses a run of them in 2^k ways:
        # 토토 + 사이트추천 x 23 + x (118 characters) took 6 s, and 2.5x longer with each repetition more. Here the candidates (prefix, term) are tried in the order
        # that regex tried them (longest prefix first, then none; longest term first) and the rest of the
        # token is checked once, left to right, over the suffixes (`_tail_ok`): linear in the token.
        self._word_prefixes = _longest_first(set(self.prefixes))
        self._word_terms = _longest_first(self.word_terms)
        self._suffixes_by_first: dict[str, tuple[str, ...]] = {}
        for s in _longest_first(set(self.suffixes)):
            self._suffixes_by_first[s[0]] = (*self._suffixes_by_first.get(s[0], ()), s)
        self._exception = None
        if self.exceptions:
            self._exception = re.compile(f"(?:{_alternation(self.exceptions)})(?:{_alternation(PARTICLES)})?")

    def _tail_ok(self, token: str, start: int) -> bool:
        """token[start:] is zero or more suffixes, then at most one particle."""
        n = len(token)
        reached = bytearray(n + 1)
        reached[start] = 1
        furthest = start
        i = start
        while i <= furthest:
            if reached[i]:
                if i == n or (n - i <= _LONGEST_PARTICLE and token[i:] in _PARTICLE_SET):
                    return True
                for s in self._suffixes_by_first.get(token[i], ()):
                    if token.startswith(s, i):
                        reached[i + len(s)] = 1
                        furthest = max(furthest, i + len(s))
            i += 1
        return False

    def word_term(self, token: str) -> str | None:
        """The term a whole eojeol spells (prefix + term + suffixes + particle), or None."""
        tried: dict[int, bool] = {}
        starts = [len(p) for p in self._word_prefixes if token.startswith(p)] + [0]
        for start in starts:
            for term in self._word_terms:
                if token.startswith(term, start):
                    end = start + len(term)
                    if end not in tried:
                        tried[end] = self._tail_ok(token, end)
                    if tried[end]:
                        return term
        return None

    def may_match(self, collapsed_text: str) -> bool:
        """Cheap pre-check on the whole document's matching copy; False means no eojeol can match."""
        return self._any_term is not None and self._any_term.search(collapsed_text) is not None

    def token_weight(self, token: str) -> float:
        """Weight of one normalized eojeol: the largest weight of the terms it matches, 0.0 for none."""
        # one regex call for the usual token, which matches nothing
        if self._any_term is None or not self._any_term.search(token):
            return 0.0
        if self._exception is not None and self._exception.fullmatch(token):
            return 0.0
        best = 0.0
        if self._substring is not None:
            for m in self._substring.finditer(token):
                best = max(best, self.weights[m.group()])
        if self._word_terms:
            term = self.word_term(token)
            if term is not None:
                best = max(best, self.weights[term])
        return best

    def score(
        self, lines: list[str], collapsed_text: str | None = None, line_copies: list[str] | None = None
    ) -> tuple[float, int, float, int]:
        """(weighted matched eojeol, eojeol count, weighted lines with a match, line count) over stripped
        lines. A line counts min(1, its matched weight): one 섹스 (0.3) in a sex-education line is 0.3 of a
        spam line, two full-weight terms are one. Only lines whose matching copy contains a term are split
        into eojeol; `line_copies` (`matching_copy` of each line) lets several lexicons share that pass."""
        n_eojeol = sum(len(ln.split()) for ln in lines)
        if collapsed_text is None:
            collapsed_text = matching_copy("".join(lines))
        if not self.may_match(collapsed_text):
            return 0.0, n_eojeol, 0.0, len(lines)
        if line_copies is None:
            line_copies = [matching_copy(ln) for ln in lines]
        matched = 0.0
        matched_lines = 0.0
        for line, copy in zip(lines, line_copies):
            if not self.may_match(copy):
                continue
            line_weight = 0.0
            for token, n_words in _tokens(line):
                line_weight += self.token_weight(token) * n_words
            matched += line_weight
            matched_lines += min(1.0, line_weight)
        return matched, n_eojeol, matched_lines, len(lines)


def _tokens(line: str):
    """Normalized eojeol of a line with the number of original eojeol each stands for (runs of one-syllable
    eojeol joined: 토 토 → (토토, 2))."""
    run: list[str] = []
    for raw in line.split():
        token = matching_copy(raw)
        if not token:
            continue
        if len(token) == 1:
            run.append(token)
            continue
        if run:
            yield "".join(run), len(run)
            run = []
        yield token, 1
    if run:
        yield "".join(run), len(run)


def load_lexicon(path: str) -> Lexicon:
    """Parse a lexicon file (`term [weight]`, `=term`, `!exception`, `prefix: ...`, `suffix: ...`, `#`)."""
    weights: dict[str, float] = {}
    substring_terms: set[str] = set()
    word_terms: set[str] = set()
    prefixes: list[str] = []
    suffixes: list[str] = []
    exceptions: set[str] = set()
    try:
        with open(path, encoding="utf-8") as f:
            raw_lines = f.read().splitlines()
    except OSError as e:
        raise ConfigError(f"spam lexicon cannot be read: {path}: {e.strerror}") from None
    for lineno, raw in enumerate(raw_lines, 1):
        line = nfc(raw.strip())
        if not line or line.startswith("#"):
            continue
        if line.startswith(("prefix:", "suffix:")):
            items = [matching_copy(x) for x in line.split(":", 1)[1].split()]
            (prefixes if line.startswith("prefix:") else suffixes).extend(x for x in items if x)
            continue
        if line.startswith("!"):
            exceptions.add(matching_copy(line[1:]))
            continue
        parts = line.split()
        whole_word = parts[0].startswith("=")
        term = matching_copy(parts[0].lstrip("="))
        try:
            weight = float(parts[1]) if len(parts) > 1 else 1.0
        except ValueError:
            weight = -1.0
        if not term or len(parts) > 2 or not 0.0 < weight <= 1.0:
            raise ConfigError(f"{path}:{lineno}: expected 'term [weight in (0, 1]]', got {raw.strip()!r}")
        weights[term] = weight
        # 1-2 syllable terms are syllables of ordinary words (오피스텔), so they must be a whole eojeol
        (word_terms if whole_word or len(term) <= 2 else substring_terms).add(term)
    return Lexicon(weights, frozenset(substring_terms), frozenset(word_terms), tuple(prefixes), tuple(suffixes),
                   frozenset(exceptions))
