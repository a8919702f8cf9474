"""Which score columns of a run get a histogram in the report, and the histograms (kept vs dropped, shared bins).

The columns come from what the run's steps declare (`core.steps`), not from a list kept here, so a new step's
column is plotted without editing the report:
1. every `Distribution` a step of the run declares, in step order, with its title, scale and cutoffs
   (configs/ko-web.yaml: language score, Hangul share, perplexity);
2. the lengths the report computes itself (`LENGTHS`: characters and eojeol of each document);
3. every other column a declared threshold of the run decides on (`Decision`), titled with the column and
   the steps that decide on it.
Each threshold is drawn on its column's histogram. A column is shown when the sample holds values for it or a
threshold decides on it. `plan` says what to sample; `figures` turns the sampled values into report.json's
`distributions`. Used by `pipeline.report.data`.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.steps import Distribution, declared_distributions
from pipeline.report.thresholds import read_cutoffs, step_arguments, step_class

# Lengths computed by the report itself: from `text` for kept documents; for dropped ones (rejected/ keeps a
# snippet) from the runner's `text_chars` column and the `eojeol_count` column where a step wrote it.
CHARS, EOJEOL = "text_chars", "eojeol_count"
LENGTHS = (Distribution(CHARS, "Length (characters)", log_x=True), Distribution(EOJEOL, "Length (eojeol)", log_x=True))
HIST_BINS = 40


@dataclass
class Planned:
    """One histogram to draw: its column, title, scale, cutoffs (dashed) and thresholds (solid)."""

    column: str
    title: str
    log_x: bool | None = None
    cutoffs: list[dict] = field(default_factory=list)
    thresholds: list[dict] = field(default_factory=list)


def plan(steps: list[dict], thresholds: list[dict], config_path: str | None, run_dir: Path) -> list[Planned]:
    """The histograms of a run, in the order of the module docstring, one per column."""
    by_column: dict[str, list[dict]] = defaultdict(list)
    for t in thresholds:
        by_column[t["column"]].append(t)
    out: dict[str, Planned] = {}
    for spec in steps:
        if not isinstance(spec, dict):
            continue
        name = str(spec.get("step", ""))
        for dist in declared_distributions(step_class(name)):
            if dist.column in out:  # two steps declaring one column (ko_signals_v1, ko_quality_v1): the first
                continue
            cutoffs = []
            if dist.cutoffs_param:
                cutoffs = read_cutoffs(step_arguments(spec).get(dist.cutoffs_param), config_path, run_dir)
            out[dist.column] = Planned(dist.column, dist.title or f"{dist.column} ({name})", dist.log_x, cutoffs)
    for dist in LENGTHS:
        out.setdefault(dist.column, Planned(dist.column, dist.title or dist.column, dist.log_x))
    for column, ts in by_column.items():
        out.setdefault(column, Planned(column, f"{column} ({', '.join(sorted({t['step'] for t in ts}))})"))
    for column, planned in out.items():
        planned.thresholds = by_column.get(column, [])
    return list(out.values())


def histogram(kept: np.ndarray, dropped: np.ndarray, marks: list[float], log_x: bool | None = None) -> dict:
    """Shared bins for kept and dropped values (linear in [0, 1] for shares, log for wide positive ranges)."""
    both = np.concatenate([kept, dropped])
    if both.size == 0:
        return {"bins": [], "kept": [], "dropped": [], "log_x": False}
    lo, hi = float(both.min()), float(both.max())
    finite_marks = [m for m in marks if math.isfinite(m)]
    if log_x is None:
        log_x = lo > 0 and hi / lo > 100
    if log_x:
        lo = max(min([lo, *[m for m in finite_marks if m > 0]]), 1e-9)
        hi = max([hi, *finite_marks])
        bins = np.logspace(math.log10(lo), math.log10(hi) + 1e-9, HIST_BINS + 1)
    elif lo >= 0 and hi <= 1:
        bins = np.linspace(0.0, 1.0, HIST_BINS + 1)
    else:
        lo, hi = min([lo, *finite_marks]), max([hi, *finite_marks])
        bins = np.linspace(lo, hi if hi > lo else lo + 1, HIST_BINS + 1)
    return {
        "bins": [round(float(b), 6) for b in bins],
        "kept": np.histogram(kept, bins)[0].tolist(),
        "dropped": np.histogram(dropped, bins)[0].tolist(),
        "log_x": bool(log_x),
    }


def _quantiles(values: np.ndarray) -> dict | None:
    if values.size == 0:
        return None
    return {f"p{q}": round(float(np.percentile(values, q)), 6) for q in (10, 50, 90)}


def figures(planned: list[Planned], kept: dict[str, np.ndarray], dropped: dict[str, np.ndarray]) -> list[dict]:
    """report.json's `distributions`: per planned column, the sample's sizes, quantiles and histogram."""
    out = []
    for p in planned:
        k, d = kept.get(p.column, np.empty(0)), dropped.get(p.column, np.empty(0))
        if not (k.size or d.size or p.thresholds):
            continue
        marks = [t["value"] for t in p.thresholds] + [c["value"] for c in p.cutoffs]
        out.append({
            "title": p.title, "column": p.column, "kept_n": int(k.size), "dropped_n": int(d.size),
            "kept_quantiles": _quantiles(k), "dropped_quantiles": _quantiles(d),
            "thresholds": p.thresholds, "cutoffs": list(p.cutoffs), **histogram(k, d, marks, p.log_x),
        })
    return out
