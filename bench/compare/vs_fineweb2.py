"""Our pipeline against datatrove configured as FineWeb-2 configures Korean, on the same WARC shards in one run.

    python bench/compare/vs_fineweb2.py [--input GLOB] [--manifest FILE] [--kiwi-shards N] [--rounds N]
                                        [--kiwi-rounds N] [--language-threshold 0.65]

Three pipelines read copies of the same shards (default: the bundled sample; for steadier figures build a
bigger one: `python data/make_sample.py --pages-per-shard 1000 --shards 3 --out /tmp/s3k --seed 7`):

- datatrove FineWeb-2 (Kiwi): what huggingface/fineweb-2 `fineweb-2-pipeline.py` (commit 7ee60b3) runs on a
  Korean page, with `configs/kor_Hang.yml` (commit 05e6729), in `LocalPipelineExecutor(workers=1)`:
  FineWeb's first steps, whose non-English output was FineWeb-2's input (WarcReader → URLFilter, its block
  lists loaded once per process → Trafilatura(favour_precision=True) → LanguageFilter(["en"]) inverted), then
  the per-language part: LanguageFilter(["ko"]) → MinHash 14 buckets × 8 hashes on 5-grams (xxhash, 64 bit;
  stages 1-4: signatures, buckets (14 tasks), clusters, filter) → GopherRepetition → FineWebQuality →
  GopherQuality with the kor_Hang thresholds, `language="kor_Hang"`, so every word split is datatrove's
  KiwiTokenizer (Kiwi morphemes; needs `kiwipiepy<0.22`, `kiwipiepy_model`, and `tokenizers` for datatrove's
  dedup package) → the final touches FTFYFormatter → PIIFormatter → SymbolLinesFormatter("|"). Language ID:
  FineWeb-2 used GlotLID with language_score >= 0.842; we have no GlotLID model, so the Korean LanguageFilter
  gets our `models/lid.176.ftz` with `--language-threshold` (default 0.65, the value ko-web.yaml uses for
  lid.176). GlotLID's vectors are 256-dimensional against lid.176's 16, so this understates datatrove's
  language-ID cost.
- datatrove FineWeb-2 (whitespace): the same, with `kor_Hang` mapped to a tokenizer whose words are
  `str.split()` (datatrove's WhitespaceTokenizer with its spaCy word split replaced).
- ours: `configs/ko-web.yaml` through `pipeline.run.run_job` with `execution.backend: local` (one process), the
  line-dedup pre-pass, every per-document step and the dedup stage; mix, tokenize and report off.

With a dev set (`python data/make_devset.py --out /tmp/ko-devset`; `--input '/tmp/ko-devset/*.warc.gz'`), whose
manifest labels each page keep or drop with its register, keep/drop is printed per label and register.

`--kiwi-shards N` gives the Kiwi pipeline only the first N shards (Kiwi costs ~100x the rest); its rates and
keep/drop figures are then over that subset, which the output says. `--rounds N` repeats ours and the whitespace
pipeline and `--kiwi-rounds N` the Kiwi pipeline, all interleaved; each keeps its least CPU (CPU seconds inflate by
up to ~30% when other work shares the cores; the first run in a process also pays imports and model loading). CPU
seconds: this process's and its children's (bench/harness.py) around each run (datatrove's Trafilatura times out
in a forked child). docs/s per core = WARC response records read / CPU seconds. Kept per page kind comes from the
sample's `manifest.jsonl`. (Before 2026-12-01 the datatrove pipelines had no URLFilter, English filter or final
touches.)
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import glob
import os
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

# vs_datatrove sets HF_HUB_OFFLINE before datatrove loads and turns datatrove's model download into an error.
from bench.compare.vs_datatrove import SharedFastText, Tap, count_responses, run_ours, url_outcomes
from bench.harness import ROOT, cpu_seconds, read_manifest, stage_shards

from datatrove.executor import LocalPipelineExecutor
# datatrove.pipeline.dedup's __init__ imports exact_substrings, which needs the `tokenizers` package.
from datatrove.pipeline.dedup.minhash import (
    MinhashConfig, MinhashDedupBuckets, MinhashDedupCluster, MinhashDedupFilter, MinhashDedupSignature,
)
from datatrove.pipeline.extractors import Trafilatura
from datatrove.pipeline.filters import (
    FineWebQualityFilter, GopherQualityFilter, GopherRepetitionFilter, LanguageFilter, URLFilter,
)
from datatrove.pipeline.formatters import FTFYFormatter, PIIFormatter, SymbolLinesFormatter
from datatrove.pipeline.readers import JsonlReader, WarcReader
from datatrove.pipeline.writers import JsonlWriter
from datatrove.utils import text as datatrove_text
from datatrove.utils import word_tokenizers
from datatrove.utils.hashes import xxhash as datatrove_xxhash
from datatrove.utils.hashing import HashConfig

import tldextract
import xxhash

# xxhash 4 no longer hashes str (3.x encoded it as UTF-8); datatrove 0.10.1 passes str, so encode as 3.x did.
datatrove_xxhash.xxhash64 = lambda data: xxhash.xxh64_intdigest(data.encode() if isinstance(data, str) else data)
datatrove_xxhash.xxhash32 = lambda data: xxhash.xxh32_intdigest(data.encode() if isinstance(data, str) else data)

LANG = "kor_Hang"
# huggingface/fineweb-2 configs/kor_Hang.yml (commit 05e6729); stop words = configs/ko_stopwords.txt (same 21).
KOR_HANG = {
    "dup_line_frac": 0.374,
    "dup_n_grams": [(5, 0.201), (6, 0.184), (7, 0.168), (8, 0.154), (9, 0.14), (10, 0.127)],
    "top_n_grams": [(2, 0.282), (3, 0.228), (4, 0.185)],
    "line_punct_thr": 0.062,
    "new_line_ratio": 0.196,
    "max_avg_word_length": 6,
    "min_avg_word_length": 1,
    "max_non_alpha_words_ratio": 0.791,
}
WHITESPACE, KIWI = "datatrove FineWeb-2, whitespace words", "datatrove FineWeb-2, Kiwi words"
ARTICLE_KINDS = ("article", "near_duplicate", "exact_duplicate")  # one article group: keep one page of it


def stopwords() -> list[str]:
    lines = (ROOT / "configs/ko_stopwords.txt").read_text(encoding="utf-8").splitlines()
    return [w.strip() for w in lines if w.strip() and not w.startswith("#")]


class WhitespaceWords(word_tokenizers.WhitespaceTokenizer):
    """datatrove's fallback tokenizer with words = `str.split()` (its own word split goes through spaCy "xx")."""

    def word_tokenize(self, text: str) -> list[str]:
        return text.split()


