"""Every stage of a run behind one interface, in the order they run:

    extract → line_dedup → steps → dedup → mix → tokenize → report

    stage       reads                            writes (and nothing else)                     runs
    extract     the input shards                 extracted/                                    always
    line_dedup  extracted/                       line_dedup/                                   with line_dedup:
    steps       extracted/, line_dedup/          filtered/, rejected/<shard>.parquet, stats/   always
    dedup       filtered/                        documents/, rejected/dedup-*.parquet, dedup/  always (no dedup: →
                                                                                                 documents/ as they are)
    mix         documents/ and other sources     mix/                                          with mix:
    tokenize    mix/, else documents/            tokenizer/, tokens/                           with tokenize:
    report      everything, summary.json         report.html, report.json                      with report:

A stage declares its config section, the stages whose outputs it reads (`upstream`), the settings its outputs
depend on, the paths it writes (`outputs`, globs under the run directory) and `run(ctx) -> figures`.

Resume is one rule for every stage (`run_stage`). Its fingerprint hashes its name, its settings and the output
ids of its upstream stages. The marker `RUN/_stages/<name>.json` holds the fingerprint from the moment the
stage starts, and `done` plus its figures once it ends:
  - marker done, same fingerprint (and for a per-shard stage the same input shards): skipped, figures reused;
  - marker with another fingerprint, or a barrier stage that did not finish: its outputs are deleted first;
  - then it runs. A per-shard stage (extract, steps) keeps every shard whose own marker holds its fingerprint.
A stage's output id is its fingerprint, plus for a per-shard stage the shards it completed: a shard that could
not be read today and can tomorrow changes what every later stage sees, and they run again. A stage that is off
(its section removed) has its outputs and marker deleted, so nothing of an earlier config is left to be read.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ClassVar

from core.atomic import read_json, write_json
from core.config import JobConfig
from core.errors import RunError
from core.steps import step_files
from pipeline import extracted, repeated_lines, shard
from pipeline.dedup import stage as dedup_stage
from pipeline.executor import Executor
from pipeline.layout import FILTERED_DIR, STAGE_MARKERS, content_digest
from pipeline import mix as mix_stage
from pipeline import report as report_stage
from tokenizer import stage as tokenize_stage



@dataclass
class Context:
    job: JobConfig
    run_dir: Path
    executor: Executor
    shards: list[tuple[str, str]]                        # (path, shard id) of every input shard, in order
    log: Callable[[str], None] = print
    sync: Callable[..., None] = lambda *_: None          # upload what is finished (a remote output)
    fingerprint: str = ""                                # of the stage being run


class Stage:
    name: ClassVar[str]
    upstream: ClassVar[tuple[str, ...]] = ()
    outputs: ClassVar[tuple[str, ...]] = ()
    per_shard: ClassVar[bool] = False     # resumes shard by shard (each shard has its own marker)
    reads_summary: ClassVar[bool] = False  # summary.json is written before it runs
    # How summary.json takes its figures (pipeline/summary.py): "documents", every document's fate (the top of
    # the summary); "stage", under `stages`, with the documents it drops; "none", counted by another stage.
    accounts: ClassVar[str] = "stage"

    def enabled(self, job: JobConfig) -> bool:
        return getattr(job, self.name, None) is not None

    def settings(self, job: JobConfig) -> Any:
        section = getattr(job, self.name, None)
        return section.model_dump(mode="json") if section is not None else None

    def run(self, ctx: Context) -> dict:
        raise NotImplementedError


class Extract(Stage):
    name, outputs, per_shard = "extract", ("extracted",), True
    accounts = "none"  # its records are counted by the steps, which replay them

    def enabled(self, job):
        return True

    def settings(self, job):
        return {"input": job.input.model_dump(mode="json", exclude={"paths"}), "extract": job.extract.model_dump(mode="json")}

    def run(self, ctx):
        return extracted.run(ctx)


class LineDedup(Stage):
    name, upstream, outputs = "line_dedup", ("extract",), ("line_dedup",)

    def run(self, ctx):
        return repeated_lines.prepass(ctx.job.line_dedup, ctx.job, ctx.run_dir, ctx.executor, ctx.shards)


class Steps(Stage):
    name, upstream, per_shard, accounts = "steps", ("extract", "line_dedup"), True, "documents"
    outputs = (FILTERED_DIR, "rejected/[0-9]*.parquet", "stats")

    def enabled(self, job):
        return True

    def settings(self, job):
        keep: dict[str, Any] = {"steps": job.steps, "rejected": job.rejected.model_dump(mode="json")}
        if job.execution.score_all:
            keep["score_all"] = True
        keep["files"] = sorted({p: content_digest(p) for spec in job.steps for p in step_files(spec)}.items())
        return keep

    def run(self, ctx):
        return shard.run(ctx)


class Dedup(Stage):
    name, upstream = "dedup", ("steps",)
    outputs = ("dedup", "documents", "rejected/dedup-*.parquet")

    def enabled(self, job):
        return True  # without a dedup: section it hands filtered/ on to documents/ unchanged

    def run(self, ctx):
        return dedup_stage.run(ctx.job.dedup, ctx.job, ctx.run_dir, ctx.executor)


class Mix(Stage):
    name, upstream, outputs = "mix", ("dedup",), ("mix",)

    def settings(self, job):
        return {"mix": job.mix.model_dump(mode="json"), "files": mix_stage.source_digests(job.mix)}

    def run(self, ctx):
        return mix_stage.run(ctx.job.mix, ctx.job, ctx.run_dir, ctx.executor)


class Tokenize(Stage):
    name, upstream, outputs = "tokenize", ("dedup", "mix"), ("tokenizer", "tokens")

    def settings(self, job):
        cfg = job.tokenize
        return {"tokenize": cfg.model_dump(mode="json"), "file": content_digest(cfg.tokenizer) if cfg.tokenizer else None}

    def run(self, ctx):
        return tokenize_stage.run(ctx.job.tokenize, ctx.job, ctx.run_dir, ctx.executor)


class Report(Stage):
    name, outputs, reads_summary, accounts = "report", ("report.html", "report.json"), True, "none"
    upstream = ("steps", "dedup", "mix", "tokenize")

    def run(self, ctx):
        return report_stage.run(ctx.job.report, ctx.job, ctx.run_dir, None)


STAGES: tuple[Stage, ...] = (Extract(), LineDedup(), Steps(), Dedup(), Mix(), Tokenize(), Report())


def _hash(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _marker(run_dir: Path, name: str) -> Path:
    return run_dir / STAGE_MARKERS / f"{name}.json"


def remove_outputs(run_dir: Path, stage: Stage) -> None:
    for pattern in stage.outputs:
        for p in glob.glob(str(run_dir / pattern)):
            shutil.rmtree(p) if os.path.isdir(p) and not os.path.islink(p) else os.unlink(p)


def run_stages(ctx: Context, on_result: Callable[[str, str, dict, float], None],
               write_summary: Callable[[], None]) -> None:
    """Every stage in order, each by the resume rule above. `on_result(name, accounts, figures, seconds)` after
    each (the runner's accounting); `write_summary()` before a stage that reads summary.json (the report)."""
    output_ids: dict[str, str] = {}
    for stage in STAGES:
        if not stage.enabled(ctx.job):
            if _marker(ctx.run_dir, stage.name).exists():  # an earlier config's outputs: never read by mistake
                remove_outputs(ctx.run_dir, stage)
                _marker(ctx.run_dir, stage.name).unlink()
            continue
        if stage.reads_summary:
            write_summary()
        upstream = {u: output_ids[u] for u in stage.upstream if u in output_ids}
        fingerprint = _hash({"stage": stage.name, "settings": stage.settings(ctx.job), "upstream": upstream})
        t = time.time()
        try:
            figures, output_ids[stage.name] = run_stage(stage, ctx, fingerprint)
        except OSError as e:  # a failed write (disk full, permissions): the stage's outputs are incomplete
            raise RunError(f"stage {stage.name}: {type(e).__name__}: {e}") from e
        on_result(stage.name, stage.accounts, figures, time.time() - t)
        ctx.sync()


def run_stage(stage: Stage, ctx: Context, fingerprint: str) -> tuple[dict, str]:
    marker = _marker(ctx.run_dir, stage.name)
    before = read_json(marker) if marker.exists() else None
    inputs = _hash(ctx.shards) if stage.per_shard else None  # a shard added or removed: the stage runs again
    if before and before.get("fingerprint") == fingerprint and before.get("done") and before.get("inputs") == inputs:
        if stage.name == "steps":
            ctx.log(f"resumed: {len(before['shards_done'])} shard(s) already done were skipped")
        return before["figures"], before["output_id"]
    if not stage.per_shard or (before is not None and before.get("fingerprint") != fingerprint):
        remove_outputs(ctx.run_dir, stage)  # a barrier stage starts over; settings changed: nothing is kept
    write_json(marker, {"fingerprint": fingerprint, "done": False})
    ctx.fingerprint = fingerprint
    figures = stage.run(ctx) or {}
    shards_done = figures.pop("_shards_done", None)
    complete = not figures.pop("_incomplete", False)
    output_id = _hash([fingerprint, shards_done])
    write_json(marker, {"fingerprint": fingerprint, "done": complete, "inputs": inputs, "shards_done": shards_done,
                        "output_id": output_id, "figures": figures})
    return figures, output_id
