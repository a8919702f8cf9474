"""perplexity_v1 and pipeline/lm: the normalization shared by training and scoring, the default Korean Wikipedia
model's ordering of clean prose vs colloquial reviews vs gambling spam, buckets and drop reasons, clear errors
for missing or corrupt model and cutoffs files, and `lm train` on a tiny corpus (skipped without lmplz)."""

from __future__ import annotations

import argparse
import pickle
import unicodedata
from pathlib import Path

import numpy as np
import pytest
from datatrove.data import Document

from filters.perplexity import PerplexityFilter
from core.errors import ConfigError
from filters.perplexity import read_cutoffs
from trainers.lm.cutoffs import compute_cutoffs, write_cutoffs
from trainers.lm.lmplz import find_kenlm_bin
from filters.lm_normalize import normalize_line, normalize_text
from filters.lm_score import KENLM_BINARY, SP_MODEL, load_scorer
from core.steps import build_step

# Two documents of the 1-in-50 slice `lm train --heldout-every 50` held out of the default model's training
# text (Korean Wikipedia, CC BY-SA: "장 드 라 퐁텐" kowiki-12961 and "르 몽드" kowiki-51421, shortened).
WIKI_HELDOUT = [
    "장 드 라 퐁텐(Jean de La Fontaine, 1621년 7월 8일 ~ 1695년 4월 13일)은 프랑스의 시인이자 동화 작가이다.\n"
    "라 퐁텐은 1621년 7월 8일 프랑스 샹파뉴의 샤토티에리에서 태어났다. 그는 자연 속에서 성장하면서, 자연과 "
    "자유를 사랑하게 되었다. 후에는 고전을 연구하며 시·극·우화 등을 썼다.",
    "르 몽드는 나치 독일의 점령으로부터 해방된 1944년에 드골 장군이 이끄는 새 정부의 명령에 따라 12월 18일에 "
    "창간되었다. 창업자는 위베르 뵈브메리이다.\n만화와 그림은 싣지않으며, 타블로이드 판이다. 모든 권력으로부터의 "
    "독립을 표방하는 이 신문은 창간 초기부터 국내외 뉴스를 깊이 있게 분석, 보도해 정확성과 독립성을 인정받았다.",
]
# Short colloquial movie reviews, written for this test in the style of NSMC.
REVIEWS = [
    "ㅋㅋㅋㅋ 개웃김 진짜 ㅋㅋ 강추요!!",
    "아 돈 아깝다 ㅡㅡ 이걸 왜 봤지 시간 버림",
    "배우들 연기 쩔고 ost 미쳤음 ㅠㅠ 또 볼래여",
]
# Gambling spam, written for this test in the style of Korean SEO spam pages.
SPAM = [
    "★카지노★ 바카라 사이트 추천 첫충 30% 매충 10% 안전놀이터 먹튀검증 완료 ☎ 텔레그램 @vip777 토토 총판 모집\n"
    "카지노사이트 바카라사이트 온라인카지노 슬롯머신 파워볼 토토사이트 먹튀없는 메이저놀이터 가입코드 777",
    "스포츠토토 배팅 꽁머니 지급 ✅ 환전 빠른 놀이터 ✅ 신규 가입 즉시 5만 꽁머니 ✅ 문의 카톡 abc123",
]


def perplexities(texts: list[str]) -> list[float]:
    scorer = load_scorer("models/ko-wiki-lm")
    return [scorer.perplexity(t) for t in texts]


def test_normalization_nfc_lower_digits_punct_and_jamo_kept():
    nfd = unicodedata.normalize("NFD", "한국어 문장")
    assert normalize_line(nfd) == "한국어 문장"
    assert normalize_line("Samsung Galaxy S24 출시 2024년") == "samsung galaxy s00 출시 0000년"
    assert normalize_line("“좋다”… 《책》\u200b！") == '"좋다"... "책"!'
    # compatibility jamo stay as they are (NFKC would turn ㅋ into a conjoining jamo)
    assert normalize_line("ㅋㅋㅋ  ㅠㅠ") == "ㅋㅋㅋ ㅠㅠ"
    assert normalize_text("첫 줄\n\n   \n둘째\t줄 \r\n") == ["첫 줄", "둘째 줄"]
    assert normalize_text("") == [] and normalize_text(" \n\u200b\n") == []


def test_wikipedia_scores_lower_than_reviews_and_spam():
    wiki, reviews, spam = perplexities(WIKI_HELDOUT), perplexities(REVIEWS), perplexities(SPAM)
    assert max(wiki) < min(reviews), (wiki, reviews)
    assert max(wiki) < min(spam), (wiki, spam)


