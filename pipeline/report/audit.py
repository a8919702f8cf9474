"""`pipeline audit RUN_DIR --labels FILE [--json OUT]`: what each drop rule of a run costs, on labelled documents.

    pipeline run CONFIG --input 'dev/*.warc.gz' --output runs/dev    # best with execution.score_all: true
    pipeline audit runs/dev --labels dev/manifest.jsonl [--json runs/dev/audit.json]

Labels are JSONL, one object a line: `url` (or `id`), `label` (`keep`: a good document, `drop`: junk) and
`register` (wiki, news, spam, ...; optional); see `pipeline.report.labels`. A document without a label counts
as "unlabeled". The audit prints:
1. rules: per drop reason, the documents it drops as their first rule (`first`, the run's drop reason), as any
   rule that would drop them (`any`), and those no other rule would drop (`only`: what the rule earns, or
   costs); good (label keep) and junk (label drop) among them, and the good ones per register
   (`pipeline.report.rules`);
2. registers: documents per (label, register), the kept share of good ones, the dropped share of junk;
3. thresholds: for every threshold a step of the run declares (`core.steps.Decision`), the same figures at
   other values: a few steps around the value as run and the quantiles of the column among good documents
   (`pipeline.report.sweep`).

With `execution.score_all: true` (in summary.json's config) every rule ran on every document: rejected rows
carry `drop_reasons`, every rule that would drop them, and every document that reached a step has its score.
Without it a document carries only its first rule (any == only == first, and the output says so) and the
sweep sees only documents that reached the step. It keeps a few numbers per document, which is fine for a
labelled dev set.
"""

from __future__ import annotations

import argparse
from collections import Counter, defaultdict
from pathlib import Path

from core.atomic import read_json, write_json
from core.errors import ConfigError
from pipeline.report.labels import UNLABELED, Labels, read_labels
from pipeline.report.rules import Doc, RuleTally, read_docs, rule_order, run_files, score_all_of
from pipeline.report.sweep import sweep
from pipeline.report.thresholds import numeric_columns, step_decisions


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


def audit(run_dir: Path, labels_path: Path) -> dict:
    """The audit's figures (what `--json` writes). ConfigError for a missing run or labels file, or a bad row."""
    if not run_dir.is_dir():
        raise ConfigError(f"{run_dir}: run directory not found")
    if not (run_dir / "summary.json").is_file():
        raise ConfigError(f"{run_dir}: not a run directory (no summary.json)")
    labels = read_labels(labels_path)
    summary = read_json(run_dir / "summary.json")
    config = summary.get("config") or {}
    columns = numeric_columns(run_files(run_dir, "documents") + run_files(run_dir, "rejected"))
    thresholds = [t for spec in config.get("steps") or [] for t in step_decisions(spec, columns)]
    matched: set[int] = set()
    docs = list(read_docs(run_dir, sorted({t["column"] for t in thresholds}), labels, matched))
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
        "thresholds": [sweep(t, docs) for t in thresholds],
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
        out += ["", f"{t['step']}.{t['key']}: drops {t['column']} {sign} t as {t['reason']}; as run t = {_num(t['value'])}; "
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
