"""RSS 2.0, RDF (RSS 1.0) and Atom feeds → one document of text.

Korean blogs and news sites publish whole articles in their feeds. The WARC reader sends a payload here when
its content type is a feed type (`application/rss+xml`, `application/atom+xml`, `application/rdf+xml`) or
when its root element is `<rss>`, `<feed>` or `<rdf:RDF>` (also under `text/xml`, `application/xml` and a
mislabelled `text/html`). `feed_text(decoded)` returns the items' titles and descriptions (Atom: entry
title, summary, content), one item per paragraph, with the HTML inside descriptions (escaped or CDATA)
extracted to text and every character reference decoded.

The feed is decoded like a page (`decode_html`: byte order mark, HTTP charset, the XML declaration's
`encoding=`, UTF-8, the detector), then cut into items by a tolerant scan instead of an XML parser: real
feeds are often not well-formed (unescaped `&`, HTML in titles, truncated files), and without a parser no
DTD is read, so entity-expansion attacks (billion laughs) expand nothing. Memory and time are linear in the
payload, which the reader has already capped at `input.max_payload_bytes`.
"""

from __future__ import annotations

import html as html_lib
import re

FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/rdf+xml")
XML_TYPES = ("text/xml", "application/xml")

# The root element after an optional BOM, XML declaration, comments, processing instructions and DOCTYPE.
_ROOT = re.compile(rb"^(?:\xef\xbb\xbf)?\s*(?:<\?[^>]*>\s*|<!--.*?-->\s*|<!DOCTYPE[^\[>]*(?:\[.*?\])?\s*>\s*)*"
                   rb"<((?:[\w.-]+:)?[\w.-]+)", re.S | re.I)
_KINDS = {"rss": "rss", "feed": "atom", "rdf": "rdf"}

# Attributes as `[^<>]`, not `[^>]`: a tag ends before the next `<`, so a run of `<title ` without `>` is not
# rescanned from every `<` (quadratic: 32 KB took 3 s).
_ITEM_START = re.compile(r"<(?:[\w.-]+:)?(?:item|entry)\b[^<>]*>", re.I)
_ITEM_END = re.compile(r"</(?:[\w.-]+:)?(?:item|entry)\s*>", re.I)
# The fields kept, in this order within an item. content:encoded (RSS) and content (Atom) hold the full
# article where the feed has it; description/summary is then usually its first lines, and is kept only when
# it is not already contained in the content.
# Other namespaces' titles and descriptions (media:title, itunes:summary) are not the item's own.
_FIELD = re.compile(r"<(content:encoded|(?:atom:)?(?:title|description|summary|content))\b([^<>]*?)(/?)>", re.I)
_CDATA = re.compile(r"<!\[CDATA\[(.*?)(?:\]\]>|$)", re.S)


def feed_kind(payload: bytes) -> str | None:
    """"rss", "atom" or "rdf" when the payload's root element is a feed's; None otherwise."""
    head = payload[:4096]
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):  # UTF-16 (or UTF-32 LE): look at it as ASCII
        enc = "utf-32-le" if head[:4] == b"\xff\xfe\x00\x00" else ("utf-16-le" if head[:2] == b"\xff\xfe" else "utf-16-be")
        head = head.decode(enc, "ignore").lstrip("\ufeff").encode("utf-8", "ignore")
    m = _ROOT.match(head)
    if not m:
        return None
    name = m.group(1).decode("ascii", "ignore").lower().rsplit(":", 1)[-1]
    return _KINDS.get(name)


def feed_text(doc: str) -> str:
    """The items of a decoded feed as text: per item its title, then its content (or description/summary),
    items separated by a blank line."""
    items = []
    starts = list(_ITEM_START.finditer(doc))
    for i, m in enumerate(starts):
        end = starts[i + 1].start() if i + 1 < len(starts) else len(doc)
        close = _ITEM_END.search(doc, m.end(), end)
        fields = _fields(doc[m.end() : close.start() if close else end])
        lines = []
        title = fields.get("title")
        if title:
            lines.append(title)
        body = fields.get("content") or fields.get("encoded")
        summary = fields.get("description") or fields.get("summary")
        if summary and (not body or summary.replace(" ", "") not in body.replace(" ", "")):
            lines.append(summary)
        if body:
            lines.append(body)
        if lines:
            items.append("\n".join(lines))
    return "\n\n".join(items)


def _fields(item: str) -> dict[str, str]:
    """The first title, description, summary, content and content:encoded of one item, as text."""
    out: dict[str, str] = {}
    pos = 0
    while True:
        m = _FIELD.search(item, pos)
        if not m:
            return out
        qname, attrs, empty = m.group(1), m.group(2), m.group(3)
        local = qname.lower().rsplit(":", 1)[-1]
        pos = m.end()
        if empty:
            continue
        close = re.compile(r"</" + re.escape(qname) + r"\s*>", re.I).search(item, pos)
        raw = item[pos : close.start() if close else len(item)]
        pos = close.end() if close else len(item)
        if local in out:
            continue
        text = _to_text(raw, xhtml="xhtml" in attrs.lower())
        if text:
            out[local] = text


def _to_text(raw: str, xhtml: bool) -> str:
    """A field's value as text: CDATA is HTML as written; otherwise the value is XML-escaped once (escaped
    HTML in an RSS description) unless it is inline XHTML (Atom type="xhtml"). Character references, numeric
    and named, come out as characters, whatever charset the feed was in."""
    if "<![CDATA[" in raw:
        value = _CDATA.sub(lambda m: m.group(1), raw)
    elif xhtml:
        value = raw
    else:
        value = html_lib.unescape(raw)
    if "<" not in value and "&" not in value:
        return " ".join(value.split())
    from resiliparse.extract.html2text import extract_plain_text

    # The fragment is the article itself: no main-content detection (it would drop a short description).
    text = extract_plain_text(value, preserve_formatting=True, main_content=False, list_bullets=False,
                              alt_texts=False, comments=False)
    return "\n".join(" ".join(line.split()) for line in text.splitlines() if line.strip())
