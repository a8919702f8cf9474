"""Cost of url_blocklist_v1 with the UT1 blacklists: load time and memory per worker, lookup cost per document.

    python bench/speed/url_blocklist.py [--categories merged] [--ut1-path PATH] [--repeat 5]

Loads the configured UT1 categories from the tarball (datatrove's copy by default, see UT1_TARBALL in
filters/urls.py) the way a worker does, once, and prints the load time and how much the process grew (RSS,
and its peak while loading). Then times `filter()` per document, the best of `--repeat` rounds (the machine
is shared; the best round is the least disturbed), on the URLs of data/sample/manifest.jsonl, of the dev
set when /tmp/ko-devset/manifest.jsonl exists, and of a list of real Korean sites, with UT1 on and off
(`ut1_categories: []`), so the difference is what UT1 adds per document. A frozenset of the same domains is
loaded too, for comparison (`--no-set` skips it: it needs ~0.5 GB).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time

from datatrove.data import Document

from bench.harness import ROOT, peak_rss_mib, rss_mib
from filters.urls import UT1_TARBALL, UrlBlocklist, load_ut1, ut1_members

KOREAN_SITES = ["naver.com", "news.naver.com", "blog.naver.com", "daum.net", "kakao.com", "tistory.com",
                "chosun.com", "joongang.co.kr", "donga.com", "hani.co.kr", "yna.co.kr", "kbs.co.kr", "namu.wiki",
                "dcinside.com", "coupang.com", "yes24.com", "korea.kr", "snu.ac.kr", "ko.wikipedia.org"]


def urls() -> list[str]:
    out = []
    for path in (ROOT / "data/sample/manifest.jsonl", "/tmp/ko-devset/manifest.jsonl"):
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                out += [json.loads(line)["url"] for line in f if line.strip()]
    return out + [f"https://{d}/article/{i}" for i, d in enumerate(KOREAN_SITES)]


def per_doc_us(step: UrlBlocklist, docs: list[Document], repeat: int) -> float:
    for d in docs[:1]:
        step.filter(d)  # loads the lists
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        for d in docs:
            step.filter(d)
        best = min(best, time.perf_counter() - t)
    return best / len(docs) * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ut1-path", default=UT1_TARBALL)
    ap.add_argument("--categories", nargs="*", default=["merged"])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--no-set", action="store_true", help="skip the frozenset comparison")
    a = ap.parse_args()

    t = time.perf_counter()
    members = ut1_members(a.ut1_path)
    print(f"tarball {a.ut1_path}: {os.path.getsize(a.ut1_path) / 2**20:.1f} MB, categories: "
          f"{', '.join(sorted(members))} (listed in {time.perf_counter() - t:.2f} s)")
    os.environ["KO_CURATE_CACHE"] = tempfile.mkdtemp(prefix="ko-curate-cache-")  # an empty cache: built first
    before = rss_mib()
    t = time.perf_counter()
    index = load_ut1(a.ut1_path, tuple(a.categories))
    build_s = time.perf_counter() - t
    peak = peak_rss_mib()
    t = time.perf_counter()
    load_ut1(a.ut1_path, tuple(a.categories))  # what every later worker on this machine does
    load_s = time.perf_counter() - t
    print(f"UT1 {','.join(a.categories)}: {len(index.hashes):,} domains; index built and cached in {build_s:.2f} s, "
          f"read from the cache in {load_s:.3f} s; index {index.hashes.nbytes / 2**20 + index.category.nbytes / 2**20:.0f} MB, "
          f"RSS +{rss_mib() - before:.0f} MB (process peak {peak:.0f} MB)")
    shutil.rmtree(os.environ.pop("KO_CURATE_CACHE"))
    del index

    docs = [Document(text="본문", id=str(i), metadata={"url": u}) for i, u in enumerate(urls())]
    on = per_doc_us(UrlBlocklist(ut1_path=a.ut1_path, ut1_categories=a.categories), docs, a.repeat)
    off = per_doc_us(UrlBlocklist(ut1_categories=[]), docs, a.repeat)
    print(f"filter() on {len(docs):,} URLs: {on:.1f} µs/doc with UT1, {off:.1f} µs/doc without "
          f"(UT1 adds {on - off:.1f} µs/doc)")

    if not a.no_set:
        import tarfile

        before = rss_mib()
        t = time.perf_counter()
        with tarfile.open(a.ut1_path, "r:*") as tar:
            as_set = frozenset(line.strip().decode() for c in a.categories for line in tar.extractfile(members[c]))
        print(f"for comparison, a frozenset of the same domains: {time.perf_counter() - t:.2f} s, "
              f"RSS +{rss_mib() - before:.0f} MB ({len(as_set):,} domains)")


if __name__ == "__main__":
    main()
