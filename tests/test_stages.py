"""The one resume rule of every stage (pipeline/stages.py), through `pipeline run` on two bundled shards: a stage
is skipped when its marker says done with the same fingerprint, redone with everything downstream when its
settings change, left alone when only a later stage's settings change; a stage turned off leaves nothing behind,
and a removed input leaves no file of its own."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from pipeline.job import load_config
from pipeline.run import run_job

ROOT = Path(__file__).resolve().parents[1]
SHARDS = sorted(str(p) for p in (ROOT / "data" / "sample").glob("*.warc.gz"))[:2]


def config(tmp: Path, out: Path, name: str, **change) -> Path:
    cfg = yaml.safe_load((ROOT / "configs" / "ko-web.yaml").read_text(encoding="utf-8"))
    cfg["input"]["paths"] = change.pop("paths", SHARDS)
    cfg["output"] = str(out)
    cfg["execution"] = {"backend": "local"}
    cfg.pop("report")
    cfg["tokenize"] = {**cfg["tokenize"], "vocab_size": 4000}
    lid = change.pop("steps_lid", None)
    if lid is not None:
        next(st for st in cfg["steps"] if st["step"] == "language_id_v1")["min_score"] = lid
    for key, value in change.items():
        section, _, sub = key.partition(".")
        if value is None:
            cfg.pop(section)
        else:
            cfg[section][sub] = value
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    return path


def run(path: Path) -> tuple[dict, list[str]]:
    said: list[str] = []
    return run_job(load_config(str(path)), log=said.append), said


def marks(out: Path) -> dict[str, int]:
    """When each stage last ended (its marker's mtime)."""
    return {p.stem: p.stat().st_mtime_ns for p in (out / "_stages").glob("*.json")}


def data(out: Path, sub: str) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((out / sub).glob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def done(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("stages")
    out = tmp / "run"
    first, _ = run(config(tmp, out, "base"))
    return tmp, out, first


def test_every_stage_leaves_a_done_marker_and_a_rerun_skips_them_all(done):
    tmp, out, first = done
    assert sorted(marks(out)) == ["dedup", "extract", "line_dedup", "mix", "steps", "tokenize"]
    assert all(json.loads((out / "_stages" / f"{n}.json").read_text())["done"] for n in marks(out))
    before, tokens = marks(out), data(out, "tokens")
    again, said = run(config(tmp, out, "base"))
    assert marks(out) == before and data(out, "tokens") == tokens
    assert "resumed: 2 shard(s) already done were skipped" in said
    for key in ("documents_in", "documents_kept", "documents_dropped", "stages"):
        assert again[key] == first[key], key


def unchanged(before: dict, after: dict) -> list[str]:
    return sorted(n for n in before if after.get(n) == before[n])


def test_a_changed_stage_is_redone_with_everything_after_it_and_nothing_before(done):
    tmp, out, _ = done
    before, extracted, filtered = marks(out), data(out, "extracted"), data(out, "filtered")
    changed, _ = run(config(tmp, out, "exact-only", **{"dedup.fuzzy": False}))
    assert unchanged(before, marks(out)) == ["extract", "line_dedup", "steps"]
    assert data(out, "extracted") == extracted and data(out, "filtered") == filtered
    fresh = tmp / "fresh-exact-only"
    reference, _ = run(config(tmp, fresh, "exact-only-fresh", **{"dedup.fuzzy": False}))
    for sub in ("documents", "rejected", "mix", "tokens"):
        assert data(out, sub) == data(fresh, sub), sub
    assert changed["documents_dropped"] == reference["documents_dropped"]
    assert changed["stages"]["dedup"]["dropped"]["near_duplicate"] == 0

    # a step's setting: the extracted copies and the line counts stay, the steps and every later stage run again
    before = marks(out)
    run(config(tmp, out, "lid-0.7", steps_lid=0.7))
    assert unchanged(before, marks(out)) == ["extract", "line_dedup"]
    assert data(out, "extracted") == extracted




def test_a_stage_turned_off_leaves_nothing_and_a_removed_input_leaves_no_file(done, tmp_path):
    _, out, _ = done
    mine = tmp_path / "run"
    shutil.copytree(out, mine)
    run(config(tmp_path, mine, "no-mix", mix=None, paths=SHARDS[:1]))
    assert not (mine / "mix").exists() and not (mine / "_stages" / "mix.json").exists()
    kept = pq.read_table(mine / "documents").column("id").to_pylist()
    assert kept and all(i.startswith("00000-") for i in kept)
    for sub in ("extracted", "filtered", "rejected", "stats", "documents"):
        assert not [p.name for p in (mine / sub).glob("00001-*")], sub
    # the tokenizer now trains on documents/ (no mix): the same as a fresh run of this config
    fresh = tmp_path / "fresh"
    run(config(tmp_path, fresh, "no-mix-fresh", mix=None, paths=SHARDS[:1]))
    for sub in ("documents", "rejected", "tokenizer", "tokens"):
        assert data(mine, sub) == data(fresh, sub), sub
