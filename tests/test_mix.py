"""Mixing: shares within tolerance, capped up-sampling, determinism by seed, JSONL sources, config errors."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline import mix
from core.config import ExecutionConfig
from pipeline.executor import Executor

SENTENCES = ["서울은 대한민국의 수도이다.", "오늘 날씨가 맑고 바람이 분다.", "한국어 문장을 섞어서 만든다.",
             "도서관에서 책을 빌렸다.", "Python으로 데이터를 정리한다."]


def write_docs(path: Path, prefix: str, n: int, text_repeat: int = 1) -> None:
    ids = [f"{prefix}-{i}" for i in range(n)]
    texts = [(SENTENCES[i % len(SENTENCES)] + " ") * text_repeat + str(i) for i in range(n)]
    pq.write_table(pa.table({"id": ids, "text": texts, "url": [""] * n}), path)


@pytest.fixture()
def executor():
    return Executor(ExecutionConfig(backend="local"))


def make_run(tmp_path: Path) -> Path:
    run_dir = tmp_path / "run"
    (run_dir / "documents").mkdir(parents=True)
    write_docs(run_dir / "documents" / "part-00000.parquet", "web0", 1500)
    write_docs(run_dir / "documents" / "part-00001.parquet", "web1", 1500)
    wiki = tmp_path / "wiki"
    wiki.mkdir()
    with gzip.open(wiki / "wiki.jsonl.gz", "wt", encoding="utf-8") as fh:
        for i in range(400):
            fh.write(json.dumps({"id": f"wiki-{i}", "text": f"위키 문서 {i} 본문입니다."}, ensure_ascii=False) + "\n")
    return run_dir


def mix_cfg(tmp_path: Path, **kw) -> mix.Config:
    base = dict(seed=7, sources=[
        {"name": "ko-web", "path": "{run_dir}/documents/*.parquet", "weight": 0.7},
        {"name": "ko-wiki", "path": str(tmp_path / "wiki" / "*.jsonl.gz"), "weight": 0.3, "max_repeats": 2},
    ])
    base.update(kw)
    return mix.Config(**base)


def test_largest_mix_respects_weights_and_repeat_cap(tmp_path, executor):
    run_dir = make_run(tmp_path)
    figures = mix.run(mix_cfg(tmp_path), None, run_dir, executor)
    manifest = json.loads((run_dir / "mix" / "manifest.json").read_text())
    web, wiki = manifest["sources"]["ko-web"], manifest["sources"]["ko-wiki"]
    # wiki (400 docs, up to 2 copies) bounds the mix: 800 wiki docs = 30% -> ~1867 web docs of 3000.
    assert wiki["sampling_factor"] == pytest.approx(2.0)
    assert wiki["documents"] == 800 and wiki["repeats"] == {"2": 400}
    assert web["share_documents"] == pytest.approx(0.7, abs=0.02)
    assert web["target_share"] == pytest.approx(0.7)
    assert figures["documents"] == web["documents"] + wiki["documents"]
    rows = pq.read_table(run_dir / "mix" / "ko-wiki-00000.parquet").to_pylist()
    assert {r["repeat"] for r in rows} == {0, 1}
    assert rows[0]["text"].startswith("위키 문서") and rows[0]["source"] == "ko-wiki"
    assert sum(pq.read_metadata(p).num_rows for p in (run_dir / "mix").glob("*.parquet")) == manifest["documents"]


def test_total_documents_down_samples_and_caps(tmp_path, executor):
    run_dir = make_run(tmp_path)
    mix.run(mix_cfg(tmp_path, total_documents=1000), None, run_dir, executor)
    m = json.loads((run_dir / "mix" / "manifest.json").read_text())["sources"]
    # Each document is a seeded coin flip, so counts are within a few standard deviations (here ~9), not exact.
    assert m["ko-web"]["documents"] == pytest.approx(700, abs=60)
    assert m["ko-wiki"]["documents"] == pytest.approx(300, abs=40)
    # A total larger than the cap allows: wiki stops at 2 copies and says so.
    mix.run(mix_cfg(tmp_path, total_documents=4000), None, run_dir, executor)
    m = json.loads((run_dir / "mix" / "manifest.json").read_text())["sources"]
    assert m["ko-wiki"]["capped_by_max_repeats"] and m["ko-wiki"]["documents"] == 800


def test_token_target_uses_character_estimate(tmp_path, executor):
    run_dir = make_run(tmp_path)
    long_dir = tmp_path / "long"
    long_dir.mkdir()
    write_docs(long_dir / "long.parquet", "long", 300, text_repeat=10)
    cfg = mix.Config(seed=1, target="tokens", sources=[
        {"name": "short", "path": "{run_dir}/documents/*.parquet", "weight": 0.5},
        {"name": "long", "path": str(long_dir / "*.parquet"), "weight": 0.5},
    ])
    mix.run(cfg, None, run_dir, executor)
    m = json.loads((run_dir / "mix" / "manifest.json").read_text())["sources"]
    assert m["short"]["share_tokens"] == pytest.approx(0.5, abs=0.03)
    assert m["long"]["share_tokens"] == pytest.approx(0.5, abs=0.03)


def test_budget_source_is_taken_first(tmp_path, executor):
    run_dir = make_run(tmp_path)
    cfg = mix.Config(seed=3, total_documents=1200, sources=[
        {"name": "ko-web", "path": "{run_dir}/documents/*.parquet", "weight": 1.0},
        {"name": "ko-wiki", "path": str(tmp_path / "wiki" / "*.jsonl.gz"), "budget": 200},
    ])
    mix.run(cfg, None, run_dir, executor)
    m = json.loads((run_dir / "mix" / "manifest.json").read_text())["sources"]
    assert m["ko-wiki"]["documents"] == pytest.approx(200, abs=30)
    assert m["ko-web"]["documents"] == pytest.approx(1000, abs=70)


def digests(mix_dir: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(json.dumps(pq.read_table(p).to_pylist(), sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()
            for p in sorted(mix_dir.glob("*.parquet"))}


def test_same_seed_same_mix_other_seed_differs(tmp_path, executor):
    run_dir = make_run(tmp_path)
    mix.run(mix_cfg(tmp_path, total_documents=1000), None, run_dir, executor)
    first = digests(run_dir / "mix")
    mix.run(mix_cfg(tmp_path, total_documents=1000), None, run_dir, executor)
    assert digests(run_dir / "mix") == first
    mix.run(mix_cfg(tmp_path, total_documents=1000, seed=8), None, run_dir, executor)
    assert digests(run_dir / "mix")["ko-web-00000.parquet"] != first["ko-web-00000.parquet"]


def test_config_errors():
    src = {"name": "a", "path": "x/*.parquet"}
    with pytest.raises(ValueError, match="exactly one of weight or budget"):
        mix.Config(sources=[src])
    with pytest.raises(ValueError, match="unique"):
        mix.Config(sources=[{**src, "weight": 1}, {**src, "weight": 1}])
    with pytest.raises(ValueError, match="total_tokens needs target"):
        mix.Config(sources=[{**src, "weight": 1}], total_tokens=10)
    with pytest.raises(ValueError):
        mix.Config(sources=[{**src, "weight": 1}], bogus=1)


def test_missing_source_files_fail_the_run(tmp_path, executor):
    cfg = mix.Config(sources=[{"name": "none", "path": str(tmp_path / "nothing" / "*.parquet"), "weight": 1}])
    with pytest.raises(mix.RunError, match="no files match"):
        mix.run(cfg, None, tmp_path, executor)


def test_mix_command_reads_the_job_config(tmp_path, capsys):
    import argparse

    run_dir = make_run(tmp_path)
    config = tmp_path / "job.yaml"
    config.write_text(
        "input:\n  paths: [unused.jsonl]\n"
        f"output: {run_dir}\n"
        "execution:\n  backend: local\n"
        "mix:\n  seed: 7\n  total_documents: 500\n  sources:\n"
        "    - {name: ko-web, path: '{run_dir}/documents/*.parquet', weight: 0.7}\n"
        f"    - {{name: ko-wiki, path: '{tmp_path}/wiki/*.jsonl.gz', weight: 0.3}}\n",
        encoding="utf-8")
    parser = argparse.ArgumentParser()
    mix.add_arguments(parser)
    assert mix.main(parser.parse_args([str(config)])) == 0
    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert figures["target_shares"] == {"ko-web": 0.7, "ko-wiki": 0.3}
    assert (run_dir / "mix" / "manifest.json").exists()
