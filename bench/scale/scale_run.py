"""A ≥100,000-document run on embedded Ray: wall time, documents/s and peak RSS of every Ray worker.

    python bench/scale/scale_run.py [--documents 100000] [--per-shard 1000] [--cpus 2] [--keep DIR]

1. Builds `--documents` Korean web pages as Common-Crawl-style `.warc.gz` shards (one gzip member per record,
   `--per-shard` responses each) in a temp dir, from Korean Wikipedia (`../shared/data/kowiki-ref.jsonl.gz`)
   and Naver movie reviews (`nsmc-reviews.jsonl.gz`), seeded:
   - 88% article pages: 4-9 paragraphs, each 2-4 Wikipedia sentences drawn at random (so no paragraph repeats
     across pages and line dedup has only the chrome to find), inside one of 300 sites' templates (menu,
     byline, a site footer with a copyright line: what the line-dedup pre-pass removes);
   - 6% comment boards of 5-12 movie reviews;
   - 3% exact duplicates (an earlier page's HTML under a new URL) and 3% near duplicates (an earlier page
     with one paragraph dropped and a number changed): what the dedup stage should remove.
2. Runs `configs/ko-web.yaml` on them through `pipeline.run.run_job`: line-dedup pre-pass, every
   per-document step, dedup; mix, tokenize and report off; embedded Ray with `num_cpus=--cpus`.
3. Meanwhile a thread samples every process under this one (/proc, every 0.5 s: bench/harness.py): Ray workers
   are the processes whose title starts with `ray::`. Printed: peak RSS of each worker (max over samples, so a
   peak shorter than 0.5 s can be missed), the driver's peak RSS (getrusage(RUSAGE_SELF).ru_maxrss), the summed
   peak of all processes at one instant, CPU seconds of the workers (last sample of each), wall seconds per
   stage, documents/s, and the peak disk size of the pre-pass's extracted copies (pipeline/extracted.py).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import re
import shutil
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from bench.harness import ROOT, SHARED, ProcessTreeSampler, jsonl_records, peak_rss_mib, shared_data
from pipeline.layout import EXTRACTED_DIR
from pipeline.job import load_config
from pipeline.run import run_job

_SENTENCE_END = re.compile(r"(?<=[.!?다])\s+")
MENU = "홈 | 뉴스 | 정치 | 경제 | 사회 | 문화 | 스포츠 | 로그인 | 회원가입"


def load_sentences(limit_articles: int) -> tuple[list[str], list[str]]:
    sentences, titles = [], []
    for d in islice(jsonl_records(SHARED / "kowiki-ref.jsonl.gz"), limit_articles):
        titles.append(d["title"])
        for para in d["text"].split("\n"):
            sentences += [s for s in _SENTENCE_END.split(para.strip()) if len(s) >= 20]
    return sentences, titles


def load_reviews() -> list[str]:
    return [t for t in (d["text"].strip() for d in jsonl_records(SHARED / "nsmc-reviews.jsonl.gz")) if t]


def page_html(site: int, title: str, paragraphs: list[str]) -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (f"<!DOCTYPE html><html lang=\"ko\"><head><meta charset=\"utf-8\"><title>{title} - 사이트{site}</title>"
            f"</head><body><nav>{MENU}</nav><article><h1>{title}</h1><p class=\"byline\">사이트{site} 편집부 기자"
            f"</p>{body}</article><footer><p>사이트{site} | 서울특별시 중구 세종대로 {site} | 대표전화 02-000-{site:04d}"
            f"</p><p>저작권자 © 사이트{site} 무단 전재 및 재배포 금지</p></footer></body></html>")


def build_corpus(out: Path, documents: int, per_shard: int, seed: int) -> dict:
    rng = random.Random(seed)
    sentences, titles = load_sentences(limit_articles=34_510)
    reviews = load_reviews()
    out.mkdir(parents=True, exist_ok=True)
    earlier: list[tuple[int, str, list[str]]] = []  # (site, title, paragraphs) of article pages, for copies
    kinds: dict[str, int] = {}
    writer = fh = None
    for n in range(documents):
        if n % per_shard == 0:
            if fh:
                fh.close()
            fh = open(out / f"scale-{n // per_shard:05d}.warc.gz", "wb")
            writer = WARCWriter(fh, gzip=True)
        site = rng.randrange(300)
        roll = rng.random()
        if roll < 0.03 and earlier:
            kind, (site, title, paragraphs) = "exact_duplicate", rng.choice(earlier)
        elif roll < 0.06 and earlier:
            kind, (_, title, paragraphs) = "near_duplicate", rng.choice(earlier)
            paragraphs = list(paragraphs)
            paragraphs.pop(rng.randrange(len(paragraphs)))
            paragraphs[0] = re.sub(r"\d", lambda m: str((int(m.group()) + 1) % 10), paragraphs[0], count=1)
        elif roll < 0.12:
            kind, title = "comments", "관람객 평점"
            paragraphs = [f"{r} ★{rng.randint(1, 10)}" for r in rng.sample(reviews, rng.randint(5, 12))]
        else:
            kind, title = "article", rng.choice(titles)
            paragraphs = [" ".join(rng.sample(sentences, rng.randint(2, 4))) for _ in range(rng.randint(4, 9))]
            if len(earlier) < 20_000:
                earlier.append((site, title, paragraphs))
        kinds[kind] = kinds.get(kind, 0) + 1
        payload = page_html(site, title, paragraphs).encode("utf-8")
        http = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                                           ("Content-Length", str(len(payload)))], protocol="HTTP/1.1")
        url = f"https://site{site}.example/{kind}/{n}"
        writer.write_record(writer.create_warc_record(url, "response", payload=io.BytesIO(payload),
                                                      http_headers=http))
    if fh:
        fh.close()
    return kinds


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--documents", type=int, default=100_000)
    ap.add_argument("--per-shard", type=int, default=1000)
    ap.add_argument("--cpus", type=int, default=2)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--keep", help="build the corpus here and keep it (reused if it exists)")
    args = ap.parse_args()
    if not args.keep or not (Path(args.keep) / "kinds.json").exists():
        shared_data(SHARED / "kowiki-ref.jsonl.gz", SHARED / "nsmc-reviews.jsonl.gz")
    os.chdir(ROOT)
    tmp = Path(tempfile.mkdtemp(prefix="scale-run-"))
    corpus = Path(args.keep) if args.keep else tmp / "input"
    try:
        t = time.perf_counter()
        if not (corpus / "kinds.json").exists():
            kinds = build_corpus(corpus, args.documents, args.per_shard, args.seed)
            (corpus / "kinds.json").write_text(json.dumps(kinds))
        kinds = json.loads((corpus / "kinds.json").read_text())
        size = sum(p.stat().st_size for p in corpus.glob("*.warc.gz"))
        print(f"corpus: {sum(kinds.values())} pages in {len(list(corpus.glob('*.warc.gz')))} shards, "
              f"{size / 1e6:.0f} MB gzipped, built in {time.perf_counter() - t:.0f} s; {kinds}")

        job = load_config(str(ROOT / "configs/ko-web.yaml"), {
            "input.paths": [str(corpus / "*.warc.gz")], "output": str(tmp / "run"),
            "execution.backend": "ray", "execution.num_cpus": args.cpus})
        job = job.model_copy(update={"mix": None, "tokenize": None, "report": None})
        sampler = ProcessTreeSampler(interval=0.5, watch_dir=tmp / "run" / EXTRACTED_DIR)
        t = time.perf_counter()
        summary = run_job(job, restart=True, log=lambda *a: None)
        wall = time.perf_counter() - t
        sampler.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    n = summary["documents_in"]
    print(f"the extract stage's copies ({EXTRACTED_DIR}, kept for resume): "
          f"peak {sampler.dir_bytes / 2**20:.0f} MiB on disk, sampled; input {size / 2**20:.0f} MiB")
    print(f"documents in {n}, kept {summary['documents_kept']}; wall {wall:.0f} s, {n / wall:.0f} documents/s "
          f"on {args.cpus} CPUs ({n / wall / args.cpus:.0f} per CPU); stage seconds {summary['stage_seconds']}")
    dedup = summary.get("stages", {}).get("dedup", {})
    print(f"dropped: {summary['documents_dropped']}; dedup figures: "
          f"{ {k: v for k, v in dedup.items() if not isinstance(v, (dict, list))} }")
    children = {pid: rss for pid, rss in sampler.rss.items() if pid != sampler.me}
    workers = {pid: children[pid] for pid in sampler.ray_workers() if pid in children}
    print(f"Ray workers seen: {len(workers)}; peak RSS per worker (MiB, sampled every 0.5 s): "
          + ", ".join(f"{rss / 2**20:.0f}" for rss in sorted(workers.values(), reverse=True)))
    if workers:
        print(f"max worker peak RSS {max(workers.values()) / 2**20:.0f} MiB; worker CPU seconds (last sample) "
              f"{sum(sampler.cpu[p] for p in workers):.0f}")
    others = sorted(((rss, sampler.name[pid]) for pid, rss in children.items() if pid not in workers), reverse=True)[:4]
    print("largest other processes (MiB): " + ", ".join(f"{rss / 2**20:.0f} {name[:40]}" for rss, name in others))
    print(f"driver peak RSS {peak_rss_mib():.0f} MiB; all processes at "
          f"one instant, peak {sampler.total_rss / 2**20:.0f} MiB; load average now {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
