"""The fastText quality classifier: `pipeline quality train` on inline text, the committed default model, and
the steps `quality_score_v1` / `quality_filter_v1` (threshold and GPT-3 Pareto modes)."""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from datatrove.data import Document

from filters.quality import QualityFilter, QualityScore, classifier_text, curated_probabilities, pareto_draw
from core.errors import ConfigError
from trainers.quality import add_arguments, main

CURATED = [
    "대한민국의 수도는 서울특별시이며, 행정 중심 복합 도시로 세종특별자치시가 있다.",
    "훈민정음은 조선의 제4대 국왕 세종이 1443년에 창제하여 1446년에 반포한 문자 체계이다.",
    "광합성은 식물이 빛 에너지를 이용하여 이산화 탄소와 물로부터 포도당을 합성하는 과정이다.",
    "한강은 강원도에서 발원하여 서울을 지나 황해로 흘러드는 강으로, 길이는 약 494킬로미터이다.",
    "이 법은 국민의 건강을 보호하고 환경을 보전하는 것을 목적으로 한다.",
    "제2조(정의) 이 법에서 사용하는 용어의 뜻은 다음과 같다.",
    "고려는 918년 왕건이 세운 왕조로, 수도는 개경이었으며 1392년까지 존속하였다.",
    "지구의 대기는 질소 약 78퍼센트와 산소 약 21퍼센트로 이루어져 있다.",
    "판소리는 한 명의 소리꾼이 고수의 북장단에 맞추어 긴 이야기를 노래하는 한국의 전통 음악이다.",
    "제3조(적용 범위) 이 법은 대한민국 영역 안에 있는 모든 사업장에 적용한다.",
]
WEB = [
    "로그인 | 회원가입 | 고객센터",
    "토토사이트 추천 안전놀이터 꽁머니 즉시 지급 먹튀검증 완료",
    "저작권자 © 한빛일보 무단 전재 및 재배포 금지",
    "카지노사이트 바카라사이트 첫충 20% 매충 10% 텔레그램 문의",
    "ㅋㅋㅋㅋ 개꿀잼 ㅋㅋ 진짜 대박 강추합니다!!!",
    "공유하기 페이스북 트위터 카카오톡 URL복사 더보기",
    "홈 > 뉴스 > 사회 | 많이 본 뉴스 | 실시간 인기 기사",
    "이 영화 완전 노잼 ㅡㅡ 시간 아까움 평점 1점도 아깝다",
    "신규가입 꽁머니 3만원 지급 무제한 환전 바로가기 클릭",
    "회사소개 | 광고문의 | 개인정보처리방침 | 이용약관",
]
# Held out: never in the inline training text, written the same way.
HELDOUT_CURATED = [
    "신라는 기원전 57년에 건국되어 935년까지 존속한 한반도 동남부의 왕조로, 수도는 경주였다.\n"
    "삼국을 통일한 뒤에는 중앙 집권 체제를 정비하였다.",
    "제1조(목적) 이 법은 공정한 거래 질서를 확립하여 소비자를 보호함을 목적으로 한다.\n"
    "제2조(정의) 이 법에서 사용하는 용어의 뜻은 다음과 같다.",
]
HELDOUT_WEB = [
    "먹튀폴리스 보증업체 메이저놀이터 가입코드 VIP 파워볼 실시간\n꽁머니 환전 바로가기",
    "로그인 | 회원가입\n정치 | 경제 | 사회 | 문화 | 스포츠\n많이 본 뉴스\n더보기\n저작권자 © 바다뉴스 무단 전재 및 재배포 금지",
    "ㅋㅋㅋㅋㅋ 완전 꿀잼\n배우 연기 미쳤다 ㅠㅠ\n돈 아깝다 노잼",
]
DEFAULT_MODEL = os.path.join(os.path.dirname(os.path.dirname(__file__)), "models", "ko-quality", "ko-quality.ftz")


def _pages(pool: list[str], n: int, rng: random.Random) -> list[dict]:
    return [{"id": f"d{i}", "text": "\n".join(rng.sample(pool, k=rng.randint(2, 5)))} for i in range(n)]


