"""`pipeline audit` and the declarations it reads: a real `pipeline run --backend local` with
`execution.score_all: true` on a small JSONL shard built here (clean Korean paragraphs, a short clean
news brief, gambling spam, an English page, jamo chat), a labels file, and the figures the audit prints."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pipeline.cli import main as cli_main
from pipeline.report import build_report
from pipeline.report.rules import rule_counts
from pipeline.report.thresholds import find_thresholds
from core.steps import Decision, _check_decisions, register_step, registry

ROOT = Path(__file__).resolve().parents[1]

WIKI = [
    "서울특별시는 대한민국의 수도이며 한강을 사이에 두고 남북으로 펼쳐진 도시이다. 조선 시대에는 한양이라고 불렸으며 "
    "오백 년 동안 왕조의 도읍이었다. 오늘날 서울은 정치와 경제와 문화의 중심지로서 약 천만 명의 인구가 살고 있다. "
    "도시의 북쪽에는 북한산이 있고 남쪽에는 관악산이 있어 자연 경관이 아름답다.",
    "부산광역시는 대한민국 남동부에 있는 항구 도시로 인구는 약 삼백삼십만 명이다. 부산항은 국내에서 가장 큰 무역항이며 "
    "세계적인 컨테이너 항구로 알려져 있다. 해운대와 광안리 같은 해수욕장이 있어 여름마다 많은 관광객이 찾아온다. "
    "매년 가을에는 부산국제영화제가 열려 아시아 영화의 중심 행사로 자리를 잡았다.",
    "한글은 조선의 세종대왕이 백성을 위하여 만든 글자로 천사백사십삼 년에 창제되었다. 처음에는 훈민정음이라고 불렸으며 "
    "스물여덟 개의 글자로 이루어져 있었다. 오늘날에는 스물네 개의 글자가 쓰이며 자음과 모음을 모아 음절을 적는다. "
    "한글은 배우기 쉽고 과학적인 문자로 세계의 여러 학자들에게 높은 평가를 받고 있다.",
]
# Clean, but shorter than gopher_quality_ko_v1's 25 eojeol: the rule's cost in the news register.
NEWS_SHORT = "서울시는 오늘 한강공원에 새 자전거 도로를 열었다고 밝혔다. 시는 다음 달까지 안내판을 더 설치할 예정이다."
SPAM = "\n".join([
    "토토사이트 추천 메이저놀이터 안전놀이터 먹튀검증 완료 가입머니 지급 이벤트 진행중입니다.",
    "사설토토 메이저사이트 꽁머니 첫충 매충 충환전 무제한 안전놀이터 보증업체 가입코드 문의 주세요.",
    "먹튀검증 커뮤니티 토토사이트 순위 추천 안전놀이터 메이저놀이터 가입 즉시 꽁머니 지급합니다.",
    "실시간 바카라 카지노사이트 슬롯 토토사이트 먹튀사이트 검증 완료 놀이터추천 입플 이벤트 진행합니다.",
    "안전놀이터 토토사이트 추천 가입머니 지급 메이저사이트 먹튀검증 꽁머니 첫충 이벤트 문의는 텔레그램으로.",
])
ENGLISH = ("The city council met on Tuesday to discuss the new budget for public parks and libraries. "
           "Members agreed that the reading rooms should stay open later in the evening during the winter months, "
           "and that the river path should be repaired before the spring festival begins.")
# Bare jamo runs (laughter, crying) over a fifth of the characters: ko_jamo_spam, and short (gopher_ko_short_doc).
JAMO_HEAVY = "ㅋㅋㅋㅋㅋㅋㅋㅋ 진짜 웃기다 ㅋㅋㅋㅋㅋㅋㅋ 대박 ㅎㅎㅎㅎㅎㅎ 이거 뭐야 ㅠㅠㅠㅠㅠ 배고프다 ㅋㅋㅋㅋ"
# Jamo runs are 0.24 of the characters (ko_quality_v1 drops over 0.2), in a text long enough for every other rule.
JAMO_LIGHT = ("오늘 친구들이랑 한강에 가서 자전거를 탔는데 정말 재미있었다 ㅋㅋㅋㅋㅋㅋ 날씨가 좋아서 사람이 많았고 "
              "편의점에서 라면을 사 먹었다 ㅎㅎㅎㅎㅎ 저녁에는 치킨을 시켜서 다 같이 먹었는데 너무 맛있었다 ㅋㅋㅋㅋㅋ "
              "다음 주에도 또 가기로 했다 ㅎㅎㅎㅎ 사진도 많이 찍었는데 나중에 올려야겠다 ㅋㅋㅋㅋㅋㅋ 진짜 좋은 하루였다 ㅋㅋㅋㅋㅋㅋㅋㅋㅋ")

DOCS = [  # (url, text, label, register)
    *[(f"http://wiki.example/{i}", t, "keep", "wiki") for i, t in enumerate(WIKI)],
    ("http://news.example/1", NEWS_SHORT, "keep", "news"),
    ("http://spam.example/1", SPAM, "drop", "spam"),
    ("http://en.example/1", ENGLISH, "drop", "foreign"),
    ("http://chat.example/1", JAMO_HEAVY, "drop", "chat"),
    ("http://chat.example/2", JAMO_LIGHT, "drop", "chat"),
]
STEPS = [{"step": "language_id_v1"}, {"step": "ko_signals_v1"}, {"step": "ko_spam_v1"}, {"step": "ko_quality_v1"},
         {"step": "gopher_quality_ko_v1"}]
# What filters/signals.py declares (written here too, so the test does not depend on that file's state).
KO_QUALITY_DECISIONS = (
    Decision("min_hangul_ratio", "hangul_ratio", "min", "ko_low_hangul_ratio"),
    Decision("max_jamo_run_ratio", "jamo_run_ratio", "max", "ko_jamo_spam"),
    Decision("max_emoticon_ratio", "emoticon_ratio", "max", "ko_emoticon_spam"),
    Decision("min_sentence_end_ratio", "sentence_end_ratio", "min", "ko_few_sentence_endings"),
)
# gopher_quality_ko_v1's length rule, declared here: its count is of eojeol holding a letter or digit, and
# eojeol_count (ko_signals_v1) counts them all, which is the same for these documents.
GOPHER_LENGTH_DECISIONS = (
    Decision("min_eojeol", "eojeol_count", "min", "gopher_ko_short_doc"),
    Decision("max_eojeol", "eojeol_count", "max", "gopher_ko_long_doc"),
)


def _run(tmp: Path, name: str, score_all: bool) -> Path:
    shard = tmp / "docs.jsonl"
    shard.write_text("".join(json.dumps({"id": f"d{i}", "url": u, "text": t}, ensure_ascii=False) + "\n"
                             for i, (u, t, _, _) in enumerate(DOCS)), encoding="utf-8")
    out = tmp / name
    cfg = {"input": {"paths": [str(shard)]}, "output": str(out), "steps": STEPS,
           "execution": {"backend": "local", "score_all": score_all}}
    config = tmp / f"{name}.yaml"
    config.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "pipeline.cli", "run", str(config), "--backend", "local"],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("audit")
    labels = tmp / "labels.jsonl"
    # the last row is labelled by the input record's own id, not by url
    rows = [{"url": u, "label": lab, "register": reg} for u, _, lab, reg in DOCS[:-1]]
    rows.append({"id": f"d{len(DOCS) - 1}", "label": DOCS[-1][2], "register": DOCS[-1][3]})
    rows.append({"url": "http://nowhere.example/", "label": "keep", "register": "wiki"})  # not in the run
    labels.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return {"full": _run(tmp, "full", True), "plain": _run(tmp, "plain", False), "labels": labels, "tmp": tmp}


@pytest.fixture
def declared(monkeypatch):
    monkeypatch.setattr(registry()["ko_quality_v1"], "decisions", KO_QUALITY_DECISIONS, raising=False)
    gopher = registry()["gopher_quality_ko_v1"]
    others = tuple(d for d in getattr(gopher, "decisions", ()) if d.param not in ("min_eojeol", "max_eojeol"))
    monkeypatch.setattr(gopher, "decisions", others + GOPHER_LENGTH_DECISIONS, raising=False)


def _audit(runs, which: str, capsys, *extra: str) -> tuple[dict, str]:
    out = runs["tmp"] / f"{which}-audit.json"
    assert cli_main(["audit", str(runs[which]), "--labels", str(runs["labels"]), "--json", str(out), *extra]) == 0
    return json.loads(out.read_text(encoding="utf-8")), capsys.readouterr().out


def _rules(figures: dict) -> dict[str, dict]:
    return {r["reason"]: r for r in figures["rules"]}


def test_rules_table_counts_every_rule_and_what_only_it_drops(runs, capsys, declared):
    f, text = _audit(runs, "full", capsys)
    assert f["score_all"] and f["documents"] == len(DOCS) and f["kept"] == 3
    assert f["labels"] == {"path": str(runs["labels"]), "rows": len(DOCS) + 1, "matched": len(DOCS), "not_in_run": 1}
    rules = _rules(f)
    # The English page: language ID drops it first; the Hangul share and the stop words would too.
    en = rules["language_not_kept"]
    assert (en["step"], en["first"], en["any"], en["only"], en["junk"], en["good"]) == ("language_id_v1", 1, 1, 0, 1, 0)
    assert rules["ko_low_hangul_ratio"]["any"] == 1 and rules["ko_low_hangul_ratio"]["first"] == 0
    # The heavy jamo chat: two rules (jamo spam, too short), so neither drops it alone; the light one only by jamo.
    jamo = rules["ko_jamo_spam"]
    assert (jamo["first"], jamo["any"], jamo["only"], jamo["junk"], jamo["junk_only"]) == (2, 2, 1, 2, 1)
    # The short news brief is good text only gopher_ko_short_doc drops: a cost in the news register.
    short = rules["gopher_ko_short_doc"]
    assert short["good"] == 1 and short["good_only"] == 1 and short["good_by_register"] == {"news": 1}
    assert short["any"] == short["good"] + short["junk"] + short["unlabeled"]
    assert (short["first"], short["any"], short["junk"], short["junk_only"]) == (1, 2, 1, 0)  # + the heavy chat
    assert rules["ko_gambling_spam"]["junk"] == 1 and rules["ko_gambling_spam"]["good"] == 0
    for r in f["rules"]:
        assert r["only"] <= r["any"] and r["first"] <= r["any"]
    regs = {(r["label"], r["register"]): r for r in f["registers"]}
    assert regs[("keep", "wiki")]["labelled"] == 4 and regs[("keep", "wiki")]["documents"] == 3
    assert regs[("keep", "wiki")]["kept_share"] == 1.0
    assert regs[("keep", "news")]["kept_share"] == 0.0
    assert regs[("keep", "news")]["first_reasons"] == {"gopher_ko_short_doc": 1}
    assert regs[("drop", "chat")]["documents"] == 2 and regs[("drop", "chat")]["dropped_share"] == 1.0
    assert all(r["dropped_share"] == 1.0 for k, r in regs.items() if k[0] == "drop")
    # printed: one row per rule, the cost per register, the score_all line
    assert "scored in full" in text
    line = next(ln for ln in text.splitlines() if ln.startswith("gopher_ko_short_doc "))
    assert "news 1/1 (100.0%)" in line
    assert "1 not in the run" in text


def test_threshold_sweep_from_the_score_columns(runs, capsys, declared):
    f, text = _audit(runs, "full", capsys)
    sweeps = {(t["step"], t["key"]): t for t in f["thresholds"]}
    jamo = sweeps[("ko_quality_v1", "max_jamo_run_ratio")]
    assert jamo["reason"] == "ko_jamo_spam" and jamo["column"] == "jamo_run_ratio"
    rows = {r["basis"]: r for r in jamo["rows"]}
    # as run: the same figures as the rules table
    assert (rows["as run"]["threshold"], rows["as run"]["drops"], rows["as run"]["only"]) == (0.2, 2, 1)
    assert rows["as run"]["junk"] == 2 and rows["as run"]["good"] == 0
    # looser (a higher maximum): the light chat is kept, fewer drops
    looser = [r for r in jamo["rows"] if r["threshold"] > 0.2]
    assert looser and all(r["drops"] <= rows["as run"]["drops"] for r in looser)
    assert min(r["drops"] for r in looser) < rows["as run"]["drops"]
    # the English page was dropped by ko_quality_v1 for its Hangul share first: never counted as jamo spam
    assert jamo["scored"] == len(DOCS) - 1
    # a threshold on a column another step writes: gopher_quality_ko_v1.min_eojeol on ko_signals_v1's eojeol_count
    eojeol = sweeps[("gopher_quality_ko_v1", "min_eojeol")]
    assert eojeol["reason"] == "gopher_ko_short_doc" and eojeol["column"] == "eojeol_count"
    # scored in full, less the English page: its step drops it for its stop words first (another reason)
    assert eojeol["scored"] == len(DOCS) - 1
    by_t = {r["threshold"]: r for r in eojeol["rows"]}
    assert by_t[25.0]["good"] == 1 and by_t[25.0]["good_by_register"] == {"news": 1}
    assert by_t[12.0]["drops"] < by_t[25.0]["drops"] and by_t[12.0]["good"] == 0  # looser: the brief is kept
    # the good-document quantiles are offered too (a minimum: the low ones)
    assert {"good p1", "good p5", "good p10"} & {r["basis"] for r in eojeol["rows"]}
    assert "ko_quality_v1.max_jamo_run_ratio: drops jamo_run_ratio > t as ko_jamo_spam; as run t = 0.2" in text


def test_without_score_all_only_the_first_rule_is_known(runs, capsys, declared):
    f, text = _audit(runs, "plain", capsys)
    assert not f["score_all"]
    assert "any = only = first" in text
    for r in f["rules"]:
        assert r["first"] == r["any"] == r["only"]
    assert _rules(f)["language_not_kept"]["first"] == 1
    assert "ko_low_hangul_ratio" not in _rules(f)  # language ID dropped the English page before the Hangul check
    # the sweep sees only documents that reached the step: the English page has no eojeol_count here
    sweeps = {(t["step"], t["key"]): t for t in f["thresholds"]}
    assert sweeps[("gopher_quality_ko_v1", "min_eojeol")]["scored"] == len(DOCS) - 1


def test_report_of_a_run_scored_in_full_has_the_rule_table(runs):
    page = build_report(runs["full"]).read_text(encoding="utf-8")
    figures = json.loads((runs["full"] / "report.json").read_text(encoding="utf-8"))
    rules = {r["reason"]: r for r in figures["rules"]}
    assert rules["ko_jamo_spam"] == {"reason": "ko_jamo_spam", "step": "ko_quality_v1", "first": 2, "any": 2, "only": 1}
    assert rules["ko_low_hangul_ratio"]["first"] == 0 and rules["ko_low_hangul_ratio"]["any"] == 1
    assert "Every rule that would drop each document" in page and "<script" not in page
    row = "<tr><td>ko_jamo_spam</td><td>ko_quality_v1</td><td class=\"num\">2</td><td class=\"num\">1</td><td class=\"num\">2</td></tr>"
    assert row in page
    plain = build_report(runs["plain"]).read_text(encoding="utf-8")
    assert "Every rule that would drop each document" not in plain
    assert json.loads((runs["plain"] / "report.json").read_text(encoding="utf-8"))["rules"] is None


@pytest.mark.parametrize("content, message", [
    ('{"url": "http://a/", "label": "keep"}\nnot json\n', "labels.jsonl:2: not JSON"),
    ('{"label": "keep", "register": "wiki"}\n', "labels.jsonl:1: needs a url or an id"),
    ('{"url": "http://a/", "label": "good"}\n', "labels.jsonl:1: label must be keep or drop"),
    ('[1, 2]\n', "labels.jsonl:1: not a JSON object"),
    ('{"url": "http://a/", "label": "keep"}\n{"url": "http://a/", "label": "drop"}\n', "labels.jsonl:2: 'http://a/' is labelled"),
    ("\n", "labels.jsonl: no label rows"),
])
def test_bad_labels_exit_2_with_one_line(runs, tmp_path, capsys, content, message):
    labels = tmp_path / "labels.jsonl"
    labels.write_text(content, encoding="utf-8")
    assert cli_main(["audit", str(runs["full"]), "--labels", str(labels)]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_missing_run_or_labels_exit_2(runs, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for args, message in (([str(tmp_path / "nowhere"), "--labels", str(runs["labels"])], "run directory not found"),
                          ([str(tmp_path), "--labels", str(runs["labels"])], "not a run directory"),
                          ([str(runs["full"]), "--labels", str(tmp_path / "none.jsonl")], "labels file not found")):
        r = subprocess.run([sys.executable, "-m", "pipeline.cli", "audit", *args], cwd=ROOT, capture_output=True,
                           text=True, timeout=120, env=env)
        assert r.returncode == 2 and message in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


@register_step("test_audit_declared_v1")
class _Declared:
    columns = {"test_score": float}
    decisions = (Decision("min_test_score", "test_score", "min", "test_low"),
                 Decision("cut", "test_score", "max", "test_high", requires=(("mode", "cut"),)))

    def __init__(self, min_test_score: float | None = 0.3, cut: float = 0.9, mode: str = "cut", max_other: float = 2.0):
        pass


def test_thresholds_are_the_declared_decisions_only():
    found = find_thresholds([{"step": "test_audit_declared_v1", "min_test_score": 0.4}], ["test_score", "other"])
    assert [(t["key"], t["column"], t["kind"], t["value"], t["reason"]) for t in found] == [
        ("min_test_score", "test_score", "min", 0.4, "test_low"),
        ("cut", "test_score", "max", 0.9, "test_high")]  # max_other is named like a threshold, but not declared
    # a decision turned off (None) or whose `requires` does not hold decides nothing
    found = find_thresholds([{"step": "test_audit_declared_v1", "min_test_score": None, "mode": "sample"}],
                            ["test_score"])
    assert found == []


def test_a_declaration_naming_no_argument_is_refused():
    class Typo:
        decisions = (Decision("min_scroe", "test_score", "min", "test_low"),)

        def __init__(self, min_score: float = 0.5):
            pass

    with pytest.raises(RuntimeError, match="'min_scroe', not an argument"):
        _check_decisions("typo_v1", Typo)
    with pytest.raises(ValueError, match="direction"):
        Decision("min_score", "test_score", "below", "x")


def test_rule_counts_sorts_rules_in_step_order(runs):
    config = json.loads((runs["full"] / "summary.json").read_text(encoding="utf-8"))["config"]
    rows = rule_counts(runs["full"], config)
    order = [s["step"] for s in STEPS]
    positions = [order.index(r["step"]) for r in rows]
    assert positions == sorted(positions)
