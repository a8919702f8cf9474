"""What `summary.json` says about a run, and the accounting behind it.

The steps stage's figures (every shard's, merged by `merge_shard_stats`) are the top of the summary: documents
and bytes in and kept, every drop reason, failed shards, per-step figures. Every later stage's figures go under
`stages.<name>`; a stage that removes documents (dedup) reports them as `dropped`, folded into the totals by
`apply_stage_drops`. `check_conservation` holds after every stage: documents_in == documents_kept + every drop.
`finish` adds timings, the config as run, package versions and the funnel.
"""

from __future__ import annotations

import importlib.metadata
import sys
import time
from collections import Counter
from datetime import datetime, timezone

from core.redact import redact

from core.errors import RunError

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


def apply_stage_drops(summary: dict, result: dict) -> None:
    """A barrier stage that removes documents (dedup) reports them as `dropped`; fold them into the totals."""
    dropped = {reason: n for reason, n in (result.get("dropped") or {}).items() if n}
    if not dropped:
        return
    merged = Counter(summary["documents_dropped"])
    merged.update(dropped)
    summary["documents_dropped"] = dict(sorted(merged.items()))
    summary["documents_kept"] -= sum(dropped.values())


class Summary:
    """The figures of a run as its stages report them (`add`), checked after each; `finish` gives summary.json."""

    FIRST = ("documents_in", "documents_kept", "documents_dropped", "bytes_in", "bytes_kept", "shards_total",
             "shards_failed")

    def __init__(self, shards_total: int):
        self.summary: dict = {"stages": {}}
        self.shards_total = shards_total
        self.stage_seconds: dict[str, float] = {}
        self.final: dict = {}

    def add(self, name: str, accounts: str, figures: dict, seconds: float) -> None:
        """A stage's figures, taken as it declares (`Stage.accounts` in pipeline/stages.py)."""
        self.stage_seconds[name] = round(seconds, 3)
        if accounts == "documents":  # every shard's figures, merged: the top of the summary
            self.summary.update(figures, shards_total=self.shards_total)
        elif accounts == "none" or not figures:
            return
        else:
            self.summary["stages"][name] = figures
            apply_stage_drops(self.summary, figures)
        if "documents_in" in self.summary:  # from the steps stage on
            check_conservation(self.summary)

    def finish(self, started: str, t0: float, config: dict, job, paths: list[str], parallelism: int) -> dict:
        elapsed = time.time() - t0
        s = dict(self.summary)
        s.update(
            stage_seconds=dict(self.stage_seconds),
            seconds=round(elapsed, 3),
            documents_per_second=round(s["documents_in"] / elapsed, 2) if elapsed else None,
            started=started,
            finished=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            config=config,
            config_path=job.source_path,
            versions=package_versions(),
            inputs=[redact(p) for p in paths],
            execution={"backend": job.execution.backend, "parallelism": parallelism},
        )
        s["funnel"] = funnel(s)
        self.final = {k: s[k] for k in self.FIRST} | {k: v for k, v in s.items() if k not in self.FIRST}
        return self.final
