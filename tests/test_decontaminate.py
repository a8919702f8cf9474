"""decontaminate_v1: benchmark n-grams are removed with their window (GPT-3's rule), a document that is mostly
benchmark items is dropped as `benchmark_contamination`, clean text is untouched; benchmarks are read from JSONL,
JSON, CSV, TSV and Parquet; counts reach summary.json; a missing file or unknown column is one line, exit 2."""

from __future__ import annotations

import csv
import gzip
import json
import subprocess
import sys
import unicodedata
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from datatrove.data import Document

from filters.decontaminate import Decontaminate
from filters.ngram_index import build_index, tokens

ROOT = Path(__file__).resolve().parents[1]

# KMMLU-style items: question, four choices, the answer's number
ITEMS = [
    ("조선 왕조에서 훈민정음을 창제하여 백성에게 반포한 임금은 누구인가?", "태조", "세종", "세조", "정조", 2),
    ("대한민국 헌법에서 정하고 있는 국회의원의 임기는 몇 년인가?", "2년", "3년", "4년", "5년", 3),
    ("다음 중 식물 세포에서 광합성이 일어나는 세포 소기관으로 옳은 것은?", "미토콘드리아", "엽록체", "리보솜", "핵", 2),
    ("고려 시대에 몽골의 침입에 맞서 강화도로 도읍을 옮긴 집권자는 누구인가?", "최우", "최충헌", "김준", "임연", 1),
    ("수요의 가격 탄력성이 1보다 클 때 가격을 내리면 판매 수입은 어떻게 변하는가?", "증가한다", "감소한다",
     "변하지 않는다", "알 수 없다", 1),
    ("조선 후기 실학자 정약용이 지방 수령의 도리를 적어 펴낸 책의 이름은 무엇인가?", "목민심서", "경세유표",
     "흠흠신서", "반계수록", 1),
    ("삼국 시대에 백제가 일본에 한자와 유학을 전해 준 인물로 알려진 사람은 누구인가?", "왕인", "담징", "혜자",
     "노리사치계", 1),
    ("지구 대기에서 오존층이 주로 분포하여 자외선을 흡수하는 층은 어디인가?", "대류권", "성층권", "중간권",
     "열권", 2),
    ("근로기준법상 사용자가 근로자에게 주어야 하는 주휴일은 일주일에 평균 며칠인가?", "하루", "이틀", "사흘",
     "나흘", 1),
    ("한반도에서 가장 긴 강으로 중국과 북한의 국경을 이루며 서해로 흘러드는 강은?", "두만강", "압록강",
     "대동강", "한강", 2),
    ("세종 대에 장영실이 만든 것으로 비가 내린 양을 재는 기구의 이름은 무엇인가?", "측우기", "해시계",
     "자격루", "혼천의", 1),
    ("고구려의 광개토대왕릉비가 세워져 있는 곳은 오늘날 어느 나라의 영토인가?", "중국", "북한", "러시아",
     "몽골", 1),
]
COLUMNS = ["question", "A", "B", "C", "D", "answer"]

# Clean paragraphs, none of them in the benchmark
P1 = ("서울은 한강을 끼고 있는 도시로, 조선 시대에는 한양이라고 불렸다. 오늘날 서울은 정치와 경제와 문화의 "
      "중심지이며 인구는 약 천만 명에 이른다.")
P2 = ("부산은 대한민국 제2의 도시이자 최대의 항구 도시이다. 해운대와 광안리 해수욕장이 유명하며 매년 가을에는 "
      "국제 영화제가 열려 많은 관광객이 찾는다.")
P3 = ("제주도는 화산 활동으로 만들어진 섬으로 한라산이 섬의 한가운데에 솟아 있다. 돌과 바람과 여자가 많다고 "
      "하여 삼다도라고도 불렸다.")
P4 = ("경주는 신라 천 년의 도읍으로 불국사와 석굴암, 첨성대 같은 유적이 도시 곳곳에 남아 있어 지붕 없는 "
      "박물관이라고 불린다.")


def write_jsonl(path: Path, items=ITEMS) -> Path:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "wt", encoding="utf-8") as f:
        for q, a, b, c, d, ans in items:
            f.write(json.dumps(dict(zip(COLUMNS, (q, a, b, c, d, ans))), ensure_ascii=False) + "\n")
    return path


def write_csv(path: Path, items=ITEMS, delimiter=",") -> Path:
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, delimiter=delimiter)
        w.writerow(COLUMNS)
        w.writerows(items)
    return path


def write_parquet(path: Path, items=ITEMS) -> Path:
    # CLIcK / HAE-RAE style: the choices as one list column
    pq.write_table(pa.table({"question": [i[0] for i in items], "choices": [list(i[1:5]) for i in items],
                             "answer": [i[5] for i in items]}), path)
    return path


