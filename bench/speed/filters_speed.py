"""Throughput of the Korean signal and heuristic steps, in documents per second on one core.

    python bench/speed/filters_speed.py [--data ../shared/data] [--docs 2000]

Documents are 2,000-character slices of kowiki-ref text (articles concatenated, then cut), the size of an
extracted web page. Each step runs alone on fresh Document objects (so no step reuses another's cached
split), then the whole chain runs as the pipeline would, sharing the eojeol/line split. One process, one
thread: the figure is per core.
"""

from __future__ import annotations

import argparse
import os
import time

from datatrove.data import Document

from bench.harness import SHARED, jsonl_texts, shared_data
from filters.c4_fineweb import C4LinesKo, FineWebQualityKo
from filters.gopher import GopherQualityKo, GopherRepetitionKo
from filters.signals import KoQualityFilter, KoSignals

DOC_CHARS = 2000


def kowiki_slices(path: str, n_docs: int) -> list[str]:
    docs, buf = [], ""
    for text in jsonl_texts(path):
        buf += text + "\n"
        while len(buf) >= DOC_CHARS and len(docs) < n_docs:
            docs.append(buf[:DOC_CHARS])
            buf = buf[DOC_CHARS:]
        if len(docs) >= n_docs:
            break
    return docs


def run_step(step, doc: Document) -> bool:
    if isinstance(step, KoSignals):
        step.annotate(doc)
        return True
    result = step.filter(doc)
    return result[0] if isinstance(result, tuple) else result


def docs_per_second(steps: list, texts: list[str]) -> float:
    docs = [Document(text=t, id=str(i)) for i, t in enumerate(texts)]
    t0 = time.perf_counter()
    for doc in docs:
        for step in steps:
            if not run_step(step, doc):
                break
    return len(docs) / (time.perf_counter() - t0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(SHARED))
    ap.add_argument("--docs", type=int, default=2000)
    args = ap.parse_args()
    texts = kowiki_slices(shared_data(os.path.join(args.data, "kowiki-ref.jsonl.gz")), args.docs)
    steps = {
        "ko_signals_v1": KoSignals(),
        "ko_quality_v1": KoQualityFilter(),
        "gopher_repetition_v1": GopherRepetitionKo(),
        "gopher_quality_ko_v1": GopherQualityKo(),
        "c4_lines_ko_v1": C4LinesKo(),
        "fineweb_quality_ko_v1": FineWebQualityKo(),
    }
    print(f"{len(texts)} kowiki documents of {DOC_CHARS} characters, one core")
    for name, step in steps.items():
        print(f"  {name:24s} {docs_per_second([step], texts):8.0f} docs/s")
    chain = [steps[n] for n in ("ko_signals_v1", "ko_quality_v1", "c4_lines_ko_v1", "gopher_repetition_v1",
                                "gopher_quality_ko_v1", "fineweb_quality_ko_v1")]
    print(f"  {'all six, chained':24s} {docs_per_second(chain, texts):8.0f} docs/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
