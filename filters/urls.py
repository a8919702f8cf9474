"""`url_blocklist_v1`: drops documents whose URL host or a parent domain is listed: in configs/url_blocklist.txt
(reason `url_blocklist`) or in the configured categories of the UT1 blacklists that datatrove ships (reason
`url_blocklist:ut1_<category>`). Hosts are read from the right and capped at 253 characters (RFC 1035), so a
hostile host of 50,000 labels costs what its last 253 characters cost.
"""

# No `from __future__ import annotations` here: the config keys are validated against `__init__`'s annotations
# (core/steps.py), which must be the `Ut1Categories` type itself, not a string naming it.

import hashlib
import io
import json
import os
import tarfile
import zipfile
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

from filters.korean import _read_data_lines
from core.errors import ConfigError
from core.atomic import atomic_path, sha256_file
from core.models import cache_dir, cached, resolve_model_path
from core.steps import register_step
from core.text import nfc


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
    """The domains of some UT1 categories as a sorted array of their 64-bit hashes (`domain_hash`), with the
    category of each. Measured on datatrove's merged list (4,558,940 domains) with `python
    bench/speed/url_blocklist.py` on a shared 2-core machine: a frozenset of the strings takes 5.8-6.7 s and
    ~490 MB per worker; this index 40 MB (RSS +64 MB) and adds ~10 µs per document (8 µs without UT1, 17 with).
    Built once per machine and tarball (6.6 s) and kept in the cache directory (`load_ut1`), so a worker reads
    it in 0.03 s instead of hashing 4.6 M lines. A host that is not listed matches a listed hash with
    probability 4.6e6 / 2^64 = 2.5e-13 per parent domain looked up: about one false drop in 10^12 documents."""

    hashes: np.ndarray  # int64, sorted, unique
    category: np.ndarray  # uint8 index into `categories`, the first configured category listing the domain
    categories: tuple[str, ...]

    def lookup(self, domain: str) -> str | None:
        h = domain_hash(domain)
        i = int(np.searchsorted(self.hashes, h))
        if i < len(self.hashes) and self.hashes[i] == h:
            return self.categories[self.category[i]]
        return None


def domain_hash(domain: str) -> int:
    """A 64-bit hash that is the same in every process (Python's own str hash is seeded per process), so the
    index can be built once and cached."""
    return int.from_bytes(hashlib.blake2b(domain.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little",
                          signed=True)


def _ut1_hashes(f) -> np.ndarray:
    # UT1's domains are lowercase ASCII, one a line; the rare other line (an IDN in Unicode, a trailing dot)
    # is normalized as our own list is. Blank and `#` lines are skipped (a host of "." would match a blank one).
    lines = map(str.lower, map(str.strip, io.TextIOWrapper(f, encoding="utf-8", errors="replace")))
    return np.fromiter((domain_hash(d if d.isascii() and d[-1] != "." and d[0] != "*" else normalize_host(d))
                        for d in lines if d and d[0] != "#"), dtype=np.int64)


_UT1_CACHE_VERSION = 1  # bump when the hash or the normalization changes


def load_ut1(path: str, categories: tuple[str, ...]) -> Ut1Index:
    """The index of `categories` of the tarball at `path`: from the cache directory (`core.models.cache_dir`)
    when it was built before for a tarball with these bytes (sha256: 20 ms for datatrove's 17 MB) and these
    categories, else built and cached. A cache that cannot be written (read-only home) only costs the build."""
    check_ut1_categories(list(categories), path)
    key = hashlib.sha256(json.dumps([_UT1_CACHE_VERSION, sha256_file(path), list(categories)]).encode()).hexdigest()[:20]
    cached_file = cache_dir() / "ut1" / f"{key}.npz"
    try:
        with np.load(cached_file) as z:
            return Ut1Index(z["hashes"], z["category"], categories)
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):  # none yet, or damaged: build it again
        pass
    index = _build_ut1(path, categories)
    try:
        with atomic_path(cached_file) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, hashes=index.hashes, category=index.category)
    except OSError:
        pass
    return index


def _build_ut1(path: str, categories: tuple[str, ...]) -> Ut1Index:
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
