"""input.format cc_index: pages selected by language in a Common-Crawl-style columnar index on a local moto S3
server, fetched by byte range; only the Korean records are read, and the run's documents are the Korean pages."""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from warcio.archiveiterator import ArchiveIterator

from pipeline.read import ccindex
from core.config import InputConfig
from pipeline.job import load_config
from pipeline.read import shard_paths
from core.errors import ConfigError
from pipeline.read.readers import read_shard
from test_s3 import BUCKET, PARAGRAPHS, s3_endpoint  # noqa: F401 - the moto server fixture, reused
from warcgen import html_page, write_warc

s3fs = pytest.importorskip("s3fs")

EN = ["The city council announced a new library today. It will open next spring.",
      "Residents welcomed the news, saying they could now borrow books at the weekend as well."]
INDEX = f"s3://{BUCKET}/cc-index/table/cc-main/warc/crawl=CC-MAIN-2099-01/subset=warc/"
# (url, content_languages, Korean page?) per WARC file; CC lists up to three codes, primary first.
FILES = {
    "crawl-data/CC-MAIN-2099-01/segments/1/warc/a.warc.gz": [
        ("https://news.example.kr/1", "kor", True), ("https://shop.example.com/1", "eng", False),
        ("https://blog.example.kr/2", "kor,eng", True), ("https://www.example.jp/1", "jpn", False),
        ("https://shop.example.com/2", "eng", False)],
    "crawl-data/CC-MAIN-2099-01/segments/2/warc/b.warc.gz": [
        ("https://shop.example.com/3", "eng", False), ("https://bilingual.example.com/1", "eng,kor", True),
        ("https://empty.example.com/1", None, False), ("https://news.example.kr/4", "kor", True),
        ("https://shop.example.com/4", "eng,fra", False), ("https://news.example.kr/5", "kor,jpn,eng", True)],
}
KOREAN = {u for recs in FILES.values() for u, _, ko in recs if ko}


def _page(url: str, korean: bool) -> str:
    return html_page("소식" if korean else "News", [f"{url} 소식입니다.", *PARAGRAPHS] if korean else [url, *EN])


@pytest.fixture(scope="module")
def crawl(s3_endpoint, tmp_path_factory):  # noqa: F811 - the fixture imported above
    """WARC files and a two-file index (three rows per row group) on the S3 server; returns the index rows."""
    d = tmp_path_factory.mktemp("crawl")
    rows = []
    for name, recs in FILES.items():
        local = write_warc(d / name.rsplit("/", 1)[-1], [{"url": u, "body": _page(u, ko)} for u, _, ko in recs])
        s3_endpoint.put_file(str(local), f"{BUCKET}/{name}")
        langs = {u: lang for u, lang, _ in recs}
        with open(local, "rb") as fh:
            it = ArchiveIterator(fh)
            for rec in it:
                if rec.rec_type != "response":
                    continue
                url = rec.rec_headers.get_header("WARC-Target-URI")
                rec.content_stream().read()
                rows.append({"url": url, "content_languages": langs[url], "content_mime_detected": "text/html",
                             "warc_filename": name, "warc_record_offset": it.get_record_offset(),
                             "warc_record_length": it.get_record_length()})
    schema = pa.schema([("url", pa.string()), ("content_languages", pa.string()),
                        ("content_mime_detected", pa.string()), ("warc_filename", pa.string()),
                        ("warc_record_offset", pa.int32()), ("warc_record_length", pa.int32())])
    for i, part in enumerate((rows[:4], rows[4:])):  # CC sorts the index by SURT, not by WARC file
        buf = io.BytesIO()
        pq.write_table(pa.Table.from_pylist(part, schema=schema), buf, row_group_size=3)
        s3_endpoint.pipe_file(f"{INDEX.removeprefix('s3://')}part-0000{i}.c000.gz.parquet", buf.getvalue())
    return rows


