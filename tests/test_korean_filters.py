"""Tests for filters/korean.py: ko_boilerplate_lines_v1, ko_spam_v1 and filters/urls.py: url_blocklist_v1 (one reason per test,
plus false positives on clean Korean text)."""

from __future__ import annotations

import pytest
from datatrove.data import Document

from filters.korean import KoBoilerplateLines, KoSpam, is_menu_line
from filters.urls import UrlBlocklist
from filters.spam_lexicon import load_lexicon
from core.errors import ConfigError
from core.steps import build_step

ARTICLE = (
    "(서울=연합뉴스) 홍길동 기자 = 정부가 내년도 예산안을 확정했다고 8일 밝혔다.\n"
    "김철수 기자는 이날 현장에서 사진을 찍으며 주민들의 이야기를 들었다."
)


def doc(text: str, url: str | None = None) -> Document:
    return Document(text, "t", metadata={"url": url} if url else {})


# --- ko_boilerplate_lines_v1 -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "<저작권자 © 연합뉴스, 무단 전재 및 재배포 금지>",
        "Copyright ⓒ 한겨레신문사 All Rights Reserved.",
        "Copyright 2024 Example News. 저작권자(c) 뉴스1코리아",
        "ⓒ 매일경제 & mk.co.kr",
        "홍길동 기자 hong@yna.co.kr",
        "[뉴스1] 김영희 특파원 = kim@news1.kr",
        "사진=연합뉴스",
        "[사진=게티이미지뱅크]",
        "윤 대통령이 국무회의에서 발언하고 있다. (사진=대통령실 제공)",
        "더보기",
        "댓글 0",
        "홈 > 뉴스 > 사회",
        "정치 | 경제 | 사회 | 문화 | 국제",
        "정치 · 경제 · 사회 · 문화",
        "로그인 | 회원가입 | 아이디/비밀번호 찾기",
        "이 사이트는 서비스 제공을 위해 쿠키를 사용합니다. 계속 이용하시면 동의하는 것으로 간주합니다.",
        "공유하기 카카오톡 페이스북 트위터",
    ],
)
def test_boilerplate_line_is_removed(line):
    d = doc(ARTICLE + "\n" + line)
    assert KoBoilerplateLines().filter(d) is True
    assert d.text == ARTICLE
    assert d.metadata["boilerplate_lines_removed"] == 1


@pytest.mark.parametrize(
    "line",
    [
        "김철수 기자는 이날 현장에서 사진을 찍었다.",
        "사진 속 인물은 1950년대 서울의 모습을 보여준다.",
        "로그인 기록이 유출되었다는 신고가 접수됐다.",
        "할머니가 구워 준 쿠키를 먹었다.",
        "무단 전재를 금지하는 법안이 국회를 통과했다.",
        "저작권자 사후 70년까지 저작물이 보호된다.",
        "남·북·미 정상회담이 판문점에서 열렸다.",
        "한·중·일·러 외교장관 회의",
        "태원군(太原郡) · 상당군(上黨郡) · 운중군(雲中郡) · 정양군(定襄郡)",
        "여고괴담 1>3>2>5>4(공포)",
        "좋아요",
    ],
)
def test_prose_line_is_kept(line):
    d = doc(ARTICLE + "\n" + line)
    assert KoBoilerplateLines().filter(d) is True
    assert d.metadata["boilerplate_lines_removed"] == 0
    assert line in d.text


def test_boilerplate_only_document_is_dropped_and_counted():
    step = KoBoilerplateLines()
    d = doc("홈 > 뉴스 > 사회\n더보기\n댓글 3\n<저작권자 © 뉴스1, 무단 전재 및 재배포 금지>\n짧은 글")
    assert step.filter(d) == (False, "ko_boilerplate_only")
    assert d.metadata["boilerplate_lines_removed"] == 4
    assert step.stats["boilerplate_lines_removed"].total == 4
    assert step.stats["boilerplate_bytes_removed"].total > 40


def test_min_chars_after_none_keeps_everything_left():
    assert KoBoilerplateLines(min_chars_after=None).filter(doc("더보기")) is True


def test_menu_line_needs_enough_short_word_items():
    assert is_menu_line("홈 | 뉴스 | 스포츠 | 연예", 4, 12)
    assert not is_menu_line("홈 | 뉴스 | 스포츠", 4, 12)
    assert not is_menu_line("2023 | 2024 | 2025 | 2026", 4, 12)
    assert not is_menu_line("정부는 | 이번 조치가 필요하다고 판단했으며 | 시행은 | 내년부터다", 4, 12)


