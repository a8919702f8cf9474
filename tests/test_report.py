"""Tests of the data-quality report (pipeline/report*.py) on a fake run directory (tests/report_fakerun.py)."""

from __future__ import annotations

import argparse
import json
import re
from typing import ClassVar

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from core.errors import ConfigError
from core.steps import Decision, Distribution, register_step
from pipeline.report import Config, add_arguments, build_report, main, run
from pipeline.report.data import collect, cut
from pipeline.report.distributions import histogram, plan
from pipeline.report.html import render
from pipeline.report.thresholds import find_thresholds, read_cutoffs
from report_fakerun import DROPS, SCRIPT, make_fake_run

import numpy as np


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    run_dir = make_fake_run(tmp_path_factory.mktemp("full"))
    # Relative paths in the fake config (the perplexity cutoffs) resolve from the cwd first: run from the fake
    # run's directory so the repository's own configs/perplexity_cutoffs.yaml is not picked up instead.
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(run_dir)
        html_path = build_report(run_dir)
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    figures = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
    return run_dir, html_path.read_text(encoding="utf-8"), summary, figures


def test_figures_match_summary(built):
    _, page, summary, figures = built
    assert figures["documents_in"] == summary["documents_in"] == 85
    assert figures["documents_kept"] == summary["documents_kept"] == 60
    assert {d["reason"]: d["count"] for d in figures["drops"]} == summary["documents_dropped"]
    assert figures["documents_in"] == figures["documents_kept"] + figures["documents_dropped_total"]
    assert figures["funnel"] == summary["funnel"]
    top = figures["drops"][0]
    assert (top["reason"], top["step"], top["count"]) == ("language_low_score", "language_id_v1", 9)
    assert top["share_of_input"] == pytest.approx(9 / 85)
    for d in figures["drops"]:
        assert d["step"] == DROPS[d["reason"]][0]
        assert len(d["examples"]) == min(3, d["count"])
        assert f"{d['reason']} ({d['count']})" in page
    assert figures["pii"] == {"email": 12, "phone": 5, "rrn": 1}
    assert figures["dedup"]["exact_removed"] == 4
    assert figures["mix"]["sources"][1] == {"name": "kowiki", "target_share": 0.3, "documents": 18, "tokens": 3500,
                                            "documents_share": 0.3, "tokens_share": 0.28, "max_repeats": 2}
    assert figures["tokens"]["tokenizer"]["vocab_size"] == 32000 and len(figures["tokens"]["loss"]) == 31
    assert figures["run"]["shards_failed"][0]["shard"] == "shard-2.warc.gz"
    assert "10.59%" in page and "32,000" in page


def test_document_text_is_escaped(built):
    _, page, _, _ = built
    assert SCRIPT not in page
    assert not re.search(r"<script\b", page, re.IGNORECASE)
    # in a dropped snippet, a dedup cluster member and kept near-threshold examples (min_score, min_words)
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 4
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(2)&gt;" in page
    assert "<b>at</b>" not in page and "&lt;b&gt;at&lt;/b&gt;" in page  # shard error message


def test_page_is_self_contained(built):
    _, page, _, _ = built
    sources = re.findall(r'<img class="plot" src="([^"]*)"', page)
    assert len(sources) >= 12 and all(s.startswith("data:image/png;base64,") for s in sources)
    assert not re.search(r'(src|href)="(https?:|//)', page) and "<link" not in page
    assert "Content-Security-Policy" in page
    for key in ("funnel", "drops", "distributions", "dedup", "pii", "mix", "tokens", "run"):
        assert f'<section id="{key}">' in page and f'href="#{key}"' in page
    assert "not run" not in page


