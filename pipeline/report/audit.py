"""`pipeline audit RUN_DIR --labels FILE [--json OUT]`: what each drop rule of a run costs, on labelled documents.

    pipeline run CONFIG --input 'dev/*.warc.gz' --output runs/dev    # best with execution.score_all: true
    pipeline audit runs/dev --labels dev/manifest.jsonl [--json runs/dev/audit.json]

Labels are JSONL, one object a line: `url` (or `id`: the run's document id or the input record's own id),
`label` (`keep`: a good document, `drop`: junk) and `register` (wiki, news, spam, ...; optional). A document
is joined on its url, else on its id; a document without a label counts as "unlabeled". The audit prints:
1. rules: per drop reason, the documents it drops as their first rule (`first`, the run's drop reason), as any
   rule that would drop them (`any`), and those no other rule would drop (`only`: what the rule earns, or
   costs); good (label keep) and junk (label drop) among them, and the good ones per register;
2. registers: documents per (label, register), the kept share of good ones, the dropped share of junk;
3. thresholds: for every threshold of a step on a score column (declared decisions, `core.steps.Decision`;
   else the naming convention of `pipeline.report.thresholds`), the same figures at other values: a few steps
   around the value as run and the quantiles of the column among good documents. At a value t a scored
   document counts as dropped when its column is beyond t, unless its step dropped it for another reason (the
   step never reached the check); conditions that are not a column (ko_spam_v1.min_matches) are not modelled,
   so the row "as run" can differ a little from the rules table.

With `execution.score_all: true` (in summary.json's config) every rule ran on every document: rejected rows
carry `drop_reasons`, every rule that would drop them, and every document that reached a step has its score.
Without it a document carries only its first rule (any == only == first, and the output says so) and the
sweep sees only documents that reached the step. `rule_counts` gives the rules table without labels (the
report shows it for runs scored in full). Reads only the columns it needs, never text, batch by batch; it
keeps a few numbers per document, which is fine for a labelled dev set.
"""

from __future__ import annotations

import argparse
import json
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from core.atomic import read_json, write_json
from core.errors import ConfigError
from pipeline.report.thresholds import step_decisions

LABELS = ("keep", "drop")
UNLABELED = "unlabeled"
NO_REGISTER = "-"
# Steps of a rule that are not `steps:` entries, in the order a document meets them.
EARLY_STEPS = ("read", "extract")
# Thresholds tried around the value as run, and the quantiles of the column among good documents: the low ones
# for a minimum (what it costs to keep the lowest good documents), the high ones for a maximum.
STEP_FACTORS = (0.5, 0.75, 1.25, 1.5, 2.0)
GOOD_QUANTILES = {"min": (1, 5, 10), "max": (90, 95, 99)}


# -- labels ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Label:
    label: str  # keep | drop
    register: str
    line: int


@dataclass
class Labels:
    path: Path
    by_url: dict[str, Label] = field(default_factory=dict)
    by_id: dict[str, Label] = field(default_factory=dict)
    rows: int = 0
    per_register: Counter = field(default_factory=Counter)  # (label, register) -> rows

    def of(self, url: str | None, doc_id: str | None, source_id: str | None) -> Label | None:
        """A document's label: by its url, else its id in the run, else the input record's own id."""
        label = self.by_url.get(url) if url else None
        if label is None and self.by_id:
            label = self.by_id.get(str(doc_id)) or (self.by_id.get(source_id) if source_id else None)
        return label


