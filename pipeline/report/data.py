"""Read a run directory into the figures of the data-quality report (what `report.json` holds).

`collect(run_dir, opts) -> dict` reads `summary.json` (required), samples `documents/` and `rejected/`
Parquet files with bounded memory (only the columns it needs, the first rows of each file, at most
`opts.sample_rows` per side), and reads the optional outputs of later stages (dedup, mix, tokenizer, tokens,
train). Which thresholds it draws and shows the kept documents just inside, and which score columns it samples
for a histogram, come from what the run's steps declare (`pipeline.report.thresholds`,
`pipeline.report.distributions`), never from column or argument names. For a run scored in full
(`execution.score_all`) it counts, from the small `reason`/`step`/`drop_reasons` columns of every rejected
row, what each rule would drop and what only it drops (`pipeline.report.rules.rule_counts`). A stage whose
output is absent comes back as `None`; the HTML shows it as "not run". Histograms are computed here, so the
plots and the JSON carry the same numbers. Used by `pipeline.report`.
"""

from __future__ import annotations

import csv
import heapq
import math
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import yaml

from core.atomic import read_json
from pipeline.report import distributions
from pipeline.report.distributions import CHARS, EOJEOL
from pipeline.report.rules import rule_counts, run_files, score_all_of
from pipeline.report.thresholds import find_thresholds, numeric_columns


def cut(text: str | None, limit: int) -> str:
    """Shorten `text` to `limit` characters (a trailing "…" marks the cut); None becomes ""."""
    if not text:
        return ""
    text = text.strip()
    return text if len(text) <= limit else text[: max(0, limit - 1)].rstrip() + "…"


def _sample_batches(files: list[Path], columns: list[str], max_rows: int):
    """Yield record batches holding the first rows of each file, `max_rows` in all, spread over the files."""
    per_file = max(1, max_rows // max(1, len(files)))
    for path in files:
        pfile = pq.ParquetFile(path)
        present = [c for c in columns if c in pfile.schema_arrow.names]
        taken = 0
        for batch in pfile.iter_batches(batch_size=2000, columns=present):
            take = min(batch.num_rows, per_file - taken)
            yield batch.slice(0, take)
            taken += take
            if taken >= per_file:
                break


def _as_float(column: pa.ChunkedArray | pa.Array, drop_missing: bool = True) -> np.ndarray:
    values = pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False)
    return values[~np.isnan(values)] if drop_missing else values


class _NearThreshold:
    """The k kept documents whose score is closest to a threshold (on the kept side), with a snippet."""

    def __init__(self, threshold: dict, k: int):
        self.threshold, self.k = threshold, k
        self.heap: list[tuple[float, str, float, str]] = []  # (-distance, id, score, snippet): a max-heap

    def offer(self, scores: np.ndarray, ids: list, texts: list, snippet_chars: int) -> None:
        value = self.threshold["value"]
        distance = scores - value if self.threshold["kind"] == "min" else value - scores
        distance = np.where(np.isnan(distance) | (distance < 0), np.inf, distance)
        for i in np.argsort(distance, kind="stable")[: self.k]:
            if not math.isfinite(distance[i]):
                break
            item = (-float(distance[i]), str(ids[i]), float(scores[i]), cut(texts[i], snippet_chars))
            if len(self.heap) < self.k:
                heapq.heappush(self.heap, item)
            elif item[0] > self.heap[0][0]:
                heapq.heapreplace(self.heap, item)

    def examples(self) -> list[dict]:
        rows = sorted(self.heap, key=lambda x: -x[0])
        return [{"id": i, "score": round(s, 6), "snippet": t} for _, i, s, t in rows]


def _sample_kept(files, score_cols, thresholds, opts) -> tuple[dict[str, np.ndarray], list[list[dict]]]:
    values: dict[str, list[np.ndarray]] = defaultdict(list)
    # one keeper per threshold: a column may have two (gopher_quality_ko_v1.min_eojeol and max_eojeol)
    near = [_NearThreshold(t, opts.near_threshold_examples) for t in thresholds]
    for batch in _sample_batches(files, ["id", "text", *score_cols], opts.sample_rows):
        names = batch.schema.names
        # Unfiltered (NaN for missing) so that row i of every array is the same document.
        raw = {col: _as_float(batch.column(col), drop_missing=False) for col in score_cols if col in names}
        if "text" in names:
            text = batch.column("text")
            raw[CHARS] = _as_float(pc.utf8_length(text), drop_missing=False)
            raw[EOJEOL] = _as_float(pc.count_substring_regex(text, r"\S+"), drop_missing=False)
        for col, arr in raw.items():
            values[col].append(arr[~np.isnan(arr)])
        if near and "text" in names:
            ids = batch.column("id").to_pylist() if "id" in names else [""] * batch.num_rows
            texts = batch.column("text").to_pylist()
            for keeper in near:
                if keeper.threshold["column"] in raw:
                    keeper.offer(raw[keeper.threshold["column"]], ids, texts, opts.snippet_chars)
    merged = {k: np.concatenate(v) if v else np.empty(0) for k, v in values.items()}
    return merged, [keeper.examples() for keeper in near]


