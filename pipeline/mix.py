"""Barrier stage `mix`: sample several sources into one training mix by weight or budget, deterministically.

Config (`mix:` section, see `Config`): each source is a glob of Parquet or JSONL(.gz) files with a text column
(`{run_dir}` stands for this run's directory, so `{run_dir}/documents/*.parquet` is the curated output), and either a
`weight` (share of the mix) or a `budget` (absolute documents or tokens). Shares are counted in documents or in
estimated tokens (`target`); tokens are *estimated* as characters / `chars_per_token` so that mixing needs no
tokenizer (the tokenizer is trained on the mix, after it).

How sampling works (after FineWeb-2's rehydration): every source gets a sampling factor f = wanted / available,
capped at `max_repeats`. Each document is written floor(f) times plus once more with probability frac(f); the
coin is a hash of (seed, source, document id), so the same seed gives the same mix whatever the sharding or the
executor. f < 1 down-samples, 1 < f <= max_repeats up-samples.

Rehydration (FineWeb-2, `rehydrate:` on a source): dedup keeps one document per duplicate cluster and writes
the cluster's size on it (`cluster_size`, pipeline/dedup/rewrite.py). A source with a weight table by cluster-size
bucket counts each document as w(size) documents: its rehydrated size is the sum of w over its documents (capped
per document at `max_repeats` when that is set), the source factor f above is planned against that size and capped
at 1, and a document is written floor(f·w) times plus once more with probability frac(f·w), by the same seeded
coin. With f = 1 (the source alone, or the one that bounds the largest mix) integer weights give exactly w copies
per document, so FineWeb-2's table is applied as published; with f < 1 the source keeps its share of the mix and
the weights its shape. The manifest gives per bucket the weight, documents in and copies written. The table and
its checks are in pipeline/dedup/rehydrate.py; configs/ko-web-rehydrate.yaml uses FineWeb-2's published table.

Two passes, each one task per input file through `executor.map`: count (documents and characters per file),
then sample and write `RUN/mix/<source>-<file>.parquet` (id, text, source, repeat) streaming by record batch,
and `RUN/mix/manifest.json` with target and actual shares per source. `pipeline mix CONFIG` runs it alone.

Empty sources: a source with no documents (the run's web text after every page was dropped) gets no share; the
weighted sources that have documents share the mix by their weights, and the manifest marks the empty one
(`"note": "no documents"`). If every source is empty the mix is empty and the manifest says so. A path that
matches no file is an error ("no files match", a typo or a missing input), except a `{run_dir}` path while the
run's documents/ holds no Parquet file: a run whose shards all failed writes none, and that is an empty source.
"""

from __future__ import annotations

import glob
import json
import math
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from core.atomic import atomic_path, write_json
from core.docfiles import PARQUET_COMPRESSION, iter_document_batches, iter_text_batches, unit_hash
from core.errors import ConfigError, RunError
from core.config import check_against_job
from core.sections import RUN_PLACEHOLDERS
from core.sections import MixConfig as Config
from core.sections import SourceConfig
from pipeline.dedup.rehydrate import copies_wanted, rehydrate_manifest, rehydrate_plan
from pipeline.executor import Executor
from pipeline.layout import content_digest
from pipeline.job import load_config

MIX_SCHEMA = pa.schema([("id", pa.string()), ("text", pa.string()), ("source", pa.string()), ("repeat", pa.int32())])




def source_digests(cfg: Config) -> list[tuple[str, str]]:
    """(file, content digest) of every source file outside the run directory: the mix is redone when one
    changes (pipeline/stages.py); this run's own documents are covered by the dedup stage's fingerprint."""
    out = []
    for src in cfg.sources:
        for pat in [src.path] if isinstance(src.path, str) else src.path:
            if not any(ph in pat for ph in RUN_PLACEHOLDERS):
                out += [(f, content_digest(f)) for f in sorted(glob.glob(os.path.expanduser(pat)))]
    return out


def expand_source(src: SourceConfig, run_dir: Path) -> list[str]:
    """The files of a source; [] only for a run-directory path of a run that wrote no documents file."""
    patterns = [src.path] if isinstance(src.path, str) else src.path
    files: list[str] = []
    for pat in patterns:
        pat = os.path.expanduser(pat.replace("{run_dir}", str(run_dir)))
        files.extend(sorted(glob.glob(pat)) if glob.has_magic(pat) else ([pat] if os.path.exists(pat) else []))
    if not files:
        # Shards that could not be read leave no documents file, so a run whose every shard failed has an empty
        # documents/: its own output is then empty, not misspelt. With documents files present, a run-directory
        # path that matches none of them is a typo like any other.
        own_output = all(any(ph in pat for ph in RUN_PLACEHOLDERS) for pat in patterns)
        if own_output and not any((Path(run_dir) / "documents").glob("*.parquet")):
            return []
        raise RunError(f"mix: source {src.name!r}: no files match {src.path!r}")
    return list(dict.fromkeys(files))


