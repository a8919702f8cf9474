"""Rehydration: dedup writes each kept document's cluster size, and the mix repeats documents by a weight table
over those sizes (FineWeb-2). Planted clusters (3 exact + 2 near copies of one article, a pair, singletons) get
the right sizes with every exact/fuzzy setting; the mix writes documents × weight per bucket; bad tables are
one-line config errors naming the key."""

from __future__ import annotations

import bisect
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline import mix
from core.config import ExecutionConfig
from pipeline.job import load_config
from pipeline.dedup.rehydrate import copies_wanted, rehydrate_plan
from pipeline.dedup.stage import Config, dedup_files, run
from core.errors import ConfigError, RunError
from pipeline.executor import Executor
from pipeline.job import validate_section
from test_dedup import change_eojeol  # the same planted near-copies as the dedup tests

PARAS = {k: v for k, v in json.loads((Path(__file__).parent / "fixtures" / "dedup_ko_paragraphs.json").read_text("utf-8")).items()
         if not k.startswith("_")}
LOCAL = Executor(ExecutionConfig(backend="local"))
FINEWEB2 = {"1": 1, "2": 2, "3-4": 3, "5-99": 5, "100-999": 8, "1000+": 1}


def planted() -> list[dict]:
    """typhoon: 3 exact copies + 2 near copies (cluster of 5); joseon: 2 exact copies; every other paragraph once."""
    typhoon, joseon = PARAS["typhoon"], PARAS["joseon"]
    sents = typhoon.split(". ")
    docs = [{"id": f"t_exact{i}", "text": typhoon} for i in range(3)]
    docs += [{"id": "t_near_words", "text": change_eojeol(typhoon, 0.04, 1)},
             {"id": "t_near_drop", "text": ". ".join(sents[:2] + sents[3:])}]
    docs += [{"id": "j_exact0", "text": joseon}, {"id": "j_exact1", "text": joseon}]
    docs += [{"id": name, "text": text} for name, text in PARAS.items() if name not in ("typhoon", "joseon")]
    return docs


def write_shards(docs: list[dict], folder: Path, n_shards: int, sizes: bool = False) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for s in range(n_shards):
        part = docs[s::n_shards]
        cols = {"id": [d["id"] for d in part], "text": [d["text"] for d in part], "url": [f"https://ex.kr/{d['id']}" for d in part],
                "language_score": [0.9 if "exact0" in d["id"] else 0.5 for d in part]}
        if sizes:
            cols["cluster_size"] = pa.array([d["cluster_size"] for d in part], pa.int64())
        paths.append(folder / f"shard-{s:03d}.parquet")
        pq.write_table(pa.table(cols), paths[-1])
    return paths


def kept_sizes(folder: Path) -> dict[str, int]:
    t = pa.concat_tables([pq.read_table(p) for p in sorted(folder.glob("*.parquet"))])
    assert t.schema.field("cluster_size").type == pa.int64() and t.schema.names[-1] == "cluster_size"
    return dict(zip(t["id"].to_pylist(), t["cluster_size"].to_pylist()))


# ---------------------------------------------------------------- dedup: the column


@pytest.mark.parametrize("n_shards", [1, 3])
def test_cluster_sizes_exact_and_near_together(tmp_path, n_shards):
    docs = planted()
    write_shards(docs, tmp_path / "filtered", n_shards)
    summary = run(Config(), None, tmp_path, LOCAL)
    sizes = kept_sizes(tmp_path / "documents")
    # One kept document per cluster (the highest language_score), carrying the whole cluster: 3 exact + 2 near.
    assert sizes.pop("t_exact0") == 5 and sizes.pop("j_exact0") == 2
    assert set(sizes) == set(PARAS) - {"typhoon", "joseon"} and set(sizes.values()) == {1}
    assert summary["documents_kept"] == len(PARAS) and summary["dropped"] == {"duplicate": 3, "near_duplicate": 2}
    stats = json.loads((tmp_path / "dedup" / "stats.json").read_text())
    assert stats["documents_represented"] == len(docs) == sum(kept_sizes(tmp_path / "documents").values())


