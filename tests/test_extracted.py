"""The extract stage's copy of what it read and extracted (pipeline/extracted.py): line dedup and the steps
stage read it instead of reading every page again, and it must give exactly what reading the shards gives,
damaged shards included; a copy made with other input or extract settings is never read."""

from __future__ import annotations

import json
import shutil

import pyarrow.parquet as pq
import pytest

from pipeline.job import load_config
from pipeline.extracted import copy_paths, outcomes_with_copy, replay
from pipeline.run import run_job
from pipeline.layout import shard_ids
from tests.warcgen import gzip_members, html_page, write_warc

PARAS = ["서울의 봄은 3월 하순에 시작된다. 벚꽃은 4월 초에 가장 많이 피고 사람들이 한강으로 나온다.",
         "한강은 서울을 동서로 가로지르는 강이며 강의 길이는 약 494킬로미터에 이른다고 알려져 있다.",
         "김치는 배추를 소금에 절인 뒤 양념을 버무려 만들며 지역마다 맛이 조금씩 다르다고 한다."]
FOOTER = "저작권자 © 한빛일보 무단 전재 및 재배포 금지"


def _pages(prefix: str, n: int) -> list[dict]:
    pages = [{"url": f"https://{prefix}.example/{i}", "body": html_page(f"기사 {i}", [PARAS[i % 3] + f" ({i}번째 글)", FOOTER])}
             for i in range(n)]
    pages.append({"url": f"https://{prefix}.example/logo.png", "body": b"\x89PNG\x00\x00", "content_type": "image/png"})
    pages.append({"url": f"https://{prefix}.example/empty", "body": b"   "})
    pages.append({"url": f"https://{prefix}.example/euc", "body": html_page("인코딩", [PARAS[0]], "euc-kr"), "encoding": "cp949",
                  "content_type": "text/html"})
    return pages


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    d = tmp_path_factory.mktemp("extracted")
    write_warc(d / "a.warc.gz", _pages("a", 6))
    # b: cut inside its last gzip member, so the shard is partial: read up to the damage, then reported
    full = write_warc(d / "b-full.warc.gz", _pages("b", 6)).read_bytes()
    members = gzip_members(full)
    (d / "b.warc.gz").write_bytes(b"".join(members[:-1]) + members[-1][: len(members[-1]) // 2])
    (d / "b-full.warc.gz").unlink()
    (d / "c.jsonl").write_text("".join(json.dumps({"id": f"j{i}", "text": f"{PARAS[i % 3]}\n{FOOTER}"}, ensure_ascii=False) + "\n"
                                       for i in range(3)), encoding="utf-8")
    return d


def _run(shards, out, **overrides):
    job = load_config("configs/ko-web.yaml", {
        "input.paths": [str(shards / "a.warc.gz"), str(shards / "b.warc.gz"), str(shards / "c.jsonl")],
        "input.format": "auto", "output": str(out), "execution.backend": "local", **overrides})
    job = job.model_copy(update={"dedup": None, "mix": None, "tokenize": None, "report": None})
    return job, run_job(job, log=lambda *a: None)


def _tables(run_dir):
    out = {}
    for kind in ("documents", "rejected"):
        for f in sorted((run_dir / kind).glob("*.parquet")):
            out[f"{kind}/{f.name}"] = pq.read_table(f).to_pylist()
    return out


def test_replayed_pass_equals_reading_the_shards(shards, tmp_path):
    _, with_copy = _run(shards, tmp_path / "copy")
    stats = [json.loads(p.read_text()) for p in sorted((tmp_path / "copy" / "stats").glob("*.json"))]
    assert [s["extracted_copy"] for s in stats] == [True, True, True]
    assert all(s["steps"]["extract"]["seconds"] > 0 for s in stats[:2])  # the extract stage's time is kept
    # The same run with the copies gone: the steps stage reads and extracts the shards itself.
    shutil.copytree(tmp_path / "copy", tmp_path / "read")
    shutil.rmtree(tmp_path / "read" / "extracted")
    for p in [*(tmp_path / "read" / "stats").glob("*.json"), tmp_path / "read" / "_stages" / "steps.json"]:
        p.unlink()
    _, without = _run(shards, tmp_path / "read")
    assert not any(json.loads(p.read_text())["extracted_copy"] for p in (tmp_path / "read" / "stats").glob("*.json"))
    for key in ("documents_in", "documents_kept", "documents_dropped", "bytes_in", "bytes_kept"):
        assert with_copy[key] == without[key], key
    assert with_copy["documents_dropped"]["read_binary_payload"] == 2
    assert with_copy["documents_dropped"]["read_empty_payload"] == 2
    # the damaged shard is reported the same way: 8 records before the damage, 1 cut by it
    assert [(f["partial"], f["documents_read"]) for f in with_copy["shards_failed"]] == \
           [(f["partial"], f["documents_read"]) for f in without["shards_failed"]] == [(True, 9)]
    assert with_copy["documents_dropped"]["read_truncated_record"] == 1  # the record cut by the damage
    assert _tables(tmp_path / "copy") == _tables(tmp_path / "read")


def test_copy_holds_every_record_and_is_only_replayed_for_its_own_shard(shards, tmp_path):
    job, _ = _run(shards, tmp_path / "unused")
    path = str(shards / "a.warc.gz")
    sid = shard_ids([path])[0]
    read = [(o.rec.index, o.rec.url, o.text, o.rec.drop_reason) for o in outcomes_with_copy(path, sid, job, tmp_path)]
    assert len(read) == 9 and sum(t is None for _, _, t, _ in read) == 2
    assert any("서울" in (t or "") for _, url, t, _ in read if url.endswith("/euc"))  # CP949 page decoded
    seconds = {"read": 0.0, "extract": 0.0}
    replayed = [(o.rec.index, o.rec.url, o.text, o.rec.drop_reason) for o in replay(path, sid, tmp_path, seconds)]
    assert replayed == read and seconds["extract"] > 0
    assert replay(str(shards / "c.jsonl"), sid, tmp_path, dict(seconds)) is None  # another shard's copy
    copy_paths(tmp_path, sid)[1].unlink()  # no sidecar: an unfinished copy is never replayed
    assert replay(path, sid, tmp_path, dict(seconds)) is None


def test_copies_made_with_other_extract_settings_are_never_read(shards, tmp_path):
    """A run directory extracted with trafilatura, run again with resiliparse (no --restart): every copy is made
    again, and the outputs are those of a fresh resiliparse run."""
    out = tmp_path / "run"
    _run(shards, out, **{"extract.extractor": "trafilatura"})
    old = {p.name: p.read_bytes() for p in (out / "extracted").glob("*.parquet")}
    _, again = _run(shards, out)
    _, fresh = _run(shards, tmp_path / "fresh")
    assert {p.name: p.read_bytes() for p in (out / "extracted").glob("*.parquet")} != old
    assert _tables(out) == _tables(tmp_path / "fresh")
    assert again["documents_kept"] == fresh["documents_kept"]