def count_file(path: str, text_key: str, id_key: str, batch_rows: int) -> tuple[int, int]:
    """(documents, characters) of one input file."""
    docs = chars = 0
    if path.endswith(".parquet"):
        pf = pq.ParquetFile(path)
        for batch in pf.iter_batches(batch_size=batch_rows, columns=[text_key]):
            docs += batch.num_rows
            chars += pc.sum(pc.utf8_length(batch.column(0))).as_py() or 0
        return docs, chars
    for texts, _ in iter_text_batches(path, text_key, id_key, batch_rows):
        docs += len(texts)
        chars += sum(len(t) for t in texts)
    return docs, chars


def count_rehydrated_file(path: str, text_key: str, id_key: str, batch_rows: int, rehydrate: dict
                          ) -> tuple[int, int, float, float]:
    """(documents, characters, rehydrated documents, rehydrated characters) of one input file."""
    docs = chars = 0
    r_docs = r_chars = 0.0
    for texts, _, sizes in iter_document_batches(path, text_key, id_key, batch_rows, rehydrate["column"]):
        lengths = np.fromiter((len(t) for t in texts), dtype=np.float64, count=len(texts))
        copies, _ = copies_wanted(sizes, rehydrate)
        docs += len(texts)
        chars += int(lengths.sum())
        r_docs += float(copies.sum())
        r_chars += float((copies * lengths).sum())
    return docs, chars, r_docs, r_chars


# ---------------------------------------------------------------- planning


def copies_for(factor: float, u: float) -> int:
    whole = math.floor(factor)
    return whole + (1 if u < factor - whole else 0)


def factor_cap(src: SourceConfig):
    """Largest sampling factor: max_repeats copies of each document, or for a rehydrated source (whose available
    units already count each document's copies) its rehydrated size once."""
    return 1 if src.rehydrate is not None else src.max_repeats


def plan_factors(cfg: Config, available: dict[str, float]) -> dict[str, dict]:
    """Per source: wanted units and the sampling factor (wanted / available, capped at max_repeats; a rehydrated
    source's available units are its rehydrated size, and its factor is capped at 1)."""
    budgets = {s.name: float(s.budget) for s in cfg.sources if s.budget is not None}
    # A weighted source without documents cannot take its share: the others share the mix by their weights
    # (otherwise an empty web source would make the largest mix empty, and a fixed total would come up short).
    weighted = [s for s in cfg.sources if s.weight is not None and available[s.name] > 0]
    weight_sum = sum(s.weight for s in weighted)
    if cfg.total is not None:
        remainder = cfg.total - sum(budgets.values())
        if remainder < 0:
            raise ConfigError(f"mix: source budgets ({sum(budgets.values()):.0f}) exceed the total ({cfg.total})")
        if remainder > 0 and not weighted:
            remainder = 0.0
    elif weighted:
        # Largest remainder such that no weighted source needs more than max_repeats copies of itself.
        remainder = min(available[s.name] * factor_cap(s) * weight_sum / s.weight for s in weighted)
    else:
        remainder = 0.0
    plan = {}
    for s in cfg.sources:
        have = available[s.name]
        if s.budget is not None:
            wanted = budgets[s.name]
        else:
            wanted = remainder * s.weight / weight_sum if have > 0 else 0.0
        cap = factor_cap(s)
        factor = min(wanted / have, float(cap)) if have > 0 else 0.0
        if s.rehydrate is not None and factor > 1 - 1e-9:
            # The source that bounds the largest mix comes out at 1 up to rounding: its weights then apply as given.
            factor = 1.0
        over = wanted / have > (cap if s.rehydrate is None else 1 + 1e-9) if have > 0 else False
        plan[s.name] = {"wanted": wanted, "factor": factor, "capped_by_max_repeats": over}
    total_wanted = sum(p["wanted"] for p in plan.values()) or 1.0
    for p in plan.values():
        p["target_share"] = p["wanted"] / total_wanted
    return plan


# ---------------------------------------------------------------- sampling task


