"""What a declared threshold of a run would drop at other values: the threshold table of `pipeline audit`.

For each threshold (`pipeline.report.thresholds.step_decisions`: a step's `core.steps.Decision` with its value
as run), `sweep` tries the value as run, a few steps around it (`STEP_FACTORS`) and the quantiles of the column
among good documents (`GOOD_QUANTILES`). At a value t a scored document counts as dropped when its column is
beyond t, unless its step dropped it for another reason (the step never reached the check); `only` counts
those no other rule drops. Conditions that are not a column (ko_spam_v1.min_matches) are not modelled, so the
row "as run" can differ a little from the rules table.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np

from pipeline.report.labels import UNLABELED, label_kind
from pipeline.report.rules import Doc

# Thresholds tried around the value as run, and the quantiles of the column among good documents: the low ones
# for a minimum (what it costs to keep the lowest good documents), the high ones for a maximum.
STEP_FACTORS = (0.5, 0.75, 1.25, 1.5, 2.0)
GOOD_QUANTILES = {"min": (1, 5, 10), "max": (90, 95, 99)}


def _candidates(value: float, kind: str, good: np.ndarray, integer: bool) -> list[tuple[float, str]]:
    cands: dict[float, str] = {}

    def put(v: float, basis: str) -> None:
        v = float(round(v)) if integer else round(float(v), 6)
        if math.isfinite(v) and v >= 0:
            cands.setdefault(v, basis)

    put(value, "as run")
    for f in STEP_FACTORS:
        put(value * f, f"x{f:g}")
    if good.size:
        for q in GOOD_QUANTILES[kind]:
            put(np.percentile(good, q), f"good p{q}")
    return sorted(cands.items())


def sweep(t: dict, docs: list[Doc]) -> dict:
    """The rules-table figures of threshold `t` at other values (see the module docstring), from `docs` scored
    in `t`'s column."""
    step, reason, col, kind = t["step"], t["reason"], t["column"], t["kind"]
    pool = []  # (value, label, no other rule drops it)
    for d in docs:
        if col not in d.scores:
            continue
        if any(s == step and r != reason for s, r in d.rules):
            continue  # its step dropped it for another reason first
        alone = all(r == reason for _, r in d.rules)
        pool.append((d.scores[col], d.label, alone))
    values = np.array([v for v, _, _ in pool])
    good = np.array([v for v, lab, _ in pool if label_kind(lab) == "good"])
    integer = float(t["value"]).is_integer() and all(float(v).is_integer() for v in values[:1000])
    rows = []
    for value, basis in _candidates(t["value"], kind, good, integer):
        counts: Counter = Counter()
        lost: Counter = Counter()
        for v, lab, alone in pool:
            if not ((v < value) if kind == "min" else (v > value)):
                continue
            k = label_kind(lab)
            counts["drops"] += 1
            counts[k] += 1
            if alone:
                counts["only"] += 1
                counts[f"{k}_only"] += 1
            if k == "good":
                lost[lab.register] += 1
        if counts["drops"] == len(pool) and basis != "as run":
            continue  # beyond every score: drops everything, says nothing
        rows.append({"threshold": value, "basis": basis,
                     **{k: counts[k] for k in ("drops", "only", "good", "good_only", "junk", "junk_only", UNLABELED)},
                     "good_by_register": dict(sorted(lost.items()))})
    return {**t, "scored": len(pool), "scored_good": int(good.size),
            "scored_junk": sum(1 for _, lab, _ in pool if label_kind(lab) == "junk"), "rows": rows}