@pytest.fixture
def kmmlu(tmp_path) -> Path:
    return write_jsonl(tmp_path / "kmmlu.jsonl")


def step(path: Path, columns=COLUMNS, name="kmmlu", **kw) -> Decontaminate:
    return Decontaminate([{"name": name, "path": str(path), "columns": list(columns)}], **kw)


def as_exam_page(items) -> str:
    return "\n".join(f"{i + 1}. {q}\n① {a} ② {b} ③ {c} ④ {d}" for i, (q, a, b, c, d, _) in enumerate(items))


def test_planted_question_removed_with_its_window_neighbours_kept(kmmlu):
    f = step(kmmlu, window_chars=40, min_piece_chars=20)
    text = "\n".join([P1, P2, "문제: " + ITEMS[0][0], P3, P4])
    doc = Document(text, "d")
    assert f.filter(doc) is True
    assert "훈민정음" not in doc.text
    assert P1 in doc.text and P4 in doc.text
    # the 40-character window reaches into the paragraphs around the question, and no further
    assert P2[:40] in doc.text and P2[-20:] not in doc.text
    assert P3[-30:] in doc.text and P3[:20] not in doc.text
    assert doc.metadata["decontam_matches"] > 0 and doc.metadata["decontam_benchmarks"] == "kmmlu"


def test_gpt3_defaults_drop_short_pieces_and_keep_long_ones(kmmlu):
    f = step(kmmlu)  # 200 characters each side, pieces under 200 characters discarded
    long_before = " ".join([P1, P2] * 3)  # > 200 characters beyond the window
    doc = Document(f"{long_before}\n{ITEMS[1][0]}\n{P3} {P4} {P4}", "d")  # what follows is just over 200
    assert f.filter(doc) is True
    assert doc.text.startswith(P1) and "국회의원" not in doc.text and "박물관" not in doc.text
    assert f.stats["decontam_pieces_dropped"].total == 1


def test_mostly_benchmark_items_is_dropped(kmmlu):
    f = step(kmmlu)
    doc = Document("기출문제 모음\n" + as_exam_page(ITEMS) + "\n정답은 아래에", "d")
    assert f.filter(doc) == (False, "benchmark_contamination")


def test_more_than_max_pieces_is_dropped(kmmlu):
    f = step(kmmlu, window_chars=10, min_piece_chars=10, max_pieces=3)
    text = "\n".join(x for q in ITEMS[:4] for x in (P1, q[0])) + "\n" + P4
    assert f.filter(Document(text, "d")) == (False, "benchmark_contamination")
    fewer = step(kmmlu, window_chars=10, min_piece_chars=10, max_pieces=5)
    assert fewer.filter(Document(text, "d")) is True


@pytest.mark.parametrize("text", [
    P1 + "\n" + P2,
    "서울 Seoul은 Korea의 capital이다. The quick brown fox jumps over the lazy dog, 빠른 갈색 여우.",
    "ㅋㅋㅋㅋㅋㅋㅋㅋㅋㅋㅋㅋㅋㅋㅋㅋㅋㅋㅋㅋㅋㅋㅋㅋ ㅎㅎㅎㅎㅎㅎㅎㅎㅎㅎㅎㅎㅎㅎ",
    "",
    "   \n\t  ",
    "세종 태조 정조 세조 엽록체 4년",  # the choices alone are shorter than an n-gram
    "\ud800 깨진 서로게이트 문자",
])
@pytest.mark.parametrize("unit, n", [("char", 20), ("eojeol", 5)])
def test_clean_text_untouched(kmmlu, text, unit, n):
    f = step(kmmlu, unit=unit, ngram=n)
    doc = Document(text, "d")
    assert f.filter(doc) is True
    assert doc.text == text and doc.metadata["decontam_matches"] == 0 and doc.metadata["decontam_benchmarks"] == ""


def test_copies_with_other_spacing_punctuation_and_width_are_found(kmmlu):
    f = step(kmmlu, window_chars=0, min_piece_chars=1)
    q = ITEMS[2][0]
    respaced = q.replace(" ", "", 3).replace("소기관으로", "소 기관으로")
    for copy in (respaced, q.replace(" ", " , "), q.replace("?", "？").replace("다음", "〈다음〉")):
        assert f.matches(f"{P1}\n{copy}\n{P2}")[0].size, copy
    eojeol = step(kmmlu, unit="eojeol", ngram=8)
    assert eojeol.matches(q)[0].size and not eojeol.matches(respaced.replace(" ", ""))[0].size