def mix_file(source: str, path: str, text_key: str, id_key: str, factor: float, seed: int, out_path: str,
             batch_rows: int, row_group_size: int, rehydrate: dict | None = None) -> dict:
    """Sample one input file into one mix Parquet file; return its counts. Runs as one task.

    With `rehydrate` (rehydrate_plan), a document's factor is `factor` times its bucket's weight, and the counts
    include per bucket the documents read and the copies written."""
    docs_in = docs_out = chars_out = 0
    repeats: dict[int, int] = {}
    size_key = rehydrate["column"] if rehydrate is not None else None
    buckets = [{"documents": 0, "copies": 0} for _ in rehydrate["names"]] if rehydrate is not None else None
    row = 0
    with atomic_path(out_path) as tmp, pq.ParquetWriter(tmp, MIX_SCHEMA, compression=PARQUET_COMPRESSION) as writer:
        for texts, ids, sizes in iter_document_batches(path, text_key, id_key, batch_rows, size_key):
            out_ids, out_texts, out_rep = [], [], []
            copies = []
            if rehydrate is not None:
                wanted, bucket = copies_wanted(sizes, rehydrate)
                doc_factors = (factor * wanted).tolist()
            for i, (text, doc_id) in enumerate(zip(texts, ids)):
                if doc_id is None:
                    doc_id = f"{source}/{os.path.basename(path)}/{row}"
                row += 1
                n = copies_for(factor if rehydrate is None else doc_factors[i], unit_hash(seed, source, doc_id))
                repeats[n] = repeats.get(n, 0) + 1
                copies.append((doc_id, text, n))
                if buckets is not None:
                    buckets[bucket[i]]["documents"] += 1
                    buckets[bucket[i]]["copies"] += n
            docs_in += len(texts)
            # Copy r of every document in the batch before copy r+1, so repeats are not adjacent.
            for r in range(max((c[2] for c in copies), default=0)):
                for doc_id, text, n in copies:
                    if n > r:
                        out_ids.append(doc_id)
                        out_texts.append(text)
                        out_rep.append(r)
                        chars_out += len(text)
            docs_out += len(out_ids)
            if out_ids:
                table = pa.table([out_ids, out_texts, [source] * len(out_ids), pa.array(out_rep, pa.int32())],
                                 schema=MIX_SCHEMA)
                writer.write_table(table, row_group_size=row_group_size)
    result = {"documents_in": docs_in, "documents": docs_out, "chars": chars_out, "repeats": repeats}
    if buckets is not None:
        result["buckets"] = buckets
    return result


# ---------------------------------------------------------------- stage


def count_any_file(path: str, text_key: str, id_key: str, batch_rows: int, rehydrate: dict | None = None) -> tuple:
    """Task: count_file, or count_rehydrated_file for a rehydrated source."""
    if rehydrate is None:
        return count_file(path, text_key, id_key, batch_rows)
    return count_rehydrated_file(path, text_key, id_key, batch_rows, rehydrate)


