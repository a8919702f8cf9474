"""`pipeline run`: every shard through the per-document steps (Ray tasks), then the barrier stages, then
`summary.json`, with the accounting checked.

Resume: a shard whose `stats/<shard_id>.json` exists (written after its Parquet files were renamed into
place) is not run again; stages keep their own completion markers. `--restart` deletes the run directory.
Temp files left by a killed run (`*.tmp-<pid>`) are removed first. A write that fails (disk full) stops the
run with a RunError naming the shard or stage; it never leaves a file under a final name.
The run fails (exit 1) if documents are not conserved: documents_in == documents_kept + sum(dropped).
"""

from __future__ import annotations

import importlib.metadata
import shutil
import sys
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import yaml

from pipeline import rundir, stages
from core.atomic import atomic_path, write_json
from core.config import JobConfig
from core.errors import RunError
from pipeline.executor import Executor
from pipeline.extracted import EXTRACTED_DIR
from pipeline.fingerprint import shard_ids
from core.redact import redact, redact_obj
from pipeline.read import shard_paths
from pipeline.shard import process_shard
from pipeline.storage import RemoteRun, is_remote

VERSIONED = ("ko-curate", "datatrove", "ray", "pyarrow", "fasttext-numpy2-wheel", "resiliparse", "trafilatura",
             "warcio", "datasketch", "kenlm", "sentencepiece", "numpy", "torch")


def package_versions() -> dict[str, str]:
    out = {"python": sys.version.split()[0]}
    for name in VERSIONED:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out


def merge_shard_stats(all_stats: list[dict]) -> dict:
    dropped: Counter = Counter()
    fallbacks: Counter = Counter()
    steps: dict[str, dict] = {}
    counters: dict[str, Counter] = {}
    out = {"documents_in": 0, "documents_kept": 0, "bytes_in": 0, "bytes_kept": 0}
    failed = []
    for st in all_stats:
        for k in out:
            out[k] += st[k]
        dropped.update(st["documents_dropped"])
        fallbacks.update(st.get("extract_fallbacks") or {})
        if st.get("error"):
            failed.append({"shard": st["shard"], "error": st["error"], "partial": st["partial"],
                           "documents_read": st["documents_in"]})
        for name, s in st["steps"].items():
            agg = steps.setdefault(name, {"documents_in": 0, "documents_out": 0, "bytes_out": 0, "seconds": 0.0})
            for k in agg:
                agg[k] += s[k]
        for name, c in st.get("counters", {}).items():
            counters.setdefault(name, Counter()).update(c)
    for name, agg in steps.items():
        agg["seconds"] = round(agg["seconds"], 3)
        agg["counters"] = dict(sorted(counters.get(name, {}).items()))
    out["documents_dropped"] = dict(sorted(dropped.items()))
    out["shards_failed"] = failed
    out["extract_fallbacks"] = dict(sorted(fallbacks.items()))  # pages whose text came from a fallback extraction
    out["steps"] = steps
    return out


def funnel(summary: dict) -> list[dict]:
    rows = [{"stage": "input", "documents": summary["documents_in"], "bytes": summary["bytes_in"]}]
    for name, s in summary["steps"].items():
        rows.append({"stage": name, "documents": s["documents_out"], "bytes": s["bytes_out"]})
    for name, st in summary.get("stages", {}).items():
        if isinstance(st, dict) and "documents_kept" in st:
            rows.append({"stage": name, "documents": st["documents_kept"], "bytes": st.get("bytes_kept")})
    return rows


def check_conservation(summary: dict) -> None:
    total = summary["documents_kept"] + sum(summary["documents_dropped"].values())
    if summary["documents_in"] != total:
        raise RunError(
            f"documents not conserved: documents_in={summary['documents_in']} but kept + dropped = {total} "
            f"(kept {summary['documents_kept']}, dropped {summary['documents_dropped']})"
        )


