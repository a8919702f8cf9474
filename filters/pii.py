"""PII masking for Korean text: `pii_mask_v1` replaces personal data with typed placeholders.

    <EMAIL>    e-mail addresses
    <RRN>      주민등록번호 / 외국인등록번호 (YYMMDD-GNNNNNN), validated, see `is_rrn`
    <CARD>     card numbers, 13-19 digits, Luhn-checked, see `is_card`
    <PHONE>    mobile (010-1234-5678, 010.1234.5678, 01012345678), landline (02-123-4567, 031-123-4567),
               070 internet phones, +82 forms
    <ACCOUNT>  bank account numbers, only right after 계좌/은행/입금/예금주/... (context-gated)
    <IP>       IPv4 addresses with valid octets, not after version words (v, ver, version, 버전)

Deliberately NOT masked, with the reason:
- 15xx/16xx/18xx business numbers (1588-1234): public company lines, not personal data, and
  "1588-1600" reads as a year range in history text.
- dates (1989-02-15, 2023.01.05), years, prices (1,234,000원), ISBNs (978-89-...), law article and statute
  numbers (제10조의2, 법률 제17799호, 2020-12-29): none fits a pattern above (no leading 0 for phones, RRNs
  need a valid check digit, accounts need a bank word right before them, cards need Luhn and an issuer
  prefix and never start with 978/979).
- 13-digit numbers failing the RRN check, and contiguous 13-digit numbers that are not RRNs or cards.
- dotted article numbers (제32.5.2.1조), 0.x.x.x, 255.x.x.x (netmasks), and dotted quads next to a version
  word ("버전 1.2.3.4", "v1.2.3.4", "3.3.0.0 버전"); a bare 1.2.3.4 is masked as an IP, because four-part
  versions without a version word nearby are rarer than addresses in web text.
On kowiki-ref (34,510 articles) the defaults mask 3 phones and 1 e-mail (public office numbers in news-like
articles) and 2 IPs (bench/quality/ko_filters_calibrate.py); ko-statutes and NSMC: nothing.

Usage: `{step: pii_mask_v1}` in the steps list, after the quality filters (so their scores see the original
text). Counters `pii_<kind>` per type go to the step stats; `pii_count` (all kinds) to metadata.
"""

from __future__ import annotations

import calendar
import re
from typing import ClassVar

from datatrove.data import Document

from core.errors import ConfigError
from core.steps import Annotator, register_step

KINDS = ("email", "rrn", "card", "phone", "account", "ip")
PLACEHOLDERS = {k: f"<{k.upper()}>" for k in KINDS}

# E-mail addresses are found from their @, and match what this regex finds left to right:
#     [A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?![A-Za-z0-9_])
# - from the @: that regex, searched, starts at every letter of a long run of address characters and
#   rescans the run to its end from each (quadratic on "aaaa… @"). Here the local part is read backwards
#   from each @, at most 64 characters (RFC 5321 4.5.3.1.1), and the domain once forwards (`_EMAIL_DOMAIN`
#   starts right after an @ and its labels are split by dots, so it backtracks over one pass at most).
# - no lookbehind: addresses glued to Hangul on the left (메일hong@example.kr) are found.
# - the top-level domain ends where ASCII letters end: `\b` never matched between the TLD and a Korean
#   particle written straight after it (hong@daum.net로, Hangul is a word character), so those leaked.
_EMAIL_LOCAL_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._%+-")
_EMAIL_LOCAL_MAX = 64
_EMAIL_DOMAIN = re.compile(r"(?<=@)[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?![A-Za-z0-9_])")


def find_emails(text: str) -> list[tuple[int, int]]:
    """(start, end) of each e-mail address in `text`, left to right, not overlapping."""
    spans = []
    done = 0  # the end of the last address: the next one's local part starts after it
    at = text.find("@")
    while at >= 0:
        start = at
        floor = max(done, at - _EMAIL_LOCAL_MAX)
        while start > floor and text[start - 1] in _EMAIL_LOCAL_CHARS:
            start -= 1
        while start < at and not text[start].isalnum():
            start += 1  # the local part opens with a letter or digit
        if start < at:
            m = _EMAIL_DOMAIN.match(text, at + 1)
            if m:
                spans.append((start, m.end()))
                done = m.end()
        at = text.find("@", at + 1)
    return spans

# YYMMDD, separator (-, or none; a space is seen in scanned forms), gender/century digit, 6 digits.
RRN = re.compile(r"(?<![\d-])(\d{2})(\d{2})(\d{2})\s?(-?)\s?([1-8])(\d{6})(?![\d-])")
_RRN_WEIGHTS = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
# The gender digit gives the century: 1,2 Koreans born 1900-1999, 3,4 born 2000+; 5,6 / 7,8 the same for
# foreigners (외국인등록번호). 9,0 (born 1800s) are not accepted: nobody alive has one.
_CENTURY = {"1": 1900, "2": 1900, "3": 2000, "4": 2000, "5": 1900, "6": 1900, "7": 2000, "8": 2000}