class KiwiCounted(word_tokenizers.KiwiTokenizer):
    """datatrove's KiwiTokenizer, counting the calls and characters it is asked to split."""

    calls = 0
    chars = 0

    def word_tokenize(self, text: str) -> list[str]:
        KiwiCounted.calls += 1
        KiwiCounted.chars += len(text)
        return super().word_tokenize(text)


class SharedURLFilter(URLFilter):
    """datatrove's URLFilter, FineWeb's first step after the reader (FineWeb-2's input went through it), with its
    integrated block lists loaded once per process, as a long-running worker holds them (the copy
    LocalPipelineExecutor makes of each task's pipeline shares this one), and the public suffix list taken from
    tldextract's bundled snapshot instead of fetched from the internet."""

    def __init__(self):
        super().__init__()
        self.tldextractor = tldextract.TLDExtract(cache_dir=None, suffix_list_urls=())
        self.download_data()

    def __deepcopy__(self, memo):
        return self


class NotEnglish(LanguageFilter):
    """FineWeb's English language filter inverted: what it excluded (lid.176 English score <= 0.65) was
    FineWeb-2's input; FineWeb-2 then ran GlotLID over it, here the LanguageFilter for Korean that follows."""

    def filter(self, doc) -> bool:
        return not super().filter(doc)


def use_word_tokenizer(cls: type) -> None:
    """Make datatrove's lookup for `kor_Hang` build `cls` (its tokenizer table and caches are module-level)."""
    word_tokenizers.load_tokenizer_assignments()[LANG] = cls
    word_tokenizers.load_word_tokenizer.cache_clear()
    datatrove_text.split_into_parts.cache_clear()


@functools.cache
def url_filter() -> SharedURLFilter:
    return SharedURLFilter()


