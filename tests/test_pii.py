"""Tests for filters/pii.py (pii_mask_v1): one test per placeholder kind, validation rules, and clean text that
must stay untouched (dates, law citations, ISBNs, prices, 13-digit numbers failing the RRN check)."""

from __future__ import annotations

import pytest
from datatrove.data import Document

from filters.pii import PiiMask, is_card, luhn_ok, rrn_check_digit
from core.errors import ConfigError
from core.steps import build_step


def with_check_digit(first12: str) -> str:
    return first12 + str(rrn_check_digit(first12))


def mask(text: str, **kw) -> str:
    return PiiMask(**kw).mask(text)[0]


def test_rrn_with_valid_check_digit_is_masked():
    rrn = with_check_digit("900101123456")
    assert mask(f"주민등록번호: {rrn[:6]}-{rrn[6:]} 입니다") == "주민등록번호: <RRN> 입니다"
    assert mask(f"번호 {rrn}") == "번호 <RRN>"


def test_rrn_check_digit_formula():
    # 11 - (2·8 + 3·0 + 4·0 + 5·1 + 6·0 + 7·1 + 8·1 + 9·2 + 2·3 + 3·4 + 4·5 + 5·6) mod 11 = 11 - 122 mod 11 = 10 → 0
    assert rrn_check_digit("800101123456") == 0


def test_rrn_failing_check_bad_date_or_gender_is_kept():
    rrn = with_check_digit("900101123456")
    wrong = rrn[:12] + str((int(rrn[12]) + 1) % 10)
    assert mask(f"{wrong[:6]}-{wrong[6:]}") == f"{wrong[:6]}-{wrong[6:]}"
    assert mask(wrong) == wrong  # a 13-digit number failing the check
    assert mask("1234567890123") == "1234567890123"
    bad_date = with_check_digit("900231123456")  # 2월 31일
    assert mask(f"{bad_date[:6]}-{bad_date[6:]}") == f"{bad_date[:6]}-{bad_date[6:]}"
    bad_gender = with_check_digit("900101923456")
    assert mask(f"{bad_gender[:6]}-{bad_gender[6:]}") == f"{bad_gender[:6]}-{bad_gender[6:]}"


def test_foreigner_and_post_2020_numbers_need_the_hyphen():
    assert mask("외국인등록번호 900101-5123456") == "외국인등록번호 <RRN>"
    assert mask("9001015123456") == "9001015123456"
    # issued since October 2020: no check digit; accepted hyphenated for births from 2020 (gender 3/4)
    assert mask("210315-4000000") == "<RRN>"
    assert mask("990315-1000000") == "990315-1000000"


@pytest.mark.parametrize(
    "phone",
    ["010-1234-5678", "010.1234.5678", "010 1234 5678", "01012345678", "011-123-4567", "02-123-4567",
     "(02) 1234-5678", "031-123-4567", "070-1234-5678", "+82-10-1234-5678", "+82 2 123 4567"],
)
def test_phone_numbers_are_masked(phone):
    assert mask(f"문의는 {phone}로 연락 주세요") == "문의는 <PHONE>로 연락 주세요"


def test_phone_glued_to_hangul_is_masked():
    assert mask("전화010-1234-5678") == "전화<PHONE>"


def test_business_numbers_are_not_masked():
    assert mask("고객센터 1588-1234, 1577-0000") == "고객센터 1588-1234, 1577-0000"


def test_email_is_masked():
    assert mask("제보는 hong.gil-dong+news@example.co.kr 로 보내 주세요") == "제보는 <EMAIL> 로 보내 주세요"
    assert mask("메일hong@example.kr") == "메일<EMAIL>"


def test_card_numbers_need_luhn():
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")
    assert mask("카드 4111-1111-1111-1111 결제") == "카드 <CARD> 결제"
    assert mask("카드 4111 1111 1111 1111") == "카드 <CARD>"
    assert mask("아멕스 3782-822463-10005") == "아멕스 <CARD>"
    assert mask("4111-1111-1111-1112") == "4111-1111-1111-1112"
    assert not is_card("9788954321053")  # an ISBN-13, whatever Luhn says


def test_account_numbers_only_after_banking_words():
    assert mask("입금 계좌: 국민은행 123456-01-234567 (예금주 홍길동)") == "입금 계좌: 국민은행 <ACCOUNT> (예금주 홍길동)"
    assert mask("신한은행 110-123-456789로 송금") == "신한은행 <ACCOUNT>로 송금"
    assert mask("부품 번호 110-123-456789를 확인") == "부품 번호 110-123-456789를 확인"
    assert mask("입금액 1,000,000원") == "입금액 1,000,000원"
    assert mask("입금일 2023-01-05, 송금 기한 2023-01-31") == "입금일 2023-01-05, 송금 기한 2023-01-31"