# --- ko_spam_v1 --------------------------------------------------------------------------------------


def test_gambling_spam_is_dropped():
    d = doc("카지노사이트 추천 바카라사이트 안전놀이터\n먹튀검증 완료 메이저사이트 꽁머니 지급\n첫충 매충 가입코드 777")
    assert KoSpam().filter(d) == (False, "ko_gambling_spam")
    assert d.metadata["ko_spam_gambling_score"] > 0.5


def test_spaced_and_symbol_broken_spellings_match():
    lexicon = load_lexicon("configs/ko_spam_gambling.txt")
    matched, n_eojeol, _, _ = lexicon.score(["토 토 사 이 트 카.지.노 토*토 바카라를"])
    # 토토사이트 stands for 5 eojeol (weight 1), 카지노 0.7, 토토 0.5, 바카라 0.8 + particle
    assert n_eojeol == 8
    assert matched == pytest.approx(5 + 0.7 + 0.5 + 0.8)


def test_adult_spam_is_dropped():
    d = doc("강남오피 역삼오피 선릉오피 추천\n출장안마 출장마사지 24시 후불\n조건만남 애인대행 문의 환영")
    assert KoSpam().filter(d) == (False, "ko_adult")
    assert d.metadata["ko_spam_adult_score"] > 0.3


def test_ordinary_words_containing_short_terms_do_not_match():
    text = "오피스텔 분양 소식과 오피니언 칼럼, 에티오피아 커피 이야기. 이웃집 토토로를 다시 봤다. 슬롯머신이 아닌 메모리 슬롯을 교체했다."
    d = doc(text)
    assert KoSpam().filter(d) is True
    assert d.metadata["ko_spam_adult_score"] == 0.0
    assert d.metadata["ko_spam_gambling_score"] < 0.1


def test_news_paragraph_mentioning_casino_is_kept():
    d = doc(
        "강원랜드는 지난해 카지노 매출이 전년보다 12% 늘어난 1조 3천억 원을 기록했다고 밝혔다.\n"
        "회사 측은 코로나19 이후 관광객이 회복되면서 리조트와 호텔 이용객도 함께 증가했다고 설명했다.\n"
        "업계에서는 올해도 내국인 방문객 증가세가 이어질 것으로 내다보고 있다."
    )
    assert KoSpam().filter(d) is True
    assert 0 < d.metadata["ko_spam_gambling_score"] < 0.08


def test_short_review_with_one_term_is_kept():
    # NSMC-style review of the film Casino: high share, but a single match never drops (min_matches)
    assert KoSpam().filter(doc("스콜세지, 드니로, 페시 트리오의 또다른 수작. 이번엔 카지노 라스베가스!")) is True


def test_thresholds_can_be_turned_off():
    spam = KoSpam(max_gambling_score=None, max_line_share=None)
    assert spam.filter(doc("카지노사이트 바카라사이트 안전놀이터 먹튀검증")) is True


def test_lexicon_file_errors_name_the_file(tmp_path):
    bad = tmp_path / "lex.txt"
    bad.write_text("카지노 2.5\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="lex.txt:1"):
        load_lexicon(str(bad))


# --- url_blocklist_v1 ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["https://toto-safe-playground.com/", "http://m.www.toto-safe-playground.com:8080/a?b=1", "https://lucky.casino/x",
     "HTTPS://WWW.TOTO-SAFE-PLAYGROUND.COM"],
)
def test_blocked_host_and_subdomains_are_dropped(url):
    assert UrlBlocklist().filter(doc("본문", url)) == (False, "url_blocklist")


@pytest.mark.parametrize(
    "url", ["https://news.naver.com/a", "https://casino.com/", "https://playground.com", None, "http://[::1"]
)
def test_other_hosts_and_missing_urls_pass(url):
    # our own list only: UT1 lists casino.com (tests/test_url_blocklist.py covers UT1); `*.casino` must not
    assert UrlBlocklist(ut1_categories=[]).filter(doc("본문", url)) is True


