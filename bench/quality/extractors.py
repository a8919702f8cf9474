"""Compare HTML→text extractors (resiliparse, trafilatura) on the bundled sample's Korean article pages.

    python bench/quality/extractors.py                 # all article pages of data/sample, one core
    python bench/quality/extractors.py --sample DIR --repeat 3 --kinds article,near_duplicate

For every setting it prints one table row: pages/s on one core (CPU time of this single process, so other load on
the machine matters less than for wall time), how much article text survives, how much boilerplate survives, and
whether paragraph breaks survive (the filters work on lines). A second table does the same for the comment-board
pages: whether short user comments (real Korean web text) are kept.

Ground truth comes from each page's DOM, not from the generator: article text is the `<p>` elements without a
class inside `[itemprop=articleBody]` (see data/sample_pages.py); boilerplate is every other text line of the body
(a "line" is the text between block-element boundaries) except the `<h1>` title. Lines inside the article
container that are not article paragraphs (photo credit, byline, copyright) are counted apart as "in-body".
"""

from __future__ import annotations

import argparse
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import trafilatura
from resiliparse.extract.html2text import extract_plain_text
from resiliparse.parse.html import HTMLTree, NodeType
from warcio.archiveiterator import ArchiveIterator

from bench.harness import ROOT, cpu_seconds, read_manifest

BLOCK_TAGS = {"address", "article", "aside", "blockquote", "body", "br", "dd", "div", "dl", "dt", "figcaption",
              "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav",
              "ol", "p", "section", "table", "td", "th", "tr", "ul", "button"}
SKIP_TAGS = {"script", "style", "noscript", "template", "head", "title"}
_WS = re.compile(r"\s+")
# Sentence ends: Korean prose ends sentences with "다." etc., so splitting after . ! ? is enough for recall.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
MIN_SENTENCE_CHARS = 8  # shorter fragments ("1." in statutes) would match anywhere by chance
# Boilerplate lines shorter than this must match a whole output line: site names and menu words (4-5 chars)
# occur inside longer lines; "사진=연합뉴스" (7) does not.
MIN_SUBSTRING_CHARS = 6
_BULLET = re.compile(r"^(?:[•◦▪\-*]|\d+\.)\s+")  # list bullets some extractors add in front of <li> text

SETTINGS = {
    "resiliparse main_content": lambda h: extract_plain_text(h, main_content=True),
    "resiliparse main_content, no formatting": lambda h: extract_plain_text(h, main_content=True,
                                                                            preserve_formatting=False),
    "resiliparse main_content, lean": lambda h: extract_plain_text(h, main_content=True, post_meta=False,
                                                                   alt_texts=False, list_bullets=False),
    "resiliparse all text": lambda h: extract_plain_text(h, main_content=False),
    # datatrove's Trafilatura extractor defaults: favour_precision=True, include_comments=False, deduplicate=True.
    "trafilatura precision (datatrove)": lambda h: trafilatura.extract(h, favor_precision=True, include_comments=False,
                                                                       deduplicate=True),
    "trafilatura default": lambda h: trafilatura.extract(h, include_comments=False),
    "trafilatura recall": lambda h: trafilatura.extract(h, favor_recall=True, include_comments=False),
}


def norm(text: str) -> str:
    return _WS.sub(" ", text).strip()


@dataclass
class Truth:
    html: str
    paragraphs: list[str]
    title: str
    chrome: list[str] = field(default_factory=list)  # boilerplate lines outside the article container
    in_body: list[str] = field(default_factory=list)  # non-article lines inside it (credit, byline, copyright)


def _is_article_paragraph(node) -> bool:
    return node.tag == "p" and not node.getattr("class") and node.parent is not None and (
        node.parent.getattr("itemprop") == "articleBody")


def _lines(node, truth: Truth, inside_body: bool, current: list[str]) -> None:
    """Split the DOM into lines at block boundaries; file each line under chrome or in-body boilerplate."""
    def flush():
        text = norm("".join(current))
        if len(text) >= 2:
            (truth.in_body if inside_body else truth.chrome).append(text)
        current.clear()

    for child in node.child_nodes:
        if child.type == NodeType.TEXT:
            current.append(child.text)
        elif child.type == NodeType.ELEMENT and child.tag not in SKIP_TAGS:
            if child.tag not in BLOCK_TAGS:
                _lines(child, truth, inside_body, current)
                continue
            flush()
            if child.tag == "h1" or _is_article_paragraph(child):
                continue
            _lines(child, truth, inside_body or child.getattr("itemprop") == "articleBody", current)
            flush()


def ground_truth(html: str) -> Truth:
    tree = HTMLTree.parse(html)
    body = tree.body.query_selector("[itemprop=articleBody]")
    paragraphs = [norm(p.text) for p in body.query_selector_all("p") if not p.getattr("class")]
    h1 = tree.body.query_selector("h1")
    truth = Truth(html, paragraphs, norm(h1.text) if h1 else "")
    _lines(tree.body, truth, False, [])
    return truth


def load_pages(sample: Path, kinds: set[str]) -> list[tuple[str, str]]:
    """(kind, decoded html) for every response whose manifest kind is in `kinds`, decoded with its real charset."""
    manifest = read_manifest(sample / "manifest.jsonl")
    pages = []
    for shard in sorted(sample.glob("*.warc.gz")):
        with open(shard, "rb") as f:
            for record in ArchiveIterator(f):
                if record.rec_type != "response":
                    continue
                m = manifest[record.rec_headers.get_header("WARC-Target-URI")]
                if m["kind"] in kinds:
                    pages.append((m["kind"], record.content_stream().read().decode(m["charset"])))
    return pages