def rrn_check_digit(first12: str) -> int:
    """check = (11 - Σ digit·weight mod 11) mod 10, weights 2,3,4,5,6,7,8,9,2,3,4,5 (행정자치부 scheme)."""
    return (11 - sum(int(d) * w for d, w in zip(first12, _RRN_WEIGHTS)) % 11) % 10


def is_rrn(yy: str, mm: str, dd: str, gender: str, serial: str, hyphenated: bool) -> bool:
    """Valid birth date and gender digit, and:
    - Koreans (1-4): a correct check digit. Numbers issued since October 2020 have random last digits and
      no check digit; we accept those only when hyphenated and born in 2020 or later (gender 3/4).
    - foreigners (5-8): their check digit uses another, undocumented offset, so a valid date and gender
      digit are enough, and only when hyphenated (a bare 13-digit run is too often some other code).
    """
    year = _CENTURY[gender] + int(yy)
    month, day = int(mm), int(dd)
    if not 1 <= month <= 12 or not 1 <= day <= calendar.monthrange(year, month)[1]:
        return False
    digits = yy + mm + dd + gender + serial
    if gender in "1234":
        if rrn_check_digit(digits[:12]) == int(digits[12]):
            return True
        return hyphenated and gender in "34" and year >= 2020
    return hyphenated


# Card numbers: 4-4-4-4 (1-7 digits last), Amex 4-6-5, or 13-19 contiguous digits.
CARD = re.compile(r"(?<![\d-])(?:\d{4}([- ])\d{4}\1\d{4}\1\d{1,7}|\d{4}([- ])\d{6}\2\d{5}|\d{13,19})(?![\d-])")
# Issuer prefixes (first digit 3-6: Amex/JCB/Diners, Visa, Mastercard, Discover/UnionPay; 9: Korean domestic
# cards, grouped form only). 978/979 are ISBN-13 / EAN bookland prefixes.
_CARD_FIRST_DIGITS = "3456"


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def is_card(number: str) -> bool:
    digits = re.sub(r"\D", "", number)
    if not 13 <= len(digits) <= 19 or digits.startswith(("978", "979")) or not luhn_ok(digits):
        return False
    grouped = len(digits) != len(number)
    return digits[0] in _CARD_FIRST_DIGITS or (grouped and digits[0] == "9")


_SEP = r"[-. ]"
PHONE = re.compile(
    r"(?<![\dA-Za-z.-])(?:"
    # mobile: 010-1234-5678, 011-123-4567, with -, . or space, or none (01012345678)
    r"01[016789](?:" + _SEP + r"?)\d{3,4}(?:" + _SEP + r"?)\d{4}"
    # landline and 070: separators required, a bare 9-11 digit run is too often something else; an opening
    # parenthesis is part of the number only when it closes after the area code ((02) 123-4567), so that
    # "(02-123-4567)" keeps both of its parentheses around the placeholder
    r"|(?:\((?=0(?:2|[3-6][1-5]|70)\)))?0(?:2|[3-6][1-5]|70)\)?(?:" + _SEP + r"|\)\s?)\d{3,4}" + _SEP + r"\d{4}"
    # +82 forms: +82-10-1234-5678, +82 (0)2 123 4567, +821012345678
    r"|\+82" + _SEP + r"?(?:\(0\)\s?)?(?:1[016789]|2|[3-6][1-5]|70)" + _SEP + r"?\d{3,4}" + _SEP + r"?\d{4}"
    r")(?![\d-])"
)

# Account numbers: 2-6 digit groups (110-123-456789, 1002-123-456789, 123-456789-01-001) or a bare 10-14
# digit run, only within 20 non-digit characters after a banking word.
ACCOUNT = re.compile(
    r"(?P<context>계좌|은행|입금|송금|예금주|무통장|농협|신협|새마을금고|우체국|카카오뱅크|케이뱅크|토스뱅크)"
    # the gap may hold a "<" ("계좌 <110-...>"), but not a placeholder an earlier kind left (<PHONE>)
    r"(?P<gap>(?:[^\d\n<]|<(?![A-Z]+>)){0,20}?)"
    r"(?P<number>(?<!\d)(?:\d{2,6}-\d{2,6}-\d{2,7}(?:-\d{1,3})?|\d{10,14})(?![\d-]))"
)

_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
IPV4 = re.compile(r"(?<![\d.])" + _OCTET + r"(?:\." + _OCTET + r"){3}(?!\.?\d)")
# Version context: a version word in the 12 characters before ("현재 버전은 0.1.2.2", "v1.2.3.4") or right
# after ("3.3.0.0 버전"). kowiki has such versions (bench/quality/ko_filters_calibrate.py printed them).
_VERSION_BEFORE = re.compile(r"(?:\bv|\bver\.?|\bversion|버전|판)", re.IGNORECASE)
# (?<!\s): matched right after the address's last digit; as a search it would rescan a run of spaces from
# each of its positions.
_VERSION_AFTER = re.compile(r"(?<!\s)\s*(?:버전|판|version)", re.IGNORECASE)
# Article numbers: 제32.5.2.1조 (kowiki, 국제동물학명칭규정), 3.1.2.4절.
_ARTICLE_AFTER = re.compile(r"[조항절장]")


