"""What line dedup removes from the bundled sample, per page kind, for several `min_repeats`.

    python bench/quality/line_dedup_sample.py [--min-repeats 2 3 5] [--input 'data/sample/*.warc.gz']

Runs the pre-pass (pipeline/repeated_lines.py, local executor) into a temporary run directory, then the step
`line_dedup_v1` on every document, and prints the share of lines and bytes removed, documents emptied, the
article lines removed (page kinds from data/sample/manifest.jsonl: what must survive) and the most frequent
removed lines.
"""

from __future__ import annotations

import argparse
import tempfile
from collections import Counter
from pathlib import Path

from datatrove.data import Document

from bench.harness import ROOT, read_manifest
from core.config import ExecutionConfig, InputConfig, JobConfig, expand_inputs
from filters.line_dedup import LineDedup
from pipeline.executor import Executor
from pipeline.repeated_lines import Config, document_texts, prepass


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--min-repeats", type=int, nargs="+", default=[2, 3, 5])
    ap.add_argument("--input", default=str(ROOT / "data/sample/*.warc.gz"))
    args = ap.parse_args()
    kinds = {url: m["kind"] for url, m in read_manifest(ROOT / "data/sample/manifest.jsonl").items()}
    job = JobConfig(input=InputConfig(paths=[args.input]), execution=ExecutionConfig(backend="local"))
    docs = [(url, text) for p in expand_inputs(job.input.paths) for url, text in document_texts(p, job)]
    for n in args.min_repeats:
        with tempfile.TemporaryDirectory() as run_dir:
            figures = prepass(Config(min_repeats=n), job, Path(run_dir), Executor(job.execution))
            step = LineDedup(frequent_lines_path=f"{run_dir}/line_dedup/frequent_lines.npy")
            lines_in = bytes_in = lines_out = bytes_out = emptied = 0
            removed_by_kind: Counter = Counter()
            removed_text: Counter = Counter()
            for url, text in docs:
                before = [ln for ln in text.split("\n") if ln.strip()]
                doc = Document(text=text, id=url or "", metadata={})
                keep = step.filter(doc)
                after = [ln for ln in doc.text.split("\n") if ln.strip()]
                lines_in += len(before)
                bytes_in += len(text.encode())
                lines_out += len(after)
                bytes_out += len(doc.text.encode())
                emptied += keep is not True
                rest = Counter(after)
                for ln in before:
                    if rest[ln] > 0:
                        rest[ln] -= 1
                    else:
                        removed_by_kind[kinds.get(url, "?")] += 1
                        removed_text[ln.strip()] += 1
        print(f"\nmin_repeats={n}: {figures['documents']} documents, {figures['frequent_lines']} frequent lines")
        print(f"  lines removed {lines_in - lines_out}/{lines_in} ({(lines_in - lines_out) / lines_in:.1%}), "
              f"bytes removed {bytes_in - bytes_out}/{bytes_in} ({(bytes_in - bytes_out) / bytes_in:.1%}), "
              f"documents emptied {emptied}")
        print(f"  removed lines by page kind: {dict(removed_by_kind.most_common())}")
        for ln, c in removed_text.most_common(8):
            print(f"    {c:4d} × {ln[:90]}")


if __name__ == "__main__":
    main()
