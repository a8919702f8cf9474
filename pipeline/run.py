"""`pipeline run`: the stages of pipeline/stages.py in order, in the run directory, then `summary.json`.

Each stage resumes by one rule (pipeline/stages.py); `--restart` deletes the run directory first (only one this
tool made: pipeline/rundir.py). Temp files left by a killed run (`*.tmp-<pid>`) are removed first. After every
stage the documents are counted: documents_in == documents_kept + every drop, or the run fails (exit 1).
A remote output (s3://...) runs in a local staging directory, uploaded as shards and stages finish.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path

import yaml

from core.atomic import atomic_path, write_json
from core.config import JobConfig
from core.errors import RunError
from core.redact import redact_obj
from pipeline import rundir, stages, summary
from pipeline.executor import Executor
from pipeline.layout import shard_ids
from pipeline.read import shard_paths
from pipeline.storage import RemoteRun, is_remote


def run_job(job: JobConfig, restart: bool = False, log=print) -> dict:
    """Run the job in its run directory, holding the directory's lock (pipeline/rundir.py) throughout."""
    remote = RemoteRun(job.output, job.execution.staging_dir) if is_remote(job.output) else None
    run_dir = remote.local if remote else Path(job.output)
    rundir.check_usable(run_dir, restart)
    run_dir.mkdir(parents=True, exist_ok=True)
    with rundir.RunLock(run_dir):
        if remote:
            remote.prepare(restart)
        rundir.claim(run_dir, restart and not remote)
        return _run_locked(job, run_dir, remote, log)


def _run_locked(job: JobConfig, run_dir: Path, remote: RemoteRun | None, log) -> dict:
    stale = rundir.remove_stale_tmp(run_dir)
    if stale:
        log(f"removed {len(stale)} temp file(s) left by an interrupted run")
    started, t0 = datetime.now(timezone.utc).isoformat(timespec="seconds"), time.time()
    config_as_run = redact_obj(job.model_dump(mode="json"))
    with atomic_path(run_dir / "config.yaml") as tmp:
        tmp.write_text(yaml.safe_dump(config_as_run, allow_unicode=True, sort_keys=False), encoding="utf-8")
    paths = shard_paths(job.input, f"{job.source_path}: input.paths" if job.source_path else "input.paths")
    log(f"ko-curate: {len(paths)} input shard(s) → {run_dir}")
    executor = Executor(job.execution)
    parallelism = executor.parallelism
    ctx = stages.Context(job, run_dir, executor, list(zip(paths, shard_ids(paths))), log=log,
                         sync=(lambda *_: remote.push()) if remote else (lambda *_: None))
    figures = summary.Summary(len(paths))

    def write_summary() -> None:
        write_json(run_dir / "summary.json", figures.finish(started, t0, config_as_run, job, paths, parallelism))
        ctx.sync()

    try:
        stages.run_stages(ctx, figures.add, write_summary)
        rundir.remove_stale_tmp(run_dir)  # every task has returned: temp files now are from lost workers
    finally:
        executor.shutdown()
    write_summary()
    failed = figures.final["shards_failed"]
    if paths and len(failed) == len(paths) and all(not f["partial"] for f in failed):
        raise RunError(f"every input shard failed; first error: {failed[0]['error']}")
    return figures.final