def _cfg(**cc) -> InputConfig:
    return InputConfig(paths=[INDEX], format="cc_index",
                       cc_index={"warc_prefix": f"s3://{BUCKET}/", "records_per_shard": 2, **cc})


@pytest.fixture
def fetches(monkeypatch):
    """Every byte range read from the S3 server: (key, start, end) of GETs, by s3fs file reads and range cats."""
    got = []
    cat_file = s3fs.S3FileSystem._cat_file

    async def counting_cat_file(self, path, version_id=None, start=None, end=None):
        got.append((path, start, end))
        return await cat_file(self, path, version_id=version_id, start=start, end=end)

    fetch_range = s3fs.core.S3File._fetch_range

    def counting_fetch_range(self, start, end):
        got.append((self.path, start, end))
        return fetch_range(self, start, end)

    monkeypatch.setattr(s3fs.S3FileSystem, "_cat_file", counting_cat_file)
    monkeypatch.setattr(s3fs.core.S3File, "_fetch_range", counting_fetch_range)
    ccindex._plan.cache_clear()
    return got


def test_cut_balances_hits_across_row_groups():
    assert ccindex.cut([0, 3, 0, 4, 1], 2) == [(1, 2, 0, 2), (1, 4, 2, 4), (3, 4, 1, 3), (3, 5, 3, 5)]
    assert ccindex.cut([0, 0], 5) == []
    assert ccindex.cut([5], 5) == [(0, 1, 0, 5)]


def test_language_filter_anywhere_or_primary(crawl):
    assert len(crawl) == 11
    kept = lambda primary: {r["url"] for r in crawl if r["content_languages"]  # noqa: E731
                            and ("kor" == r["content_languages"].split(",")[0] if primary
                                 else "kor" in r["content_languages"].split(","))}
    table = pa.Table.from_pylist(crawl)
    import pyarrow.dataset as ds

    for primary in (False, True):
        got = ds.dataset(table).to_table(filter=ccindex.language_filter(["kor"], primary)).column("url").to_pylist()
        assert set(got) == kept(primary)
    assert kept(False) == KOREAN and "https://bilingual.example.com/1" not in kept(True)


def test_plan_is_stable_and_balanced(crawl, fetches):
    shards = shard_paths(_cfg())
    # part-00000: hits per row group [2, 0]; part-00001: [1, 1, 1] -- a shard spans row groups 0 and 1.
    assert [s.rsplit("#", 1)[1] for s in shards] == ["rg=0-1&hits=0-2", "rg=0-2&hits=0-2", "rg=2-3&hits=0-1"]
    assert all(s.startswith(f"ccindex://{INDEX}part-0000") for s in shards)
    planned = [f for f in fetches if f[0].endswith(".parquet")]
    assert planned and not [f for f in fetches if f[0].endswith(".warc.gz")]  # planning reads only the index
    ccindex._plan.cache_clear()
    assert shard_paths(_cfg()) == shards  # a resumed run plans the same shards


def test_only_korean_records_are_fetched(crawl, fetches):
    cfg = _cfg()
    urls = []
    for shard in shard_paths(cfg):
        urls += [(r.url, r.drop_reason) for r in read_shard(shard, cfg)]
    assert sorted(urls) == sorted((u, None) for u in KOREAN)
    warc_gets = [f for f in fetches if f[0].endswith(".warc.gz")]
    korean_ranges = {(f"{BUCKET}/{r['warc_filename']}", r["warc_record_offset"],
                      r["warc_record_offset"] + r["warc_record_length"]) for r in crawl if r["url"] in KOREAN}
    assert sorted(warc_gets) == sorted(korean_ranges)  # one GET per Korean record, nothing else of the WARCs


def test_primary_only_skips_pages_detected_english_first(crawl, fetches):
    cfg = _cfg(primary_only=True, records_per_shard=100)
    urls = {r.url for shard in shard_paths(cfg) for r in read_shard(shard, cfg)}
    assert urls == KOREAN - {"https://bilingual.example.com/1"}


