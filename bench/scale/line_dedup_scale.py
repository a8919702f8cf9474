"""Line-dedup pre-pass and step speed and memory on kowiki articles with planted site footers.

    python bench/scale/line_dedup_scale.py [--articles 10000] [--shards 8] [--group-size 2]

Writes `--shards` JSONL shards of Korean Wikipedia articles (../shared/data/kowiki-ref.jsonl.gz) to a temp dir,
each article followed by one of 20 made-up site footers and a byline template, runs `prepass` (local executor)
and then `line_dedup_v1` over every document. Prints documents/s of both, peak RSS, and what was removed.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import Counter
from pathlib import Path

from datatrove.data import Document

from bench.harness import SHARED, jsonl_records, peak_rss_mib, shared_data
from core.config import ExecutionConfig, InputConfig, JobConfig
from filters.line_dedup import LineDedup
from pipeline.executor import Executor
from pipeline.repeated_lines import Config, document_texts, prepass

FOOTERS = [f"저작권자 © 뉴스{i} 무단 전재 및 재배포 금지 | 회사소개 | 광고문의 | 개인정보처리방침" for i in range(20)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--articles", type=int, default=10000)
    ap.add_argument("--shards", type=int, default=8)
    ap.add_argument("--group-size", type=int, default=2)
    ap.add_argument("--shared", default=str(SHARED))
    args = ap.parse_args()
    kowiki = shared_data(Path(args.shared) / "kowiki-ref.jsonl.gz")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        outs = [open(tmp / f"s{i:02d}.jsonl", "w", encoding="utf-8") for i in range(args.shards)]
        for i, d in zip(range(args.articles), jsonl_records(kowiki)):
            text = f"{d['text']}\n{i % 97}번째 기자 kim{i}@example.com 제보 바랍니다\n{FOOTERS[i % 20]}"
            outs[i % args.shards].write(json.dumps({"id": d["id"], "text": text}, ensure_ascii=False) + "\n")
        for o in outs:
            o.close()
        job = JobConfig(input=InputConfig(paths=[str(tmp / "*.jsonl")]), execution=ExecutionConfig(backend="local"))
        t = time.time()
        fig = prepass(Config(group_size=args.group_size), job, tmp / "run", Executor(job.execution))
        t_pre = time.time() - t
        step = LineDedup(frequent_lines_path=str(tmp / "run/line_dedup/frequent_lines.npy"))
        docs = [Document(text=txt, id=str(i), metadata={})
                for p in sorted(tmp.glob("*.jsonl")) for i, (_, txt) in enumerate(document_texts(str(p), job))]
        before = {d.id + "/" + str(k): d.text for k, d in enumerate(docs)}
        t = time.time()
        for d in docs:
            step.filter(d)
        t_step = time.time() - t
        # removed lines that were not planted: false positives on clean Wikipedia text
        unplanted: Counter = Counter()
        for k, d in enumerate(docs):
            kept = set(d.text.split("\n"))
            for ln in before[d.id + "/" + str(k)].split("\n")[:-2]:
                if ln.strip() and ln not in kept:
                    unplanted[ln.strip()[:80]] += 1
    rss = peak_rss_mib()
    print(f"documents {fig['documents']}, lines counted {fig['document_lines']}, distinct {fig['distinct_lines']}, "
          f"frequent {fig['frequent_lines']}")
    print(f"pre-pass {t_pre:.1f}s ({fig['documents'] / t_pre:,.0f} docs/s); step {t_step:.1f}s "
          f"({len(docs) / t_step:,.0f} docs/s); peak RSS {rss:.0f} MB (this process, documents held for the step)")
    print(f"removed: {step.stats['line_dedup_lines_removed'].total} lines, "
          f"{step.stats['line_dedup_bytes_removed'].total / 1e6:.2f} MB; article lines (not planted) removed: "
          f"{sum(unplanted.values())}")
    for ln, c in unplanted.most_common(6):
        print(f"  {c:4d} × {ln}")


if __name__ == "__main__":
    main()
