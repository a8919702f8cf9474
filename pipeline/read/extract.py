"""HTML → main text. resiliparse by default, trafilatura as an option (`extract.extractor`).

The choice is measured in bench/quality/extractors.py on the bundled sample's Korean pages (speed and how much of the
inserted boilerplate survives); see README "Performance". Both keep line breaks between blocks, because the
line-level filters (boilerplate lines, C4 rules, repetition) work on lines. The text is NFC-normalized here,
once, for every later step.

`extract(html, extractor, meta)` notes in `meta` when it did not use the plain main-content extraction:
`extract_fallback: "depth"` (the page nests deeper than MAX_HTML_DEPTH, see there) or "empty" (the
main-content extraction kept almost nothing of a page full of text; see FALLBACK_*). It raises only
ValueError, TypeError or RuntimeError: whatever else a parser throws on one page is re-raised as a
RuntimeError, so the caller drops that page (`extract_failed`) and goes on. ImportError passes through: a
missing extractor is the installation's fault, not the page's.
"""

from __future__ import annotations

import re

from core.text import nfc

# resiliparse's main-content mode is quadratic in tree depth (bench figures, one chain of nested <div>, this
# machine): depth 512 takes 5 ms, 1,000 18-33 ms, 2,000 74 ms, 8,000 1.2 s, 100,000 does not finish in
# minutes; without main_content, 8,000 takes 5 ms. Real pages nest well under 100. Past 512 the page is
# extracted without main_content: its text survives (with its boilerplate), and a 5 MB page of depth-512
# chains, the worst the cap lets through, costs ~4 s.
MAX_HTML_DEPTH = 512

# Elements that never hold children (void) or that the parser closes by itself when a sibling opens
# (p, li, td ...): counting them would make ordinary pages look deep.
_NOT_NESTING = frozenset(
    "area base br col embed hr img input link meta param source track wbr keygen "
    "p li td th tr dt dd option optgroup thead tbody tfoot colgroup caption rb rt rtc rp".split())
# `[^<>]`: a tag ends before the next `<`; with `[^>]` a run of `<a ` without `>` was rescanned from every `<`
# (quadratic: 32 KB took 5 s); the lookahead ends the name where its characters end, so a long name with no
# `>` is not split in every way between the name and the attributes.
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9:-]*)(?![A-Za-z0-9:-])[^<>]*?(/?)>")


def html_depth(html: str, stop_at: int | None = None) -> int:
    """The deepest nesting of elements, counted by one linear scan of the tags (not a parse: unclosed tags
    count as open, stray closing tags are ignored). Stops early once `stop_at` is exceeded."""
    depth = deepest = 0
    for closing, name, self_closing in _TAG.findall(html):
        name = name.lower()
        if self_closing or name in _NOT_NESTING:
            continue
        if closing:
            if depth:
                depth -= 1
        else:
            depth += 1
            if depth > deepest:
                deepest = depth
                if stop_at is not None and deepest > stop_at:
                    return deepest
    return deepest


_GATE_CHUNK = 8192


def too_deep(html: str, max_depth: int = MAX_HTML_DEPTH) -> bool:
    """Whether the page nests deeper than `max_depth`. A page with fewer tags than that cannot: most pages
    stop at one count. Otherwise a gate keeps a running balance of opening and closing tags per 8 KiB chunk,
    counted in C (str.count): void and comment tags count as openings, so the balance never falls below the
    depth, and only a page whose balance passes the cap gets the exact scan (`html_depth`). The gate costs
    ~0.15 ms on a 75 KB page of 6,000 tags (resiliparse: ~10 ms); the exact scan ~4.5 ms, paid by pages with
    many void tags and by the deep ones."""
    if html.count("<") <= max_depth:
        return False
    running = 0
    for i in range(0, len(html), _GATE_CHUNK):
        chunk = html[i : i + _GATE_CHUNK]
        closes = chunk.count("</")
        opens = chunk.count("<") - closes
        if running + opens > max_depth:
            return html_depth(html, stop_at=max_depth) > max_depth
        running = max(0, running + opens - closes)
    return False


