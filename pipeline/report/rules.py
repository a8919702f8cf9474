"""Which rules drop each document of a run: the report's per-rule table and what `pipeline audit` counts.

A rejected row carries its drop reason and step, and, when the run scored every document with every step
(`execution.score_all`), `drop_reasons`: every (step, reason) that would drop it. `read_docs` yields each
document of documents/ and rejected/ as a `Doc` (kept or not, its rules, its label, the score columns asked
for); `RuleTally` counts per reason the documents it drops first, as any rule, and alone (`only`), with good
and junk among them; `rule_counts` is that table without labels, for the report. Reads only the columns it
needs, never text, batch by batch.
"""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pyarrow.parquet as pq

from pipeline.report.labels import UNLABELED, Label, Labels, label_kind

# Steps of a rule that are not `steps:` entries, in the order a document meets them.
EARLY_STEPS = ("read", "extract")


@dataclass(slots=True)
class Doc:
    """A document of the run as the audit sees it."""

    kept: bool
    rules: list[tuple[str, str]]  # (step, reason) of every rule that drops it, its first rule first
    label: Label | None = None
    scores: dict[str, float] = field(default_factory=dict)


def score_all_of(summary: dict) -> bool:
    """Whether the run scored every document with every step (`execution.score_all` in its config)."""
    return bool(((summary.get("config") or {}).get("execution") or {}).get("score_all"))


def run_files(run_dir: Path, sub: str) -> list[Path]:
    """The Parquet files of a run's folder (documents, rejected), sorted; [] when it has none."""
    folder = run_dir / sub
    return sorted(folder.glob("*.parquet")) if folder.is_dir() else []


def drop_rules(row: dict) -> list[tuple[str, str]]:
    """Every (step, reason) that drops a rejected row, its own reason first. A rule that stopped a document
    (step_failed:X) after earlier rules had marked it is not in `drop_reasons`: it goes first all the same."""
    first = (str(row.get("step") or ""), str(row.get("reason") or ""))
    pairs: list[tuple[str, str]] = [first]
    raw = row.get("drop_reasons")
    if raw:
        try:
            pairs += [(str(s), str(r)) for s, r in json.loads(raw)]
        except (ValueError, TypeError):
            pass  # an unreadable list: the row still counts with its own reason
    seen: set[str] = set()
    out = []
    for step, reason in pairs:
        if reason not in seen:
            seen.add(reason)
            out.append((step, reason))
    return out


def read_rows(files: list[Path], wanted: list[str]) -> Iterator[dict]:
    """The rows of `files` as dicts of the `wanted` columns each file has."""
    for path in files:
        pfile = pq.ParquetFile(path)
        present = [c for c in wanted if c in pfile.schema_arrow.names]
        for batch in pfile.iter_batches(batch_size=4096, columns=present):
            yield from batch.to_pylist()


def _source_id(metadata: str | None) -> str | None:
    if not metadata:
        return None
    try:
        value = json.loads(metadata).get("source_id")
    except (ValueError, AttributeError):
        return None
    return None if value is None else str(value)


def rule_order(config: dict) -> dict[str, int]:
    """Position of each step in the run, for sorting rules: read and extract first, `steps:` in order, then the
    barrier stages (dedup) and anything unknown."""
    order = {s: i for i, s in enumerate(EARLY_STEPS)}
    for spec in config.get("steps") or []:
        if isinstance(spec, dict):
            order.setdefault(str(spec.get("step", "")), len(order))
    return order


class RuleTally:
    """first / any / only per reason, and good / junk / unlabeled among the documents it drops."""

    def __init__(self):
        self.first: Counter = Counter()
        self.any: Counter = Counter()
        self.only: Counter = Counter()
        self.step_of: dict[str, Counter] = defaultdict(Counter)
        self.by_label: dict[str, Counter] = defaultdict(Counter)  # "good", "good_only", "junk", ...
        self.good_by_register: dict[str, Counter] = defaultdict(Counter)

    def add(self, rules: list[tuple[str, str]], label: Label | None) -> None:
        if not rules:
            return
        self.first[rules[0][1]] += 1
        kind = label_kind(label)
        for step, reason in rules:
            self.step_of[reason][step] += 1
            self.any[reason] += 1
            self.by_label[kind][reason] += 1
            if len(rules) == 1:
                self.only[reason] += 1
                self.by_label[f"{kind}_only"][reason] += 1
            if kind == "good":
                self.good_by_register[reason][label.register] += 1

    def rows(self, order: dict[str, int]) -> list[dict]:
        out = []
        for reason in self.any:
            step = self.step_of[reason].most_common(1)[0][0]
            out.append({
                "reason": reason, "step": step, "first": self.first[reason], "any": self.any[reason],
                "only": self.only[reason],
                **{k: self.by_label[k][reason] for k in ("good", "good_only", "junk", "junk_only", UNLABELED)},
                "good_by_register": dict(sorted(self.good_by_register[reason].items())),
            })
        out.sort(key=lambda r: (order.get(r["step"], len(order)), -r["any"], r["reason"]))
        return out


def rule_counts(run_dir: Path, config: dict) -> list[dict]:
    """[{reason, step, first, any, only}] from rejected/ alone (no labels): the report's per-rule table."""
    tally = RuleTally()
    for row in read_rows(run_files(run_dir, "rejected"), ["reason", "step", "drop_reasons"]):
        tally.add(drop_rules(row), None)
    return [{k: r[k] for k in ("reason", "step", "first", "any", "only")} for r in tally.rows(rule_order(config))]


def read_docs(run_dir: Path, columns: list[str], labels: Labels, matched: set[int]) -> Iterator[Doc]:
    """Every document of the run, kept then dropped, with its label and its scores in `columns`; the line of
    each label found is added to `matched`."""
    wanted = ["url", "id", *(["metadata"] if labels.by_id else []), *columns]
    for kept, sub in ((True, "documents"), (False, "rejected")):
        for row in read_rows(run_files(run_dir, sub), wanted + ([] if kept else ["reason", "step", "drop_reasons"])):
            label = labels.of(row.get("url"), row.get("id"),
                              _source_id(row.get("metadata")) if labels.by_id else None)
            if label is not None:
                matched.add(label.line)
            scores = {c: float(row[c]) for c in columns
                      if isinstance(row.get(c), (int, float)) and not math.isnan(row[c])}
            yield Doc(kept, [] if kept else drop_rules(row), label, scores)
