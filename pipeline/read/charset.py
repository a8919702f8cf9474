"""Decode HTML payloads: byte order marks, header and meta charsets, the detector; character references.

`decode_html(payload, header_charset)` returns (text, charset used, clean) and never raises, whatever the bytes
and the label. EUC-KR and its aliases decode as CP949. `unescape_refs` turns character references in text
read as text (WET, JSONL, Parquet, feeds) into characters. Used by the readers (pipeline/read/readers.py,
pipeline/read/warc.py) and by extraction (pipeline/extracted.py).
"""

from __future__ import annotations

import codecs
import functools
import re

import numpy as np

_CHARSET_RE = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-:.]+)""", re.I)
# An XML declaration's encoding= is a feed's (or an XHTML page's) meta charset.
_XML_ENCODING_RE = re.compile(rb"""^\s*<\?xml[^>]+encoding\s*=\s*["']\s*([A-Za-z0-9_\-:.]+)""", re.I)


def charset_from_content_type(ctype: str) -> str | None:
    m = re.search(r"charset\s*=\s*[\"']?([A-Za-z0-9_\-:.]+)", ctype, re.I)
    return m.group(1).lower() if m else None


# Korean legacy names all decode as cp949 (a superset of EUC-KR: it also has the 8,822 extra syllables that
# real "euc-kr" pages use). Python's euc_kr codec would fail on those.
_ALIASES = {"euc-kr": "cp949", "euc_kr": "cp949", "euckr": "cp949", "ks_c_5601-1987": "cp949",
            "ks_c_5601": "cp949", "ksc5601": "cp949", "x-windows-949": "cp949", "windows-949": "cp949",
            "uhc": "cp949", "utf8": "utf-8", "unicode": "utf-8"}
# Labels that name a Python codec but never a page's charset: they raise on any input (undefined), turn
# backslash escapes into lone surrogates (unicode_escape), or are not ASCII-compatible, which a label inside
# the page cannot be (UTF-16/32 without a byte order mark: a page in them is sniffed by its BOM instead).
_REFUSED = {"undefined", "unicode-escape", "raw-unicode-escape", "idna", "punycode", "utf-7", "utf-16",
            "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be", "mbcs", "oem"}


@functools.lru_cache(maxsize=256)
def _norm_charset(name: str | None) -> str | None:
    """A decodable charset for a label from a header or the page, or None for an unknown or unusable one."""
    if not name:
        return None
    name = name.strip().lower()
    name = _ALIASES.get(name, name)
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError):  # ValueError: a label with a NUL in it
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name in _REFUSED:
        return None  # base64, zlib, rot13 ... are codecs, not charsets
    return name


_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe\x00\x00", "utf-32-le"), (b"\x00\x00\xfe\xff", "utf-32-be"),
         (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))  # UTF-32 LE first: it begins like UTF-16 LE


def sniff_bom(payload: bytes) -> tuple[str, int] | None:
    """(charset, BOM length) when the payload starts with a byte order mark. A BOM outranks every declared
    charset (the HTML standard's encoding sniffing does the same)."""
    for bom, cs in _BOMS:
        if payload.startswith(bom):
            return cs, len(bom)
    return None


_HANGUL = re.compile("[\uac00-\ud7a3]")


