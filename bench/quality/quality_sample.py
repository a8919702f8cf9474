"""Quality scores of the bundled sample's pages, per page kind (data/sample/manifest.jsonl), with a model.

    python bench/quality/quality_sample.py [--model models/ko-quality/ko-quality.ftz]

Pages are read and extracted as `pipeline run` does. None of them was in the default model's training data
(trainers/quality_data.py leaves the sample's articles, statutes and reviews out), so this is an unseen check.
"""

from __future__ import annotations

import argparse
import statistics
from collections import defaultdict

from datatrove.data import Document

from bench.harness import ROOT, read_manifest
from core.config import InputConfig, JobConfig, expand_inputs
from filters.quality import QualityScore
from pipeline.repeated_lines import document_texts


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=str(ROOT / "models/ko-quality/ko-quality.ftz"))
    args = ap.parse_args()
    kinds = {url: m["kind"] for url, m in read_manifest(ROOT / "data/sample/manifest.jsonl").items()}
    job = JobConfig(input=InputConfig(paths=[str(ROOT / "data/sample/*.warc.gz")]))
    docs = [Document(text=t, id=u, metadata={}) for p in expand_inputs(job.input.paths)
            for u, t in document_texts(p, job)]
    QualityScore(model_path=args.model).annotate_batch(docs)
    by = defaultdict(list)
    for d in docs:
        by[kinds.get(d.id, "?")].append(d.metadata["quality_score"])
    print(f"{'kind':20s} {'pages':>5s} {'mean':>6s} {'min':>6s} {'max':>6s} {'>=0.5':>6s}")
    for kind, s in sorted(by.items(), key=lambda kv: -statistics.mean(kv[1])):
        print(f"{kind:20s} {len(s):5d} {statistics.mean(s):6.3f} {min(s):6.3f} {max(s):6.3f} "
              f"{sum(x >= 0.5 for x in s) / len(s):6.1%}")


if __name__ == "__main__":
    main()