def test_thresholds_and_cutoffs_drawn(built):
    _, _, _, figures = built  # the fake run names its own cutoffs file (built with the cwd in its directory)
    dists = {d["column"]: d for d in figures["distributions"]}
    assert [(t["key"], t["value"]) for t in dists["language_score"]["thresholds"]] == [("min_score", 0.65)]
    assert dists["jamo_run_ratio"]["thresholds"][0]["kind"] == "max"
    assert [c["value"] for c in dists["perplexity"]["cutoffs"]] == [250.0, 900.0]
    assert dists["perplexity"]["log_x"] and not dists["hangul_ratio"]["log_x"]
    assert not any(t["key"] == "max_chars" for t in figures["near_threshold"])  # LID truncation, not a cut
    for d in dists.values():
        assert sum(d["kept"]) == d["kept_n"] and sum(d["dropped"]) == d["dropped_n"]
    assert dists["text_chars"]["kept_n"] == 60 and dists["text_chars"]["dropped_n"] == 25
    assert dists["eojeol_count"]["dropped_n"] == 0  # dropped documents keep only a snippet
    near = {t["column"]: t["examples"] for t in figures["near_threshold"]}
    assert near["language_score"][0]["id"] == "kept-5" and near["language_score"][0]["score"] == 0.651
    assert all(e["score"] <= 0.2 for e in near["jamo_run_ratio"])
    words = {t["key"]: [e["score"] for e in t["examples"]] for t in figures["near_threshold"] if t["step"] == "fake_length_v1"}
    assert words["min_words"] == sorted(words["min_words"]) and words["max_words"] == sorted(words["max_words"])[::-1]
    assert 5 <= words["min_words"][0] < words["max_words"][0] <= 400
    assert words["min_words"][0] == min(dists["eojeol_count"]["kept_quantiles"]["p10"], words["min_words"][0])


def test_missing_stages_show_not_run(tmp_path):
    run_dir = make_fake_run(tmp_path, with_stages=False)
    result = run(Config(), None, run_dir, None)
    page = (run_dir / "report.html").read_text(encoding="utf-8")
    figures = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
    assert result["html"] == str(run_dir / "report.html") and result["html_bytes"] > 0
    assert figures["dedup"] is None and figures["mix"] is None and figures["tokens"] is None
    for what in ("Dedup (dedup/stats.json): not run", "Mixing (mix/manifest.json): not run",
                 "Tokenizer and tokens (tokenizer/, tokens/): not run"):
        assert what in page
    assert not list(run_dir.glob("*.tmp-*"))


def test_sample_is_bounded(tmp_path):
    run_dir = make_fake_run(tmp_path, with_stages=False)
    figures = collect(run_dir, Config(sample_rows=10, examples_per_reason=1, snippet_chars=12))
    assert figures["sample"]["kept_rows"] == 10  # 5 from each of the two documents/ files
    assert figures["sample"]["dropped_rows"] == 10
    assert figures["documents_kept"] == 60  # counts come from summary.json, not from the sample
    assert all(len(d["examples"]) == 1 and len(d["examples"][0]["snippet"]) <= 12 for d in figures["drops"])


