"""Ray's overhead on the per-document pass: the same shards in one plain process vs embedded Ray with 1 and 2 CPUs.

    python bench/speed/ray_overhead.py [--repeat N] [--modes local,ray1,ray2]

The bundled sample (`data/sample/*.warc.gz`, 400 records in 4 shards) is copied N times (default 5) into a
temp dir, and `configs/ko-web.yaml` runs over the copies through `pipeline.run.run_job` with the barrier
stages off (dedup, mix, tokenize, report, line_dedup = None), once per mode, in this process:

- local: `execution.backend: local`, one process; CPU seconds of this process.
- ray1 / ray2: embedded Ray started with num_cpus=1 / 2 (one shard task per CPU). Ray workers are not our
  children, so CPU seconds = the pass's wall seconds × the CPUs Ray was given (an upper bound).

Printed per mode: wall seconds of the whole run, of Ray's start (run seconds minus the shard pass), of the
shard pass alone; CPU seconds; documents/s per core (records / CPU seconds); the ratio of the shard pass to
the local one (ray1 ≤ 1.2 is the goal: same single core, Ray's scheduling + serialization + worker start);
and each step's summed seconds from summary.json (time per step inside the shard tasks).
"""

from __future__ import annotations

import argparse
import copy
import shutil
import tempfile
import time
from pathlib import Path

from bench.harness import ROOT, cpu_seconds, stage_shards
from pipeline.job import load_config
from pipeline.run import run_job


def run_mode(mode: str, job, out: Path) -> dict:
    job = copy.deepcopy(job)
    job.output = str(out)
    if mode == "local":
        job.execution.backend = "local"
        cpus = 1
    else:
        job.execution.backend = "ray"
        cpus = job.execution.num_cpus = int(mode.removeprefix("ray"))
    c0, t0 = cpu_seconds(), time.perf_counter()
    summary = run_job(job, restart=True, log=lambda *_: None)
    wall = time.perf_counter() - t0
    process = summary["stage_seconds"]["extract"] + summary["stage_seconds"]["steps"]  # the per-shard work
    cpu = cpu_seconds() - c0 if mode == "local" else process * cpus
    return {"mode": mode, "documents": summary["documents_in"], "wall_s": wall, "ray_start_s": wall - process,
            "process_s": process, "cpu_s": cpu, "docs_per_s_per_core": summary["documents_in"] / cpu,
            "steps": {k: v["seconds"] for k, v in summary["steps"].items()}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5, help="copies of each bundled shard")
    ap.add_argument("--modes", default="local,ray1,ray2")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="ray-overhead-"))
    try:
        shards = stage_shards(str(ROOT / "data" / "sample" / "*.warc.gz"), tmp, args.repeat)
        job = load_config(str(ROOT / "configs" / "ko-web.yaml"), {"input.paths": [str(tmp / "*.warc.gz")]})
        job.dedup = job.mix = job.tokenize = job.report = None
        if hasattr(job, "line_dedup"):
            job.line_dedup = None
            job.steps = [s for s in job.steps if s["step"] != "line_dedup_v1"]
        rows = [run_mode(m, job, tmp / f"run-{m}") for m in args.modes.split(",")]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    base = next((r["process_s"] for r in rows if r["mode"] == "local"), None)
    print(f"{len(shards)} shards, {rows[0]['documents']} records")
    print(f"{'mode':6} {'wall s':>7} {'ray start s':>11} {'pass s':>7} {'CPU s':>7} {'docs/s/core':>11} {'pass/local':>10}")
    for r in rows:
        ratio = f"{r['process_s'] / base:.2f}" if base else "-"
        print(f"{r['mode']:6} {r['wall_s']:7.1f} {r['ray_start_s']:11.1f} {r['process_s']:7.1f} {r['cpu_s']:7.1f} "
              f"{r['docs_per_s_per_core']:11.1f} {ratio:>10}")
    print("\nseconds per step (summed over shard tasks):")
    names = list(rows[0]["steps"])
    print(f"{'step':26} " + " ".join(f"{r['mode']:>7}" for r in rows))
    for n in names:
        print(f"{n:26} " + " ".join(f"{r['steps'].get(n, 0):7.2f}" for r in rows))


if __name__ == "__main__":
    main()