def _sample_dropped(files, score_cols, opts) -> dict[str, np.ndarray]:
    values: dict[str, list[np.ndarray]] = defaultdict(list)
    for batch in _sample_batches(files, [*score_cols, CHARS], opts.sample_rows):
        for col in batch.schema.names:
            values[col].append(_as_float(batch.column(col)))
    return {k: np.concatenate(v) if v else np.empty(0) for k, v in values.items()}


def _drop_examples(files: list[Path], reasons: set[str], opts) -> tuple[dict[str, list], dict[str, str]]:
    """A few dropped documents per reason, and the step that dropped each reason (most common `step`).

    Reads the `reason` column of every row group and the snippet columns only of row groups that still
    have a reason short of examples, so a large rejected/ folder costs little."""
    examples: dict[str, list[dict]] = {r: [] for r in reasons}
    steps: dict[str, Counter] = defaultdict(Counter)
    for path in files:
        pfile = pq.ParquetFile(path)
        names = pfile.schema_arrow.names
        if "reason" not in names:
            continue
        for group in range(pfile.num_row_groups):
            head = pfile.read_row_group(group, columns=[c for c in ("reason", "step") if c in names])
            reason_list = head.column("reason").to_pylist()
            if "step" in names:
                steps_here = head.column("step").to_pylist()
                for reason, step in zip(reason_list, steps_here):
                    steps[reason][step] += 1
            wanted = [i for i, r in enumerate(reason_list) if len(examples.setdefault(r, [])) < opts.examples_per_reason]
            if not wanted:
                continue
            cols = [c for c in ("id", "url", "snippet", CHARS, "duplicate_of") if c in names]
            rows = pfile.read_row_group(group, columns=cols).to_pylist()
            for i in wanted:
                bucket = examples[reason_list[i]]
                if len(bucket) < opts.examples_per_reason:
                    row = rows[i]
                    bucket.append({
                        "id": str(row.get("id", "")), "url": row.get("url") or "",
                        "text_chars": row.get(CHARS), "duplicate_of": row.get("duplicate_of"),
                        "snippet": cut(row.get("snippet"), opts.snippet_chars),
                    })
    step_of = {r: c.most_common(1)[0][0] for r, c in steps.items() if c}
    return examples, step_of


def _optional_json(path: Path) -> Any:
    return read_json(path) if path.is_file() else None


def _loss_curve(path: Path) -> list[dict] | None:
    if not path.is_file():
        return None
    rows = []
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            parsed = {}
            for key in ("step", "train_loss", "val_loss"):
                try:
                    parsed[key] = float(row[key]) if row.get(key) not in (None, "") else None
                except ValueError:
                    parsed[key] = None
            if parsed.get("step") is not None:
                rows.append(parsed)
    return rows


def _first(d: dict, *keys):
    return next((d[k] for k in keys if d.get(k) is not None), None)


def _mix_figures(manifest: dict | None) -> dict | None:
    """Mix manifest with `sources` as a list of {name, target_share, documents, tokens, documents_share,
    tokens_share, repeats}, whichever of the spellings the mix stage wrote (a dict keyed by source name,
    `share_documents`, `tokens_est`, repeats as {copies: documents})."""
    if not manifest:
        return None
    raw = manifest.get("sources") or []
    items = [{"name": name, **v} for name, v in raw.items()] if isinstance(raw, dict) else list(raw)
    sources = []
    for src in items:
        repeats = src.get("repeats")
        if isinstance(repeats, dict):  # copies per input document -> documents: show the largest copy count
            used = [int(k) for k, v in repeats.items() if str(k).lstrip("-").isdigit() and v]
            repeats = max(used) if used else 0
        sources.append({
            "name": str(src.get("name", "")), "target_share": src.get("target_share"),
            "documents": src.get("documents"), "tokens": _first(src, "tokens", "tokens_est"),
            "documents_share": _first(src, "documents_share", "share_documents"),
            "tokens_share": _first(src, "tokens_share", "share_tokens"), "max_repeats": repeats,
            **({"note": src["note"]} if src.get("note") else {}),  # "no documents" for an empty source
        })
    scalars = {k: v for k, v in manifest.items() if not isinstance(v, (dict, list))}
    return {**scalars, "sources": sources}


def _dedup_figures(stats: dict | None, opts) -> dict | None:
    """Dedup stats with member snippets cut like every other snippet, and at most 10 clusters of 5 shown."""
    if not stats:
        return None
    out = dict(stats)
    out["largest_clusters"] = [
        {**c, "members": [{**m, "snippet": cut(m.get("snippet"), opts.snippet_chars)} for m in (c.get("members") or [])[:5]]}
        for c in (stats.get("largest_clusters") or [])[:10]
    ]
    return out