def decode_html(payload: bytes, header_charset: str | None) -> tuple[str, str, bool]:
    """Decode an HTML (or XML) payload. Returns (text, charset used, clean) — clean is False when bytes were
    replaced. Never raises, whatever the bytes and the charset label.

    Order: a byte order mark, then the HTTP header charset, then <meta charset> (or the XML declaration's
    encoding), then UTF-8, then charset-normalizer's guess. A declared charset that fails to decode strictly is
    not trusted (a wrong header is common); the next is tried. A header charset other than UTF-8 that decodes
    (a single-byte one always does) but yields no Hangul from a non-ASCII page is checked against the others:
    the meta charset, UTF-8 and, when the meta charset contradicts the header or the header is a single-byte
    charset, the detector; the first that decodes strictly and yields Hangul wins (a UTF-8 or EUC-KR page
    served as iso-8859-1). The common case -- a header
    that says UTF-8 and decodes -- costs one decode, as before.
    """
    bom = sniff_bom(payload)
    if bom is not None:
        cs, skip = bom
        try:
            return payload[skip:].decode(cs), cs, True
        except UnicodeError:
            return payload[skip:].decode(cs, errors="replace"), cs, False
    header = _norm_charset(header_charset)
    meta = _meta_charset(payload)
    candidates: list[str] = []
    for cs in (header, meta, "utf-8"):
        if cs and cs not in candidates:
            candidates.append(cs)
    for cs in candidates:
        try:
            text = payload.decode(cs)
        except (UnicodeError, LookupError):  # UnicodeError: codecs such as "undefined" raise it, not a subclass
            continue
        if cs == header and cs != "utf-8" and not _HANGUL.search(text) and not payload.isascii():
            # The detector is slow (milliseconds): asked only when the page contradicts its header, or when
            # the header is a single-byte charset, whose decoding never fails and so proves nothing.
            better = _hangul_decoding(payload, [c for c in candidates if c != cs],
                                      detector=bool(meta and meta != cs) or _single_byte(cs))
            if better is not None:
                return better
        return text, cs, True
    guess = _detect(payload)
    if guess is not None:
        try:
            return payload.decode(guess), guess, True
        except (UnicodeError, LookupError):
            return payload.decode(guess, errors="replace"), guess, False
    return payload.decode("utf-8", errors="replace"), "utf-8", False


@functools.lru_cache(maxsize=64)
def _single_byte(charset: str) -> bool:
    """Every byte decodes to one character (iso-8859-*, windows-125*, koi8-r ...): any bytes decode."""
    try:
        return len(bytes(range(256)).decode(charset)) == 256
    except (UnicodeError, LookupError):
        return False


def _hangul_decoding(payload: bytes, charsets: list[str], detector: bool) -> tuple[str, str, bool] | None:
    """The first of `charsets` (then the detector's guess) that decodes strictly and yields Hangul."""
    if detector:
        charsets = charsets + [cs for cs in [_detect(payload)] if cs and cs not in charsets]
    for cs in charsets:
        try:
            text = payload.decode(cs)
        except (UnicodeError, LookupError):
            continue
        if _HANGUL.search(text):
            return text, cs, True
    return None


def _detect(payload: bytes) -> str | None:
    from charset_normalizer import from_bytes

    try:
        best = from_bytes(payload[:200_000]).best()
    except Exception:  # noqa: BLE001 - a detector failure only means no guess
        return None
    return _norm_charset(best.encoding) if best is not None else None


def _meta_charset(payload: bytes) -> str | None:
    head = payload[:4096]
    m = _XML_ENCODING_RE.match(head) or _CHARSET_RE.search(head)
    if not m:
        return None
    cs = _norm_charset(m.group(1).decode("ascii", "ignore"))
    return cs


_CHAR_REF = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")


def unescape_refs(text: str) -> str:
    """Numeric and named character references (`&#54633;`, `&#xD55C;`, `&amp;`) as characters: a page in a
    legacy charset writes what the charset lacks as a reference, and text read as text (WET, JSONL, Parquet)
    still carries them. References to surrogates or NUL come out as U+FFFD (html.unescape follows the HTML
    standard); text without a reference is returned as is, after one search."""
    if "&" not in text or not _CHAR_REF.search(text):
        return text
    import html

    return html.unescape(text)



# --- Korean or not, from the raw bytes (input.prefilter_korean) ----------------------------------------------
#
# Korean is under 1% of a Common Crawl snapshot: every other page is read, decoded and extracted only to be
# dropped by language ID. `hangul_evidence` looks for Hangul in the bytes as they came, in every form a Korean
# page writes it: UTF-8 syllables and EUC-KR/CP949 byte pairs counted with numpy (the pairs only on a page that
# is not valid UTF-8), numeric character references with a regex that stops at `enough`, and a UTF-16/32 page
# with a byte order mark decoded.

# A page with fewer Hangul syllables than this is dropped as `read_no_hangul` when input.prefilter_korean is on.
# Measured (bench/scale/prefilter.py): every Korean page of the bundled sample shows at least 172 (comment boards; 357
# for CP949, 825 for EUC-KR pages), every one of the dev set at least 118 (comment boards; 386 EUC-KR, 452
# CP949); the sample's foreign pages with a Korean menu show 12, a language switcher's "한국어" 3. Under 10,
# hangul_ratio >= 0.4 and 25 eojeol (ko_quality_v1, gopher_quality_ko_v1) leave no room for a document the
# default steps would keep.
PREFILTER_MIN_HANGUL = 10

