"""Reliability of `pipeline run` (issue 8): SIGKILL at fixed points then the same command again gives the same
bytes as an uninterrupted run; same config → same outputs, with 1 or 2 Ray workers; a Ray worker killed
mid-task is retried; a failed write stops the run loudly and leaves nothing a resume would take as done;
broken input becomes named reasons while the run goes on.

Runs the bundled job (configs/ko-web.yaml without the report) on the 4 bundled sample shards, mostly with
`execution.backend: local` (Ray is not the point there and costs seconds to start). The reference run is
module-scoped and shared.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from reliability_helpers import (digest, figures, job_config, kill_shard_worker, kill_when, leftover_tmp, run_cli,
                                 start_cli)
from warcgen import gzip_members, html_page, write_warc


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted local run: (config dir, run dir, digest, figures)."""
    tmp = tmp_path_factory.mktemp("reliability")
    out = tmp / "reference"
    r = run_cli(job_config(tmp, out))
    assert r.returncode == 0, r.stderr
    d = digest(out)
    assert any(k.startswith("tokens/") and k.endswith(".arrow") for k in d) and "dedup/clusters.parquet" in d
    return tmp, out, d, figures(out)


def assert_same_as(reference, run_dir: Path) -> None:
    _, _, ref_digest, ref_figures = reference
    assert leftover_tmp(run_dir) == []
    assert digest(run_dir) == ref_digest
    assert figures(run_dir) == ref_figures


def _any(run_dir: Path, pattern: str):
    return lambda: any(run_dir.glob(pattern))


# Kill points, each reached deterministically by watching the run directory: after the first shard's extracted
# copy (extract running), as line dedup starts (its marker says not done), after the first shard's completion
# marker (steps running), when dedup has written signatures (dedup running, documents not yet written), once
# dedup's rename list exists (during or just after the renames), as the mix starts, when the first token shard
# appears (tokenize running).
KILL_POINTS = {
    "extract": "extracted/*.json",
    "line_dedup": "_stages/line_dedup.json",
    "shard_pass": "stats/*.json",
    "dedup_signatures": "dedup/docs/*.parquet",
    "dedup_renames": "dedup/_STAGED",
    "mix": "_stages/mix.json",
    "tokenize": "tokens/*.arrow*",
}
BEFORE_THE_STEPS = ("extract", "line_dedup", "shard_pass")


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_sigkill_then_resume_gives_identical_outputs(reference, point):
    tmp = reference[0]
    out = tmp / f"kill-{point}"
    cfg = job_config(tmp, out)
    assert kill_when(start_cli(cfg), _any(out, KILL_POINTS[point])), f"the run ended before {point}"
    assert not (out / "summary.json").exists()
    r = run_cli(cfg)
    assert r.returncode == 0, r.stderr
    assert_same_as(reference, out)
    if point not in BEFORE_THE_STEPS:  # every shard had finished before the kill: none is processed twice
        assert "resumed: 4 shard(s)" in r.stdout, r.stdout


def test_sigkill_after_a_fixed_delay_and_twice_in_a_row(reference):
    tmp = reference[0]
    out = tmp / "kill-delay"
    cfg = job_config(tmp, out)
    # 3 s: past imports, usually inside the shard pass on this machine; wherever it lands, the result must hold.
    t0 = time.monotonic()
    kill_when(start_cli(cfg), lambda: time.monotonic() - t0 > 3.0)
    # A second kill of the resumed run, later on (the tokenizer stage re-runs from scratch on every resume).
    kill_when(start_cli(cfg), _any(out, "tokenizer/tokenizer.model"))
    r = run_cli(cfg)
    assert r.returncode == 0, r.stderr
    assert_same_as(reference, out)