def _write(path, rows) -> str:
    with gzip.open(path, "wt", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    return str(path)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    d = tmp_path_factory.mktemp("quality")
    rng = random.Random(0)
    pos = _write(d / "pos.jsonl.gz", _pages(CURATED, 200, rng))
    neg = _write(d / "neg.jsonl.gz", _pages(WEB, 200, rng))
    out = str(d / "tiny.ftz")
    # The real command in its own process: in a process where other tests already ran (torch and others
    # loaded), this fastText build's training ends in "Encountered NaN" every time; alone it trains cleanly.
    # This fastText build sometimes ends a whole process's training in "Encountered NaN" (seen in 2 of ~30 runs,
    # only inside the full suite); a fresh process trains cleanly, so the command gets up to three processes.
    for _ in range(3):
        r = subprocess.run([sys.executable, "-m", "pipeline.cli", "quality", "train", "--positive", pos, "--negative",
                            neg, "--out", out, "--quick", "--bucket", "5000"], capture_output=True, text=True,
                           timeout=300, cwd=Path(__file__).resolve().parents[1])
        if r.returncode == 0 or "Encountered NaN" not in r.stdout + r.stderr:
            break
    assert r.returncode == 0, r.stdout + r.stderr
    return out


def test_train_writes_quantized_model_and_held_out_report(tiny_model):
    report = json.loads(open(tiny_model + ".json", encoding="utf-8").read())
    assert report["chosen_params"]["epoch"] > 0 and report["bytes"] == os.path.getsize(tiny_model)
    assert report["test_threshold_0.5"]["precision"] >= 0.9 and report["test_threshold_0.5"]["recall"] >= 0.9
    from core.models import load_fasttext

    assert load_fasttext(tiny_model).is_quantized()


def test_tiny_model_ranks_held_out_curated_above_web(tiny_model):
    from core.models import load_fasttext

    p = curated_probabilities(load_fasttext(tiny_model), HELDOUT_CURATED + HELDOUT_WEB)
    assert min(p[: len(HELDOUT_CURATED)]) > max(p[len(HELDOUT_CURATED):])


def test_default_model_ranks_held_out_curated_above_boilerplate_and_spam():
    assert os.path.getsize(DEFAULT_MODEL) <= 10_000_000
    step = QualityScore(model_path=DEFAULT_MODEL)
    docs = [Document(text=t, id=str(i), metadata={}) for i, t in enumerate(HELDOUT_CURATED + HELDOUT_WEB)]
    step.annotate_batch(docs)
    scores = [d.metadata["quality_score"] for d in docs]
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert min(scores[: len(HELDOUT_CURATED)]) > 0.5 > max(scores[len(HELDOUT_CURATED):])


def test_classifier_text_is_nfc_lowercase_digit_folded_one_line():
    nfd = unicodedata.normalize("NFD", "한국어 ABC 2024년\n둘째 줄")
    assert classifier_text(nfd) == "한국어 abc 0000년 둘째 줄"
    assert len(classifier_text("가" * 5000, max_chars=100)) == 100


def test_threshold_mode_keeps_at_threshold_and_drops_below():
    f = QualityFilter(mode="threshold", threshold=0.5)
    assert f.filter(Document(text="x", id="a", metadata={"quality_score": 0.5})) is True
    assert f.filter(Document(text="x", id="b", metadata={"quality_score": 0.49})) == (False, "quality_classifier")


def test_pareto_mode_is_deterministic_per_document_and_keeps_like_gpt3():
    f = QualityFilter(mode="pareto", pareto_alpha=9.0, seed=7)
    ids = [f"shard/{i:06d}" for i in range(4000)]

    def kept(order, score):
        return {i for i in order if f.filter(Document(text="x", id=i, metadata={"quality_score": score})) is True}

    assert kept(ids, 0.5) == kept(list(reversed(ids)), 0.5)  # batch order does not matter
    # P(pareto(9) > 1 - s) = (2 - s)^-9: 0.2% at s=0, 2.6% at 0.5, 42% at 0.9
    assert len(kept(ids, 0.0)) / len(ids) < 0.01
    assert 0.015 < len(kept(ids, 0.5)) / len(ids) < 0.04
    assert 0.38 < len(kept(ids, 0.9)) / len(ids) < 0.46
    assert pareto_draw(7, "a", 9.0) == pareto_draw(7, "a", 9.0) != pareto_draw(8, "a", 9.0)


def test_filter_without_score_and_bad_settings_are_config_errors():
    with pytest.raises(ConfigError, match="quality_score_v1"):
        QualityFilter().filter(Document(text="x", id="a", metadata={}))
    with pytest.raises(ConfigError, match="threshold"):
        QualityFilter(threshold=1.5)


def test_train_refuses_a_non_ftz_output(tmp_path):
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    with pytest.raises(ConfigError, match="ftz"):
        main(parser.parse_args(["--positive", "a", "--negative", "b", "--out", str(tmp_path / "m.bin")]))