def test_score_is_per_line_ccnet_formula():
    scorer = load_scorer("models/ko-wiki-lm")
    one, two = "대한민국의 수도는 서울이다.", "한강은 서울을 가로질러 흐른다."
    a, b, both = scorer.score(one), scorer.score(two), scorer.score(one + "\n\n" + two)
    assert both.lines == 2 and both.tokens == a.tokens + b.tokens
    assert both.log10_prob == pytest.approx(a.log10_prob + b.log10_prob)
    assert both.perplexity == pytest.approx(10 ** (-(a.log10_prob + b.log10_prob) / (a.tokens + b.tokens)))
    pieces = scorer.sp.encode(normalize_line(one), out_type=str)
    assert a.tokens == len(pieces) + 1  # pieces + </s>
    assert a.log10_prob == pytest.approx(scorer.lm.score(" ".join(pieces), bos=True, eos=True))


@pytest.fixture
def cutoffs_file(tmp_path):
    path = tmp_path / "cutoffs.yaml"
    path.write_text("head: 100.0\ntail: 1000.0\n", encoding="utf-8")
    return str(path)


def test_buckets_and_drop_reasons(cutoffs_file):
    f = build_step({"step": "perplexity_v1", "cutoffs": cutoffs_file, "keep_buckets": ["head", "middle"]})
    assert [f.bucket(x) for x in (99.9, 100.0, 999.9, 1000.0)] == ["head", "middle", "middle", "tail"]
    wiki, spam = Document(WIKI_HELDOUT[0], id="w"), Document(SPAM[0], id="s")
    assert f.filter(wiki) is True
    assert wiki.metadata["perplexity"] < 1000 and wiki.metadata["perplexity_bucket"] in ("head", "middle")
    assert f.filter(spam) == (False, "perplexity_tail") and spam.metadata["perplexity_bucket"] == "tail"
    assert set(PerplexityFilter.columns) == {"perplexity", "perplexity_bucket"}

    empty = Document(" \n\u200b ", id="e")
    assert f.filter(empty) == (False, "perplexity_no_text") and empty.metadata["perplexity_bucket"] == "tail"

    # By default every bucket is kept: the step annotates and drops only documents without scorable text
    # (the dev set measured the tail costing 11% of held-out Wikipedia, filters/perplexity.py).
    default = build_step({"step": "perplexity_v1", "cutoffs": cutoffs_file})
    spam_again = Document(SPAM[0], id="s")
    assert default.filter(spam_again) is True and spam_again.metadata["perplexity_bucket"] == "tail"
    assert default.filter(Document(" \n\u200b ", id="e")) == (False, "perplexity_no_text")

    head_only = build_step({"step": "perplexity_v1", "cutoffs": cutoffs_file, "keep_buckets": ["tail"]})
    assert head_only.filter(Document(WIKI_HELDOUT[0], id="w")) == (False, f"perplexity_{wiki.metadata['perplexity_bucket']}")


def test_batch_scoring_equals_one_document_at_a_time(cutoffs_file):
    """The step encodes a whole batch's lines in one SentencePiece call; each document must get exactly the score,
    bucket and decision it gets alone (an empty document in the middle must not shift the others' lines)."""
    texts = [WIKI_HELDOUT[0], " \n\u200b ", *REVIEWS, SPAM[0], WIKI_HELDOUT[1] + "\n\n" + SPAM[1]]
    scorer = load_scorer("models/ko-wiki-lm")
    assert scorer.score_batch(texts) == [scorer.score(t) for t in texts]
    assert scorer.score_batch([]) == []
    f = build_step({"step": "perplexity_v1", "cutoffs": cutoffs_file})
    batch = [Document(t, id=str(i)) for i, t in enumerate(texts)]
    alone = [Document(t, id=str(i)) for i, t in enumerate(texts)]
    assert f.filter_batch(batch) == [f.filter(d) for d in alone]
    assert [d.metadata for d in batch] == [d.metadata for d in alone]
    assert f.filter_batch(batch)[1] == (False, "perplexity_no_text")


def test_step_pickles_without_the_model(cutoffs_file):
    f = PerplexityFilter(cutoffs=cutoffs_file)
    f.filter(Document(WIKI_HELDOUT[1], id="w"))
    assert f._scorer is not None
    clone = pickle.loads(pickle.dumps(f))
    assert clone._scorer is None and clone.filter(Document(WIKI_HELDOUT[1], id="w")) is True