@pytest.mark.parametrize("exact,fuzzy,typhoon,near_kept", [
    (True, False, 3, True),    # exact groups only: the near copies are kept, each a cluster of 1
    (False, True, 5, False),   # MinHash alone still joins exact copies (identical shingles) with the near ones
    (False, False, 1, True),   # nothing deduplicated: every document stands for itself
])
def test_cluster_sizes_when_exact_or_fuzzy_is_off(tmp_path, exact, fuzzy, typhoon, near_kept):
    write_shards(planted(), tmp_path / "filtered", 2)
    run(Config(exact=exact, fuzzy=fuzzy), None, tmp_path, LOCAL)
    sizes = kept_sizes(tmp_path / "documents")
    assert sizes["t_exact0"] == typhoon and sizes["j_exact0"] == (2 if exact or fuzzy else 1)
    assert ("t_near_words" in sizes) == near_kept and all(sizes.get(n, 1) == 1 for n in ("t_near_words", "t_near_drop"))
    assert sum(sizes.values()) == len(planted())


def test_kept_rows_unchanged_apart_from_the_column(tmp_path):
    inputs = write_shards(planted(), tmp_path / "in", 2)
    out = tmp_path / "out"
    dedup_files(Config(), [(str(p), str(out / "documents" / p.name), str(out / "rejected" / f"dedup-{p.name}")) for p in inputs],
                out / "dedup", LOCAL)
    for p in inputs:
        before, after = pq.read_table(p), pq.read_table(out / "documents" / p.name)
        kept = before.filter(pa.array([i in set(after["id"].to_pylist()) for i in before["id"].to_pylist()]))
        assert after.drop_columns(["cluster_size"]).equals(kept, check_metadata=True)
    rejected = pa.concat_tables([pq.read_table(p) for p in sorted((out / "rejected").glob("*.parquet"))])
    assert "cluster_size" not in rejected.schema.names


def test_deduplicating_deduplicated_documents_adds_their_sizes(tmp_path):
    """Dedup of files that already carry cluster_size (e.g. per crawl, then across crawls): a kept document stands
    for every document behind its cluster's members."""
    first = tmp_path / "crawl1"
    write_shards(planted(), first / "filtered", 2)
    run(Config(), None, first, LOCAL)
    again = [{"id": "t_later", "text": PARAS["typhoon"], "cluster_size": 4}, {"id": "new", "text": PARAS["hangul"] + " 새 글", "cluster_size": None}]
    extra = [p.rename(p.with_name(f"crawl2-{p.name}")) for p in write_shards(again, tmp_path / "crawl2", 1, sizes=True)]
    files = sorted((first / "documents").glob("*.parquet")) + extra
    out = tmp_path / "both"
    dedup_files(Config(), [(str(p), str(out / "documents" / f"{i}.parquet"), str(out / "rejected" / f"{i}.parquet"))
                           for i, p in enumerate(files)], out / "dedup", LOCAL)
    sizes = kept_sizes(out / "documents")
    assert sizes["t_exact0"] == 5 + 4  # a missing size counts as 1: "new" (a near copy of hangul) joins its cluster
    assert sizes["hangul"] == 2 and "new" not in sizes
    assert sum(sizes.values()) == len(planted()) + 4 + 1


# ---------------------------------------------------------------- mix: the weights


def sized_source(path: Path, sizes: list[int], prefix: str = "d") -> None:
    n = len(sizes)
    pq.write_table(pa.table({"id": [f"{prefix}{i}" for i in range(n)], "text": [f"한국어 문서 {i} 본문입니다." for i in range(n)],
                             "cluster_size": pa.array(sizes, pa.int64())}), path)


def manifest(run_dir: Path) -> dict:
    return json.loads((run_dir / "mix" / "manifest.json").read_text())


def test_integer_weights_give_documents_times_weight_per_bucket(tmp_path):
    run_dir = tmp_path / "run"
    write_shards(planted(), run_dir / "filtered", 2)
    run(Config(), None, run_dir, LOCAL)
    weights = {"1": 1, "2": 3, "3-4": 0, "5+": 2}
    cfg = mix.Config(seed=11, sources=[{"name": "web", "path": "{run_dir}/documents/*.parquet", "weight": 1, "rehydrate": {"weights": weights}}])
    figures = mix.run(cfg, None, run_dir, LOCAL)
    m = manifest(run_dir)["sources"]["web"]
    singles = len(PARAS) - 2
    assert m["rehydrate"]["buckets"] == {
        "1": {"weight": 1, "copies_per_document": 1, "documents": singles, "copies": singles},
        "2": {"weight": 3, "copies_per_document": 3, "documents": 1, "copies": 3},   # joseon
        "3-4": {"weight": 0, "copies_per_document": 0, "documents": 0, "copies": 0},
        "5+": {"weight": 2, "copies_per_document": 2, "documents": 1, "copies": 2},  # typhoon
    }
    assert m["sampling_factor"] == 1.0 and m["max_repeats"] == 3 and figures["documents"] == singles + 3 + 2
    rows = pa.concat_tables([pq.read_table(p) for p in sorted((run_dir / "mix").glob("*.parquet"))]).to_pylist()
    copies = {}
    for r in rows:
        copies.setdefault(r["id"], []).append(r["repeat"])
    assert sorted(copies["j_exact0"]) == [0, 1, 2] and sorted(copies["t_exact0"]) == [0, 1]
    assert m["repeats"] == {"1": singles, "2": 1, "3": 1}