def extract_resiliparse(html: str, main_content: bool = True) -> str:
    from resiliparse.extract.html2text import extract_plain_text

    # "lean" in bench/quality/extractors.py: 100% of article sentences, 7.5% of page-chrome lines and 0% of in-article
    # bylines/photo credits survive, 99.5% of paragraph breaks kept, ~5,000 pages/s per core (trafilatura: ~260).
    # preserve_formatting must stay on: without it every line break is lost and the line filters go blind.
    return extract_plain_text(
        html, preserve_formatting=True, main_content=main_content, list_bullets=False, alt_texts=False,
        post_meta=False, comments=False,
    )


def extract_trafilatura(html: str) -> str:
    import trafilatura

    # The settings datatrove's Trafilatura extractor uses (favor_precision, no comments, no tables off).
    return trafilatura.extract(html, favor_precision=True, include_comments=False, deduplicate=False) or ""


EXTRACTORS = {"resiliparse": extract_resiliparse, "trafilatura": extract_trafilatura}


# Fallback when the main-content extraction keeps (almost) nothing of a page that has text: the page's own
# structure fooled the content detector (a forum post in nested tables, an article outside <article>/<main>).
# "Almost nothing": under FALLBACK_MAX_CHARS and under FALLBACK_RATIO of the visible text, from a page with at
# least FALLBACK_MIN_VISIBLE visible characters (a few Korean sentences). The bundled sample has no such page
# (its 388 HTML pages extract identically with and without it).
FALLBACK_MAX_CHARS = 200
FALLBACK_RATIO = 0.05
FALLBACK_MIN_VISIBLE = 500


def extract(html: str, extractor: str, meta: dict | None = None, max_depth: int = MAX_HTML_DEPTH,
            min_chars: int = 1) -> str:
    """The page's main text, NFC, stripped. `meta` (the record's) gets `extract_fallback` when the text came
    from a fallback: "depth" (nested past `max_depth`) or "empty" (the main-content extraction kept almost
    nothing of a page with text; the other extractor's text, else all visible text, is used). Raises only
    ValueError, TypeError or RuntimeError (and ImportError: a missing extractor is not the page's fault)."""
    try:
        if too_deep(html, max_depth):
            # Both extractors walk the tree per node; past the cap only resiliparse's plain mode is linear.
            fallback, text = "depth", extract_resiliparse(html, main_content=False)
        else:
            fallback, text = None, EXTRACTORS[extractor](html)
            if len(text) < max(FALLBACK_MAX_CHARS, min_chars) and len(html) > FALLBACK_MIN_VISIBLE:
                better = _fallback(html, extractor, text, min_chars)
                if better is not None:
                    fallback, text = "empty", better
        if fallback and meta is not None:
            meta["extract_fallback"] = fallback
        return nfc(text).strip()
    except (ValueError, TypeError, RuntimeError, ImportError):  # resiliparse's HTMLParserException: ValueError
        raise
    except Exception as e:  # noqa: BLE001 - whatever one page does to a parser is that page's drop
        raise RuntimeError(f"{extractor} failed: {type(e).__name__}: {e}") from e


def _fallback(html: str, extractor: str, text: str, min_chars: int) -> str | None:
    """A better text than `text` when the page's visible text is plentiful and `text` is a sliver of it."""
    visible = extract_resiliparse(html, main_content=False)
    n = len(visible.strip())
    if n < FALLBACK_MIN_VISIBLE or (len(text.strip()) >= FALLBACK_RATIO * n and len(text.strip()) >= min_chars):
        return None
    other = "resiliparse" if extractor == "trafilatura" else "trafilatura"
    try:
        alt = EXTRACTORS[other](html).strip()
    except ImportError:  # trafilatura is optional (it needs lxml_html_clean): go on with the visible text
        alt = ""
    if len(alt) >= FALLBACK_RATIO * n and len(alt) >= min_chars:
        return alt
    return visible