def test_restart_starts_clean(reference):
    tmp = reference[0]
    out = tmp / "restart"
    cfg = job_config(tmp, out)
    out.mkdir()
    (out / ".ko-curate-run").write_text("")  # an earlier run's directory: only such a one is deleted
    (out / "documents").mkdir()
    (out / "documents" / "99999-stale.parquet").write_bytes(b"not ours")
    (out / "documents" / "00000-x.parquet.tmp-123").write_bytes(b"half")
    r = run_cli(cfg, "--restart")
    assert r.returncode == 0, r.stderr
    assert not (out / "documents" / "99999-stale.parquet").exists()
    assert_same_as(reference, out)


def test_two_uninterrupted_runs_are_identical(reference):
    tmp = reference[0]
    out = tmp / "again"
    r = run_cli(job_config(tmp, out))
    assert r.returncode == 0, r.stderr
    assert_same_as(reference, out)


@pytest.mark.parametrize("change", ["dedup_settings", "step_settings"])
def test_rerun_with_changed_settings_redoes_dedup_from_the_shard_pass(reference, change):
    """A finished run directory, run again with other dedup or step settings and no --restart, must end exactly
    as a fresh run of the new config: dedup starts from the steps' output again, never from the old dedup's, and
    its old files are gone. Other dedup settings keep the steps' work (every shard resumed); other step settings
    redo every shard."""
    import yaml

    tmp, ref_out, _, ref_figures = reference
    out = tmp / f"changed-{change}"
    shutil.copytree(ref_out, out)
    fresh = tmp / f"fresh-{change}"
    configs = []
    for run_dir in (out, fresh):
        path = job_config(tmp, run_dir)
        cfg = yaml.safe_load(path.read_text(encoding="utf-8"))
        if change == "dedup_settings":
            cfg["dedup"]["fuzzy"] = False  # exact duplicates only: the sample's near duplicates come back
        else:
            cfg["steps"] = [s for s in cfg["steps"] if s["step"] != "pii_mask_v1"]
        path.write_text(yaml.safe_dump(cfg, allow_unicode=True, sort_keys=False), encoding="utf-8")
        configs.append(path)
    r = run_cli(configs[0])
    assert r.returncode == 0, r.stderr
    assert ("resumed: 4 shard(s)" in r.stdout) == (change == "dedup_settings"), r.stdout
    r = run_cli(configs[1])
    assert r.returncode == 0, r.stderr
    assert digest(out) == digest(fresh)
    assert figures(out) == figures(fresh)
    if change == "dedup_settings":
        assert ref_figures["documents_dropped"]["near_duplicate"] > 0
        assert "near_duplicate" not in figures(out)["documents_dropped"]  # no zero counts either
    # a third run with the same config resumes: nothing is redone
    marks = {p.name: p.stat().st_mtime_ns for p in (out / "_stages").glob("*.json")}
    r = run_cli(configs[0])
    assert r.returncode == 0 and "resumed: 4 shard(s)" in r.stdout
    assert {p.name: p.stat().st_mtime_ns for p in (out / "_stages").glob("*.json")} == marks
    assert digest(out) == digest(fresh)


def _ray_run(cfg: Path) -> None:
    r = run_cli(cfg)
    if r.returncode != 0 and "cannot start Ray" in r.stderr:
        pytest.skip(f"embedded Ray did not start on this machine: {r.stderr.strip()[:200]}")
    assert r.returncode == 0, r.stderr


def test_ray_one_and_two_workers_match_local(reference):
    tmp = reference[0]
    for cpus in (1, 2):
        out = tmp / f"ray-{cpus}"
        _ray_run(job_config(tmp, out, backend="ray", num_cpus=cpus))
        assert json.loads((out / "summary.json").read_text())["execution"]["parallelism"] == cpus
        assert_same_as(reference, out)


def test_lost_ray_worker_is_retried(reference):
    tmp = reference[0]
    out = tmp / "ray-lost-worker"
    cfg = job_config(tmp, out, backend="ray", num_cpus=2)
    proc = start_cli(cfg)
    killed = kill_shard_worker(proc)
    _, err = proc.communicate(timeout=600)
    if proc.returncode != 0 and b"cannot start Ray" in err:
        pytest.skip("embedded Ray did not start on this machine")
    if killed is None:
        pytest.skip("every shard task finished before a worker could be killed (machine too fast for this test)")
    assert proc.returncode == 0, err.decode()[-3000:]
    assert_same_as(reference, out)


