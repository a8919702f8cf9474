"""Object storage: inputs and run directories as s3:// URLs, against moto's S3 server on 127.0.0.1.

The endpoint reaches s3fs through botocore's `AWS_ENDPOINT_URL`; the mirror logic of pipeline/storage.py is
also checked on fsspec's in-memory filesystem, where the order of uploads can be recorded.
"""

from __future__ import annotations

import socket

import pyarrow.parquet as pq
import pytest
import yaml

from core.errors import RunError
from warcgen import html_page, write_warc

moto_server = pytest.importorskip("moto.server", reason="moto[server] is a dev dependency")
s3fs = pytest.importorskip("s3fs", reason="s3fs is the `s3` extra")

BUCKET = "ko-curate-test"
PARAGRAPHS = [
    "서울시는 오늘 시청에서 새 도서관 건립 계획을 발표했다. 도서관은 내년 봄에 문을 열 예정이다.",
    "시민들은 주말에도 책을 빌릴 수 있게 되었다며 반가워했다. 어린이 열람실도 함께 마련된다.",
    "관계자는 지역 주민의 의견을 모아 프로그램을 꾸리겠다고 말했다. 자세한 내용은 누리집에 공개된다.",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3_endpoint():
    port = _free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    env = {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
    mp = pytest.MonkeyPatch()
    for k, v in env.items():
        mp.setenv(k, v)
    for k in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3"):
        mp.delenv(k, raising=False)
    s3fs.S3FileSystem.clear_instance_cache()
    try:
        fs = s3fs.S3FileSystem()
        # moto keeps its buckets per process, not per server: a module that ran before (tests/test_ccindex.py
        # uses this fixture too) left the bucket and its objects. Start from an empty bucket.
        if fs.exists(BUCKET):
            fs.rm(BUCKET, recursive=True)
        fs.mkdir(BUCKET)
        yield fs
    finally:
        s3fs.S3FileSystem.clear_instance_cache()
        mp.undo()
        server.stop()


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    """Two small WARC shards; shard 1 repeats a page of shard 0, so dedup rewrites a file."""
    d = tmp_path_factory.mktemp("shards")
    pages0 = [{"url": f"https://news.example.kr/{i}", "body": html_page(f"기사 {i}", [f"{i}번째 소식입니다.", *PARAGRAPHS])}
              for i in range(6)]
    pages1 = [{"url": "https://blog.example.kr/copy", "body": pages0[0]["body"]},
              {"url": "https://shop.example.com/en", "body": html_page("Sale", ["Buy now, big discounts today only."])}]
    return [write_warc(d / "ko-00000.warc.gz", pages0), write_warc(d / "ko-00001.warc.gz", pages1)]


def _config(tmp_path, staging=None) -> str:
    cfg = {
        "input": {"paths": ["unused"]},
        "steps": [{"step": "ko_signals_v1"}],
        "dedup": {"exact": True, "fuzzy": True, "num_band_partitions": 2},
        "execution": {"backend": "local", **({"staging_dir": str(staging)} if staging else {})},
    }
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    return str(path)


def _run(config: str, inputs: list[str], output: str, restart: bool = False, log=None) -> dict:
    from pipeline.job import load_config
    from pipeline.run import run_job

    job = load_config(config, {"input.paths": inputs, "output": output})
    return run_job(job, restart=restart, log=log or (lambda *_: None))


def _figures(summary: dict) -> dict:
    return {k: summary[k] for k in ("documents_in", "documents_kept", "documents_dropped", "bytes_in", "bytes_kept")}


def _texts(files) -> list[tuple[str, str]]:
    rows = []
    for f in files:
        t = pq.read_table(f, columns=["id", "text"])
        rows += list(zip(t.column("id").to_pylist(), t.column("text").to_pylist()))
    return sorted(rows)


@pytest.fixture(scope="module")
def local_run(shards, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("local")
    return _run(_config(tmp), [str(p) for p in shards], str(tmp / "run")), tmp / "run"


def test_s3_input_gives_the_local_result(s3_endpoint, shards, local_run, tmp_path):
    for p in shards:
        s3_endpoint.put_file(str(p), f"{BUCKET}/shards/{p.name}")
    summary = _run(_config(tmp_path), [f"s3://{BUCKET}/shards/*.warc.gz"], str(tmp_path / "run"))
    assert summary["inputs"] == [f"s3://{BUCKET}/shards/{p.name}" for p in shards]
    assert _figures(summary) == _figures(local_run[0])
    assert summary["documents_dropped"].get("duplicate") == 1
    assert _texts(sorted((tmp_path / "run" / "documents").glob("*.parquet"))) == \
        _texts(sorted((local_run[1] / "documents").glob("*.parquet")))


def test_s3_output_is_uploaded_with_markers_and_resumes_elsewhere(s3_endpoint, shards, local_run, tmp_path):
    url = f"s3://{BUCKET}/runs/r1"
    summary = _run(_config(tmp_path, tmp_path / "staging-a"), [str(p) for p in shards], url)
    assert _figures(summary) == _figures(local_run[0])
    remote = {p.removeprefix(f"{BUCKET}/runs/r1/") for p in s3_endpoint.find(f"{BUCKET}/runs/r1")}
    for name in ("summary.json", "config.yaml", "stats/00000-ko-00000.json", "stats/00001-ko-00001.json",
                 "documents/00000-ko-00000.parquet", "rejected/dedup-00000-ko-00000.parquet", "dedup/_SUCCESS"):
        assert name in remote, name
    assert "_UPLOADING" not in remote and not any(".tmp-" in n for n in remote)
    # The remote documents are the deduplicated ones, byte for byte the staging copy.
    for name in ("documents/00000-ko-00000.parquet", "documents/00001-ko-00001.parquet"):
        assert s3_endpoint.cat_file(f"{BUCKET}/runs/r1/{name}") == (tmp_path / "staging-a" / name).read_bytes()

    # A fresh machine (empty staging dir) resumes from the remote copy: no shard and no stage is redone.
    logs = []
    again = _run(_config(tmp_path, tmp_path / "staging-b"), [str(p) for p in shards], url, log=logs.append)
    assert any("resumed: 2 shard(s)" in line for line in logs), logs
    assert _figures(again) == _figures(summary)
    assert again["stages"]["dedup"] == summary["stages"]["dedup"]


def test_interrupted_replacing_upload_refuses_to_resume(s3_endpoint, shards, tmp_path):
    url = f"s3://{BUCKET}/runs/r2"
    s3_endpoint.pipe_file(f"{BUCKET}/runs/r2/.ko-curate-run", b"")  # a run's first upload
    s3_endpoint.pipe_file(f"{BUCKET}/runs/r2/documents/00000-ko-00000.parquet", b"half")
    s3_endpoint.pipe_file(f"{BUCKET}/runs/r2/_UPLOADING", b"{}")
    with pytest.raises(RunError, match="_UPLOADING"):
        _run(_config(tmp_path, tmp_path / "staging"), [str(p) for p in shards], url)
    # --restart clears the remote prefix and runs clean.
    summary = _run(_config(tmp_path, tmp_path / "staging"), [str(p) for p in shards], url, restart=True)
    assert summary["documents_in"] == 8
    assert not s3_endpoint.exists(f"{BUCKET}/runs/r2/_UPLOADING")


# -- the mirror itself, on fsspec's memory filesystem --------------------------------------------------

def test_push_uploads_markers_after_data_and_mirrors_deletions(tmp_path, monkeypatch):
    from pipeline.storage import RemoteRun

    staging = tmp_path / "staging"
    (staging / "documents").mkdir(parents=True)
    (staging / "stats").mkdir()
    (staging / "dedup").mkdir()
    (staging / "stats" / "00000-a.json").write_text("{}")
    (staging / "documents" / "00000-a.parquet").write_bytes(b"kept")
    (staging / "dedup" / "_SUCCESS").write_text("{}")
    (staging / "dedup" / "sig.parquet").write_bytes(b"sig")
    (staging / "documents" / "x.parquet.tmp-123").write_bytes(b"in progress")
    (staging / "summary.json").write_text("{}")

    remote = RemoteRun("memory://ko-curate-test/run", str(staging))
    if remote.fs.exists("/ko-curate-test"):  # the memory filesystem lives as long as the process
        remote.fs.rm("/ko-curate-test", recursive=True)
    order = []
    real_put = remote.fs.put_file
    monkeypatch.setattr(remote.fs, "put_file", lambda lpath, rpath, **kw: (order.append(rpath), real_put(lpath, rpath)))
    remote.prepare()
    assert remote.push() == {"uploaded": 5, "deleted": 0}
    names = [p.split("/run/", 1)[1] for p in order]
    assert names[:2] == ["dedup/sig.parquet", "documents/00000-a.parquet"]
    assert set(names[2:4]) == {"dedup/_SUCCESS", "stats/00000-a.json"} and names[4] == "summary.json"
    assert remote.push() == {"uploaded": 0, "deleted": 0}

    # A stage rewrites a file in place and removes its temporary one: _UPLOADING guards the replacement.
    (staging / "dedup" / "sig.parquet").unlink()
    (staging / "documents" / "00000-a.parquet").write_bytes(b"deduplicated")
    order.clear()
    assert remote.push() == {"uploaded": 1, "deleted": 1}
    assert remote.fs.cat_file("/ko-curate-test/run/documents/00000-a.parquet") == b"deduplicated"
    assert not remote.fs.exists("/ko-curate-test/run/dedup/sig.parquet")
    assert not remote.fs.exists("/ko-curate-test/run/_UPLOADING")