def run(cfg: Config, job, run_dir: Path, executor) -> dict:
    run_dir = Path(run_dir)
    source_path = getattr(job, "source_path", None)
    check_against_job(cfg, job, f"{source_path}: mix" if source_path else "mix")
    files = {s.name: expand_source(s, run_dir) for s in cfg.sources}
    by_name = {s.name: s for s in cfg.sources}
    rehydrate = {s.name: rehydrate_plan(s.rehydrate, s.repeat_cap) for s in cfg.sources}
    count_items = [(p, by_name[n].text_key, by_name[n].id_key, cfg.batch_rows) + ((rehydrate[n],) if rehydrate[n] else ())
                   for n in files for p in files[n]]
    counts = iter(executor.map(count_any_file, count_items, "mix: count"))
    per_file_counts = {n: [next(counts) for _ in files[n]] for n in files}
    input_docs = {n: sum(c[0] for c in per_file_counts[n]) for n in files}
    input_chars = {n: sum(c[1] for c in per_file_counts[n]) for n in files}
    available = dict(input_docs) if cfg.target == "documents" else {n: input_chars[n] / cfg.chars_per_token for n in files}
    # A rehydrated source offers each document as many times as its bucket's weight says.
    rehydrated_docs = {n: sum(c[2] for c in per_file_counts[n]) for n in files if rehydrate[n]}
    rehydrated_chars = {n: sum(c[3] for c in per_file_counts[n]) for n in files if rehydrate[n]}
    for n in rehydrated_docs:
        available[n] = rehydrated_docs[n] if cfg.target == "documents" else rehydrated_chars[n] / cfg.chars_per_token
    plan = plan_factors(cfg, available)

    row_group_size = getattr(getattr(job, "execution", None), "row_group_size", 2000)
    mix_dir = run_dir / "mix"
    mix_dir.mkdir(parents=True, exist_ok=True)
    items, outputs = [], []
    for n, paths in files.items():
        for i, p in enumerate(paths):
            out = str(mix_dir / f"{n}-{i:05d}.parquet")
            outputs.append((n, out))
            items.append((n, p, by_name[n].text_key, by_name[n].id_key, plan[n]["factor"], cfg.seed, out,
                          cfg.batch_rows, row_group_size) + ((rehydrate[n],) if rehydrate[n] else ()))
    results = executor.map(mix_file, items, "mix: sample")
    ours = {os.path.basename(out) for _, out in outputs}
    for stale in mix_dir.glob("*.parquet"):  # from an earlier run with other files: the tokenizer reads mix/*
        if stale.name not in ours:
            stale.unlink()

    sources: dict[str, dict] = {n: {"documents": 0, "chars": 0, "repeats": {}} for n in files}
    for (n, _), res in zip(outputs, results):
        agg = sources[n]
        agg["documents"] += res["documents"]
        agg["chars"] += res["chars"]
        for k, v in res["repeats"].items():
            agg["repeats"][str(k)] = agg["repeats"].get(str(k), 0) + v
        for j, b in enumerate(res.get("buckets", [])):
            agg.setdefault("buckets", [{"documents": 0, "copies": 0} for _ in res["buckets"]])
            agg["buckets"][j]["documents"] += b["documents"]
            agg["buckets"][j]["copies"] += b["copies"]
    total_docs = sum(a["documents"] for a in sources.values()) or 1
    total_chars = sum(a["chars"] for a in sources.values()) or 1
    manifest_sources = {}
    for n, agg in sources.items():
        s = by_name[n]
        manifest_sources[n] = {
            "weight": s.weight, "budget": s.budget, "max_repeats": s.repeat_cap,
            "target_share": round(plan[n]["target_share"], 6),
            "sampling_factor": round(plan[n]["factor"], 6),
            "capped_by_max_repeats": plan[n]["capped_by_max_repeats"],
            "input_files": len(files[n]), "input_documents": input_docs[n],
            "input_tokens_est": round(input_chars[n] / cfg.chars_per_token),
            "documents": agg["documents"], "tokens_est": round(agg["chars"] / cfg.chars_per_token),
            "share_documents": round(agg["documents"] / total_docs, 6),
            "share_tokens": round(agg["chars"] / total_chars, 6),
            # copies per input document -> number of input documents (0 = not sampled)
            "repeats": dict(sorted(agg["repeats"].items(), key=lambda kv: int(kv[0]))),
        }
        if rehydrate[n]:
            manifest_sources[n]["rehydrate"] = rehydrate_manifest(rehydrate[n], agg.get("buckets"), rehydrated_docs[n],
                                                                  rehydrated_chars[n] / cfg.chars_per_token)
        if input_docs[n] == 0:
            manifest_sources[n]["note"] = "no documents"
    manifest = {
        "seed": cfg.seed, "target": cfg.target,
        "token_estimate": f"characters / {cfg.chars_per_token}",
        "documents": sum(a["documents"] for a in sources.values()),
        "tokens_est": round(sum(a["chars"] for a in sources.values()) / cfg.chars_per_token),
        "sources": manifest_sources,
        "files": [{"path": os.path.basename(out), "source": n, "documents": r["documents"]}
                  for (n, out), r in zip(outputs, results)],
    }
    empty = [n for n in files if input_docs[n] == 0]
    if empty:
        manifest["empty_sources"] = empty
    if manifest["documents"] == 0:
        manifest["note"] = "no documents"
    write_json(mix_dir / "manifest.json", manifest)
    share_key = "share_documents" if cfg.target == "documents" else "share_tokens"
    result = {"documents": manifest["documents"], "tokens_est": manifest["tokens_est"],
              "shares": {n: m[share_key] for n, m in manifest_sources.items()},
              "target_shares": {n: m["target_share"] for n, m in manifest_sources.items()}}
    for key in ("empty_sources", "note"):
        if key in manifest:
            result[key] = manifest[key]
    return result


# ---------------------------------------------------------------- CLI: pipeline mix CONFIG


def add_arguments(parser) -> None:
    parser.add_argument("config", help="job config with a mix: section")
    parser.add_argument("--output", help="run directory (default: the config's output)")


def main(args) -> int:
    job = load_config(args.config)
    if job.mix is None:
        raise ConfigError(f"{args.config}: no mix: section")
    cfg = job.mix
    executor = Executor(job.execution)
    try:
        figures = run(cfg, job, Path(args.output or job.output), executor)
    finally:
        executor.shutdown()
    print(json.dumps(figures, ensure_ascii=False))
    return 0
