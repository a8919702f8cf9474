"""The default steps on a committed slice of the recall dev set (tests/fixtures/devset, written by
data/make_devset.py): clean Korean of eight registers no model or cut-off was fitted on is kept, whole, and the
junk pages (spam, comment boards, section indexes, foreign pages, single movie reviews) are dropped.
bench/quality/devset_recall.py measures the same on the full dev set."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from core.config import config_mapping

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "devset"


@pytest.fixture(scope="module")
def manifest():
    return [json.loads(line) for line in (FIXTURE / "manifest.jsonl").read_text(encoding="utf-8").splitlines()]


def _pass(tmp: Path, config_name: str) -> Path:
    """The per-document pass of configs/<config_name> on the fixture: what decides keep or drop."""
    cfg = config_mapping(ROOT / "configs" / config_name)
    for stage in ("dedup", "mix", "tokenize", "report"):
        cfg.pop(stage, None)
    config = tmp / f"pass-{config_name}"
    config.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    out = tmp / f"run-{config_name}"
    r = subprocess.run([sys.executable, "-m", "pipeline.cli", "run", str(config), "--input",
                        str(FIXTURE / "*.warc.gz"), "--output", str(out), "--backend", "local"],
                       cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    return out


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return _pass(tmp_path_factory.mktemp("devset"), "ko-web.yaml")


def _kept(run_dir) -> dict[str, dict]:
    return {d["url"]: d for d in pq.read_table(run_dir / "documents", columns=["url", "text_chars"]).to_pylist()}


def test_fixture_has_every_register(manifest):
    registers = {(m["label"], m["register"]) for m in manifest}
    for reg in ("wiki_heldout", "statute_tail", "policy_briefing", "news_wikitree", "news_wikinews",
                "listing_airbnb", "bill_hardwrapped", "constitution"):
        assert ("keep", reg) in registers
    for reg in ("spam", "comment_board", "section_index", "foreign_en", "foreign_ja", "foreign_zh", "review_single"):
        assert ("drop", reg) in registers


def test_default_steps_keep_every_clean_page(run_dir, manifest):
    kept = _kept(run_dir)
    rejected = {d["url"]: d["reason"] for d in pq.read_table(run_dir / "rejected", columns=["url", "reason"]).to_pylist()}
    lost = {m["register"] + " " + m["id"]: rejected.get(m["url"]) for m in manifest
            if m["label"] == "keep" and m["url"] not in kept}
    assert lost == {}


def test_clean_pages_keep_their_text(run_dir, manifest):
    # Line-level rules must not gut a page they keep (C4's no-terminal-punctuation rule left 15% of a
    # hard-wrapped bill): the page chrome goes, the document's own text stays.
    kept = _kept(run_dir)
    for m in manifest:
        if m["label"] == "keep":
            assert kept[m["url"]]["text_chars"] >= 0.5 * m["chars"], (m["register"], m["id"])


def test_default_steps_drop_every_junk_page(run_dir, manifest):
    kept = _kept(run_dir)
    assert [m["register"] for m in manifest if m["label"] == "drop" and m["url"] in kept] == []


def test_quality_classifier_scores_but_does_not_decide():
    steps = [s["step"] for s in yaml.safe_load((ROOT / "configs" / "ko-web.yaml").read_text(encoding="utf-8"))["steps"]]
    assert "quality_score_v1" in steps and "quality_filter_v1" not in steps


def test_lean_config_decides_as_the_default(run_dir, tmp_path):
    # configs/ko-web-lean.yaml leaves out the two model steps whose scores decide nothing by default: the same
    # documents must be kept, with the same text, and the same dropped for the same reasons.
    lean = _pass(tmp_path, "ko-web-lean.yaml")

    def outcome(d: Path):
        kept = {r["url"]: r["text"] for r in pq.read_table(d / "documents", columns=["url", "text"]).to_pylist()}
        rows = pq.read_table(d / "rejected", columns=["url", "reason"]).to_pylist()
        dropped = {(r["url"], r["reason"]) for r in rows}
        return kept, dropped

    assert outcome(lean) == outcome(run_dir)
    default_cols = set(pq.read_schema(next((run_dir / "documents").glob("*.parquet"))).names)
    lean_cols = set(pq.read_schema(next((lean / "documents").glob("*.parquet"))).names)
    assert {"perplexity", "quality_score"} <= default_cols - lean_cols