def read_labels(path: Path) -> Labels:
    """The labels file. A bad row (not JSON, no url and no id, a label other than keep/drop, two labels for one
    document) is a ConfigError naming the file and line."""
    if not path.is_file():
        raise ConfigError(f"{path}: labels file not found")
    labels = Labels(path)
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            where = f"{path}:{n}"
            try:
                obj = json.loads(line)
            except ValueError as e:
                raise ConfigError(f"{where}: not JSON ({e})") from None
            if not isinstance(obj, dict):
                raise ConfigError(f"{where}: not a JSON object")
            url, doc_id = obj.get("url"), obj.get("id")
            if not (isinstance(url, str) and url) and doc_id in (None, ""):
                raise ConfigError(f"{where}: needs a url or an id")
            if obj.get("label") not in LABELS:
                raise ConfigError(f"{where}: label must be keep or drop, not {obj.get('label')!r}")
            register = obj.get("register")
            lab = Label(obj["label"], str(register) if register not in (None, "") else NO_REGISTER, n)
            table, key = (labels.by_url, url) if isinstance(url, str) and url else (labels.by_id, str(doc_id))
            old = table.get(key)
            if old is not None:
                if (old.label, old.register) != (lab.label, lab.register):
                    raise ConfigError(f"{where}: {key!r} is labelled {old.label}/{old.register} on line {old.line} "
                                      f"and {lab.label}/{lab.register} here")
                continue  # the same label twice counts once
            table[key] = lab
            labels.rows += 1
            labels.per_register[(lab.label, lab.register)] += 1
    if not labels.rows:
        raise ConfigError(f"{path}: no label rows")
    return labels


# -- the run ---------------------------------------------------------------------------------------------

@dataclass(slots=True)
class Doc:
    kept: bool
    rules: list[tuple[str, str]]  # (step, reason) of every rule that drops it, its first rule first
    label: Label | None = None
    scores: dict[str, float] = field(default_factory=dict)


def score_all_of(summary: dict) -> bool:
    return bool(((summary.get("config") or {}).get("execution") or {}).get("score_all"))


def _files(run_dir: Path, sub: str) -> list[Path]:
    folder = run_dir / sub
    return sorted(folder.glob("*.parquet")) if folder.is_dir() else []


def _rules(row: dict) -> list[tuple[str, str]]:
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


def _rows(files: list[Path], wanted: list[str]) -> Iterator[dict]:
    for path in files:
        pfile = pq.ParquetFile(path)
        present = [c for c in wanted if c in pfile.schema_arrow.names]
        for batch in pfile.iter_batches(batch_size=4096, columns=present):
            yield from batch.to_pylist()


def _numeric_columns(files: list[Path]) -> list[str]:
    names: dict[str, None] = {}
    for path in files:
        for f in pq.read_schema(path):
            if pa.types.is_integer(f.type) or pa.types.is_floating(f.type):
                names[f.name] = None
    return list(names)


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


# -- counting --------------------------------------------------------------------------------------------

def _kind(label: Label | None) -> str:
    return UNLABELED if label is None else ("good" if label.label == "keep" else "junk")


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
        kind = _kind(label)
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
    for row in _rows(_files(run_dir, "rejected"), ["reason", "step", "drop_reasons"]):
        tally.add(_rules(row), None)
    return [{k: r[k] for k in ("reason", "step", "first", "any", "only")} for r in tally.rows(rule_order(config))]


def _read_docs(run_dir: Path, columns: list[str], labels: Labels, matched: set[int]) -> Iterator[Doc]:
    wanted = ["url", "id", *(["metadata"] if labels.by_id else []), *columns]
    for kept, sub in ((True, "documents"), (False, "rejected")):
        for row in _rows(_files(run_dir, sub), wanted + ([] if kept else ["reason", "step", "drop_reasons"])):
            label = labels.of(row.get("url"), row.get("id"),
                              _source_id(row.get("metadata")) if labels.by_id else None)
            if label is not None:
                matched.add(label.line)
            scores = {c: float(row[c]) for c in columns
                      if isinstance(row.get(c), (int, float)) and not math.isnan(row[c])}
            yield Doc(kept, [] if kept else _rules(row), label, scores)