def test_extra_domains_from_config_and_unicode_hosts(tmp_path):
    listed = tmp_path / "block.txt"
    listed.write_text("# test list\n카지노.한국\n", encoding="utf-8")
    step = build_step({"step": "url_blocklist_v1", "blocklist_path": str(listed), "extra_domains": ["*.spam.example"]})
    assert step.filter(doc("본문", "http://www.카지노.한국/")) == (False, "url_blocklist")
    punycode = "www.카지노.한국".encode("idna").decode("ascii")
    assert punycode.startswith("www.xn--")
    assert step.filter(doc("본문", f"http://{punycode}/")) == (False, "url_blocklist")
    assert step.filter(doc("본문", "http://a.spam.example/")) == (False, "url_blocklist")
    assert step.filter(doc("본문", "http://spam.example.org/")) is True


def test_steps_are_registered_with_validated_config():
    for name in ("ko_boilerplate_lines_v1", "ko_spam_v1", "url_blocklist_v1"):
        build_step({"step": name})
    with pytest.raises(ConfigError, match="max_gambling_scor"):
        build_step({"step": "ko_spam_v1", "max_gambling_scor": 0.1})


def test_steps_run_in_a_datatrove_pipeline_and_pickle_small():
    import pickle

    docs = [
        doc(ARTICLE + "\n더보기\n<저작권자 © 뉴스1, 무단 전재 및 재배포 금지>", "https://news.example.kr/1"),
        doc("카지노사이트 바카라사이트 안전놀이터 먹튀검증 꽁머니 지급\n" * 3, "https://news.example.kr/2"),
        doc(ARTICLE, "https://www.toto-safe-playground.com/3"),
    ]
    boiler, spam, urls = KoBoilerplateLines(), KoSpam(), UrlBlocklist()
    kept = list(urls.run(spam.run(boiler.run(iter(docs)))))
    assert [d.text for d in kept] == [ARTICLE]
    assert spam.stats["dropped_ko_gambling_spam"].total == 1
    assert urls.stats["dropped_url_blocklist"].total == 1
    for step in (boiler, spam, urls):
        assert len(pickle.dumps(step)) < 20_000  # paths, not the loaded data files


# --- hostile input: linear time (tests/test_regex_safety.py times every pattern) ------------------------


def test_host_and_parents_reads_at_most_253_characters_from_the_right():
    from filters.urls import host_and_parents

    assert host_and_parents("m.a.example.com") == ["m.a.example.com", "a.example.com", "example.com", "com"]
    assert host_and_parents("a..b") == ["a..b", ".b", "b"]
    parents = host_and_parents("a." * 50_000 + "example.com")  # 100 KB: every suffix took 2.5 GB and 18 s
    assert parents[-2:] == ["example.com", "com"]
    assert len(parents[0]) <= 253 and len(parents) <= 127


def test_host_of_50000_labels_under_a_listed_domain_is_still_dropped():
    assert UrlBlocklist().filter(doc("본문", "http://" + "a." * 50_000 + "toto-safe-playground.com/")) == (
        False, "url_blocklist")
    assert UrlBlocklist().filter(doc("본문", "http://" + "a." * 50_000 + "example.com/")) is True


def test_chained_suffixes_match_the_whole_eojeol_term():
    # suffixes chain (사이트 + 추천): the term still matches, with its own weight, and a long chain is cheap
    lexicon = load_lexicon("configs/ko_spam_adult.txt")
    assert lexicon.word_term("강남오피추천사이트추천후기를") == "오피"
    assert lexicon.token_weight("강남오피추천사이트추천후기를") == lexicon.weights["오피"]
    assert lexicon.word_term("오피" + "사이트추천" * 2000 + "x") is None
    assert lexicon.word_term("오피스텔") is None
    gambling = load_lexicon("configs/ko_spam_gambling.txt")
    assert gambling.word_term("사설토토사이트추천주소를") == "토토"


def test_menu_separator_splits_as_before_and_long_space_runs_are_cheap():
    assert is_menu_line("정치 | 경제 | 사회 | 문화 | 국제", 4, 12)
    assert is_menu_line("홈  >  뉴스 >사회> 정치", 4, 12)
    assert is_menu_line("정치" + " " * 100_000 + "| 경제 | 사회 | 문화", 4, 12)  # a split rescanned the run


@pytest.mark.parametrize("line", ["로그인  " * 18 + "!", "공유  " * 18 + "!", "댓글" + " " * 5000 + "!",
                                  "(" + " " * 5000 + "!", "제보" + " " * 5000 + "!"])
def test_lines_that_once_backtracked_for_minutes_are_not_boilerplate(line):
    assert KoBoilerplateLines(max_line_chars=100_000).is_boilerplate(line) is False