def test_fineweb2_table_as_configured_in_the_example(tmp_path):
    """configs/ko-web-rehydrate.yaml holds FineWeb-2's published table; bucket for bucket it gives the copies of
    FineWeb-2's own example code (bisect over the lowest size of each bucket)."""
    job = load_config("configs/ko-web-rehydrate.yaml")
    cfg = job.mix
    web = cfg.sources[0]
    assert web.rehydrate.weights == {k: float(v) for k, v in FINEWEB2.items()} and web.repeat_cap == 8
    fineweb2 = {1: 1, 2: 2, 3: 3, 5: 5, 100: 8, 1000: 1}
    limits = sorted(fineweb2)
    sizes = np.arange(1, 5000)
    ours, _ = copies_wanted(sizes, rehydrate_plan(web.rehydrate, web.repeat_cap))
    assert ours.tolist() == [fineweb2[limits[bisect.bisect_right(limits, s) - 1]] for s in sizes]


def test_fractional_weights_round_per_document_by_the_seed(tmp_path):
    sizes = [1] * 3000 + [2] * 3000 + [7] * 1000
    sized_source(tmp_path / "web.parquet", sizes)
    src = {"name": "web", "path": str(tmp_path / "web.parquet"), "weight": 1, "rehydrate": {"weights": {"1": 0.5, "2-6": 1.5, "7+": 2.25}}}
    mix.run(mix.Config(seed=5, sources=[src]), None, tmp_path / "a", LOCAL)
    b = manifest(tmp_path / "a")["sources"]["web"]["rehydrate"]["buckets"]
    # Each document is one seeded coin: copies = floor(w) + Bernoulli(frac(w)); sd of a bucket's count <= sqrt(n)/2.
    assert b["1"]["copies"] == pytest.approx(1500, abs=100) and b["2-6"]["copies"] == pytest.approx(4500, abs=100)
    assert b["7+"]["copies"] == pytest.approx(2250, abs=60)
    mix.run(mix.Config(seed=5, sources=[src]), None, tmp_path / "b", LOCAL)
    mix.run(mix.Config(seed=6, sources=[src]), None, tmp_path / "c", LOCAL)
    same = (tmp_path / "a" / "mix" / "web-00000.parquet").read_bytes()
    assert same == (tmp_path / "b" / "mix" / "web-00000.parquet").read_bytes()
    assert same != (tmp_path / "c" / "mix" / "web-00000.parquet").read_bytes()


def test_max_repeats_caps_the_table(tmp_path):
    sized_source(tmp_path / "web.parquet", [1] * 10 + [200] * 10)
    src = {"name": "web", "path": str(tmp_path / "web.parquet"), "weight": 1, "max_repeats": 3, "rehydrate": {"weights": FINEWEB2}}
    mix.run(mix.Config(sources=[src]), None, tmp_path, LOCAL)
    m = manifest(tmp_path)["sources"]["web"]
    assert m["max_repeats"] == 3 and m["rehydrate"]["buckets"]["100-999"] == {"weight": 8, "copies_per_document": 3, "documents": 10, "copies": 30}
    assert m["documents"] == 10 + 30