def test_ipv4_is_masked_but_not_versions_or_article_numbers():
    assert mask("서버 192.168.0.1 에 접속") == "서버 <IP> 에 접속"
    assert mask("접속 IP: 203.0.113.45.") == "접속 IP: <IP>."
    assert mask("버전 1.2.3.4 출시") == "버전 1.2.3.4 출시"
    assert mask("v1.2.3.4") == "v1.2.3.4"
    assert mask("3.3.0.0 버전 이후") == "3.3.0.0 버전 이후"
    assert mask("국제동물학명칭규정 제32.5.2.1조에 의해") == "국제동물학명칭규정 제32.5.2.1조에 의해"
    assert mask("256.1.1.1") == "256.1.1.1"


@pytest.mark.parametrize(
    "clean",
    [
        "그는 1989-02-15에 태어났다.",
        "2023.01.05 기준 자료이며 2020년부터 집계했다.",
        "가격은 1,234,000원이다.",
        "ISBN 978-89-954321-0-5, ISBN 9788954321053",
        "제10조의2 및 법률 제12345호에 따른다.",
        "[시행 2021. 1. 1.] [법률 제17799호, 2020-12-29, 일부개정]",
        "1588-1600년 사이의 기록",
        "서울 1,234명, 부산 567명",
    ],
)
def test_clean_text_is_untouched(clean):
    masked, counts = PiiMask().mask(clean)
    assert masked == clean
    assert sum(counts.values()) == 0


def test_annotate_counts_per_kind_and_pii_count():
    step = PiiMask()
    d = Document("연락처 010-1234-5678, 02-123-4567, 메일 a@b.kr", "t", metadata={})
    step.annotate(d)
    assert d.text == "연락처 <PHONE>, <PHONE>, 메일 <EMAIL>"
    assert d.metadata["pii_count"] == 3
    assert step.stats["pii_phone"].total == 2
    assert step.stats["pii_email"].total == 1


def test_kinds_can_be_limited_and_are_validated():
    assert mask("a@b.kr 010-1234-5678", kinds=["email"]) == "<EMAIL> 010-1234-5678"
    with pytest.raises(ConfigError, match="unknown kind"):
        PiiMask(kinds=["passport"])
    assert isinstance(build_step({"step": "pii_mask_v1"}), PiiMask)


def test_text_without_digits_or_at_is_returned_as_is():
    text = "숫자가 없는 평범한 문장입니다."
    assert mask(text) is text


# --- every kind next to Korean: particles and endings written straight after it, a word straight before it,
# parentheses and quotes around it. Hangul is a word character, so a `\b` next to it never matches: an e-mail
# before 로 (hong@daum.net로) leaked until the TLD was made to end where ASCII letters end.

_RRN = with_check_digit("900101123456")
PII = {  # kind: (what comes before it, the value, its placeholder)
    "email": ("", "hong.gd@daum.net", "<EMAIL>"),
    "mobile": ("", "010-1234-5678", "<PHONE>"),
    "landline": ("", "02-123-4567", "<PHONE>"),
    "rrn": ("", f"{_RRN[:6]}-{_RRN[6:]}", "<RRN>"),
    "card": ("", "4111-1111-1111-1111", "<CARD>"),
    "account": ("입금 계좌 ", "110-123-456789", "<ACCOUNT>"),
    "ip": ("", "192.168.10.1", "<IP>"),
}


def assert_masked_in(template: str, kind: str) -> None:
    """`template` with {} where the value goes: masked exactly there and nowhere else."""
    before, value, placeholder = PII[kind]
    text = before + template.format(value)
    assert mask(text) == before + template.format(placeholder), text


def _cases(particles):
    return [(p, kind) for p in particles for kind in PII]


@pytest.mark.parametrize("particle, kind", _cases(["로", "으로"]))
def test_pii_before_instrumental_particle(particle, kind):
    assert_masked_in("{}" + particle + " 보내 주세요", kind)


@pytest.mark.parametrize("particle, kind", _cases(["이", "가"]))
def test_pii_before_subject_particle(particle, kind):
    assert_masked_in("{}" + particle + " 바뀌었다", kind)


