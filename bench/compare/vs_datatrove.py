"""Our per-document pass against datatrove's FineWeb pipeline on the same WARC shards: speed and what each keeps.

    python bench/compare/vs_datatrove.py [--input GLOB] [--repeat N] [--no-ray]

Both run in this process, one after the other, on copies of the same shards (default: the bundled sample,
`data/sample/*.warc.gz`; `--repeat N` copies every shard N times for steadier timings):

- ours: `configs/ko-web.yaml` through `pipeline.run.run_job` with the barrier stages off (dedup, mix, tokenize,
  report = None) into a temp dir; once with `execution.backend: local` (one process, one core) and once with
  embedded Ray (`num_cpus=2`).
- datatrove: FineWeb's first stage (datatrove `examples/fineweb.py`, without its URLFilter) under
  `LocalPipelineExecutor(tasks=1, workers=1)`: WarcReader → Trafilatura(favour_precision=True) →
  LanguageFilter(["ko"]) → GopherRepetitionFilter → GopherQualityFilter →
  C4QualityFilter(filter_no_terminal_punct=False, as FineWeb ran it) → FineWebQualityFilter. The Gopher/C4/
  FineWeb filters keep their defaults, i.e. `language="eng"`: words come from spaCy's blank English tokenizer,
  the pipeline FineWeb ran (for "kor" datatrove would pick Kiwi morphemes). LanguageFilter gets our
  `models/lid.176.ftz` injected; nothing is downloaded.

CPU seconds: this process's and its children's (bench/harness.py) around each local run (datatrove's
Trafilatura runs in a forked sandbox child, reaped at the end, so CHILDREN counts it). Ray workers are not our
children, so Ray's figure is wall seconds × the 2 CPUs it was given. docs/s per core = WARC response records /
CPU seconds, the same numerator for every row. Then `data/sample/manifest.jsonl` (url → kind) says which kinds
of page each pipeline keeps. Needs `spacy` (blank English tokenizer), `faust-cchardet`, `python-magic` and
`fasteners` (datatrove's WarcReader and LanguageFilter).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"  # before datatrove imports huggingface_hub

import fasttext  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
from datatrove.executor import LocalPipelineExecutor  # noqa: E402
from datatrove.pipeline.extractors import Trafilatura  # noqa: E402
from datatrove.pipeline.filters import (  # noqa: E402
    C4QualityFilter,
    FineWebQualityFilter,
    GopherQualityFilter,
    GopherRepetitionFilter,
    LanguageFilter,
)
from datatrove.pipeline.readers import WarcReader  # noqa: E402
from datatrove.utils import lid as datatrove_lid  # noqa: E402
from warcio.archiveiterator import ArchiveIterator  # noqa: E402

from bench.harness import ROOT, cpu_seconds, read_manifest, stage_shards  # noqa: E402
from pipeline.job import load_config  # noqa: E402
from pipeline.run import run_job  # noqa: E402

RAY_CPUS = 2  # this machine's cores
ARTICLE_KINDS = ("article", "near_duplicate", "exact_duplicate")  # Korean prose pages a curator wants kept


def _no_download(*args, **kwargs):
    raise RuntimeError(f"bench must not download anything (datatrove asked for {args[:1]})")


# FT176LID.model downloads lid.176.bin when its `_model` is None; make that an error instead.
datatrove_lid.cached_asset_path_or_download = _no_download


def count_responses(paths: list[Path]) -> int:
    n = 0
    for p in paths:
        with open(p, "rb") as f:
            n += sum(1 for rec in ArchiveIterator(f) if rec.rec_type == "response")
    return n


# -- ours ----------------------------------------------------------------------------------------------------
def run_ours(config: str, input_dir: Path, out_dir: Path, backend: str, dedup: bool = False,
             line_dedup: bool = True) -> dict:
    """`dedup=True` keeps the config's dedup stage (its drops land in rejected/dedup-*.parquet).
    `line_dedup=False` turns the line-dedup pre-pass and step off: with --repeat every line of the sample is on
    >= 3 pages, so line dedup would (rightly) empty every copied page."""
    overrides = {"input.paths": [str(input_dir / "*.warc.gz")], "output": str(out_dir),
                 "execution.backend": backend}
    if backend == "ray":
        overrides["execution.num_cpus"] = RAY_CPUS
    job = load_config(config, overrides)
    update = {"mix": None, "tokenize": None, "report": None, **({} if dedup else {"dedup": None})}
    if not line_dedup:
        update.update(line_dedup=None, steps=[s for s in job.steps if s["step"] != "line_dedup_v1"])
    job = job.model_copy(update=update)
    cpu0, t0 = cpu_seconds(children=True), time.perf_counter()
    summary = run_job(job, restart=True, log=lambda *a: None)
    wall = time.perf_counter() - t0
    cpu = cpu_seconds(children=True) - cpu0
    outcome: dict[str, list[str]] = defaultdict(list)  # url → ["kept"] or [reason], one entry per copy
    for f in sorted((out_dir / "documents").glob("*.parquet")):
        for url in pq.read_table(f, columns=["url"]).column("url").to_pylist():
            outcome[url].append("kept")
    for f in sorted((out_dir / "rejected").glob("*.parquet")):
        t = pq.read_table(f, columns=["url", "reason"]).to_pydict()
        for url, reason in zip(t["url"], t["reason"]):
            outcome[url].append(reason)
    return {"docs_in": summary["documents_in"], "kept": summary["documents_kept"], "wall": wall, "cpu": cpu,
            "process_wall": summary["stage_seconds"]["extract"] + summary["stage_seconds"]["steps"], "outcome": outcome}


# -- datatrove -----------------------------------------------------------------------------------------------
class SharedFastText:
    """lid.176 for datatrove's FT176LID. LocalPipelineExecutor deep-copies the pipeline before a task and
    fastText's C++ model cannot be copied, so the copy shares this one."""

    def __init__(self, path: str):
        fasttext.FastText.eprint = lambda *a, **k: None  # load-time deprecation warning
        self.model = fasttext.load_model(path)

    def predict(self, text: str, k: int = -1):
        return self.model.predict(text, k=k)

    def __deepcopy__(self, memo):
        return self


