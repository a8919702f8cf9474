"""Barrier stage `mix`: sample several sources into one training mix by weight or budget, deterministically.

Config (`mix:` section, see `Config`): each source is a glob of Parquet or JSONL(.gz) files with a text column
(`{run}` stands for this run's directory, so `{run}/documents/*.parquet` is the curated output), and either a
`weight` (share of the mix) or a `budget` (absolute documents or tokens). Shares are counted in documents or in
estimated tokens (`target`); tokens are *estimated* as characters / `chars_per_token` so that mixing needs no
tokenizer (the tokenizer is trained on the mix, after it).

How sampling works (after FineWeb-2's rehydration): every source gets a sampling factor f = wanted / available,
capped at `max_repeats`. Each document is written floor(f) times plus once more with probability frac(f); the
coin is a hash of (seed, source, document id), so the same seed gives the same mix whatever the sharding or the
executor. f < 1 down-samples, 1 < f <= max_repeats up-samples.

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
import gzip
import hashlib
import json
import math
import os
from pathlib import Path
from typing import Iterator, Literal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field, model_validator

from pipeline.atomic import atomic_path, write_json
from pipeline.errors import ConfigError, RunError
from pipeline.text import nfc

MIX_SCHEMA = pa.schema([("id", pa.string()), ("text", pa.string()), ("source", pa.string()), ("repeat", pa.int32())])


class SourceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    # Glob(s) of .parquet / .jsonl / .jsonl.gz files; "{run}" is replaced by the run directory.
    path: str | list[str]
    # Exactly one of: weight (relative share among the weighted sources) or budget (documents or tokens, per
    # `target`, taken first; the weighted sources share what is left of the total).
    weight: float | None = Field(default=None, gt=0)
    budget: int | None = Field(default=None, gt=0)
    # Up-sampling cap: a document is written at most this many times (FineWeb-2 rehydration repeats the best
    # clusters up to a small cap rather than without bound).
    max_repeats: int = Field(default=1, ge=1)
    text_key: str = "text"
    id_key: str = "id"

    @model_validator(mode="after")
    def _weight_or_budget(self):
        if (self.weight is None) == (self.budget is None):
            raise ValueError(f"source {self.name!r}: give exactly one of weight or budget")
        return self


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seed: int = 1234
    # Unit in which weights, budgets, totals and shares are counted.
    target: Literal["documents", "tokens"] = "documents"
    sources: list[SourceConfig] = Field(min_length=1)
    # Size of the mix in the target unit; null = the largest mix that keeps the weights without any source
    # exceeding its max_repeats.
    total_documents: int | None = Field(default=None, gt=0)
    total_tokens: int | None = Field(default=None, gt=0)
    # Token estimate = characters / chars_per_token. 1.65 is what the default 8000-piece unigram tokenizer gives
    # on Korean Wikipedia (bench/tokenize_throughput.py: 0.6076 tokens/char); a run's own figure is
    # 1 / `fertility_tokens_per_char` in tokenizer/stats.json.
    chars_per_token: float = Field(default=1.65, gt=0)
    # Documents read and written per record batch (bounded memory per task).
    batch_rows: int = Field(default=1000, ge=1)

    @model_validator(mode="after")
    def _totals_match_target(self):
        names = [s.name for s in self.sources]
        if len(set(names)) != len(names):
            raise ValueError("source names must be unique")
        if self.target == "documents" and self.total_tokens is not None:
            raise ValueError("total_tokens needs target: tokens")
        if self.target == "tokens" and self.total_documents is not None:
            raise ValueError("total_documents needs target: documents")
        return self

    @property
    def total(self) -> int | None:
        return self.total_documents if self.target == "documents" else self.total_tokens


# ---------------------------------------------------------------- reading


def iter_text_batches(path: str, text_key: str = "text", id_key: str = "id", batch_rows: int = 1000
                      ) -> Iterator[tuple[list[str], list[str | None]]]:
    """Yield (texts, ids) batches from a Parquet or JSONL(.gz) file; ids are None where the file has none."""
    if path.endswith(".parquet"):
        pf = pq.ParquetFile(path)
        names = set(pf.schema_arrow.names)
        if text_key not in names:
            raise RunError(f"{path}: no column {text_key!r} (columns: {sorted(names)})")
        cols = [text_key] + ([id_key] if id_key in names else [])
        for batch in pf.iter_batches(batch_size=batch_rows, columns=cols):
            texts = [t or "" for t in batch.column(text_key).to_pylist()]
            ids = batch.column(id_key).to_pylist() if id_key in names else [None] * len(texts)
            yield texts, [None if i is None else str(i) for i in ids]
        return
    if path.endswith((".jsonl", ".jsonl.gz", ".json", ".json.gz")):
        opener = gzip.open if path.endswith(".gz") else open
        texts, ids = [], []
        with opener(path, "rt", encoding="utf-8") as fh:
            for line in fh:
                if not line.strip():
                    continue
                rec = json.loads(line)
                texts.append(nfc(str(rec.get(text_key) or "")))
                ids.append(None if rec.get(id_key) is None else str(rec[id_key]))
                if len(texts) >= batch_rows:
                    yield texts, ids
                    texts, ids = [], []
        if texts:
            yield texts, ids
        return
    raise RunError(f"{path}: not a .parquet or .jsonl(.gz) file")


RUN_PLACEHOLDERS = ("{run_dir}", "{run}")


def expand_source(src: SourceConfig, run_dir: Path) -> list[str]:
    """The files of a source; [] only for a run-directory path of a run that wrote no documents file."""
    patterns = [src.path] if isinstance(src.path, str) else src.path
    files: list[str] = []
    for pat in patterns:
        pat = os.path.expanduser(pat.replace("{run_dir}", str(run_dir)).replace("{run}", str(run_dir)))
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


# ---------------------------------------------------------------- planning


def unit_hash(seed: int, source: str, doc_id: str) -> float:
    """A uniform number in [0, 1) fixed by (seed, source, document id)."""
    h = hashlib.blake2b(f"{seed}\x00{source}\x00{doc_id}".encode(), digest_size=8).digest()
    return int.from_bytes(h, "little") / 2.0**64


def copies_for(factor: float, u: float) -> int:
    whole = math.floor(factor)
    return whole + (1 if u < factor - whole else 0)


def plan_factors(cfg: Config, available: dict[str, float]) -> dict[str, dict]:
    """Per source: wanted units and the sampling factor (wanted / available, capped at max_repeats)."""
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
        remainder = min(available[s.name] * s.max_repeats * weight_sum / s.weight for s in weighted)
    else:
        remainder = 0.0
    plan = {}
    for s in cfg.sources:
        have = available[s.name]
        if s.budget is not None:
            wanted = budgets[s.name]
        else:
            wanted = remainder * s.weight / weight_sum if have > 0 else 0.0
        factor = min(wanted / have, float(s.max_repeats)) if have > 0 else 0.0
        plan[s.name] = {"wanted": wanted, "factor": factor, "capped_by_max_repeats": have > 0 and wanted / have > s.max_repeats}
    total_wanted = sum(p["wanted"] for p in plan.values()) or 1.0
    for p in plan.values():
        p["target_share"] = p["wanted"] / total_wanted
    return plan


# ---------------------------------------------------------------- sampling task


def mix_file(source: str, path: str, text_key: str, id_key: str, factor: float, seed: int, out_path: str,
             batch_rows: int, row_group_size: int) -> dict:
    """Sample one input file into one mix Parquet file; return its counts. Runs as one task."""
    docs_in = docs_out = chars_out = 0
    repeats: dict[int, int] = {}
    row = 0
    with atomic_path(out_path) as tmp, pq.ParquetWriter(tmp, MIX_SCHEMA) as writer:
        for texts, ids in iter_text_batches(path, text_key, id_key, batch_rows):
            out_ids, out_texts, out_rep = [], [], []
            copies = []
            for text, doc_id in zip(texts, ids):
                if doc_id is None:
                    doc_id = f"{source}/{os.path.basename(path)}/{row}"
                row += 1
                n = copies_for(factor, unit_hash(seed, source, doc_id))
                repeats[n] = repeats.get(n, 0) + 1
                copies.append((doc_id, text, n))
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
    return {"documents_in": docs_in, "documents": docs_out, "chars": chars_out, "repeats": repeats}


# ---------------------------------------------------------------- stage


def run(cfg: Config, job, run_dir: Path, executor) -> dict:
    run_dir = Path(run_dir)
    files = {s.name: expand_source(s, run_dir) for s in cfg.sources}
    by_name = {s.name: s for s in cfg.sources}
    count_items = [(p, by_name[n].text_key, by_name[n].id_key, cfg.batch_rows) for n in files for p in files[n]]
    counts = iter(executor.map(count_file, count_items, "mix: count"))
    per_file_counts = {n: [next(counts) for _ in files[n]] for n in files}
    input_docs = {n: sum(c[0] for c in per_file_counts[n]) for n in files}
    input_chars = {n: sum(c[1] for c in per_file_counts[n]) for n in files}
    available = input_docs if cfg.target == "documents" else {n: input_chars[n] / cfg.chars_per_token for n in files}
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
                          cfg.batch_rows, row_group_size))
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
    total_docs = sum(a["documents"] for a in sources.values()) or 1
    total_chars = sum(a["chars"] for a in sources.values()) or 1
    manifest_sources = {}
    for n, agg in sources.items():
        s = by_name[n]
        manifest_sources[n] = {
            "weight": s.weight, "budget": s.budget, "max_repeats": s.max_repeats,
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
    from pipeline.config import load_config
    from pipeline.executor import Executor
    from pipeline.stages import validate_section

    job = load_config(args.config)
    if job.mix is None:
        raise ConfigError(f"{args.config}: no mix: section")
    cfg = validate_section("mix", job.mix, f"{args.config}: mix")
    executor = Executor(job.execution)
    try:
        figures = run(cfg, job, Path(args.output or job.output), executor)
    finally:
        executor.shutdown()
    print(json.dumps(figures, ensure_ascii=False))
    return 0