def is_ip(m: re.Match) -> bool:
    """A dotted quad that is not a version, article number (제32.5.2.1조), netmask or 0.x."""
    if m.group().startswith(("0.", "255.")):  # 0.x is no host address, 255.x a netmask or broadcast
        return False
    text, start, end = m.string, m.start(), m.end()
    if (start and text[start - 1] == "제") or _ARTICLE_AFTER.match(text, end):
        return False
    return not (_VERSION_BEFORE.search(text, max(0, start - 12), start) or _VERSION_AFTER.match(text, end))


# Cheap first passes: each starts with a plain digit class, which Python's regex engine scans for quickly,
# while the full patterns open with a lookbehind and are tried at every position (CARD ran at ~5k 2 KB
# docs/s alone; bench/speed/pii_speed.py). Only text that passes the first pass gets the full pattern.
_ANY_DIGIT_OR_AT = re.compile(r"[\d@]")
PREFILTERS = {
    "rrn": re.compile(r"\d{6}\s?-?\s?\d{7}"),
    "card": re.compile(r"\d{4}[- ]?\d{4}[- ]?\d{2}"),  # 10+ digits in 4-4-2 or 4-6: never 010-1234-5678
    "phone": re.compile(r"\d[-. )]{0,2}\d{3,4}[-. ]?\d{4}"),
    "account": re.compile(r"\d{2,6}-\d{2,6}-\d|\d{10}"),
    "ip": re.compile(r"\d\.\d{1,3}\.\d{1,3}\.\d"),
}


@register_step("pii_mask_v1")
class PiiMask(Annotator):
    """Replace e-mails, RRNs, cards, phones, bank accounts and IPv4 addresses with typed placeholders."""

    name = "🔒 PII mask"
    columns: ClassVar[dict[str, type]] = {"pii_count": int}

    def __init__(
        self,
        # Which kinds to mask, out of email, rrn, card, phone, account, ip (the order they are applied in is
        # fixed: e-mails first so their digits are gone before the number patterns run).
        kinds: list[str] = list(KINDS),  # noqa: B006  (never mutated)
    ):
        super().__init__()
        unknown = sorted(set(kinds) - set(KINDS))
        if unknown:
            raise ConfigError(f"pii_mask_v1.kinds: unknown kind(s) {unknown}; valid: {', '.join(KINDS)}")
        self.kinds = tuple(k for k in KINDS if k in kinds)

    def mask(self, text: str) -> tuple[str, dict[str, int]]:
        """The masked text and the number of replacements per kind."""
        counts = dict.fromkeys(self.kinds, 0)
        # Without a digit or an @ there is nothing any pattern can match: most lines of most documents.
        if not _ANY_DIGIT_OR_AT.search(text):
            return text, counts

        def sub(kind: str, pattern: re.Pattern, keep) -> None:
            nonlocal text
            if not PREFILTERS[kind].search(text):
                return

            def repl(m: re.Match) -> str:
                if not keep(m):
                    return m.group()
                counts[kind] += 1
                return PLACEHOLDERS[kind]

            text = pattern.sub(repl, text)

        for kind in self.kinds:
            if kind == "email":
                text = self._emails(text, counts)
            elif kind == "rrn":
                sub("rrn", RRN, lambda m: is_rrn(*m.group(1, 2, 3, 5, 6), hyphenated=bool(m.group(4))))
            elif kind == "card":
                sub("card", CARD, lambda m: is_card(m.group()))
            elif kind == "phone":
                sub("phone", PHONE, lambda m: True)
            elif kind == "account" and PREFILTERS["account"].search(text):
                text = ACCOUNT.sub(lambda m: self._account(m, counts), text)
            elif kind == "ip":
                sub("ip", IPV4, is_ip)
        return text, counts

    @staticmethod
    def _emails(text: str, counts: dict[str, int]) -> str:
        spans = find_emails(text) if "@" in text else []
        if not spans:
            return text
        counts["email"] += len(spans)
        pieces, done = [], 0
        for start, end in spans:
            pieces += [text[done:start], PLACEHOLDERS["email"]]
            done = end
        pieces.append(text[done:])
        return "".join(pieces)

    @staticmethod
    def _account(m: re.Match, counts: dict[str, int]) -> str:
        # Korean bank accounts have 10-14 digits; fewer is a date or a reference (입금일 2023-01-05)
        if not 10 <= sum(ch.isdigit() for ch in m.group("number")) <= 14:
            return m.group()
        counts["account"] += 1
        return m.group("context") + m.group("gap") + PLACEHOLDERS["account"]

    def annotate(self, doc: Document) -> None:
        doc.text, counts = self.mask(doc.text)
        total = 0
        for kind, n in counts.items():
            if n:
                self.stat_update(f"pii_{kind}", value=n)
                total += n
        doc.metadata["pii_count"] = total