class Tap:
    """A pipeline step that records the url of every document passing it (shared across datatrove's deepcopy)."""

    def __init__(self, name: str, seen: dict[str, list[str]]):
        self.name, self.seen = name, seen
        seen[name] = []

    def __call__(self, data, rank: int = 0, world_size: int = 1):
        for doc in data:
            self.seen[self.name].append(doc.metadata.get("url"))
            yield doc

    def __deepcopy__(self, memo):
        return self


def url_outcomes(seen: dict[str, list[str]], step_names: list[str]) -> dict[str, list[str]]:
    """Each url's fate in datatrove's pipeline: `dt_<step>` for the first step after which it no longer appears
    (once per copy of the url), `kept` for the copies that pass every step. `seen` maps step → urls passed."""
    outcome: dict[str, list[str]] = defaultdict(list)
    previous: Counter | None = None
    for name in step_names:
        now = Counter(seen[name])
        if previous is not None:
            for url, n in (previous - now).items():
                outcome[url] += [f"dt_{name}"] * n
        previous = now
    for url, n in (previous or Counter()).items():
        outcome[url] += ["kept"] * n
    return outcome


def run_datatrove(input_dir: Path, logging_dir: Path) -> dict:
    seen: dict[str, list[str]] = {}
    cpu0, t0 = cpu_seconds(children=True), time.perf_counter()
    language = LanguageFilter(languages=["ko"])
    language.model._model = SharedFastText(str(ROOT / "models/lid.176.ftz"))
    steps = [
        ("read", WarcReader(str(input_dir), glob_pattern="*.warc.gz")),
        ("trafilatura", Trafilatura(favour_precision=True)),
        ("language", language),
        ("gopher_repetition", GopherRepetitionFilter()),
        ("gopher_quality", GopherQualityFilter()),
        ("c4_quality", C4QualityFilter(filter_no_terminal_punct=False)),  # as in datatrove examples/fineweb.py
        ("fineweb_quality", FineWebQualityFilter()),
    ]
    pipeline = []
    for name, step in steps:
        pipeline += [step, Tap(name, seen)]
    executor = LocalPipelineExecutor(pipeline, tasks=1, workers=1, logging_dir=str(logging_dir))
    with open(logging_dir.parent / "datatrove-stderr.log", "w") as log, contextlib.redirect_stderr(log):
        executor.run()
    wall = time.perf_counter() - t0
    cpu = cpu_seconds(children=True) - cpu0
    # A url's fate: the first step after which it no longer appears ("read" = the reader skipped the record:
    # not HTML by type or libmagic, or undecodable with UTF-8 and cchardet's guess).
    outcome = url_outcomes(seen, [name for name, _ in steps])
    stats = json.loads((logging_dir / "stats.json").read_text())
    return {"docs_in": len(seen["read"]), "kept": len(seen["fineweb_quality"]), "wall": wall, "cpu": cpu,
            "outcome": outcome, "stats": stats}


