"""`pipeline clean RUN_DIR`: the work files go, nothing a run hands its user changes, a rerun still skips every
stage, and a rerun that has to redo the steps reads the input shards again and gets what a fresh run gets."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.clean import clean
from test_stages import ROOT, config, data, marks, run

KEPT = ("documents", "rejected", "mix", "tokens", "tokenizer", "stats")


def user_files(out: Path) -> dict:
    summary = json.loads((out / "summary.json").read_text())
    counts = {k: summary[k] for k in ("documents_in", "documents_kept", "documents_dropped", "shards_failed")}
    return {sub: data(out, sub) for sub in KEPT} | {"summary": counts}


@pytest.fixture(scope="module")
def cleaned(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("clean")
    out = tmp / "run"
    run(config(tmp, out, "base"))
    before = user_files(out), marks(out)
    assert (out / "extracted").is_dir() and (out / "dedup" / "signatures").is_dir()
    said: list[str] = []
    freed = clean(out, log=said.append)
    return tmp, out, before, freed, said


def test_clean_deletes_the_work_files_and_nothing_else(cleaned):
    tmp, out, (files, stage_marks), freed, said = cleaned
    assert not (out / "extracted").exists()
    assert not any((out / "dedup" / d).exists() for d in ("signatures", "buckets", "pairs", "docs"))
    assert (out / "dedup" / "stats.json").is_file() and (out / "dedup" / "_SUCCESS").is_file()
    assert user_files(out) == files and marks(out) == stage_marks
    assert freed > 0 and said[-1].startswith("freed ") and any("extracted" in line for line in said)


def test_a_rerun_after_clean_still_skips_every_stage(cleaned):
    tmp, out, (files, stage_marks), _, _ = cleaned
    _, said = run(config(tmp, out, "base"))
    assert marks(out) == stage_marks and user_files(out) == files
    assert not (out / "extracted").exists()  # nothing needed it


def test_a_rerun_that_redoes_the_steps_reads_the_shards_and_matches_a_fresh_run(cleaned, tmp_path):
    tmp, out, _, _, _ = cleaned
    run(config(tmp, out, "lid", steps_lid=0.9))
    fresh = tmp_path / "fresh"
    run(config(tmp_path, fresh, "lid", steps_lid=0.9))
    for sub in ("documents", "rejected", "tokens"):
        assert data(out, sub) == data(fresh, sub), sub
    stats = [json.loads(p.read_text()) for p in sorted((out / "stats").glob("*.json"))]
    assert stats and not any(s.get("extracted_copy") for s in stats)  # read from the shards themselves


def test_dry_run_deletes_nothing(tmp_path):
    out = tmp_path / "run"
    run(config(tmp_path, out, "base", **{"mix": None, "tokenize": None}))
    before = sorted(str(p) for p in out.rglob("*"))
    said: list[str] = []
    assert clean(out, dry_run=True, log=said.append) > 0
    assert sorted(str(p) for p in out.rglob("*")) == before and said[0].startswith("would delete extracted/")


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline.cli", "clean", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)


def test_clean_refuses_what_is_not_a_run_directory_or_is_in_use(tmp_path):
    mine = tmp_path / "photos"
    (mine / "extracted").mkdir(parents=True)
    (mine / "extracted" / "keep.jpg").write_bytes(b"x")
    r = cli(str(mine))
    assert r.returncode == 2 and "not a ko-curate run directory" in r.stderr
    assert (mine / "extracted" / "keep.jpg").exists()
    r = cli(str(tmp_path / "missing"))
    assert r.returncode == 2 and "no such run directory" in r.stderr
    r = cli("s3://bucket/runs/x")
    assert r.returncode == 2 and "object storage holds no work files" in r.stderr
    busy = tmp_path / "busy"
    (busy / "extracted").mkdir(parents=True)
    (busy / ".ko-curate-run").write_text("")
    (busy / ".lock").write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started": "now"}))
    r = cli(str(busy))
    assert r.returncode == 1 and "in use by another run" in r.stderr
    assert (busy / "extracted").is_dir()