def test_rehydrated_source_keeps_its_share_of_the_mix(tmp_path):
    """With other sources, the weights shape the web source and its mix weight sets its share."""
    sized_source(tmp_path / "web.parquet", [1] * 600 + [2] * 300 + [10] * 100)  # rehydrated: 600 + 600 + 500
    sized_source(tmp_path / "wiki.parquet", [1] * 400, prefix="w")
    cfg = mix.Config(seed=2, sources=[
        {"name": "web", "path": str(tmp_path / "web.parquet"), "weight": 0.5, "rehydrate": {"weights": {"1": 1, "2-9": 2, "10+": 5}}},
        {"name": "wiki", "path": str(tmp_path / "wiki.parquet"), "weight": 0.5}])
    mix.run(cfg, None, tmp_path, LOCAL)
    m = manifest(tmp_path)["sources"]
    # wiki (400, no repeats) bounds the mix: web gets 400 of its 1700 rehydrated documents, f = 400/1700.
    assert m["web"]["sampling_factor"] == pytest.approx(400 / 1700, abs=1e-6)
    assert m["web"]["share_documents"] == pytest.approx(0.5, abs=0.03)
    b = m["web"]["rehydrate"]["buckets"]
    assert b["10+"]["copies"] / b["1"]["copies"] == pytest.approx(500 / 600, rel=0.25)


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize("weights,key,message", [
    ({"1": 1, "2-4": 2, "4+": 1}, "weights", "buckets '2-4' and '4+' overlap"),
    ({"1": 1, "3+": 2}, "weights", "no bucket holds cluster size 2"),
    ({"1": 1, "2-10": 2}, "weights", "end with an open bucket such as '11+'"),
    ({"1": 1, "2+": -1}, "weights.2+", "greater than or equal to 0"),
    ({"1": 1, "2+": float("inf")}, "weights.2+", "finite number"),
    ({"1": 1, "two+": 1}, "weights", "bucket 'two+'"),
    ({}, "weights", "at least one bucket"),
])
def test_bad_weight_tables_are_one_line_config_errors(weights, key, message):
    section = {"sources": [{"name": "web", "path": "x.parquet", "weight": 1, "rehydrate": {"weights": weights}}]}
    with pytest.raises(ConfigError) as e:
        validate_section("mix", section, "configs/x.yaml: mix")
    text = str(e.value)
    assert text.startswith(f"configs/x.yaml: mix.sources[0].rehydrate.{key}: ") and message in text and "\n" not in text


def test_yaml_integer_buckets_and_unknown_keys():
    cfg = mix.SourceConfig(name="web", path="x", weight=1, rehydrate={"weights": {1: 1, 2: 2, "3+": 3}})
    assert cfg.rehydrate.weights == {"1": 1, "2": 2, "3+": 3}
    typo = {"weights": {"1+": 1}, "colum": "size"}
    with pytest.raises(ConfigError, match=r"mix\.sources\[0\]\.rehydrate\.colum: unknown key"):
        validate_section("mix", {"sources": [{"name": "w", "path": "x", "weight": 1, "rehydrate": typo}]}, "mix")


def test_rehydrating_a_run_needs_dedup():
    cfg = mix.Config(sources=[{"name": "web", "path": "{run_dir}/documents/*.parquet", "weight": 1, "rehydrate": {"weights": FINEWEB2}}])
    with pytest.raises(ConfigError, match=r"^x\.yaml: mix\.sources\[0\] \(web\)\.rehydrate: needs a dedup: section"):
        mix.check_against_job(cfg, SimpleNamespace(dedup=None), "x.yaml: mix")
    mix.check_against_job(cfg, SimpleNamespace(dedup={}), "x.yaml: mix")


def test_files_without_sizes_are_named(tmp_path):
    pq.write_table(pa.table({"id": ["a"], "text": ["문서"]}), tmp_path / "plain.parquet")
    src = {"name": "web", "path": str(tmp_path / "plain.parquet"), "weight": 1, "rehydrate": {"weights": FINEWEB2}}
    with pytest.raises(RunError, match=r"plain\.parquet: no column 'cluster_size'"):
        mix.run(mix.Config(sources=[src]), None, tmp_path, LOCAL)


def test_validate_refuses_rehydrating_the_run_without_dedup(tmp_path):
    path = tmp_path / "job.yaml"
    path.write_text('input: {paths: [x.warc.gz]}\nmix:\n  sources:\n    - {name: ko-web, path: "{run_dir}/documents/*.parquet",'
                    ' weight: 1.0, rehydrate: {weights: {"1": 1, "2+": 2}}}\n')
    with pytest.raises(ConfigError, match=r"job.yaml: mix.sources\[0\] \(ko-web\).rehydrate: needs a dedup: section"):
        load_config(str(path))