def run_job(job: JobConfig, restart: bool = False, log=print) -> dict:
    """Run the job in its run directory, holding the directory's lock (pipeline/rundir.py) throughout."""
    # A remote output (s3://...) runs in a local staging directory, uploaded as shards and stages finish.
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
    sync = (lambda *_: remote.push()) if remote else (lambda *_: None)
    stale = rundir.remove_stale_tmp(run_dir)
    if stale:
        log(f"removed {len(stale)} temp file(s) left by an interrupted run")
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    t_start = time.time()
    config_as_run = redact_obj(job.model_dump(mode="json"))
    with atomic_path(run_dir / "config.yaml") as tmp:
        tmp.write_text(yaml.safe_dump(config_as_run, allow_unicode=True, sort_keys=False), encoding="utf-8")

    paths = shard_paths(job.input, f"{job.source_path}: input.paths" if job.source_path else "input.paths")
    ids = shard_ids(paths)
    _drop_stale_dedup(job, run_dir, log)
    log(f"ko-curate: {len(paths)} input shard(s) → {run_dir}")
    executor = Executor(job.execution)
    parallelism = executor.parallelism
    try:
        stage_seconds: dict[str, float] = {}
        line_dedup_stats = None
        if job.line_dedup is not None:  # CCNet-style: lines repeated across many pages, found before the pass
            from pipeline import repeated_lines as line_dedup

            t = time.time()
            line_dedup_stats = line_dedup.prepass(job.line_dedup, job, run_dir, executor)
            stage_seconds["line_dedup"] = round(time.time() - t, 3)
        t = time.time()
        shard_stats = executor.map(process_shard, [(p, i, job, str(run_dir)) for p, i in zip(paths, ids)],
                                   desc="shards", on_result=sync)
        stage_seconds["process"] = round(time.time() - t, 3)
        shutil.rmtree(run_dir / EXTRACTED_DIR, ignore_errors=True)  # the pre-pass's copies: every shard is done
        rundir.remove_stale_tmp(run_dir)  # every shard task has returned: temp files now are from lost workers
        resumed = sum(1 for s in shard_stats if s.get("resumed"))
        if resumed:
            log(f"resumed: {resumed} shard(s) already done were skipped")
        summary = merge_shard_stats(shard_stats)
        summary["shards_total"] = len(paths)
        check_conservation(summary)

        summary["stages"] = {"line_dedup": line_dedup_stats} if line_dedup_stats is not None else {}
        for name in stages.STAGE_ORDER:
            section = getattr(job, name)
            if section is None or name == "report":
                continue
            cfg = section
            t = time.time()
            try:
                result = stages.stage_module(name).run(cfg, job, run_dir, executor) or {}
            except OSError as e:  # a failed write (disk full, permissions): the stage's outputs are incomplete
                raise RunError(f"stage {name}: {type(e).__name__}: {e}") from e
            stage_seconds[name] = round(time.time() - t, 3)
            sync()
            summary["stages"][name] = result
            _apply_stage_drops(summary, result)
            check_conservation(summary)
    finally:
        executor.shutdown()

    elapsed = time.time() - t_start
    summary.update(
        stage_seconds=stage_seconds,
        seconds=round(elapsed, 3),
        documents_per_second=round(summary["documents_in"] / elapsed, 2) if elapsed else None,
        started=started,
        finished=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        config=config_as_run,
        config_path=job.source_path,
        versions=package_versions(),
        inputs=[redact(p) for p in paths],
        execution={"backend": job.execution.backend, "parallelism": parallelism},
    )
    summary["funnel"] = funnel(summary)
    ordered = {k: summary[k] for k in ("documents_in", "documents_kept", "documents_dropped", "bytes_in",
                                       "bytes_kept", "shards_total", "shards_failed")}
    ordered.update({k: v for k, v in summary.items() if k not in ordered})
    write_json(run_dir / "summary.json", ordered)
    sync()

    if job.report is not None:
        cfg = job.report
        t = time.time()
        stages.stage_module("report").run(cfg, job, run_dir, None)
        ordered["stage_seconds"]["report"] = round(time.time() - t, 3)
        write_json(run_dir / "summary.json", ordered)
        sync()
    if paths and len(ordered["shards_failed"]) == len(paths) and all(not f["partial"] for f in ordered["shards_failed"]):
        raise RunError(f"every input shard failed; first error: {ordered['shards_failed'][0]['error']}")
    return ordered


def _drop_stale_dedup(job: JobConfig, run_dir: Path, log) -> None:
    """A dedup left by other settings, shards or steps is deleted; if it already rewrote documents/, every
    shard's completion marker goes too, so the pass rebuilds documents/ and dedup starts from that."""
    from pipeline.dedup.stage import stale

    found = stale(job, run_dir)
    if found is None:
        return
    why, rewritten = found
    shutil.rmtree(run_dir / "dedup")
    for p in (run_dir / "rejected").glob("dedup-*.parquet"):
        p.unlink()
    if rewritten:
        for p in (run_dir / "stats").glob("*.json"):
            p.unlink()
        log(f"dedup/ is stale ({why}) and had deduplicated documents/: every shard runs again")
    else:
        log(f"dedup/ is stale ({why}): deleted")


def _apply_stage_drops(summary: dict, result: dict) -> None:
    """A barrier stage that removes documents (dedup) reports them as `dropped`; fold them into the totals."""
    dropped = {reason: n for reason, n in (result.get("dropped") or {}).items() if n}
    if not dropped:
        return
    merged = Counter(summary["documents_dropped"])
    merged.update(dropped)
    summary["documents_dropped"] = dict(sorted(merged.items()))
    summary["documents_kept"] -= sum(dropped.values())