@dataclass
class Score:
    sentences: int = 0
    sentences_found: int = 0
    chrome: int = 0
    chrome_found: int = 0
    in_body: int = 0
    in_body_found: int = 0
    breaks: int = 0
    breaks_kept: int = 0
    out_chars: int = 0
    noise_chars: int = 0
    empty: int = 0
    survivors: Counter = field(default_factory=Counter)  # boilerplate lines that survived, by text


def score_page(truth: Truth, output: str | None, s: Score) -> None:
    output = output or ""
    if not output.strip():
        s.empty += 1
    flat = norm(output)
    leftover = flat
    for paragraph in truth.paragraphs:
        for sentence in _SENTENCE_END.split(paragraph):
            if len(sentence) < MIN_SENTENCE_CHARS:
                continue
            s.sentences += 1
            if sentence in flat:
                s.sentences_found += 1
                leftover = leftover.replace(sentence, " ")
    if truth.title:  # after the sentences: titles are often words inside them ("기피" in "기피신청")
        leftover = leftover.replace(truth.title, " ")
    # A short boilerplate line ("경제", a site name) counts only when it is a whole output line; as a substring it
    # would match inside any longer surviving line ("ⓒ 한빛일보, 무단전재 ...").
    output_lines = {norm(ln) for ln in output.splitlines()}
    output_lines |= {_BULLET.sub("", ln) for ln in output_lines}
    for lines, attr in ((truth.chrome, "chrome"), (truth.in_body, "in_body")):
        for line in lines:
            setattr(s, attr, getattr(s, attr) + 1)
            if line in output_lines or (len(line) >= MIN_SUBSTRING_CHARS and line in leftover):
                setattr(s, attr + "_found", getattr(s, attr + "_found") + 1)
                s.survivors[line] += 1
    # A paragraph break survives when the next paragraph starts right after a newline in the raw output.
    for nxt in truth.paragraphs[1:]:
        head = nxt[:20]
        at = output.find(head)
        if at >= 0:
            s.breaks += 1
            before = output[:at].rstrip(" \t")
            s.breaks_kept += before.endswith("\n")
    s.out_chars += len(flat)
    s.noise_chars += len(norm(leftover))


def run_setting(extract, truths: list[Truth], repeat: int) -> tuple[float, float, Score, list[str | None]]:
    outputs = [extract(t.html) for t in truths[:5]]  # warm caches and lazy imports before timing
    cpu0, wall0 = cpu_seconds(), time.perf_counter()
    for _ in range(repeat):
        outputs = [extract(t.html) for t in truths]
    cpu, wall = cpu_seconds() - cpu0, time.perf_counter() - wall0
    score = Score()
    for truth, out in zip(truths, outputs):
        score_page(truth, out, score)
    n = len(truths) * repeat
    return n / cpu, n / wall, score, outputs


def pct(a: int, b: int) -> str:
    return f"{100 * a / b:5.1f}%" if b else "    -"


def comment_recall(pages: list[str], extract) -> tuple[int, int]:
    found = total = 0
    for html in pages:
        tree = HTMLTree.parse(html)
        out = norm(extract(html) or "")
        for p in tree.body.query_selector_all("li.comment p.text"):
            total += 1
            found += norm(p.text) in out
    return found, total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sample", type=Path, default=ROOT / "data" / "sample")
    parser.add_argument("--kinds", default="article", help="manifest kinds to score (comma-separated)")
    parser.add_argument("--repeat", type=int, default=1, help="timing passes over the pages")
    parser.add_argument("--only", default="", help="substring: run only settings whose name contains it")
    parser.add_argument("--show", type=int, default=0, help="also print the N commonest surviving boilerplate lines")
    args = parser.parse_args(argv)

    kinds = set(args.kinds.split(","))
    truths = [ground_truth(html) for _, html in load_pages(args.sample, kinds)]
    comments = [html for _, html in load_pages(args.sample, {"comments"})]
    print(f"{len(truths)} pages ({args.kinds}) from {args.sample}, {args.repeat} timing pass(es), one process\n")
    header = (f"{'setting':42} {'pages/s cpu':>11} {'wall':>6} {'article':>8} {'chrome':>7} {'in-body':>8} "
              f"{'noise':>6} {'breaks':>7} {'empty':>5} {'comments':>9}")
    print(header)
    print("-" * len(header))
    for name, extract in SETTINGS.items():
        if args.only and args.only not in name:
            continue
        cpu_rate, wall_rate, s, _ = run_setting(extract, truths, args.repeat)
        c_found, c_total = comment_recall(comments, extract)
        print(f"{name:42} {cpu_rate:11.0f} {wall_rate:6.0f} {pct(s.sentences_found, s.sentences):>8} "
              f"{pct(s.chrome_found, s.chrome):>7} {pct(s.in_body_found, s.in_body):>8} "
              f"{pct(s.noise_chars, s.out_chars):>6} {pct(s.breaks_kept, s.breaks):>7} {s.empty:5d} "
              f"{pct(c_found, c_total):>9}")
        for line, count in s.survivors.most_common(args.show):
            print(f"    {count:4d}  {line[:90]}")
    print("\narticle: share of article sentences found in the output; chrome / in-body: share of boilerplate lines\n"
          "(outside / inside the article container) that survive; noise: share of output characters that are not\n"
          "article sentences or the title; breaks: share of paragraph boundaries that are still a newline; empty:\n"
          "pages with no output; comments: share of comment-board reviews kept.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