def _registers(docs: list[Doc], labels: Labels) -> list[dict]:
    in_run, kept, reasons = Counter(), Counter(), defaultdict(Counter)
    for d in docs:
        key = (d.label.label, d.label.register) if d.label else (UNLABELED, UNLABELED)
        in_run[key] += 1
        kept[key] += d.kept
        if d.rules:
            reasons[key][d.rules[0][1]] += 1
    out = []
    order = {"keep": 0, "drop": 1}
    for key in sorted(set(labels.per_register) | set(in_run), key=lambda k: (order.get(k[0], 2), k[1])):
        n, k = in_run[key], kept[key]
        out.append({"label": key[0], "register": key[1], "labelled": labels.per_register.get(key), "documents": n,
                    "kept": k, "kept_share": k / n if n else None, "dropped_share": (n - k) / n if n else None,
                    "first_reasons": dict(reasons[key].most_common())})
    return out


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


def _sweep(t: dict, docs: list[Doc]) -> dict:
    """The rules-table figures of one threshold at other values (see the module docstring)."""
    step, reason, col, kind = t["step"], t["reason"], t["column"], t["kind"]
    pool = []  # (value, label, no other rule drops it)
    for d in docs:
        if col not in d.scores:
            continue
        if reason is not None:
            if any(s == step and r != reason for s, r in d.rules):
                continue  # its step dropped it for another reason first
            alone = all(r == reason for _, r in d.rules)
        else:  # undeclared: the step's own reasons are unknown, so only other steps' rules count
            alone = all(s == step for s, _ in d.rules)
        pool.append((d.scores[col], d.label, alone))
    values = np.array([v for v, _, _ in pool])
    good = np.array([v for v, lab, _ in pool if _kind(lab) == "good"])
    integer = float(t["value"]).is_integer() and all(float(v).is_integer() for v in values[:1000])
    rows = []
    for value, basis in _candidates(t["value"], kind, good, integer):
        counts: Counter = Counter()
        lost: Counter = Counter()
        for v, lab, alone in pool:
            if not ((v < value) if kind == "min" else (v > value)):
                continue
            k = _kind(lab)
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
            "scored_junk": sum(1 for _, lab, _ in pool if _kind(lab) == "junk"), "rows": rows}


def audit(run_dir: Path, labels_path: Path) -> dict:
    """The audit's figures (what `--json` writes). ConfigError for a missing run or labels file, or a bad row."""
    if not run_dir.is_dir():
        raise ConfigError(f"{run_dir}: run directory not found")
    if not (run_dir / "summary.json").is_file():
        raise ConfigError(f"{run_dir}: not a run directory (no summary.json)")
    labels = read_labels(labels_path)
    summary = read_json(run_dir / "summary.json")
    config = summary.get("config") or {}
    columns = _numeric_columns(_files(run_dir, "documents") + _files(run_dir, "rejected"))
    thresholds = [t for spec in config.get("steps") or [] for t in step_decisions(spec, columns)]
    matched: set[int] = set()
    docs = list(_read_docs(run_dir, sorted({t["column"] for t in thresholds}), labels, matched))
    tally = RuleTally()
    for d in docs:
        tally.add(d.rules, d.label)
    in_register = Counter(d.label.register for d in docs if d.label and d.label.label == "keep")
    return {
        "run_dir": str(run_dir), "score_all": score_all_of(summary),
        "documents": len(docs), "kept": sum(d.kept for d in docs),
        "labels": {"path": str(labels_path), "rows": labels.rows, "matched": len(matched),
                   "not_in_run": labels.rows - len(matched)},
        "good_per_register": dict(sorted(in_register.items())),
        "rules": tally.rows(rule_order(config)),
        "registers": _registers(docs, labels),
        "thresholds": [_sweep(t, docs) for t in thresholds],
    }


# -- text ------------------------------------------------------------------------------------------------

def _pct(share) -> str:
    return "-" if share is None else f"{100 * share:.1f}%"


def _num(v) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def _by_register(counts: dict[str, int], sizes: dict[str, int]) -> str:
    return ", ".join(f"{reg} {n}/{sizes.get(reg, 0)} ({_pct(n / sizes[reg] if sizes.get(reg) else None)})"
                     for reg, n in sorted(counts.items(), key=lambda kv: -kv[1])) or "-"