def test_missing_and_corrupt_files_are_config_errors_naming_the_file(tmp_path, cutoffs_file):
    with pytest.raises(ConfigError, match="missing.yaml"):
        PerplexityFilter(cutoffs=str(tmp_path / "missing.yaml"))
    (tmp_path / "bad.yaml").write_text("head: 900\ntail: 100\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="bad.yaml.*above tail"):
        read_cutoffs(str(tmp_path / "bad.yaml"))
    with pytest.raises(ConfigError, match="keep_buckets"):
        build_step({"step": "perplexity_v1", "cutoffs": cutoffs_file, "keep_buckets": ["top"]})

    model = tmp_path / "lm"
    model.mkdir()
    (model / SP_MODEL).write_bytes((Path("models/ko-wiki-lm") / SP_MODEL).read_bytes())
    f = PerplexityFilter(model_dir=str(model), cutoffs=cutoffs_file)  # constructing never loads the model
    with pytest.raises(ConfigError, match=f"{model / KENLM_BINARY}"):
        f.filter(Document("한국어 문장", id="x"))
    (model / KENLM_BINARY).write_bytes(b"this is not a kenlm binary")
    with pytest.raises(ConfigError, match=f"cannot be loaded: {model / KENLM_BINARY}"):
        PerplexityFilter(model_dir=str(model), cutoffs=cutoffs_file).filter(Document("한국어 문장", id="x"))
    other = tmp_path / "lm2"  # a fresh path: the first sp.model above is cached for the process
    other.mkdir()
    (other / SP_MODEL).write_bytes(b"garbage")
    with pytest.raises(ConfigError, match=f"cannot be loaded: {other / SP_MODEL}"):
        load_scorer(str(other))
    with pytest.raises(ConfigError, match="model directory not found: .*nowhere"):
        load_scorer(str(tmp_path / "nowhere"))


def test_cutoffs_round_trip(tmp_path):
    data = compute_cutoffs(np.arange(1.0, 101.0))
    assert data["head"] == pytest.approx(30.7) and data["tail"] == pytest.approx(60.4)
    data["computed"] = {"corpus": ["x.jsonl"], "sample": "100 documents"}
    write_cutoffs(tmp_path / "c.yaml", data)
    assert read_cutoffs(str(tmp_path / "c.yaml")) == (data["head"], data["tail"])


@pytest.mark.skipif(find_kenlm_bin() is None, reason="lmplz/build_binary not built (pipeline lm train builds them)")
def test_lm_train_tiny_corpus(tmp_path):
    from trainers.lm import train_main
    from trainers.lm.build import add_train_arguments

    subjects = ["서울", "부산", "대구", "인천", "광주", "대전", "울산", "수원"]
    verbs = ["있는 도시이다", "큰 항구가 있다", "인구가 많은 곳이다", "오래된 역사를 가진 곳이다"]
    corpus = tmp_path / "corpus.jsonl"
    rows = [f'{{"id": "d{i}", "text": "{s}은 한국에 {v}.\\n{s}에는 여러 대학이 있다."}}'
            for i, (s, v) in enumerate((s, v) for s in subjects for v in verbs)]
    corpus.write_text("\n".join(rows * 5) + "\n", encoding="utf-8")
    parser = argparse.ArgumentParser()
    add_train_arguments(parser)
    out = tmp_path / "model"
    args = parser.parse_args(["--corpus", str(corpus), "--out", str(out), "--order", "3", "--vocab", "60",
                              "--prune", "--heldout-every", "4"])
    assert train_main(args) == 0
    assert (out / SP_MODEL).is_file() and (out / KENLM_BINARY).is_file() and (out / "train_info.json").is_file()
    scorer = load_scorer(str(out))
    assert scorer.perplexity("서울은 한국에 있는 도시이다.") < scorer.perplexity("바카라 토토 꽁머니 텔레그램")


def test_lmplz_build_names_missing_debian_packages(tmp_path, monkeypatch):
    from core.errors import RunError
    from trainers.lm import lmplz

    monkeypatch.setenv("KO_CURATE_CACHE", str(tmp_path))  # empty cache
    monkeypatch.setenv("PATH", str(tmp_path))              # no lmplz, cmake or compiler on PATH
    monkeypatch.setattr(lmplz, "INCLUDE_DIRS", (str(tmp_path),))  # no Boost headers
    assert lmplz.find_kenlm_bin() is None
    with pytest.raises(RunError, match="cmake g\\+\\+ libboost-program-options-dev .*libboost-test-dev"):
        lmplz.ensure_kenlm_bin()