def test_tokens_normalize_case_width_and_separators():
    a, _, _ = tokens("ＡＢＣ 한국어, ①대한민국!", "char")
    b, _, _ = tokens("abc한국어대한민국", "char")
    assert list(a) == list(b)
    _, starts, ends = tokens("대한민국의 수도는, 서울!", "eojeol")
    assert list(zip(starts, ends)) == [(0, 5), (6, 9), (11, 13)]
    # n-grams never span two indexed texts
    assert build_index(["가나다", "라마바"], "char", 4).size == 0
    assert build_index(["가나다라마바"], "char", 4).size == 3


@pytest.mark.parametrize("fmt", ["jsonl", "jsonl.gz", "json-array", "csv", "tsv", "parquet", "csv-cp949",
                                 "jsonl-nfd"])
def test_benchmark_file_formats(tmp_path, fmt):
    if fmt == "parquet":
        path, columns = write_parquet(tmp_path / "click.parquet"), ["question", "choices"]
    elif fmt == "json-array":
        path, columns = tmp_path / "haerae.json", COLUMNS
        path.write_text(json.dumps([dict(zip(COLUMNS, i)) for i in ITEMS], ensure_ascii=False), encoding="utf-8")
    elif fmt in ("csv", "tsv"):
        path, columns = write_csv(tmp_path / f"kobest.{fmt}", delimiter="," if fmt == "csv" else "\t"), COLUMNS
    elif fmt == "csv-cp949":  # as Korean Excel saves a CSV
        path, columns = write_csv(tmp_path / "kmmlu.csv"), COLUMNS
        path.write_bytes(path.read_text(encoding="utf-8").encode("cp949"))
    elif fmt == "jsonl-nfd":  # as some macOS tools write Hangul: 2-3 jamo per syllable
        path, columns = write_jsonl(tmp_path / "kmmlu.jsonl"), COLUMNS
        path.write_text(unicodedata.normalize("NFD", path.read_text(encoding="utf-8")), encoding="utf-8")
    else:
        path, columns = write_jsonl(tmp_path / f"kmmlu.{fmt}"), COLUMNS
    f = step(path, columns, window_chars=0, min_piece_chars=1)
    doc = Document(f"{P1}\n{ITEMS[5][0]}\n{P2}", "d")
    assert f.filter(doc) is True and "정약용" not in doc.text and P1 in doc.text
    # a whole item as a page shows it (question and choices, list-valued or not): nothing left of it but "1."
    f = step(path, columns, window_chars=0, min_piece_chars=5)
    assert f.filter(Document(as_exam_page(ITEMS[3:4]), "e")) == (False, "benchmark_contamination")


# ---- the CLI ----------------------------------------------------------------------------------------------------