@pytest.mark.parametrize("particle, kind", _cases(["은", "는"]))
def test_pii_before_topic_particle(particle, kind):
    assert_masked_in("{}" + particle + " 담당자 번호다", kind)


@pytest.mark.parametrize("particle, kind", _cases(["을", "를"]))
def test_pii_before_object_particle(particle, kind):
    assert_masked_in("{}" + particle + " 적어 두었다", kind)


@pytest.mark.parametrize("particle, kind", _cases(["와", "과"]))
def test_pii_before_conjunctive_particle(particle, kind):
    assert_masked_in("{}" + particle + " 주소를 함께 적었다", kind)


@pytest.mark.parametrize("particle, kind", _cases(["의"]))
def test_pii_before_genitive_particle(particle, kind):
    assert_masked_in("{}" + particle + " 주인", kind)


@pytest.mark.parametrize("particle, kind", _cases(["에", "에게", "께"]))
def test_pii_before_dative_particle(particle, kind):
    assert_masked_in("{}" + particle + " 문의", kind)


@pytest.mark.parametrize("ending, kind", _cases(["입니다", "이에요"]))
def test_pii_before_copula(ending, kind):
    assert_masked_in("연락처는 {}" + ending + ".", kind)


@pytest.mark.parametrize("word, kind", _cases(["연락처는", "메일은", "번호가", "주소를", "담당자에게", "문의처로", "번호:"]))
def test_pii_right_after_a_korean_word(word, kind):
    assert_masked_in(word + "{} 입니다", kind)


@pytest.mark.parametrize("left, right, kind", [(lt, rt, kind) for lt, rt in [
    ("(", ")"), ("(", ")로"), ("[", "]"), ("（", "）"), ("<", ">"), ("연락처(", ")에"),
] for kind in PII])
def test_pii_inside_parentheses(left, right, kind):
    assert_masked_in(left + "{}" + right + " 문의", kind)


@pytest.mark.parametrize("left, right, kind", [(lt, rt, kind) for lt, rt in [
    ('"', '"'), ("'", "'"), ("“", "”"), ("‘", "’"), ("「", "」"), ("『", "』"), ('"', '"로'), ("‘", "’를"),
] for kind in PII])
def test_pii_inside_quotes(left, right, kind):
    assert_masked_in("번호 " + left + "{}" + right + " 참고", kind)


def test_landline_in_parentheses_keeps_both_parentheses():
    # the landline pattern takes "(02) 123-4567" whole; "(02-123-4567)" keeps its opening parenthesis
    assert mask("콜센터(02-123-4567)를 운영한다") == "콜센터(<PHONE>)를 운영한다"
    assert mask("(02) 1234-5678로 문의") == "<PHONE>로 문의"


@pytest.mark.parametrize("clean", [
    "이메일 형식(아이디@도메인)으로 적는다.",
    "트위터 @nasa에서 발표했다.",
    "a@b.c로 적으면 최상위 도메인이 한 글자라 주소가 아니다.",
    "user@localhost로는 보낼 수 없다.",
    "파일은 config.yaml로 저장하고 버전 1.2.3.4로 올렸다.",
    "2020@3.14159는 숫자다.",
])
def test_ascii_next_to_korean_that_is_not_pii_stays(clean):
    assert mask(clean) == clean


def test_email_local_part_is_at_most_64_characters():
    # RFC 5321: the local part is at most 64 octets; a longer run keeps its head and masks the address
    assert mask("a" * 100 + "@daum.net로") == "a" * 36 + "<EMAIL>로"


def test_email_finder_finds_what_the_reference_regex_finds():
    import random
    import re

    from filters.pii import find_emails

    reference = re.compile(r"[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
                           r"(?![A-Za-z0-9_])")
    rng = random.Random(0)

    def piece() -> str:
        local = "".join(rng.choice("ab1.-_%+Z") for _ in range(rng.choice([0, 1, 3, 63, 64, 65])))
        labels = ["".join(rng.choice("ab1-Zq") for _ in range(rng.randint(0, 4))) for _ in range(rng.randint(1, 3))]
        tld = "".join(rng.choice("abZ1") for _ in range(rng.randint(0, 4)))
        after = rng.choice(["", "가", "로", "x", "1", "_", "-", ".", " ", "é"])
        return local + "@" + ".".join(labels) + "." + tld + after

    for _ in range(20_000):
        text = rng.choice(["", "메일 ", "(", "a.", "@"]) + "".join(piece() for _ in range(rng.randint(1, 3)))
        assert find_emails(text) == [m.span() for m in reference.finditer(text)], text