def test_failed_write_stops_the_run_and_leaves_nothing_half_done(reference, tmp_path, monkeypatch):
    """ENOSPC while shard 00001's kept documents are written (the steps stage's filtered/): RunError naming the
    shard, no final file, no marker, no temp file; a second run without the fault completes and matches the
    reference."""
    from pipeline.job import load_config
    from core.errors import RunError
    from pipeline.run import run_job

    out = tmp_path / "enospc"
    job = load_config(str(job_config(tmp_path, out)))
    real_write = pq.ParquetWriter.write_table

    def full_disk(self, table, *a, **kw):
        if "/filtered/00001-" in str(self.where):
            raise OSError(errno.ENOSPC, "No space left on device", str(self.where))
        return real_write(self, table, *a, **kw)

    monkeypatch.setattr(pq.ParquetWriter, "write_table", full_disk)
    with pytest.raises(RunError, match=r"shard 00001-ko-sample-00001 .*No space left on device"):
        run_job(job, log=lambda *_: None)
    assert (out / "stats" / "00000-ko-sample-00000.json").exists()  # the shard before it is done and kept
    assert not list(out.glob("filtered/00001-*")) and not list(out.glob("rejected/00001-*"))
    assert not (out / "stats" / "00001-ko-sample-00001.json").exists()
    assert leftover_tmp(out) == [] and not (out / "summary.json").exists()

    monkeypatch.setattr(pq.ParquetWriter, "write_table", real_write)
    summary = run_job(job, log=lambda *_: None)
    assert summary["documents_in"] == 400
    assert_same_as(reference, out)


def test_failed_write_through_the_cli_is_exit_1_and_one_line(tmp_path):
    """A run directory that cannot be written (a file where the steps' filtered/ folder should be)."""
    write_warc(tmp_path / "a.warc.gz", [{"url": "http://a/1", "body": html_page("서울", ["서울은 한국의 수도이다."])}])
    out = tmp_path / "run"
    out.mkdir()
    (out / "filtered").write_text("a file, not a folder")
    cfg = tmp_path / "c.yaml"
    cfg.write_text(json.dumps({"input": {"paths": [str(tmp_path / "a.warc.gz")]}, "output": str(out),
                               "steps": [{"step": "language_id_v1"}], "execution": {"backend": "local"}}))
    r = run_cli(cfg)
    assert r.returncode == 1, r.stderr
    err = r.stderr.strip().splitlines()
    assert len(err) == 1 and "shard 00000-a" in err[0] and "run failed" in err[0], r.stderr
    assert not (out / "stats" / "00000-a.json").exists() and leftover_tmp(out) == []


# --- broken input through the whole CLI ------------------------------------------------------------------

KO = ["대한민국의 수도는 서울이며, 서울은 한강을 끼고 있는 도시이다. 서울의 인구는 약 천만 명에 이른다.",
      "조선 시대에는 한양이라고 불렸으며, 오늘날 서울은 정치와 경제와 문화의 중심지이다."]