def _table(headers: list[str], rows: list[list], text_cols: set[int], indent: str = "") -> list[str]:
    """Columns of `text_cols` aligned left, figures right; the last column is never padded."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]

    def line(values):
        return indent + "  ".join(v.ljust(w) if i in text_cols else v.rjust(w)
                                  for i, (v, w) in enumerate(zip(values, widths))).rstrip()

    return [line(headers), *(line(r) for r in cells)]


def format_text(f: dict) -> str:
    lab = f["labels"]
    sizes = f["good_per_register"]
    out = [f"audit of {f['run_dir']}: {f['documents']} documents, {f['kept']} kept, {f['documents'] - f['kept']} dropped",
           f"labels {lab['path']}: {lab['rows']} rows, {lab['matched']} found in the run, {lab['not_in_run']} not in the run"]
    if f["score_all"]:
        out.append("scored in full (execution.score_all): every rule ran on every document")
    else:
        out.append("not scored in full: a dropped document carries only its first rule, so any = only = first "
                   "(run with execution.score_all: true to measure what only each rule drops)")
    out += ["", "Rules: documents each drop rule drops: as their first rule (the run's drop reason), as any rule, "
                "and those no other rule drops (only).",
            "good / junk = labelled keep / drop among the documents it drops (any); good lost per register: of the "
            "register's good documents in the run."]
    rows = [[r["reason"], r["step"], r["first"], r["any"], r["only"], r["good"], r["good_only"], r["junk"],
             r["junk_only"], r[UNLABELED], _by_register(r["good_by_register"], sizes)] for r in f["rules"]]
    out += _table(["rule", "step", "first", "any", "only", "good", "good only", "junk", "junk only", "unlabeled",
                   "good lost, per register"], rows, {0, 1, 10}) if rows else ["(no document was dropped)"]
    out += ["", "Registers"]
    rows = [[r["label"], r["register"], "-" if r["labelled"] is None else r["labelled"], r["documents"], r["kept"],
             _pct(r["kept_share"]) if r["label"] != "drop" else "-",
             _pct(r["dropped_share"]) if r["label"] != "keep" else "-",
             ", ".join(f"{k} {v}" for k, v in list(r["first_reasons"].items())[:4]) or "-"] for r in f["registers"]]
    out += _table(["label", "register", "labelled", "in run", "kept", "kept share", "dropped share",
                   "drop reasons (first rule)"], rows, {0, 1, 7})
    if f["thresholds"]:
        out += ["", "Thresholds at other values, from the score columns of every scored document "
                    "(a document counts where its score is beyond the value, unless its step dropped it for another reason)"]
    for t in f["thresholds"]:
        sign = "<" if t["kind"] == "min" else ">"
        what = t["reason"] or f"some reason of {t['step']} (not declared)"
        out += ["", f"{t['step']}.{t['key']}: drops {t['column']} {sign} t as {what}; as run t = {_num(t['value'])}; "
                    f"scored: {t['scored']} ({t['scored_good']} good, {t['scored_junk']} junk)"]
        rows = [[_num(r["threshold"]), r["basis"], r["drops"], r["only"], r["good"], r["good_only"], r["junk"],
                 r["junk_only"], r[UNLABELED], _by_register(r["good_by_register"], sizes)] for r in t["rows"]]
        out += _table(["t", "basis", "drops", "only", "good", "good only", "junk", "junk only", "unlabeled",
                       "good lost, per register"], rows, {1, 9}, indent="  ")
    return "\n".join(out) + "\n"


# -- command line ----------------------------------------------------------------------------------------

def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", metavar="RUN_DIR", help="output directory of `pipeline run` (holds summary.json)")
    parser.add_argument("--labels", required=True, metavar="FILE",
                        help="JSONL: url (or id), label keep|drop, register")
    parser.add_argument("--json", metavar="OUT", help="also write the figures as JSON to OUT")


def main(args: argparse.Namespace) -> int:
    figures = audit(Path(args.run_dir), Path(args.labels))
    print(format_text(figures), end="")
    if args.json:
        write_json(Path(args.json), figures)
    return 0
