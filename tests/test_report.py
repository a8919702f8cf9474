"""Tests of the data-quality report (pipeline/report*.py) on a fake run directory (tests/report_fakerun.py)."""

from __future__ import annotations

import argparse
import json
import re

import pytest

from core.errors import ConfigError
from pipeline.report import Config, add_arguments, build_report, main, run
from pipeline.report.data import collect, cut, histogram
from pipeline.report.thresholds import find_thresholds, perplexity_cutoffs
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
    words = {t["key"]: [e["score"] for e in t["examples"]] for t in figures["near_threshold"] if t["step"] == "length_v1"}
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


def test_find_thresholds():
    # step names not in the registry: only what the config entry says counts
    steps = [{"step": "lang_guess_v1", "min_score": 0.65, "max_chars": 4000},
             {"step": "my_quality_v1", "min_hangul_ratio": 0.5, "max_unknown_thing": 3, "min_words": 5,
              "flag": True},
             {"step": "gopher_v1", "min_score": True}]
    found = find_thresholds(steps, ["lang_score", "hangul_ratio", "eojeol_count"])
    assert [(t["step"], t["key"], t["column"], t["kind"]) for t in found] == [
        ("lang_guess_v1", "min_score", "lang_score", "min"), ("my_quality_v1", "min_hangul_ratio", "hangul_ratio", "min"),
        ("my_quality_v1", "min_words", "eojeol_count", "min")]


def test_thresholds_default_from_registered_step():
    pytest.importorskip("filters.language")
    # the config as run holds only what the YAML wrote; the step's default threshold still counts
    found = find_thresholds([{"step": "language_id_v1"}], ["language_score", "language_ko_score", "text_chars"])
    assert [(t["key"], t["column"], t["value"]) for t in found] == [("min_score", "language_score", 0.65)]
    found = find_thresholds([{"step": "language_id_v1", "min_score": 0.8}], ["language_score"])
    assert found[0]["value"] == 0.8


def test_perplexity_cutoffs_read_defensively(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    steps = [{"step": "perplexity_v1", "cutoffs": "cut.yaml"}]
    (tmp_path / "cut.yaml").write_text("ko:\n  p60: 800\n  p30: 300\nnote: text\n", encoding="utf-8")
    assert perplexity_cutoffs(steps, None, tmp_path) == [{"name": "ko.p30", "value": 300.0},
                                                          {"name": "ko.p60", "value": 800.0}]
    (tmp_path / "cut.yaml").write_text("head: [unclosed\n", encoding="utf-8")
    assert perplexity_cutoffs(steps, None, tmp_path) == []
    assert perplexity_cutoffs([{"step": "perplexity_v1", "cutoffs": "missing.yaml"}], None, tmp_path) == []
    assert perplexity_cutoffs([{"step": "perplexity_v1"}], None, tmp_path) == []


def test_cut_and_histogram():
    assert cut("  가나다라마바사  ", 5) == "가나다라…" and cut("가나", 5) == "가나" and cut(None, 5) == ""
    h = histogram(np.array([0.1, 0.9]), np.array([0.5]), [0.65])
    assert h["bins"][0] == 0.0 and h["bins"][-1] == 1.0 and sum(h["kept"]) == 2 and sum(h["dropped"]) == 1
    wide = histogram(np.array([10.0, 5000.0]), np.array([]), [100.0])
    assert wide["log_x"] and sum(wide["kept"]) == 2
    assert histogram(np.array([]), np.array([]), [])["bins"] == []
