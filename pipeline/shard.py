"""Stage `steps`: every shard's extracted documents through the per-document steps, in config order, in
batches (one task per shard).

    RUN/extracted/<shard_id>.parquet (stage extract) → steps → RUN/filtered/<shard_id>.parquet (kept)
                                                              RUN/rejected/<shard_id>.parquet (dropped)

Kept documents go to `filtered/`, which the dedup stage reads to write `documents/`; dropped ones (with the
reason and the step that dropped them, and the records extraction dropped, in record order) to `rejected/`, both
written atomically. The shard's figures go to `RUN/stats/<shard_id>.json`, written last with the stage's
fingerprint: it is the shard's completion marker, so a resumed run skips the shard. Every record of the shard
is counted in `documents_in` and ends kept or dropped with a reason. A shard without an extracted copy (it
could not be opened) is read here, so it is reported under `shards_failed` with its error. A failed write
(OSError: disk full, permissions) deletes the shard's temp files and raises RunError naming the shard: the run
stops, and no output or marker of that shard exists under a final name.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from pathlib import Path
from typing import Iterator

from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter, get_filter_result
from datatrove.utils.stats import Stats

from core.atomic import read_json, write_json
from core.budget import DocumentTimeout, time_limit
from core.config import JobConfig
from core.errors import ConfigError, RunError, ShardError
from pipeline.extracted import Outcome, outcomes, prune_shards, replay
from pipeline.layout import FILTERED_DIR
from pipeline.summary import merge_shard_stats
from pipeline.read.records import PartialShard, RawRecord
from core.redact import redact
from pipeline.rows import KEPT_BASE, REJECTED_BASE, TableWriter, row, schema, utf8_len
from core.steps import Annotator, build_step, registry

class _Unreadable(Exception):
    """The shard could not be read at all: no outputs and no marker, so a later run retries it."""


# Built steps per worker process, keyed by the step config, the classes registered under its names, the run
# directory and the working directory (relative paths in config resolve against it) they were built for. Ray runs
# many shard tasks in one worker; building the steps (a pydantic model per step's parameters, the perplexity
# cutoffs YAML, lexicon regexes) cost ~10 ms of a task's ~16 ms fixed cost (bench/speed/ray_overhead.py). Steps hold
# only their settings and lazily loaded models; their datatrove counters are reset for every shard.
_BUILT_STEPS: dict[tuple, list] = {}


def _steps_for(job: JobConfig, run_dir: Path) -> list:
    classes = tuple(registry().get(spec.get("step")) if isinstance(spec, dict) else None for spec in job.steps)
    key = (json.dumps(job.steps, sort_keys=True, default=str), classes, str(run_dir), os.getcwd())
    steps = _BUILT_STEPS.get(key)
    if steps is None:
        _BUILT_STEPS.clear()  # one run's steps at a time: a worker reused for another run drops the old ones
        steps = _BUILT_STEPS[key] = [build_step(spec, f"steps[{i}]", str(run_dir)) for i, spec in enumerate(job.steps)]
    for step in steps:
        step.stats = Stats(str(step))
    return steps


class ShardRun:
    def __init__(self, path: str, shard_id: str, job: JobConfig, run_dir: Path, fingerprint: str = ""):
        self.path, self.shard_id, self.job, self.run_dir = path, shard_id, job, run_dir
        self.fingerprint = fingerprint
        self.display_path = redact(path)  # what outputs say: no credentials
        self.steps = _steps_for(job, run_dir)
        self.step_names = [spec["step"] for spec in job.steps]
        step_columns: dict[str, type] = {}
        for s in self.steps:
            step_columns.update(getattr(s, "columns", {}) or {})
        self.score_all = job.execution.score_all
        self.timeout = job.execution.document_timeout_s
        self.kept_schema = schema(KEPT_BASE, step_columns)
        self.rej_schema = schema({**REJECTED_BASE, "drop_reasons": str} if self.score_all else REJECTED_BASE,
                                  step_columns)
        self.dropped: Counter = Counter()
        self.fallbacks: Counter = Counter()
        self.replayed = False  # read from the extract stage's copy (pipeline.extracted), not from the shard
        self.steps_stats = {n: {"documents_in": 0, "documents_out": 0, "bytes_out": 0, "seconds": 0.0}
                            for n in ["read", "extract", *self.step_names]}

    # -- records → documents ------------------------------------------------------------------------
    def _documents(self, items: Iterator[Outcome], seconds: dict[str, float]) -> Iterator[Document | tuple[RawRecord, str]]:
        """Outcomes (pipeline.extracted) → Documents for the steps, or (record, step) for a record dropped by
        reading or extraction; counts every record in. `seconds` is where `items` adds its read/extract time."""
        read_st, ext_st = self.steps_stats["read"], self.steps_stats["extract"]
        source, shard = self.job.input.source, self.display_path
        try:
            yield from self._convert(items, read_st, ext_st, source, shard)
        finally:
            read_st["seconds"] += seconds["read"]
            ext_st["seconds"] += seconds["extract"]

    def _convert(self, items, read_st, ext_st, source, shard) -> Iterator[Document | tuple[RawRecord, str]]:
        for o in items:
            rec = o.rec
            self.documents_in += 1
            self.bytes_in += o.size
            read_st["documents_in"] += 1
            if o.step == "read":
                yield rec, "read"
                continue
            read_st["documents_out"] += 1
            read_st["bytes_out"] += o.size
            ext_st["documents_in"] += 1
            meta = {"url": redact(rec.url) if rec.url else rec.url, "source": source, "source_shard": shard, **rec.meta}
            if "extract_fallback" in meta:  # how often the main-content extractor kept too little (pipeline/read/extract.py)
                self.fallbacks[meta["extract_fallback"]] += 1
            if o.text is None:
                rec.meta = meta
                yield rec, "extract"
            else:
                ext_st["documents_out"] += 1
                ext_st["bytes_out"] += len(o.text.encode())
                yield Document(text=o.text, id=f"{self.shard_id}/{rec.index:06d}", metadata=meta)

    def _records(self) -> tuple[Iterator[Outcome], dict[str, float]]:
        """The shard's outcomes: the extract stage's copy, or for a shard it could not open, read here (which
        raises the reader's error, reported under shards_failed)."""
        seconds = {"read": 0.0, "extract": 0.0}
        items = replay(self.path, self.shard_id, self.run_dir, seconds)
        self.replayed = items is not None
        return (items if items is not None else outcomes(self.path, self.job, seconds)), seconds

    # -- the run ------------------------------------------------------------------------------------
    def run(self) -> dict:
        t0 = time.time()
        self.documents_in = self.bytes_in = self.bytes_kept = 0
        self.kept = TableWriter(self.run_dir / FILTERED_DIR / f"{self.shard_id}.parquet", self.kept_schema,
                                 self.job.execution.row_group_size)
        self.rejected = TableWriter(self.run_dir / "rejected" / f"{self.shard_id}.parquet", self.rej_schema,
                                     self.job.execution.row_group_size)
        error = None
        partial = False
        try:
            batch: list[Document] = []
            items, seconds = self._records()
            try:
                for item in self._documents(items, seconds):
                    if isinstance(item, tuple):
                        rec, step = item
                        self._reject_record(rec, step)
                        continue
                    batch.append(item)
                    if len(batch) >= self.job.execution.batch_size:
                        self._process(batch)
                        batch = []
            except PartialShard as e:
                error, partial = self._redacted(e), True
            except ShardError as e:
                error = self._redacted(e)
            except ImportError as e:  # a missing package: every shard would fail the same way
                raise RunError(f"shard {self.shard_id}: {type(e).__name__}: {e}") from e
            except (DocumentTimeout, Exception) as e:  # noqa: BLE001 - a reader broke on a record it did not expect:
                # what was read is kept and counted, the shard is reported as partial (never a failed run)
                error, partial = self._redacted(f"{type(e).__name__}: {e}"), True
            self._process(batch)
            if error and not partial and self.documents_in == 0:
                # Nothing was read: leave no outputs and no completion marker, so a later run retries it.
                raise _Unreadable(error)
            self.kept.commit()
            self.rejected.commit()
        except _Unreadable as e:
            self.kept.abort(e)
            self.rejected.abort(e)
            return self._stats(t0, error, partial=False)
        except BaseException as e:
            try:
                self.kept.abort(e)
            finally:
                self.rejected.abort(e)
            raise
        stats = self._stats(t0, error, partial)
        write_json(self.run_dir / "stats" / f"{self.shard_id}.json", stats)
        return stats

    def _redacted(self, error) -> str:
        return redact(str(error).replace(self.path, self.display_path))

    def _stats(self, t0: float, error: str | None, partial: bool) -> dict:
        return {
            "shard": self.display_path,
            "shard_id": self.shard_id,
            "fingerprint": self.fingerprint,
            "documents_in": self.documents_in,
            "documents_kept": self.kept.count,
            "documents_dropped": dict(sorted(self.dropped.items())),
            "bytes_in": self.bytes_in,
            "bytes_kept": self.bytes_kept,
            "error": error,
            "partial": partial,
            "steps": self.steps_stats,
            "counters": {n: _counters(s) for n, s in zip(self.step_names, self.steps)},
            "seconds": round(time.time() - t0, 3),
            "extract_fallbacks": dict(sorted(self.fallbacks.items())),
            "extracted_copy": self.replayed,
            "worker_pid": os.getpid(),
        }

    def _process(self, batch: list[Document]) -> None:
        alive = batch
        for name, step in zip(self.step_names, self.steps):
            if not alive:
                break
            st = self.steps_stats[name]
            st["documents_in"] += sum(1 for d in alive if "drop_reasons" not in d.metadata)
            t = time.perf_counter()
            survivors, drops = self._run_step(name, step, alive)
            for doc, reason, error in drops:
                self._reject_doc(doc, reason, name, error)
            alive = survivors
            st["seconds"] += time.perf_counter() - t
            undecided = [d for d in alive if "drop_reasons" not in d.metadata]
            st["documents_out"] += len(undecided)
            st["bytes_out"] += sum(map(utf8_len, undecided))
        for doc in alive:
            m = doc.metadata
            if "drop_reasons" in m:  # score_all: dropped by its first rule, scored by every rule
                self._reject_doc(doc, m["drop_reasons"][0][1], m["drop_reasons"][0][0], None)
                continue
            self.bytes_kept += utf8_len(doc)
            self.kept.add(row(self.kept_schema, {"id": doc.id, "text": doc.text, "text_chars": len(doc.text)}, m))

    def _run_step(self, name: str, step, docs: list[Document]) -> tuple[list[Document], list[tuple]]:
        """One step on a batch under the time budget: (survivors, [(doc, reason, error)] to reject). If the batch
        raises or runs out of time, every document is put back as it was and the step runs on each alone, so
        only the document at fault is dropped (`step_failed:<step>` / `step_timeout:<step>`)."""
        snapshot = [(d.text, dict(d.metadata)) for d in docs]
        budget = self.timeout and self.timeout + sum(len(d.text) for d in docs) / 1e6  # + 1 s per M characters
        try:
            with time_limit(budget):
                return self._apply(name, step, docs)
        except ConfigError:  # a model or word list that cannot be loaded: every document would fail the same way
            raise
        except Exception:  # noqa: BLE001 - any other failure of a step is one document's fault: found below
            pass
        survivors: list[Document] = []
        drops: list[tuple] = []
        for doc, (text, meta) in zip(docs, snapshot):
            doc.text, doc.metadata = text, dict(meta)
            try:
                with time_limit(self.timeout):
                    kept, dropped = self._apply(name, step, [doc])
            except DocumentTimeout:
                doc.text, doc.metadata = text, meta
                drops.append((doc, f"step_timeout:{name}", f"over execution.document_timeout_s={self.timeout}"))
                continue
            except ConfigError:
                raise
            except Exception as e:  # noqa: BLE001 - recorded as this document's drop reason, with the error
                doc.text, doc.metadata = text, meta
                drops.append((doc, f"step_failed:{name}", f"{type(e).__name__}: {e}"[:300]))
                continue
            survivors += kept
            drops += dropped
        return survivors, drops

    def _apply(self, name: str, step, docs: list[Document]) -> tuple[list[Document], list[tuple]]:
        """The step on `docs` with no side effect outside them: (survivors, [(doc, reason, None)]). With
        score_all a filter's drop is recorded in `drop_reasons` and the document survives."""
        if isinstance(step, BaseFilter):
            results = step.filter_batch(docs)
            survivors, drops = [], []
            for doc, res in zip(docs, results):
                keep, reason = get_filter_result(res)
                if keep:
                    survivors.append(doc)
                elif self.score_all:
                    doc.metadata.setdefault("drop_reasons", []).append((name, reason or name))
                    survivors.append(doc)
                else:
                    drops.append((doc, reason or name, None))
            return survivors, drops
        if isinstance(step, Annotator):
            step.annotate_batch(docs)
            return docs, []
        # any other datatrove step: documents it does not yield are dropped under its name
        out = list(step.run(iter(docs)))
        ids = {id(d) for d in out}
        if self.score_all:
            for doc in docs:
                if id(doc) not in ids:
                    doc.metadata.setdefault("drop_reasons", []).append((name, name))
            return docs, []
        return out, [(doc, name, None) for doc in docs if id(doc) not in ids]

    def _reject_doc(self, doc: Document, reason: str, step: str, error: str | None = None) -> None:
        self.dropped[reason] += 1
        snip = doc.text[: self.job.rejected.snippet_chars]
        values = {"id": doc.id, "reason": reason, "step": step, "snippet": snip, "text_chars": len(doc.text)}
        if error:
            values["error"] = error
        if "drop_reasons" in doc.metadata:  # score_all: every rule that would drop it, as [[step, reason], ...]
            values["drop_reasons"] = json.dumps(doc.metadata["drop_reasons"], ensure_ascii=False)
        self.rejected.add(row(self.rej_schema, values, doc.metadata))

    def _reject_record(self, rec: RawRecord, step: str) -> None:
        self.dropped[rec.drop_reason] += 1
        meta = {"url": redact(rec.url) if rec.url else rec.url, "source": self.job.input.source,
                "source_shard": self.display_path, **rec.meta}
        self.rejected.add(row(self.rej_schema, {"id": f"{self.shard_id}/{rec.index:06d}", "reason": rec.drop_reason,
                                                 "step": step, "snippet": None, "text_chars": None}, meta))


def _counters(step) -> dict[str, float]:
    stats = getattr(step, "stats", None)
    if stats is None:
        return {}
    out = {}
    for label, metric in stats.stats.items():
        total = getattr(metric, "total", None)
        if isinstance(total, (int, float)) and label not in ("total", "forwarded", "dropped") and not label.startswith("dropped_"):
            out[label] = total
    return out


def process_shard(path: str, shard_id: str, job: JobConfig, run_dir: str, fingerprint: str) -> dict:
    """The task per shard: run it unless its completion marker holds this fingerprint; return its stats."""
    rd = Path(run_dir)
    marker = rd / "stats" / f"{shard_id}.json"
    if marker.exists():
        stats = read_json(marker)
        if stats.get("fingerprint") == fingerprint:
            stats["resumed"] = True
            return stats
    try:
        return ShardRun(path, shard_id, job, rd, fingerprint).run()
    except OSError as e:  # reading errors are ShardErrors by now: mostly a failed write (disk full)
        raise RunError(f"shard {shard_id} ({path}) failed: {type(e).__name__}: {e}") from e


def run(ctx) -> dict:
    """Stage `steps` (pipeline/stages.py): every shard, one task each; the merged figures of all shards."""
    ids = [sid for _, sid in ctx.shards]
    for sub in (FILTERED_DIR, "rejected", "stats"):
        prune_shards(ctx.run_dir / sub, ids)
    stats = ctx.executor.map(process_shard, [(p, sid, ctx.job, str(ctx.run_dir), ctx.fingerprint) for p, sid in ctx.shards],
                             desc="shards", on_result=ctx.sync)
    resumed = sum(1 for s in stats if s.get("resumed"))
    if resumed:
        ctx.log(f"resumed: {resumed} shard(s) already done were skipped")
    done = [sid for sid in ids if (ctx.run_dir / "stats" / f"{sid}.json").exists()]
    return {**merge_shard_stats(stats), "_shards_done": done, "_incomplete": len(done) < len(ids)}
