"""A run that keeps no document still ends with summary.json and report.html: every page dropped (foreign
language, gambling spam) gives exit 0 and stages that say "no documents"; every shard unreadable gives exit 1,
after the summary and the report are written; a rerun resumes and gives the same bytes."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from pipeline import mix
from core.config import ExecutionConfig
from core.errors import RunError
from pipeline.executor import Executor

ROOT = Path(__file__).resolve().parents[1]
WIKI = ROOT / "data" / "sources" / "ko-wiki.jsonl.gz"
ENGLISH = "This is an English page about London, a very large city with many people, parks and old bridges."
SPAM = ("사설토토 먹튀검증 카지노사이트 추천 꽁머니 첫충 이벤트 바로가기. 안전놀이터 메이저사이트 가입코드 드립니다. "
        "온라인카지노 바카라 슬롯 무료 쿠폰 지급합니다.")
WEB = {"name": "ko-web", "path": "{run_dir}/documents/*.parquet", "weight": 0.5}
MIXES = {"web_only": [WEB], "web_and_wiki": [WEB, {"name": "ko-wiki", "path": str(WIKI), "weight": 0.5}]}
# Stage outputs a resumed run must leave byte for byte (report.* carry the run's times, summary.json too).
STAGE_DIRS = ("documents", "rejected", "stats", "dedup", "mix", "tokenizer", "tokens")


def run_cli(config: Path, output: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline.cli", "run", str(config), "--backend", "local",
                           "--output", str(output)], cwd=ROOT, capture_output=True, text=True, timeout=300)


def write_config(path: Path, inputs: list[str], sources: list[dict]) -> Path:
    cfg = {
        "input": {"paths": inputs},
        "steps": [{"step": "language_id_v1", "languages": ["ko"], "min_score": 0.65},
                  {"step": "ko_signals_v1"}, {"step": "ko_spam_v1"}],
        "dedup": {},
        "mix": {"seed": 1, "sources": sources},
        # The Wikipedia sample needs ~2,500 characters at full coverage; 0.98 lets a small vocabulary train fast.
        "tokenize": {"vocab_size": 1000, "character_coverage": 0.98, "heldout_documents": 10, "seq_len": 64},
        "report": {},
    }
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    return path


def write_junk_shard(path: Path) -> Path:
    """English pages (language_not_kept) and Korean betting ads (ko_gambling_spam): nothing survives."""
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(3):
            fh.write(json.dumps({"id": f"en{i}", "text": f"{ENGLISH} Page {i}.", "url": f"http://en.example/{i}"}) + "\n")
        for i in range(2):
            text = f"{SPAM} {i}번 사이트에서 지금 바로 가입하세요.\n{SPAM}"
            fh.write(json.dumps({"id": f"spam{i}", "text": text, "url": f"http://spam.example/{i}"},
                                ensure_ascii=False) + "\n")
    return path


def stage_bytes(run_dir: Path) -> dict[str, bytes]:
    return {str(p.relative_to(run_dir)): p.read_bytes()
            for d in STAGE_DIRS for p in sorted((run_dir / d).rglob("*")) if p.is_file()}


@pytest.fixture(scope="module", params=sorted(MIXES))
def all_dropped(request, tmp_path_factory):
    root = tmp_path_factory.mktemp(request.param)
    shard = write_junk_shard(root / "pages.jsonl")
    config = write_config(root / "job.yaml", [str(shard)], MIXES[request.param])
    result = run_cli(config, root / "run")
    return request.param, config, root / "run", result


def test_run_that_keeps_nothing_writes_summary_and_report(all_dropped):
    variant, _, run_dir, r = all_dropped
    assert r.returncode == 0, r.stderr
    s = json.loads((run_dir / "summary.json").read_text())
    assert s["documents_in"] == 5 and s["documents_kept"] == 0
    assert s["documents_in"] == s["documents_kept"] + sum(s["documents_dropped"].values())
    assert s["documents_dropped"] == {"ko_gambling_spam": 2, "language_not_kept": 3}
    assert s["stages"]["dedup"]["documents_in"] == 0 and s["stages"]["dedup"]["note"] == "no documents"
    assert (run_dir / "dedup" / "_SUCCESS").exists()
    assert s["funnel"][-1] == {"stage": "dedup", "documents": 0, "bytes": None}
    manifest = json.loads((run_dir / "mix" / "manifest.json").read_text())
    assert manifest["sources"]["ko-web"]["note"] == "no documents" and manifest["empty_sources"] == ["ko-web"]
    tokens = json.loads((run_dir / "tokens" / "manifest.json").read_text())
    if variant == "web_only":
        assert manifest["documents"] == 0 and manifest["note"] == "no documents"
        assert s["stages"]["tokenize"]["note"] == "no documents" and tokens["note"] == "no documents"
        assert tokens["documents"] == tokens["tokens"] == 0 and tokens["shards"] == []
        assert json.loads((run_dir / "tokenizer" / "stats.json").read_text())["note"] == "no documents"
        assert not (run_dir / "tokenizer" / "tokenizer.model").exists() and not list((run_dir / "tokens").glob("*.arrow"))
    else:  # the web's weight goes unused; Wikipedia fills the mix and the tokenizer trains on it
        wiki_docs = sum(1 for _ in gzip.open(WIKI, "rt", encoding="utf-8"))
        assert manifest["sources"]["ko-wiki"]["documents"] == manifest["documents"] == wiki_docs
        assert manifest["sources"]["ko-wiki"]["share_documents"] == 1.0 and "note" not in manifest
        assert "note" not in tokens and tokens["documents"] == wiki_docs and tokens["sequences"] > 0
        assert (run_dir / "tokenizer" / "tokenizer.model").exists()
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    assert "language_not_kept" in html and "ko_gambling_spam" in html and "English page about London" in html
    assert "No documents were kept" in html and "No documents reached dedup" in html
    assert ("No documents to tokenize" in html) == (variant == "web_only")


def test_rerun_of_a_run_that_kept_nothing_resumes_with_the_same_bytes(all_dropped):
    _, config, run_dir, first = all_dropped
    assert first.returncode == 0, first.stderr
    before_files = stage_bytes(run_dir)
    before = json.loads((run_dir / "summary.json").read_text())
    r = run_cli(config, run_dir)
    assert r.returncode == 0 and "resumed: 1 shard(s)" in r.stdout, r.stdout + r.stderr
    after = json.loads((run_dir / "summary.json").read_text())
    figures = ("documents_in", "documents_kept", "documents_dropped", "bytes_in", "bytes_kept", "shards_failed",
               "funnel", "stages")
    assert {k: after[k] for k in figures} == {k: before[k] for k in figures}
    assert stage_bytes(run_dir) == before_files
    assert (run_dir / "report.html").exists()


def test_every_shard_unreadable_fails_after_writing_summary_and_report(tmp_path):
    (tmp_path / "a.warc.gz").write_bytes(b"this is not a WARC file")
    (tmp_path / "b.warc.gz").write_bytes(b"\x1f\x8b\x08 neither is this")
    config = write_config(tmp_path / "job.yaml", [str(tmp_path / "*.warc.gz")], MIXES["web_only"])
    r = run_cli(config, tmp_path / "run")
    assert r.returncode == 1 and "every input shard failed" in r.stderr, r.stderr
    s = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert s["documents_in"] == s["documents_kept"] == 0 and s["documents_dropped"] == {}
    assert len(s["shards_failed"]) == 2 and not any(f["partial"] for f in s["shards_failed"])
    assert {name: s["stages"][name]["note"] for name in ("dedup", "mix", "tokenize")} == dict.fromkeys(
        ("dedup", "mix", "tokenize"), "no documents")
    assert json.loads((tmp_path / "run" / "mix" / "manifest.json").read_text())["sources"]["ko-web"]["input_files"] == 0
    html = (tmp_path / "run" / "report.html").read_text(encoding="utf-8")
    assert "Failed shards (2)" in html and "a.warc.gz" in html


# ---------------------------------------------------------------- the mix stage's rules, without a run


@pytest.fixture()
def executor():
    return Executor(ExecutionConfig(backend="local"))


def test_mix_run_path_without_any_documents_file_is_an_empty_source_but_a_typo_still_fails(tmp_path, executor):
    run_dir = tmp_path / "run"
    typo = mix.Config(sources=[{"name": "ko-web", "path": "{run_dir}/document/*.parquet", "weight": 1}])
    assert mix.run(typo, None, run_dir, executor)["note"] == "no documents"  # documents/ holds no file: empty
    (run_dir / "documents").mkdir()
    pq.write_table(pa.table({"id": ["d1"], "text": ["서울은 대한민국의 수도이다."]}), run_dir / "documents" / "s.parquet")
    with pytest.raises(RunError, match="no files match"):  # with documents there, the same path is a typo
        mix.run(typo, None, run_dir, executor)
    elsewhere = mix.Config(sources=[{"name": "wiki", "path": str(tmp_path / "nowhere" / "*.jsonl.gz"), "weight": 1}])
    with pytest.raises(RunError, match="no files match"):
        mix.run(elsewhere, None, tmp_path / "empty-run", executor)


def test_mix_total_goes_to_the_sources_that_have_documents(tmp_path, executor):
    run_dir = tmp_path / "run"
    (run_dir / "documents").mkdir(parents=True)
    pq.write_table(pa.table({"id": pa.array([], pa.string()), "text": pa.array([], pa.string())}),
                   run_dir / "documents" / "s.parquet")
    cfg = mix.Config(seed=3, total_documents=100, sources=[
        {"name": "ko-web", "path": "{run_dir}/documents/*.parquet", "weight": 0.5},
        {"name": "ko-wiki", "path": str(WIKI), "weight": 0.5}])
    figures = mix.run(cfg, None, run_dir, executor)
    assert figures["empty_sources"] == ["ko-web"] and figures["target_shares"] == {"ko-web": 0.0, "ko-wiki": 1.0}
    assert 80 <= figures["documents"] <= 120  # 100 wanted, each document a seeded coin flip at 1/3


def test_tokenizer_trains_when_every_document_of_a_tiny_input_is_held_out(tmp_path):
    from core.docfiles import unit_hash
    from tokenizer.train import TokenizerConfig, train_tokenizer

    # Two documents: each is held out with probability 1/2; pick ids for which both are.
    ids = [f"d{i}" for i in range(100) if unit_hash(1234, "tokenizer", f"d{i}") >= 0.5][:2]
    pq.write_table(pa.table({"id": ids, "text": ["서울은 대한민국의 수도이다. 한강이 흐른다.", "부산은 항구 도시이다."]}),
                   tmp_path / "docs.parquet")
    stats = train_tokenizer([str(tmp_path / "docs.parquet")], tmp_path / "tok", TokenizerConfig(heldout_documents=24))
    assert stats["heldout_documents"] == 2 and stats["sample_documents"] == 0 and "training sample" in stats["note"]
    assert (tmp_path / "tok" / "tokenizer.model").exists()
