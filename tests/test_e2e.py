"""End to end: the real `pipeline run configs/ko-web.yaml` on the bundled sample, checked against the sample's
manifest (what each page really is) and against the accounting rule."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("e2e") / "run"
    r = subprocess.run([sys.executable, "-m", "pipeline.cli", "run", "configs/ko-web.yaml", "--output", str(out)],
                       cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout + r.stderr
    return out


@pytest.fixture(scope="module")
def manifest():
    return {x["url"]: x for x in map(json.loads, (ROOT / "data/sample/manifest.jsonl").open())}


def test_every_document_accounted_for(run_dir, manifest):
    s = json.loads((run_dir / "summary.json").read_text())
    assert s["documents_in"] == len(manifest) == 400
    assert s["documents_in"] == s["documents_kept"] + sum(s["documents_dropped"].values())
    kept = pq.read_table(run_dir / "documents", columns=["id"]).num_rows
    rejected = pq.read_table(run_dir / "rejected", columns=["id", "reason"]).to_pylist()
    assert kept == s["documents_kept"]
    assert Counter(r["reason"] for r in rejected) == Counter(s["documents_dropped"])
    ids = pq.read_table(run_dir / "documents", columns=["id"]).column("id").to_pylist() + [r["id"] for r in rejected]
    assert len(ids) == len(set(ids)) == 400  # nothing lost, nothing twice
    assert s["shards_failed"] == [] and s["shards_total"] == 4


def test_pages_end_where_they_belong(run_dir, manifest):
    kept = {d["url"]: d for d in pq.read_table(run_dir / "documents").to_pylist()}
    rejected = {d["url"]: d for d in pq.read_table(run_dir / "rejected", columns=["url", "reason"]).to_pylist()}
    by_kind = Counter()
    for url, page in manifest.items():
        by_kind[page["kind"], "kept" if url in kept else rejected[url]["reason"]] += 1
    articles = [u for u, p in manifest.items() if p["kind"] == "article"]
    kept_or_dup = [u for u in articles if u in kept or rejected[u]["reason"] in ("duplicate", "near_duplicate")]
    # Every article is kept or removed as a copy: no drop rule costs a clean article (the perplexity tail used
    # to drop 4 statute pages; bench/quality/devset_recall.py --devset data/sample measures each rule's cost).
    assert len(kept_or_dup) == len(articles), by_kind
    for kind in ("foreign_en", "foreign_ja", "foreign_zh", "english_korean_nav", "comments", "boilerplate_heavy",
                 "symbols"):
        assert all(url not in kept for url, p in manifest.items() if p["kind"] == kind), kind
    for url, p in manifest.items():
        if p["kind"] in ("foreign_en", "foreign_ja", "foreign_zh"):  # no Hangul in their bytes: out before decoding
            assert rejected[url]["reason"] == "read_no_hangul"
    for kind, reason in (("binary", "read_binary_payload"), ("empty", "read_empty_payload"), ("plain_text", "read_not_html")):
        assert {rejected[u]["reason"] for u, p in manifest.items() if p["kind"] == kind} == {reason}
    assert all(url not in kept for url, p in manifest.items() if p["kind"] == "spam")


def test_legacy_charsets_decode_to_hangul(run_dir, manifest):
    kept = {d["url"]: d for d in pq.read_table(run_dir / "documents", columns=["url", "text", "charset"]).to_pylist()}
    legacy = [u for u, p in manifest.items() if p["charset"] in ("euc-kr", "cp949") and u in kept]
    assert len(legacy) >= 5
    for u in legacy:
        text = kept[u]["text"]
        assert kept[u]["charset"] == "cp949", u
        assert "\ufffd" not in text, u
        assert sum("가" <= c <= "힣" for c in text) > 0.5 * len(text.replace(" ", "")), u


def test_scores_are_columns(run_dir):
    cols = pq.read_schema(next((run_dir / "documents").glob("*.parquet"))).names
    for c in ("id", "text", "url", "source_shard", "language", "language_score", "hangul_ratio"):
        assert c in cols


def test_report_matches_summary(run_dir):
    s = json.loads((run_dir / "summary.json").read_text())
    rep = json.loads((run_dir / "report.json").read_text())
    assert rep["documents_in"] == s["documents_in"] and rep["documents_kept"] == s["documents_kept"]
    assert {d["reason"]: d["count"] for d in rep["drops"]} == s["documents_dropped"]
    assert rep["tokens"]["tokenizer"]["vocab_size"] == s["stages"]["tokenize"]["vocab_size"]
    html = (run_dir / "report.html").read_text()
    assert "<script" not in html and html.count("<section id=") == 8