def run_fineweb2(input_dir: Path, work: Path, language_threshold: float, tokenizer: type) -> dict:
    use_word_tokenizer(tokenizer)
    seen: dict[str, list[str]] = {}
    minhash = MinhashConfig(hash_config=HashConfig(hash_fc="xxhash", precision=64), num_buckets=14,
                            hashes_per_bucket=8, n_grams=5)
    lid176 = SharedFastText(str(ROOT / "models/lid.176.ftz"))
    not_english = NotEnglish(languages=["en"])
    language = LanguageFilter(languages=["ko"], language_threshold=language_threshold)
    not_english.model._model = language.model._model = lid176
    first = [("read", WarcReader(str(input_dir), glob_pattern="*.warc.gz")), ("url", url_filter()),
             ("trafilatura", Trafilatura(favour_precision=True)), ("not_english", not_english),
             ("language", language)]
    last = [
        ("minhash", MinhashDedupFilter(input_folder=str(work / "remove_ids"))),
        ("gopher_repetition", GopherRepetitionFilter(
            language=LANG, dup_para_frac=0, dup_line_char_frac=0, dup_para_char_frac=0,
            dup_line_frac=KOR_HANG["dup_line_frac"], top_n_grams=KOR_HANG["top_n_grams"],
            dup_n_grams=KOR_HANG["dup_n_grams"])),
        ("fineweb_quality", FineWebQualityFilter(
            language=LANG, short_line_thr=999, char_duplicates_ratio=0.1,
            line_punct_thr=KOR_HANG["line_punct_thr"], new_line_ratio=KOR_HANG["new_line_ratio"])),
        ("gopher_quality", GopherQualityFilter(
            language=LANG, max_avg_word_length=KOR_HANG["max_avg_word_length"],
            min_avg_word_length=KOR_HANG["min_avg_word_length"], stop_words=stopwords(),
            max_non_alpha_words_ratio=KOR_HANG["max_non_alpha_words_ratio"], min_stop_words=2)),
        # FineWeb-2's "final touches" (they drop nothing)
        ("ftfy", FTFYFormatter()), ("pii", PIIFormatter()),
        ("symbol_lines", SymbolLinesFormatter(symbols_to_remove=["|"], replace_char="\n")),
    ]

    def tapped(steps):
        out = []
        for name, step in steps:
            out += [step, Tap(name, seen)]
        return out

    stages = [  # (name, pipeline, tasks)
        ("filter_language", tapped(first) + [JsonlWriter(str(work / "lang"))], 1),
        ("minhash_1_signatures", [JsonlReader(str(work / "lang")), MinhashDedupSignature(
            output_folder=str(work / "signatures"), config=minhash, language=LANG)], 1),
        ("minhash_2_buckets", [MinhashDedupBuckets(input_folder=str(work / "signatures"),
                                                   output_folder=str(work / "buckets"), config=minhash)],
         minhash.num_buckets),  # datatrove requires tasks % num_buckets == 0
        ("minhash_3_clusters", [MinhashDedupCluster(input_folder=str(work / "buckets"),
                                                    output_folder=str(work / "remove_ids"), config=minhash)], 1),
        ("filter_quality", [JsonlReader(str(work / "lang"))] + tapped(last), 1),
    ]
    cpu0, t0 = cpu_seconds(children=True), time.perf_counter()
    stage_cpu = {}
    with open(work / "datatrove-stderr.log", "w") as log, contextlib.redirect_stderr(log):
        for name, pipeline, tasks in stages:
            c = cpu_seconds(children=True)
            LocalPipelineExecutor(pipeline, tasks=tasks, workers=1, logging_dir=str(work / "logs" / name)).run()
            stage_cpu[name] = cpu_seconds(children=True) - c
    wall, cpu = time.perf_counter() - t0, cpu_seconds(children=True) - cpu0
    # A url's fate: the first step after which it no longer appears ("read" = the reader skipped the record).
    outcome = url_outcomes(seen, [name for name, _ in first + last])
    return {"docs_in": len(seen["read"]), "kept": len(seen["symbol_lines"]), "wall": wall, "cpu": cpu,
            "stage_cpu": stage_cpu, "outcome": outcome}


