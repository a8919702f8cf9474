"""Corpus-level line dedup: the pre-pass (pipeline/repeated_lines.py) on tiny WARC + JSONL shards, then the step
`line_dedup_v1` (filters/line_dedup.py) on the same documents."""

from __future__ import annotations

import json
import unicodedata

import numpy as np
import pytest
from datatrove.data import Document

from filters.line_dedup import LineDedup
from core.config import ExecutionConfig, InputConfig, JobConfig
from core.errors import ConfigError
from pipeline.executor import Executor
from core.linehash import line_hash, normalize_line, normalized_lines
from pipeline.repeated_lines import Config, document_texts, prepass
from tests.warcgen import html_page, write_warc

FOOTER = "저작권자 © 한빛일보 무단 전재 및 재배포 금지"
ARTICLES = [
    ["서울의 봄은 3월 하순에 시작된다.", "벚꽃은 4월 초에 가장 많이 핀다."],
    ["한강은 서울을 동서로 가로지르는 강이다.", "강의 길이는 약 494킬로미터이다."],
    ["김치는 배추를 소금에 절여 만든다.", "지역마다 양념이 조금씩 다르다."],
    ["훈민정음은 1443년에 창제되었다.", "반포는 1446년에 이루어졌다."],
    # a sentence said twice in one article: one document, so it must not count as repeated
    ["조선의 수도는 한양이었다.", "그 시대의 기록은 많이 남아 있다.", "조선의 수도는 한양이었다."],
]
TWICE = "조선의 수도는 한양이었다."
# the same paragraph on exactly two pages (an article and its copy): below min_repeats=3, so it stays
PAIR_LINE = "부산은 대한민국 제2의 도시이며 큰 항구가 있다."


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    d = tmp_path_factory.mktemp("line_dedup")
    pages = [{"url": f"https://news.example/{i}", "body": html_page(f"기사 {i}", paras + [FOOTER])}
             for i, paras in enumerate(ARTICLES)]
    # a page of nothing but the footer (as its title and its text): emptied, so dropped
    pages.append({"url": "https://news.example/footer-only", "body": html_page(FOOTER, [FOOTER])})
    write_warc(d / "a.warc.gz", pages)
    rows = [{"id": "j1", "text": f"{PAIR_LINE}\n해운대 해수욕장이 유명하다.\n{FOOTER}"},
            {"id": "j2", "text": f"{PAIR_LINE}\n자갈치 시장에는 생선이 많다.\n{FOOTER}"}]
    (d / "b.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    job = JobConfig(input=InputConfig(paths=[str(d / "a.warc.gz"), str(d / "b.jsonl")]), output=str(d / "run"),
                    execution=ExecutionConfig(backend="local"))
    # group_size 1: two groups, so the counts are merged across groups; 4 partitions exercise the merge split
    cfg = Config(min_repeats=3, group_size=1, min_line_chars=10, partitions=4)
    figures = prepass(cfg, job, d / "run", Executor(job.execution))
    return job, cfg, d / "run", figures


def _docs(job):
    return [Document(text=t, id=url or str(i), metadata={})
            for p in job.input.paths for i, (url, t) in enumerate(document_texts(p, job))]


def test_prepass_writes_sorted_frequent_hashes(corpus):
    _, _, run_dir, figures = corpus
    frequent = np.load(run_dir / "line_dedup" / "frequent_lines.npy")
    assert frequent.dtype == np.uint64 and np.all(frequent[1:] > frequent[:-1])
    assert figures["documents"] == 8 and figures["groups"] == 2
    assert line_hash(normalize_line(FOOTER)) in set(frequent.tolist())
    assert line_hash(normalize_line(TWICE)) not in set(frequent.tolist())
    assert line_hash(normalize_line(PAIR_LINE)) not in set(frequent.tolist())


def test_step_removes_shared_footer_and_keeps_sentence_twice_in_one_article(corpus):
    job, _, run_dir, _ = corpus
    step = LineDedup(frequent_lines_path=str(run_dir / "line_dedup" / "frequent_lines.npy"))
    docs = _docs(job)
    results = {d.id: step.filter(d) for d in docs}
    by_id = {d.id: d for d in docs}
    for d in docs:
        assert FOOTER not in d.text
    twice = by_id["https://news.example/4"]
    assert twice.text.count(TWICE) == 2 and results[twice.id] is True
    assert twice.metadata["line_dedup_lines_removed"] == 1
    assert PAIR_LINE in by_id["0"].text and PAIR_LINE in by_id["1"].text  # JSONL records: no url, ids by position
    assert results["https://news.example/footer-only"] == (False, "line_dedup_empty")
    # one footer on each of the 8 documents, and the footer-only page's title line
    assert step.stats["line_dedup_lines_removed"].total == 9
    assert step.stats["line_dedup_bytes_removed"].total == 9 * (len(FOOTER.encode()) + 1)


def test_normalization_folds_case_digits_punctuation_and_nfd():
    assert normalize_line("  Copyright (C) 2024 한빛일보.  ") == normalize_line("copyright c 1999 한빛일보")
    nfd = unicodedata.normalize("NFD", FOOTER)
    assert len(nfd) > len(FOOTER) and line_hash(normalize_line(nfd)) == line_hash(normalize_line(FOOTER))
    assert normalize_line("한국어 문장") == "한국어 문장"  # Hangul stays whole syllables


def test_whole_text_normalization_equals_line_by_line():
    """normalized_lines does the character work once per document; it must give what normalize_line gives per
    line, on the bundled sample's pages and on characters whose case or composition depends on context."""
    import glob

    from pipeline.job import load_config

    tricky = "ΟΔΟΣ\nΣίσυφος ΣΑΣ\nİstanbul 1２３\n\u0301e\u0301 가\u1161\n\u1100\u1161\u11a8 x\u200by\r\n_a_ ★☆ ①\n\n"
    texts = [tricky, unicodedata.normalize("NFD", FOOTER + "\n" + ARTICLES[0][0])]
    for p in sorted(glob.glob("data/sample/*.warc.gz"))[:2]:
        job = load_config("configs/ko-web.yaml", {"input.paths": [p]})
        texts += [t for _, t in document_texts(p, job)]
    assert len(texts) > 150
    for text in texts:
        assert normalized_lines(text) == [normalize_line(line) for line in text.split("\n")]


def test_prepass_figures_follow_its_settings(corpus):
    job, cfg, run_dir, figures = corpus
    two = prepass(cfg.model_copy(update={"min_repeats": 2}), job, run_dir, Executor(job.execution))
    assert two["frequent_lines"] > figures["frequent_lines"]  # PAIR_LINE now too
    prepass(cfg, job, run_dir, Executor(job.execution))  # leave the module fixture's files as they were


def test_missing_hash_file_is_a_config_error(tmp_path):
    step = LineDedup(frequent_lines_path=str(tmp_path / "nope.npy"))
    with pytest.raises(ConfigError, match="line_dedup"):
        step.filter(Document(text="한 줄", id="x", metadata={}))


def test_config_rejects_unknown_keys():
    with pytest.raises(ValueError):
        Config(min_repeat=3)