# &#44032; - &#55203; and &#xAC00; - &#xD7A3; (the decimal form a little wider: 44000-55999)
# `&#` alone first: re's literal search is 3x faster than `b"&#" in payload` on pages full of `&` (URLs, scripts).
_NCR_START = re.compile(rb"&#")
_NCR_HANGUL = re.compile(rb"&#(?:4[4-9][0-9]{3}|5[0-5][0-9]{3});|&#[xX]0*(?:[aA][c-fC-F]|[bBcC][0-9a-fA-F]|[dD][0-7])[0-9a-fA-F]{2};")

# The lead bytes of UTF-8 Hangul syllables (U+AC00-U+D7A3)
_UTF8_HANGUL_LEADS = (b"\xea", b"\xeb", b"\xec", b"\xed")


def hangul_evidence(payload: bytes, enough: int) -> int:
    """How many Hangul syllables the raw bytes seem to hold, in UTF-8, as character references, in UTF-16/32
    with a byte order mark, or in EUC-KR/CP949; at most `enough`."""
    a = np.frombuffer(payload, dtype=np.uint8)
    if payload.isascii():  # much of the web that is not Korean: only character references can carry Hangul
        return _count(_NCR_HANGUL, payload, enough) if _NCR_START.search(payload) else 0
    bom = sniff_bom(payload)
    if bom is not None and bom[0] != "utf-8":
        text = payload[bom[1]:].decode(bom[0], errors="replace")
        return min(enough, len(_HANGUL.findall(text)))
    # No EA-ED byte (most non-Korean UTF-8: Latin, Cyrillic, CJK ideographs lead with C2-E9): no UTF-8 Hangul,
    # told by four memchr scans instead of the array pass: 34 -> 29 µs per 33 KB foreign page
    found = min(enough, _utf8_syllables(a)) if any(lead in payload for lead in _UTF8_HANGUL_LEADS) else 0
    if found < enough and _NCR_START.search(payload):
        found += _count(_NCR_HANGUL, payload, enough - found)
    if found < enough and not _valid_utf8(payload):
        found = min(enough, found + _legacy_pairs(a))
    return found


def _valid_utf8(payload: bytes) -> bool:
    try:
        payload.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _utf8_syllables(a) -> int:
    """U+AC00-U+D7A3 in UTF-8 (EA B0 80 - ED 9E A3): a lead byte EA-ED, whose second byte is in the range its
    lead allows (EA: B0-BF, EB/EC: 80-BF, ED: 80-9E), and a continuation byte. Only the positions of lead
    bytes are looked at twice: a page without any costs one pass."""
    at = np.flatnonzero((a[:-2] - 0xEA) <= 3)  # uint8 wraps around: EA-ED
    if not at.size:
        return 0
    lead, second, third = a[at], a[at + 1], a[at + 2]
    ok_second = np.where(lead == 0xEA, (second - 0xB0) <= 0x0F,
                         np.where(lead == 0xED, (second - 0x80) <= 0x1E, (second & 0xC0) == 0x80))
    return int(np.count_nonzero(ok_second & ((third & 0xC0) == 0x80)))


def _legacy_pairs(a) -> int:
    """Byte pairs that are Hangul in EUC-KR (KS X 1001: lead B0-C8, trail A1-FE) or CP949's extended syllables
    (lead 81-C6, trail 41-5A, 61-7A, 81-FE), counted at every position (a run of Hangul counts up to twice:
    the pre-filter errs towards keeping). Asked only of a page that is not valid UTF-8: in UTF-8 text `é`
    (C3 A9) is such a pair."""
    lead, trail = a[:-1], a[1:]
    ks = ((lead - 0xB0) <= 0x18) & ((trail - 0xA1) <= 0x5D)
    ext = ((lead - 0x81) <= 0x45) & (((trail - 0x41) <= 0x19) | ((trail - 0x61) <= 0x19) | ((trail - 0x81) <= 0x7D))
    return int(np.count_nonzero(ks | ext))


def _count(pattern: re.Pattern, data: bytes, enough: int) -> int:
    n = 0
    for _ in pattern.finditer(data):
        n += 1
        if n >= enough:
            break
    return n