def collect(run_dir: Path, opts) -> dict:
    """All figures of the report for `run_dir` (see module docstring); `opts` is a `pipeline.report.Config`."""
    summary = read_json(run_dir / "summary.json")
    config = summary.get("config") or {}
    specs = config.get("steps") or []
    kept_files, dropped_files = run_files(run_dir, "documents"), run_files(run_dir, "rejected")
    thresholds = find_thresholds(specs, [*numeric_columns(kept_files + dropped_files), CHARS, EOJEOL])
    planned = distributions.plan(specs, thresholds, summary.get("config_path"), run_dir)
    score_cols = [p.column for p in planned if p.column != CHARS]  # kept: from the text; dropped: always read
    kept, near = _sample_kept(kept_files, score_cols, thresholds, opts)
    dropped = _sample_dropped(dropped_files, score_cols, opts)

    documents_in = int(summary.get("documents_in", 0))
    dropped_counts: dict[str, int] = summary.get("documents_dropped") or {}
    examples, step_of = _drop_examples(dropped_files, set(dropped_counts), opts)
    total_dropped = sum(dropped_counts.values())
    reasons = [
        {
            "reason": reason, "count": int(count), "step": step_of.get(reason),
            "share_of_input": count / documents_in if documents_in else 0.0,
            "share_of_dropped": count / total_dropped if total_dropped else 0.0,
            "examples": examples.get(reason, []),
        }
        for reason, count in sorted(dropped_counts.items(), key=lambda kv: (-kv[1], kv[0]))
    ]

    steps = summary.get("steps") or {}
    pii = {}
    for step_name, step in steps.items():
        for label, value in ((step or {}).get("counters") or {}).items():
            if label.startswith("pii_"):
                pii[label.removeprefix("pii_")] = pii.get(label.removeprefix("pii_"), 0) + int(value)
    decontam = {"matches": {}, "chars_removed": 0, "pieces_dropped": 0}
    for step_name, step in steps.items():
        if not step_name.startswith("decontaminate"):
            continue
        for label, value in ((step or {}).get("counters") or {}).items():
            if label.startswith("matches:"):
                decontam["matches"][label.removeprefix("matches:")] = int(value)
            elif label == "decontam_chars_removed":
                decontam["chars_removed"] += int(value)
            elif label == "decontam_pieces_dropped":
                decontam["pieces_dropped"] += int(value)
    for spec in config.get("steps") or []:  # a benchmark that matched nothing is listed too
        if str(spec.get("step", "")).startswith("decontaminate"):
            for b in spec.get("benchmarks") or []:
                decontam["matches"].setdefault(str(b.get("name")), 0)
    decontam_ran = any(name.startswith("decontaminate") for name in steps)
    pii_ran = any("pii" in name for name in steps) or any("pii" in str(s.get("step", "")) for s in config.get("steps") or [])

    tokens_manifest = _optional_json(run_dir / "tokens" / "manifest.json")
    tokenizer_stats = _optional_json(run_dir / "tokenizer" / "stats.json")
    loss = _loss_curve(run_dir / "train" / "loss.csv")
    stages = summary.get("stages") or {}
    return {
        "run_dir": str(run_dir),
        "documents_in": documents_in,
        "documents_kept": int(summary.get("documents_kept", 0)),
        "documents_dropped_total": total_dropped,
        "bytes_in": summary.get("bytes_in"),
        "bytes_kept": summary.get("bytes_kept"),
        "funnel": summary.get("funnel") or [
            {"stage": "input", "documents": documents_in, "bytes": summary.get("bytes_in")},
            {"stage": "kept", "documents": summary.get("documents_kept", 0), "bytes": summary.get("bytes_kept")},
        ],
        "drops": reasons,
        # every rule that would drop each document, when the run scored every document with every step
        "rules": rule_counts(run_dir, config) if score_all_of(summary) else None,
        "near_threshold": [{**t, "examples": examples} for t, examples in zip(thresholds, near)],
        "distributions": distributions.figures(planned, kept, dropped),
        "sample": {"kept_rows": int(kept.get(CHARS, np.empty(0)).size), "dropped_rows": int(dropped.get(CHARS, np.empty(0)).size),
                   "max_rows_per_side": opts.sample_rows, "kept_files": len(kept_files), "dropped_files": len(dropped_files)},
        "dedup": _dedup_figures(_optional_json(run_dir / "dedup" / "stats.json") or stages.get("dedup"), opts),
        "decontamination": decontam if decontam_ran else None,
        "pii": pii if (pii or pii_ran) else None,
        "mix": _mix_figures(_optional_json(run_dir / "mix" / "manifest.json") or stages.get("mix")),
        "tokens": None if not (tokens_manifest or tokenizer_stats or loss or stages.get("tokenize")) else {
            "tokenizer": tokenizer_stats, "manifest": tokens_manifest, "loss": loss, "stage": stages.get("tokenize"),
        },
        "run": {
            "config": config, "config_path": summary.get("config_path"),
            "config_yaml": yaml.safe_dump(config, allow_unicode=True, sort_keys=False) if config else "",
            "versions": summary.get("versions") or {}, "inputs": summary.get("inputs") or [],
            "shards_total": summary.get("shards_total"), "shards_failed": summary.get("shards_failed") or [],
            "stage_seconds": summary.get("stage_seconds") or {}, "documents_per_second": summary.get("documents_per_second"),
            "started": summary.get("started"), "finished": summary.get("finished"),
            "steps": steps,
        },
    }