def test_broken_input_is_named_and_the_rest_is_read(tmp_path):
    page = html_page("서울", KO)
    shard = write_warc(tmp_path / "mixed.warc.gz", [
        {"url": "http://m/0", "body": page},
        {"url": "http://m/1-header-utf8-body-cp949", "body": page, "encoding": "cp949"},
        {"url": "http://m/2-header-euckr-body-utf8", "body": page, "content_type": "text/html; charset=euc-kr"},
        {"url": "http://m/3-damaged", "body": page},
        {"url": "http://m/4-invalid-utf8", "body": page.encode() + b"\xff\xfe broken \xc3"},
        {"url": "http://m/5-binary", "body": b"\x00\x01\x02binary\x00" * 50, "content_type": "text/html"},
        {"url": "http://m/6-empty", "body": b""},
        {"url": "http://m/7-10mb", "body": "<html><body>" + "가" * 3_500_000 + "</body></html>"},
        {"url": "http://m/8", "body": page},
    ])
    members = gzip_members(shard.read_bytes())  # [warcinfo, record 0, record 1, ...]
    damaged = bytearray(members[4])
    damaged[len(damaged) // 2] ^= 0xFF  # one flipped byte inside record 3's deflate data
    members[4] = bytes(damaged)
    shard.write_bytes(b"".join(members))
    (tmp_path / "a-folder.warc.gz").mkdir()  # exists, is not a file
    unreadable = tmp_path / "no-permission.warc.gz"
    unreadable.write_bytes((tmp_path / "mixed.warc.gz").read_bytes())
    unreadable.chmod(0)
    out = tmp_path / "run"
    cfg = tmp_path / "c.yaml"
    cfg.write_text(json.dumps({
        "input": {"paths": [str(tmp_path / "*.warc.gz"), str(tmp_path / "missing.warc.gz")]}, "output": str(out),
        "steps": [{"step": "language_id_v1"}], "execution": {"backend": "local"}}))
    r = run_cli(cfg)
    assert r.returncode == 0, r.stderr
    s = json.loads((out / "summary.json").read_text())
    failed = {Path(f["shard"]).name: f["error"] for f in s["shards_failed"]}
    assert "a-folder.warc.gz" in failed and "missing.warc.gz" in failed and "not found" in failed["missing.warc.gz"]
    assert "mixed.warc.gz" not in failed  # the damaged member was skipped, the shard read to its end
    if os.geteuid() != 0:  # root reads a mode-000 file anyway
        assert "no-permission.warc.gz" in failed
    kept = {d["url"]: d for d in pq.read_table(out / "documents").to_pylist() if d["url"].startswith("http://m/")}
    assert {"http://m/0", "http://m/1-header-utf8-body-cp949", "http://m/2-header-euckr-body-utf8",
            "http://m/4-invalid-utf8", "http://m/8"} <= set(kept)
    for url in ("http://m/1-header-utf8-body-cp949", "http://m/2-header-euckr-body-utf8"):
        assert "한강을 끼고" in kept[url]["text"] and "\ufffd" not in kept[url]["text"], url
    assert kept["http://m/1-header-utf8-body-cp949"]["charset"] == "cp949"
    assert kept["http://m/2-header-euckr-body-utf8"]["charset"] == "utf-8"
    rejected = pq.read_table(out / "rejected").to_pylist()
    by_url = {d["url"]: d["reason"] for d in rejected if d["url"]}
    assert by_url["http://m/5-binary"] == "read_binary_payload"
    assert by_url["http://m/6-empty"] == "read_empty_payload"
    assert by_url["http://m/7-10mb"] == "read_too_large"
    assert [d["reason"] for d in rejected if d["url"] is None and "mixed" in d["id"]] == ["read_corrupt_record"]
    n_mixed = 9 if os.geteuid() != 0 else 18  # root also reads the mode-000 copy
    assert s["documents_in"] == n_mixed
    assert s["documents_in"] == s["documents_kept"] + sum(s["documents_dropped"].values())


@pytest.mark.parametrize("mutate, expected", [
    (lambda c: c["dedup"].update(treshold=0.5), "dedup.treshold: unknown key"),
    (lambda c: c["tokenize"].update(vocab_size="big"), "tokenize.vocab_size"),
    (lambda c: c["input"].update(format="arc"), "input.format"),
])
def test_bad_stage_config_is_one_line_and_exit_2(tmp_path, mutate, expected):
    import yaml

    path = job_config(tmp_path, tmp_path / "bad")
    cfg = yaml.safe_load(path.read_text())
    mutate(cfg)
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True))
    r = run_cli(path)
    err = r.stderr.strip()
    assert r.returncode == 2 and len(err.splitlines()) == 1 and expected in err and path.name in err, err
    assert not (tmp_path / "bad").exists()  # nothing was started