def quality(manifest: dict, urls: set[str], outcome: dict) -> dict:
    """Keep/drop against the manifest, over the pages a pipeline was given. An article and its exact and near
    copies form one group that should be kept exactly once; every other kind should be dropped."""
    groups: dict[str, list[int]] = defaultdict(list)  # original url → kept count of each page of the group
    first_fates: dict[str, list[str]] = {}  # original url → fates of the group's first page given
    other_pages, other_kept = Counter(), Counter()
    for url, row in manifest.items():
        if url not in urls:
            continue
        fates = outcome.get(url) or ["dt_read"]  # datatrove's reader skips some records without a trace
        kept = fates.count("kept")
        if row["kind"] in ARTICLE_KINDS:
            groups[row["duplicate_of"] or url].append(kept)
            first_fates.setdefault(row["duplicate_of"] or url, fates)
        else:
            other_pages[row["kind"]] += 1
            other_kept[row["kind"]] += kept
    lost = Counter(f for key, g in groups.items() if not sum(g) for f in first_fates[key])
    return {"groups": len(groups), "groups_kept": sum(1 for g in groups.values() if sum(g)),
            "extra_copies": sum(max(0, sum(g) - 1) for g in groups.values()),
            "copies": sum(len(g) - 1 for g in groups.values()),
            "other_pages": other_pages, "other_kept": other_kept, "lost_reasons": lost}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--input", default=str(ROOT / "data/sample/*.warc.gz"), help="WARC shards (glob)")
    ap.add_argument("--manifest", help="url → kind (default: manifest.jsonl beside the shards)")
    ap.add_argument("--config", default=str(ROOT / "configs/ko-web.yaml"))
    ap.add_argument("--kiwi-shards", type=int, default=0, help="give the Kiwi pipeline only the first N shards")
    ap.add_argument("--rounds", type=int, default=1,
                    help="run ours and datatrove-whitespace N times and keep the least CPU")
    ap.add_argument("--kiwi-rounds", type=int, default=1, help="run the Kiwi pipeline N times, keep the least CPU")
    ap.add_argument("--language-threshold", type=float, default=0.65, help="datatrove LanguageFilter (lid.176)")
    args = ap.parse_args()
    os.chdir(ROOT)
    shards = sorted(glob.glob(args.input))
    manifest_path = Path(args.manifest or Path(shards[0]).parent / "manifest.jsonl") if shards else None

    with tempfile.TemporaryDirectory(prefix="bench-vs-fw2-") as tmp:
        tmp = Path(tmp)
        staged = stage_shards(args.input, tmp / "input")
        records = count_responses(staged)
        kiwi_in = tmp / "input"
        if args.kiwi_shards and args.kiwi_shards < len(staged):
            kiwi_in = tmp / "input-kiwi"
            kiwi_in.mkdir()
            for p in staged[: args.kiwi_shards]:
                os.link(p, kiwi_in / p.name)
        kiwi_records = count_responses(sorted(kiwi_in.glob("*.warc.gz")))
        print(f"input: {len(staged)} shard(s) ({args.input}), {records} WARC response records; "
              f"Kiwi pipeline: {kiwi_records} records")
        # No Ray here (ours runs with the local backend), so datatrove's forking Trafilatura sandbox is safe.
        runs: dict[str, dict] = {}
        ours = None

        def keep_least_cpu(label: str, tok: type, src: Path, work: Path) -> None:
            work.mkdir()
            run = run_fineweb2(src, work, args.language_threshold, tok)
            if label not in runs or run["cpu"] < runs[label]["cpu"]:
                runs[label] = run | {"records": count_responses(sorted(src.glob("*.warc.gz")))}

        for r in range(max(args.rounds, args.kiwi_rounds)):  # interleaved: a busy spell hits every pipeline
            if r < args.kiwi_rounds:
                keep_least_cpu(KIWI, KiwiCounted, kiwi_in, tmp / f"kiwi-{r}")
            if r < args.rounds:
                keep_least_cpu(WHITESPACE, WhitespaceWords, tmp / "input", tmp / f"whitespace-{r}")
                run = run_ours(args.config, tmp / "input", tmp / f"ours-{r}", "local", dedup=True)
                ours = run if ours is None or run["cpu"] < ours["cpu"] else ours
        ours["records"] = records
        kiwi_urls = _urls(sorted(kiwi_in.glob("*.warc.gz")))

    print(f"\n{'pipeline':40} {'records':>8} {'kept':>6} {'CPU s':>8} {'CPU s/1k docs':>13} {'docs/s/core':>11}")
    rows = [(f"ours ({Path(args.config).name}, local backend)", ours), (WHITESPACE, runs[WHITESPACE]),
            (KIWI, runs[KIWI])]
    for name, r in rows:
        print(f"{name:40} {r['records']:>8} {r['kept']:>6} {r['cpu']:>8.1f} {1000 * r['cpu'] / r['records']:>13.1f} "
              f"{r['records'] / r['cpu']:>11.1f}")
    rate = {name: r["records"] / r["cpu"] for name, r in rows}
    for name, _ in rows[1:]:
        print(f"ours / {name}: {rate[rows[0][0]] / rate[name]:.1f}x documents/s per core")
    kiwi_runs = max(1, args.kiwi_rounds)
    print(f"Kiwi word_tokenize calls per run: {KiwiCounted.calls // kiwi_runs} on "
          f"{KiwiCounted.chars // kiwi_runs:,} characters "
          f"({KiwiCounted.calls / kiwi_runs / max(1, runs[KIWI]['records']):.2f} per record)")
    for name, r in rows[1:]:
        print(f"  {name}: CPU s per stage " + ", ".join(f"{k} {v:.1f}" for k, v in r["stage_cpu"].items()))
    print(f"load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")

    if not manifest_path or not manifest_path.is_file():
        return 0
    manifest = read_manifest(manifest_path)
    if "label" in next(iter(manifest.values()), {}):
        return print_labeled(manifest, manifest_path, rows, kiwi_urls)
    print(f"\nkeep/drop against {manifest_path} (an article and its copies: one group, to be kept once)")
    q = {name: quality(manifest, kiwi_urls if "Kiwi" in name else set(manifest), r["outcome"]) for name, r in rows}
    print(f"{'pipeline':40} {'article groups kept':>20} {'extra copies kept':>18} {'other kinds kept':>17}")
    for name, x in q.items():
        other = sum(x["other_pages"].values())
        print(f"{name:40} {x['groups_kept']:>9} of {x['groups']:<8} {x['extra_copies']:>8} of {x['copies']:<7} "
              f"{sum(x['other_kept'].values()):>7} of {other:<7}")
    kinds = sorted({k for x in q.values() for k in x["other_pages"]})
    print("other kinds kept (ours / dt-ws / dt-kiwi): " + ", ".join(
        f"{k} {'/'.join(str(x['other_kept'][k]) for x in q.values())}" for k in kinds))
    print("article groups lost entirely, by what dropped their first page:")
    for name, x in q.items():
        print(f"  {name:40} " + ", ".join(f"{r} {n}" for r, n in x["lost_reasons"].most_common(6)))
    return 0


def print_labeled(manifest: dict, path: Path, rows: list, kiwi_urls: set[str]) -> int:
    """Keep/drop against a dev set's labels (data/make_devset.py: each page is `keep` or `drop`, with its
    register): clean pages kept and junk pages dropped per register, over the pages each pipeline was given."""
    print(f"\nkeep/drop against {path} (label keep: clean Korean, to be kept; drop: junk or foreign)")
    kept: dict[str, Counter] = {}
    given: dict[str, Counter] = {}
    for name, r in rows:
        urls = kiwi_urls if "Kiwi" in name else set(manifest)
        kept[name], given[name] = Counter(), Counter()
        for url, row in manifest.items():
            if url in urls:
                key = (row["label"], row["register"])
                given[name][key] += 1
                kept[name][key] += "kept" in (r["outcome"].get(url) or ())
    def total(counts: Counter, label: str) -> int:
        return sum(v for (lab, _), v in counts.items() if lab == label)

    print(f"{'pipeline':40} {'clean kept':>16} {'junk dropped':>16}")
    for name, _ in rows:
        ck, cn = total(kept[name], "keep"), total(given[name], "keep")
        jk, jn = total(kept[name], "drop"), total(given[name], "drop")
        print(f"{name:40} {ck:>7} of {cn:<6} {jn - jk:>7} of {jn:<6}")
    keys = sorted({key for g in given.values() for key in g})
    print("per register, kept of given (ours / dt-ws / dt-kiwi):")
    for key in keys:
        print(f"  {key[0]:4} {key[1]:18} " + " / ".join(f"{kept[n][key]} of {given[n][key]}" for n, _ in rows))
    return 0


@functools.lru_cache(maxsize=None)
def _urls_of(path: Path) -> frozenset[str]:
    from warcio.archiveiterator import ArchiveIterator

    with open(path, "rb") as f:
        return frozenset(r.rec_headers.get_header("WARC-Target-URI") for r in ArchiveIterator(f)
                         if r.rec_type == "response")


def _urls(paths: list[Path]) -> set[str]:
    return set().union(*(_urls_of(p) for p in paths))


if __name__ == "__main__":
    sys.exit(main())
