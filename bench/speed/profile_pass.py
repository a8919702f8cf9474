"""Where the per-document pass spends its time: `run_job` with the local backend under cProfile.

    python bench/speed/profile_pass.py [--input GLOB] [--repeat N] [--top 30] [--no-profile [--rounds N]]
                                       [--config configs/ko-web.yaml [--config B ...]] [--dedup]

The shards (default: the bundled sample, `data/sample/*.warc.gz`) are copied `--repeat` times into a temp dir and
`configs/ko-web.yaml` (or `--config`) runs over them in this process with `execution.backend: local` and the
barrier stages off (dedup, mix, tokenize, report = None; the line-dedup pre-pass stays on, as in a real run).
Printed: records, CPU seconds (this process's, around `run_job`), documents/s per core, the summed seconds per
step from summary.json, and cProfile's top functions by own time and by cumulative time. `--no-profile` gives the
figure without cProfile's own overhead (about 1.5x on this code), the one to compare before/after; with `--rounds
N` it runs N times and prints every round's figure and the run with the least CPU (the first round also pays
imports and model loading, and other work on the machine inflates CPU seconds by up to ~30%). Two or more
`--config` compare configs: their runs alternate within each round, so a busy spell hits them alike, and the ratio
of their best rates is printed, with the median of the rounds' paired ratios. `--dedup` keeps the dedup stage (the
whole chain up to documents/).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import sys
import tempfile
from pathlib import Path

from bench.harness import ROOT, cpu_seconds, stage_shards
from pipeline.job import load_config
from pipeline.run import run_job


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--input", default=str(ROOT / "data/sample/*.warc.gz"))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--top", type=int, default=30)
    ap.add_argument("--config", action="append",
                    help="a job config (default configs/ko-web.yaml); twice or more with --no-profile: an A/B, "
                         "the configs' runs interleaved round by round")
    ap.add_argument("--dedup", action="store_true", help="keep the dedup stage (the whole chain to documents/)")
    ap.add_argument("--no-profile", action="store_true")
    ap.add_argument("--rounds", type=int, default=1, help="with --no-profile: runs, keep the least CPU")
    args = ap.parse_args()
    configs = args.config or [str(ROOT / "configs/ko-web.yaml")]
    if (args.rounds > 1 or len(configs) > 1) and not args.no_profile:
        ap.error("--rounds and a second --config need --no-profile")
    os.chdir(ROOT)
    prof = None if args.no_profile else cProfile.Profile()
    best: dict[str, tuple[float, dict]] = {}
    rates: dict[str, list[float]] = {c: [] for c in configs}
    with tempfile.TemporaryDirectory(prefix="profile-pass-") as tmp:
        tmp = Path(tmp)
        stage_shards(args.input, tmp / "in", args.repeat)
        jobs = {}
        for config in configs:
            job = load_config(str(Path(config).resolve()), {
                "input.paths": [str(tmp / "in" / "*.warc.gz")], "output": str(tmp / "run"),
                "execution.backend": "local"})
            barrier = {"mix": None, "tokenize": None, "report": None} | ({} if args.dedup else {"dedup": None})
            jobs[config] = job.model_copy(update=barrier)
        for r in range(args.rounds):
            for config, job in jobs.items():
                c0 = cpu_seconds()
                if prof:
                    prof.enable()
                summary = run_job(job, restart=True, log=lambda *a: None)
                if prof:
                    prof.disable()
                cpu = cpu_seconds() - c0
                rates[config].append(summary["documents_in"] / cpu)
                if args.rounds > 1 or len(jobs) > 1:
                    print(f"round {r + 1}, {config}: {summary['documents_in'] / cpu:.1f} docs/s per core")
                if config not in best or cpu < best[config][0]:
                    best[config] = (cpu, summary)
    for config, (cpu, summary) in best.items():
        n = summary["documents_in"]
        print(f"{config}: {n} records, CPU {cpu:.2f} s, {n / cpu:.1f} docs/s per core"
              f"{'' if args.no_profile else ' (under cProfile)'}; stage seconds {summary['stage_seconds']}")
        for name, st in summary["steps"].items():
            print(f"  {name:26} {st['seconds']:7.3f} s  {st['documents_in']:>6} in")
    if len(best) > 1:  # best against best, and the median of the rounds' paired ratios (steadier on a busy host)
        first = configs[0]
        for c in configs[1:]:
            paired = sorted(a / b for a, b in zip(rates[c], rates[first]))
            print(f"{c} / {first}: {max(rates[c]) / max(rates[first]):.2f}x best against best, "
                  f"{statistics.median(paired):.2f}x median of the rounds' ratios ({paired[0]:.2f}-{paired[-1]:.2f})")
    if prof:
        for key in ("tottime", "cumulative"):
            out = io.StringIO()
            pstats.Stats(prof, stream=out).sort_stats(key).print_stats(args.top)
            print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[:12000])
    return 0


if __name__ == "__main__":
    sys.exit(main())