def cli(*args):
    return subprocess.run([sys.executable, "-m", "pipeline.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


def job(tmp_path: Path, benchmarks: list[dict]) -> Path:
    cfg = {"input": {"paths": [str(tmp_path / "pages.jsonl")]}, "output": str(tmp_path / "run"),
           "execution": {"backend": "local"},
           "steps": [{"step": "decontaminate_v1", "benchmarks": benchmarks, "window_chars": 40, "min_piece_chars": 20}]}
    path = tmp_path / "decontam.yaml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    return path


def test_cli_run_counts_matches_per_benchmark(tmp_path):
    kmmlu = write_jsonl(tmp_path / "kmmlu.jsonl", ITEMS[:6])
    click = write_parquet(tmp_path / "click.parquet", ITEMS[6:])
    pages = [P1 + "\n" + P2,  # clean
             "\n".join([P1, ITEMS[0][0], P2]),  # one KMMLU question in the middle: removed, page kept
             "\n".join([P3, ITEMS[7][0], ITEMS[8][0], P4]),  # two CLIcK questions: removed, page kept
             as_exam_page(ITEMS[:3] + ITEMS[9:]),  # an exam page of both: dropped
             ]
    (tmp_path / "pages.jsonl").write_text("".join(json.dumps({"id": f"p{i}", "text": t}, ensure_ascii=False) + "\n"
                                                  for i, t in enumerate(pages)), encoding="utf-8")
    cfg = job(tmp_path, [{"name": "kmmlu", "path": str(kmmlu), "columns": COLUMNS},
                         {"name": "click", "path": str(click), "columns": ["question", "choices"]}])
    r = cli("run", str(cfg), "--backend", "local")
    assert r.returncode == 0, r.stderr
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["documents_in"] == 4 and summary["documents_kept"] == 3
    assert summary["documents_dropped"] == {"benchmark_contamination": 1}
    counters = summary["steps"]["decontaminate_v1"]["counters"]
    assert counters["matches:kmmlu"] == 2 and counters["matches:click"] == 2
    kept = {row["id"].rsplit("/", 1)[1]: row  # ids are <shard>/<record number>
            for f in (tmp_path / "run" / "documents").glob("*.parquet") for row in pq.read_table(f).to_pylist()}
    assert kept["000000"]["decontam_matches"] == 0 and kept["000000"]["text"] == pages[0]
    assert kept["000001"]["decontam_benchmarks"] == "kmmlu" and "훈민정음" not in kept["000001"]["text"]
    assert kept["000002"]["decontam_benchmarks"] == "click" and P3[:25] in kept["000002"]["text"]
    r = cli("report", str(tmp_path / "run"))
    assert r.returncode == 0, r.stderr
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert report["decontamination"]["matches"] == {"click": 2, "kmmlu": 2}
    assert report["decontamination"]["chars_removed"] == counters["decontam_chars_removed"] > 0
    html = (tmp_path / "run" / "report.html").read_text()
    assert 'id="decontamination"' in html and "<td>kmmlu</td>" in html


@pytest.mark.parametrize("bad, expected", [
    ({"path": "{tmp}/nowhere.jsonl"}, "benchmark kmmlu: file not found: "),
    ({"columns": ["question", "choice_a"]}, "benchmark kmmlu: unknown column 'choice_a' in "),
    ({"path": "{tmp}/kmmlu.txt"}, "not .jsonl, .json, .csv, .tsv or .parquet"),
    ({"name": "kmmlu/test"}, "benchmark name 'kmmlu/test'"),
    ({"path": "{tmp}/broken.jsonl"}, "broken.jsonl cannot be read as jsonl: ValueError: line 2: Expecting value"),
    ({"colums": ["question"]}, "benchmarks.0.colums: unknown key"),
])
def test_bad_benchmark_is_one_line_and_exit_2(tmp_path, bad, expected):
    write_jsonl(tmp_path / "kmmlu.jsonl")
    (tmp_path / "kmmlu.txt").write_text("question\n")
    (tmp_path / "broken.jsonl").write_text('{"question": "훈민정음"}\n{"question": 훈민정음}\n', encoding="utf-8")
    (tmp_path / "pages.jsonl").write_text(json.dumps({"id": "p", "text": P1}, ensure_ascii=False) + "\n")
    bench = {"name": "kmmlu", "path": str(tmp_path / "kmmlu.jsonl"), "columns": ["question"]}
    bench.update({k: v.replace("{tmp}", str(tmp_path)) if isinstance(v, str) else v for k, v in bad.items()})
    cfg = job(tmp_path, [bench])
    # `run` validates the same way (tests/test_cli.py); once here is enough
    for cmd in ("validate", "run") if "nowhere" in bench["path"] else ("validate",):
        r = cli(cmd, str(cfg))
        err = r.stderr.strip()
        assert r.returncode == 2 and len(err.splitlines()) == 1, err
        assert "decontam.yaml: steps[0] (decontaminate_v1).benchmarks" in err and expected in err, err
    assert not (tmp_path / "run" / "summary.json").exists()


def test_duplicate_benchmark_names_and_no_benchmarks_are_config_errors(tmp_path, kmmlu):
    (tmp_path / "pages.jsonl").write_text("")
    b = {"name": "kmmlu", "path": str(kmmlu), "columns": ["question"]}
    r = cli("validate", str(job(tmp_path, [b, b])))
    assert r.returncode == 2 and "benchmark name 'kmmlu' is used twice" in r.stderr, r.stderr
    r = cli("validate", str(job(tmp_path, [])))
    assert r.returncode == 2 and "at least one benchmark is needed" in r.stderr, r.stderr


def test_ten_megabyte_document(kmmlu):
    """Looked up in overlapping chunks: a question across a chunk boundary is found once, memory stays small."""
    import resource
    import time

    from filters import decontaminate

    f = step(kmmlu, window_chars=0, min_piece_chars=1)
    filler = (P1 + "\n") * (10_000_000 // (len(P1) + 1))
    cut = decontaminate._CHUNK_CHARS - 20  # the question straddles the first chunk boundary
    text = filler[:cut] + ITEMS[0][0] + filler[cut:] + ITEMS[1][0]
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.process_time()
    starts, ends, names = f.matches(text)
    assert time.process_time() - t < 10
    assert (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) * 1024 < 400e6
    assert names == ["kmmlu"] and len(set(starts.tolist())) == len(starts)
    whole = step(kmmlu, window_chars=0, min_piece_chars=1)._matches(ITEMS[0][0] + "\n" + ITEMS[1][0])[0].size
    assert len(starts) == whole
    doc = Document(text, "big")
    assert f.filter(doc) is True and "훈민정음" not in doc.text and "국회의원" not in doc.text