def test_a_missing_warc_file_costs_its_records(crawl, fetches, s3_endpoint):  # noqa: F811
    cfg = InputConfig(paths=[INDEX], format="cc_index",
                      cc_index={"warc_prefix": f"s3://{BUCKET}/elsewhere/", "records_per_shard": 100})
    got = [(r.url, r.drop_reason) for shard in shard_paths(cfg) for r in read_shard(shard, cfg)]
    assert sorted(got) == sorted((u, "read_fetch_failed") for u in KOREAN)


def test_a_wrong_offset_costs_its_record(crawl, fetches, s3_endpoint):  # noqa: F811
    rows = [dict(r) for r in crawl if r["url"] in KOREAN]
    rows[1]["warc_record_offset"] += 7  # the range starts inside the record: no gzip member there
    rows[2]["warc_record_length"] -= 50  # the range ends before the record does
    index = f"{BUCKET}/bad-index/part-00000.parquet"
    with s3_endpoint.open(index, "wb") as fh:
        pq.write_table(pa.Table.from_pylist(rows), fh)
    cfg = InputConfig(paths=[f"s3://{index}"], format="cc_index", cc_index={"warc_prefix": f"s3://{BUCKET}/"})
    got = {r.url: r.drop_reason for shard in shard_paths(cfg) for r in read_shard(shard, cfg)}
    assert len(got) == len(rows)
    assert got[rows[1]["url"]] == "read_corrupt_record" and got[rows[2]["url"]] == "read_truncated_record"
    assert {u for u, reason in got.items() if reason is None} == KOREAN - {rows[1]["url"], rows[2]["url"]}


def test_config_checks():
    with pytest.raises(ValueError, match="only with format: cc_index"):
        InputConfig(paths=["x"], cc_index={})
    with pytest.raises(ValueError, match="pattern"):
        InputConfig(paths=["x"], format="cc_index", cc_index={"languages": ["ko"]})
    assert InputConfig(paths=["x"], format="cc_index").cc_index.languages == ["kor"]
    with pytest.raises(ValueError, match="credentials"):
        InputConfig(paths=["x"], format="cc_index", cc_index={"storage_options": {"client_kwargs": {"aws_secret_access_key": "s"}}})
    assert InputConfig(paths=["x"], format="cc_index", cc_index={"storage_options": {"anon": True}}).cc_index.storage_options


def test_an_index_path_without_parquet_is_a_config_error(s3_endpoint):  # noqa: F811
    cfg = InputConfig(paths=[f"s3://{BUCKET}/no-index/*.parquet"], format="cc_index")
    with pytest.raises(ConfigError, match=r"input.paths\[0\]"):
        shard_paths(cfg)


def test_pipeline_run_keeps_exactly_the_korean_pages(crawl, fetches, tmp_path):
    conf = tmp_path / "job.yaml"
    conf.write_text(yaml.safe_dump({
        "input": {"paths": [INDEX], "format": "cc_index", "prefilter_korean": True,
                  "cc_index": {"warc_prefix": f"s3://{BUCKET}/", "records_per_shard": 2}},
        "output": str(tmp_path / "run"), "steps": [{"step": "ko_signals_v1"}],
        "line_dedup": {"min_repeats": 3}, "execution": {"backend": "local"}}))
    job = load_config(str(conf))
    from pipeline.run import run_job

    summary = run_job(job, restart=False, log=lambda *_: None)
    assert summary["documents_in"] == len(KOREAN) == summary["documents_kept"]
    kept = pq.read_table(tmp_path / "run" / "documents").column("url").to_pylist()
    assert sorted(kept) == sorted(KOREAN)
    assert summary["shards_total"] == 3
    assert not [f for f in fetches if f[0].endswith(".warc.gz") and f[1] in (None, 0)]  # no whole-file read