def test_cli(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    with pytest.raises(ConfigError, match="no summary.json"):
        main(parser.parse_args([str(tmp_path / "nowhere")]))
    # A run with a summary and nothing else (every shard failed): the report still renders.
    run_dir = tmp_path / "bare"
    run_dir.mkdir()
    summary = {"documents_in": 2, "documents_kept": 0, "documents_dropped": {"read_too_large": 2},
               "shards_failed": [{"shard": "a.warc.gz", "error": "boom", "partial": False, "documents_read": 0}]}
    (run_dir / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    assert main(parser.parse_args([str(run_dir), "--examples", "1"])) == 0
    assert str(run_dir / "report.html") in capsys.readouterr().out
    figures = json.loads((run_dir / "report.json").read_text())
    assert figures["drops"][0]["count"] == 2 and figures["drops"][0]["examples"] == []
    assert figures["distributions"] == [] and figures["pii"] is None
    assert "No example in rejected/." in (run_dir / "report.html").read_text(encoding="utf-8")


def test_find_thresholds_reads_declarations_not_names():
    # step names not in the registry declare nothing: an argument named like a threshold is not one
    steps = [{"step": "lang_guess_v1", "min_score": 0.65, "max_chars": 4000},
             {"step": "my_quality_v1", "min_hangul_ratio": 0.5, "min_words": 5}]
    assert find_thresholds(steps, ["lang_score", "hangul_ratio", "eojeol_count"]) == []
    # nor is an undeclared argument of a registered step (language_id_v1.max_chars truncates the input)
    found = find_thresholds([{"step": "language_id_v1", "max_chars": 4000}], ["language_score", "text_chars"])
    assert [t["key"] for t in found] == ["min_score"]


def test_thresholds_default_from_registered_step():
    pytest.importorskip("filters.language")
    # the config as run holds only what the YAML wrote; the step's default threshold still counts
    found = find_thresholds([{"step": "language_id_v1"}], ["language_score", "language_ko_score", "text_chars"])
    assert [(t["key"], t["column"], t["value"]) for t in found] == [("min_score", "language_score", 0.65)]
    found = find_thresholds([{"step": "language_id_v1", "min_score": 0.8}], ["language_score"])
    assert found[0]["value"] == 0.8


def test_cutoffs_read_defensively(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cut.yaml").write_text("ko:\n  p60: 800\n  p30: 300\nnote: text\n", encoding="utf-8")
    assert read_cutoffs("cut.yaml", None, tmp_path) == [{"name": "ko.p30", "value": 300.0},
                                                        {"name": "ko.p60", "value": 800.0}]
    assert read_cutoffs({"head": 250, "tail": 900}, None, tmp_path)[1] == {"name": "tail", "value": 900.0}
    (tmp_path / "cut.yaml").write_text("head: [unclosed\n", encoding="utf-8")
    assert read_cutoffs("cut.yaml", None, tmp_path) == []
    assert read_cutoffs("missing.yaml", None, tmp_path) == [] and read_cutoffs(None, None, tmp_path) == []
    # perplexity_v1 declares which argument holds its cutoffs; the class default counts when the config omits it
    (tmp_path / "cut.yaml").write_text("head: 250\ntail: 900\n", encoding="utf-8")
    (perplexity,) = [p for p in plan([{"step": "perplexity_v1", "cutoffs": "cut.yaml"}], [], None, tmp_path)
                     if p.column == "perplexity"]
    assert (perplexity.title, perplexity.log_x, [c["value"] for c in perplexity.cutoffs]) == ("Perplexity", True, [250, 900])


def test_cut_and_histogram():
    assert cut("  가나다라마바사  ", 5) == "가나다라…" and cut("가나", 5) == "가나" and cut(None, 5) == ""
    h = histogram(np.array([0.1, 0.9]), np.array([0.5]), [0.65])
    assert h["bins"][0] == 0.0 and h["bins"][-1] == 1.0 and sum(h["kept"]) == 2 and sum(h["dropped"]) == 1
    wide = histogram(np.array([10.0, 5000.0]), np.array([]), [100.0])
    assert wide["log_x"] and sum(wide["kept"]) == 2
    assert histogram(np.array([]), np.array([]), [])["bins"] == []


@register_step("test_report_novelty_v1")
class _Novelty:
    """A step the report has never heard of: one score column with a threshold, one with only a histogram."""

    columns: ClassVar[dict[str, type]] = {"novelty": float, "novelty_rank": int}
    decisions: ClassVar[tuple[Decision, ...]] = (Decision("max_novelty", "novelty", "max", "too_novel"),)
    distributions: ClassVar[tuple[Distribution, ...]] = (Distribution("novelty_rank", "Novelty rank"),)

    def __init__(self, max_novelty: float | None = 0.8, max_rank: int = 99):
        pass


def test_a_new_step_declares_its_way_into_the_report(tmp_path):
    run_dir = make_fake_run(tmp_path, with_stages=False)
    rng = np.random.default_rng(3)
    for path in [*run_dir.glob("documents/*.parquet"), *run_dir.glob("rejected/*.parquet")]:
        table = pq.read_table(path)
        low, high = (0.0, 0.8) if path.parent.name == "documents" else (0.86, 1.0)  # dropped: beyond max_novelty
        table = table.append_column("novelty", pa.array(np.round(rng.uniform(low, high, table.num_rows), 3)))
        table = table.append_column("novelty_rank", pa.array(rng.integers(1, 50, table.num_rows)))
        pq.write_table(table, path)
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    summary["config"]["steps"].append({"step": "test_report_novelty_v1", "max_novelty": 0.85})
    (run_dir / "summary.json").write_text(json.dumps(summary), encoding="utf-8")

    figures = collect(run_dir, Config())
    dists = {d["column"]: d for d in figures["distributions"]}
    novelty = dists["novelty"]
    assert novelty["title"] == "novelty (test_report_novelty_v1)"
    assert [(t["step"], t["key"], t["value"], t["kind"], t["reason"]) for t in novelty["thresholds"]] == [
        ("test_report_novelty_v1", "max_novelty", 0.85, "max", "too_novel")]
    assert novelty["kept_n"] == 60 and novelty["dropped_n"] == sum(c for _, c in DROPS.values())
    (near,) = [t for t in figures["near_threshold"] if t["column"] == "novelty"]
    assert near["examples"] and all(e["score"] <= 0.85 for e in near["examples"])
    rank = dists["novelty_rank"]
    assert rank["title"] == "Novelty rank" and rank["thresholds"] == [] and rank["kept_n"] == 60
    assert not any(t["key"] == "max_rank" for t in figures["near_threshold"])  # not declared: not a threshold
    page = render(figures)
    assert 'alt="novelty (test_report_novelty_v1)"' in page and 'alt="Novelty rank"' in page
    assert "test_report_novelty_v1.max_novelty=0.85" in page