# -- report --------------------------------------------------------------------------------------------------
def fates(manifest: dict, outcome: dict, repeat: int, reader_drop: str | None = None):
    """Per kind: pages, kept; plus drop reasons of Korean article pages. A manifest url a pipeline never saw
    (datatrove's reader skips without a trace) counts as dropped by `reader_drop`."""
    kept, reasons = Counter(), Counter()
    for url, row in manifest.items():
        got = outcome.get(url) or [reader_drop or "missing"] * repeat
        kept[row["kind"]] += got.count("kept")
        if row["kind"] in ARTICLE_KINDS:
            reasons.update(r for r in got if r != "kept")
    return kept, reasons


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--input", default=str(ROOT / "data/sample/*.warc.gz"), help="WARC shards (glob)")
    ap.add_argument("--repeat", type=int, default=1, help="copy the input shards N times")
    ap.add_argument("--config", default=str(ROOT / "configs/ko-web.yaml"))
    ap.add_argument("--manifest", default=str(ROOT / "data/sample/manifest.jsonl"),
                    help="url → kind (per-kind table skipped if absent)")
    ap.add_argument("--no-ray", action="store_true", help="skip the embedded-Ray run")
    args = ap.parse_args()
    os.chdir(ROOT)  # the config's relative paths (models/, configs/*.txt)

    with tempfile.TemporaryDirectory(prefix="bench-vs-dt-") as tmp:
        tmp = Path(tmp)
        shards = stage_shards(args.input, tmp / "input", args.repeat)
        records = count_responses(shards)
        print(f"input: {len(shards)} shard(s) ({args.input} × {args.repeat}), {records} WARC response records")
        # datatrove first: its Trafilatura sandbox forks, which is unsafe once Ray's threads are running.
        dt = run_datatrove(tmp / "input", tmp / "dt-logs")
        line_dedup = args.repeat == 1
        if not line_dedup:
            print("--repeat > 1: line dedup is off for our run (copies would put every line on >= 3 pages)")
        local = run_ours(args.config, tmp / "input", tmp / "ours-local", "local", line_dedup=line_dedup)
        ray = None if args.no_ray else run_ours(args.config, tmp / "input", tmp / "ours-ray", "ray",
                                                line_dedup=line_dedup)

    rows = [("ours, local backend (1 process)", local, local["cpu"], "rusage self+children"),
            ("datatrove FineWeb, 1 task 1 worker", dt, dt["cpu"], "rusage self+children")]
    if ray:
        rows.insert(1, ("ours, embedded Ray num_cpus=2", ray, ray["wall"] * RAY_CPUS,
                        f"wall {ray['wall']:.1f} s × {RAY_CPUS}"))
    print(f"\n{'pipeline':36} {'docs in':>8} {'kept':>6} {'CPU s':>7} {'docs/s/core':>11}  CPU seconds from")
    for name, r, cpu, how in rows:
        print(f"{name:36} {r['docs_in']:>8} {r['kept']:>6} {cpu:>7.2f} {records / cpu:>11.1f}  {how}")
    print("docs in: ours counts every WARC response record; datatrove's reader yields only HTML it could decode.")
    print(f"ratio ours(local)/datatrove docs/s per core: {dt['cpu'] / local['cpu']:.2f}")
    if ray:
        print(f"Ray: process stage {ray['process_wall']:.1f} s of {ray['wall']:.1f} s wall (rest: Ray start/stop); "
              f"docs/s/core on the process stage alone: {records / (ray['process_wall'] * RAY_CPUS):.1f}")
    print(f"wall seconds: ours local {local['wall']:.1f}, datatrove {dt['wall']:.1f}; load average now "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (wall-based figures inflate on a busy machine)")

    manifest_path = Path(args.manifest)
    if not manifest_path.is_file():
        return 0
    manifest = read_manifest(manifest_path)
    ours_kept, ours_reasons = fates(manifest, local["outcome"], args.repeat)
    dt_kept, dt_reasons = fates(manifest, dt["outcome"], args.repeat, reader_drop="dt_read")
    pages = Counter()
    for row in manifest.values():
        pages[row["kind"]] += args.repeat
    print(f"\nkept per page kind ({manifest_path.name}; no dedup in either run)")
    print(f"{'kind':20} {'pages':>6} {'ours':>6} {'datatrove':>10}")
    for kind, n in pages.most_common():
        print(f"{kind:20} {n:>6} {ours_kept[kind]:>6} {dt_kept[kind]:>10}")
    for label, kinds in (("Korean article pages", ARTICLE_KINDS),):
        n = sum(pages[k] for k in kinds)
        print(f"{label + ' (' + '+'.join(kinds) + ')'}: {n} pages; ours keeps "
              f"{sum(ours_kept[k] for k in kinds)}, datatrove keeps {sum(dt_kept[k] for k in kinds)}")
    print("article pages by charset (kept; datatrove's drops by step):")
    for charset in sorted({row["charset"] for row in manifest.values() if row["kind"] in ARTICLE_KINDS}):
        urls = [u for u, row in manifest.items() if row["kind"] in ARTICLE_KINDS and row["charset"] == charset]
        ours_n = sum(local["outcome"].get(u, []).count("kept") for u in urls)
        dt_fates = Counter(f for u in urls for f in (dt["outcome"].get(u) or ["dt_read"] * args.repeat))
        dt_n = dt_fates.pop("kept", 0)
        print(f"  {charset:7} {len(urls) * args.repeat:>4} pages: ours {ours_n}, datatrove {dt_n} "
              f"({', '.join(f'{r} {n}' for r, n in dt_fates.most_common())})")
    print("why article pages were dropped:")
    print("  ours:      " + ", ".join(f"{r} {n}" for r, n in ours_reasons.most_common()))
    print("  datatrove: " + ", ".join(f"{r} {n}" for r, n in dt_reasons.most_common()))
    print("datatrove's drop counters, all pages (its stats.json):")
    for step in dt["stats"]:
        drops = {k.removeprefix("dropped_"): v for k, v in step["stats"].items() if k.startswith("dropped_")}
        if drops:
            print(f"  {step['name'].split(':')[-1].strip():20} " + ", ".join(f"{k} {v}" for k, v in drops.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
