"""Hostile paths, configs and documents at the level of the run: `--restart` and temp-file cleanup touch only
what this project wrote, one run per output directory, a document (not the run) is the unit of failure and
of the time budget, credentials never reach an output, and thresholds must be finite and in range."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from pipeline.job import load_config
from core.errors import ConfigError
from pipeline.run import run_job
from core.models import cached
from core.steps import Annotator, register_step
from warcgen import html_page, write_warc

ROOT = Path(__file__).resolve().parents[1]
KO = ["대한민국의 수도는 서울이며, 서울은 한강을 끼고 있는 도시이다. 서울의 인구는 약 천만 명에 이른다.",
      "조선 시대에는 한양이라고 불렸으며, 오늘날 서울은 정치와 경제와 문화의 중심지이다."]


def cli(*args, cwd=ROOT, env=None, timeout=120):
    return subprocess.run([sys.executable, "-m", "pipeline.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def small_config(tmp: Path, out: Path, steps=None, **execution) -> Path:
    write_warc(tmp / "a.warc.gz", [{"url": f"http://a/{i}", "body": html_page("서울", KO)} for i in range(3)])
    cfg = {"input": {"paths": [str(tmp / "a.warc.gz")]}, "output": str(out),
           "steps": steps if steps is not None else [{"step": "ko_signals_v1"}],
           "execution": {"backend": "local", **execution}}
    path = tmp / "job.yaml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True))
    return path


def summary(out: Path) -> dict:
    s = json.loads((out / "summary.json").read_text())
    assert s["documents_in"] == s["documents_kept"] + sum(s["documents_dropped"].values())
    return s


# -- 1. --restart and temp cleanup ----------------------------------------------------------------------

def test_restart_refuses_a_directory_it_did_not_create(tmp_path):
    victim = tmp_path / "mine"
    victim.mkdir()
    (victim / "thesis.tex").write_text("years of work")
    cfg = small_config(tmp_path, victim)
    for extra in (["--restart"], []):
        r = cli("run", str(cfg), *extra)
        assert r.returncode == 2, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1 and "not a ko-curate run directory" in r.stderr
        assert (victim / "thesis.tex").read_text() == "years of work"
        assert sorted(p.name for p in victim.iterdir()) == ["thesis.tex"]


@pytest.mark.parametrize("where", ["cwd", "parent", "home", "root"])
def test_restart_never_deletes_cwd_home_or_root(tmp_path, where):
    work = tmp_path / "checkout"
    work.mkdir()
    (work / ".ko-curate-run").write_text("")  # even a directory that carries the marker
    (work / "keep.txt").write_text("x")
    cfg = small_config(tmp_path, tmp_path / "unused")
    out = {"cwd": ".", "parent": "..", "home": str(work), "root": "/"}[where]
    r = cli("run", str(cfg), "--output", out, "--restart", cwd=work, env={"HOME": str(work)})
    assert r.returncode == 2, r.stderr
    assert "--restart refuses to delete" in r.stderr
    assert (work / "keep.txt").exists()


def test_restart_deletes_its_own_run_and_cleanup_spares_other_programs_files(tmp_path):
    out = tmp_path / "run"
    cfg = small_config(tmp_path, out)
    assert cli("run", str(cfg)).returncode == 0
    assert (out / ".ko-curate-run").exists() and not (out / ".lock").exists()
    # A stale temp file of ours, and files of other programs whose names merely look like ours.
    (out / "documents" / "00000-a.parquet.tmp-123").write_bytes(b"half")
    (out / "notes").mkdir()
    (out / "notes" / "draft.tmp-42").write_text("someone else's")
    (out / "editor.tmp-7").write_text("someone else's")
    r = cli("run", str(cfg))
    assert r.returncode == 0, r.stderr
    assert not (out / "documents" / "00000-a.parquet.tmp-123").exists()
    assert (out / "notes" / "draft.tmp-42").exists() and (out / "editor.tmp-7").exists()
    r = cli("run", str(cfg), "--restart")
    assert r.returncode == 0, r.stderr
    assert not (out / "notes").exists() and summary(out)["documents_in"] == 3


# -- 7. one run per output directory ------------------------------------------------------------------------

def test_a_live_lock_stops_a_second_run_and_a_dead_ones_is_taken_over(tmp_path):
    out = tmp_path / "run"
    cfg = small_config(tmp_path, out)
    assert cli("run", str(cfg)).returncode == 0
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        import socket

        (out / ".lock").write_text(json.dumps({"pid": holder.pid, "host": socket.gethostname(), "started": "x"}))
        before = (out / "summary.json").read_bytes()
        r = cli("run", str(cfg), "--restart")
        assert r.returncode == 1 and f"in use by another run (pid {holder.pid}" in r.stderr, r.stderr
        assert (out / "summary.json").read_bytes() == before  # nothing deleted, nothing written
    finally:
        holder.kill()
        holder.wait()
    r = cli("run", str(cfg))  # the holder is dead now: its lock is stale
    assert r.returncode == 0, r.stderr
    assert not (out / ".lock").exists()


# -- 2, 3. a document is the unit of failure and of the time budget ---------------------------------------------

@register_step("test_hostile_v1")
class _Hostile(Annotator):
    """Raises on documents that say BOOM, hangs on SLOW, backtracks catastrophically on REGEX."""

    def annotate(self, doc):
        if "BOOM" in doc.text:
            raise KeyError("boom")
        if "SLOW" in doc.text:
            time.sleep(60)
        if "REGEX" in doc.text:
            re.match(r"(a+)+$", "a" * 40 + "!")
        doc.metadata["hostile_seen"] = True


def _jsonl_job(tmp: Path, texts: list[str], **execution):
    shard = tmp / "docs.jsonl"
    shard.write_text("".join(json.dumps({"id": str(i), "text": t}, ensure_ascii=False) + "\n"
                             for i, t in enumerate(texts)), encoding="utf-8")
    cfg = {"input": {"paths": [str(shard)]}, "output": str(tmp / "run"),
           "steps": [{"step": "ko_signals_v1"}, {"step": "test_hostile_v1"}],
           "execution": {"backend": "local", "batch_size": 8, **execution}}
    path = tmp / "job.yaml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True))
    return load_config(str(path))


@pytest.mark.parametrize("score_all", [False, True])
def test_a_failing_or_hanging_document_is_dropped_and_the_shard_goes_on(tmp_path, score_all):
    texts = [KO[0], KO[1] + " BOOM", KO[0] + " SLOW", KO[1], KO[0] + " REGEX", KO[1] + " 끝"]
    job = _jsonl_job(tmp_path, texts, document_timeout_s=1.0, score_all=score_all)
    t = time.time()
    s = run_job(job, log=lambda *a: None)
    assert time.time() - t < 30
    assert s["documents_dropped"] == {"step_failed:test_hostile_v1": 1, "step_timeout:test_hostile_v1": 2}
    assert s["documents_kept"] == 3 and not s["shards_failed"]
    rej = pq.read_table(tmp_path / "run" / "rejected").to_pylist()
    by_reason = {r["reason"]: r for r in rej}
    assert "KeyError" in by_reason["step_failed:test_hostile_v1"]["error"]
    kept = pq.read_table(tmp_path / "run" / "documents").to_pylist()
    assert sorted(r["text"] for r in kept) == sorted([texts[0], texts[3], texts[5]])
    # The documents of the failed batch went through the step once, from where they were, not twice.
    assert all(json.loads(r["metadata"])["hostile_seen"] is True for r in kept)


@register_step("test_slow_model_v1")
class _SlowModel(Annotator):
    """Needs a model that takes 2 s to load (several workers loading at once on a busy machine); `path` names
    the model file, and a file that does not exist is a config error."""

    def __init__(self, path: str):
        super().__init__()
        self.path = path

    def annotate(self, doc):
        doc.metadata["model"] = cached("test slow model", self.path, lambda p: time.sleep(2) or "loaded")


def test_loading_a_model_is_not_on_the_first_documents_time_budget(tmp_path):
    model = tmp_path / "model.bin"
    model.write_bytes(b"weights")
    job = _jsonl_job(tmp_path, [KO[0], KO[1]], document_timeout_s=1.0)
    job = job.model_copy(update={"steps": [{"step": "test_slow_model_v1", "path": str(model)}]})
    s = run_job(job, log=lambda *a: None)
    assert s["documents_kept"] == 2 and s["documents_dropped"] == {}


def test_a_model_that_cannot_be_loaded_stops_the_run_instead_of_dropping_every_document(tmp_path):
    (tmp_path / "model.bin").write_bytes(b"weights")
    job = _jsonl_job(tmp_path, [KO[0], KO[1]])
    job = job.model_copy(update={"steps": [{"step": "test_slow_model_v1", "path": str(tmp_path / "model.bin")}]})
    (tmp_path / "model.bin").unlink()  # gone after the config was checked: a worker without the file
    with pytest.raises(ConfigError, match="test slow model model file not found"):
        run_job(job, log=lambda *a: None)


def test_extraction_that_raises_or_hangs_drops_only_that_page(tmp_path, monkeypatch):
    import pipeline.extracted as extracted

    real = extracted.extract

    def hostile_extract(html, extractor, *args, **kwargs):
        if "BOOM" in html:
            raise MemoryError("a page that blew up")
        if "SLOW" in html:
            time.sleep(60)
        return real(html, extractor, *args, **kwargs)

    monkeypatch.setattr(extracted, "extract", hostile_extract)
    write_warc(tmp_path / "a.warc.gz", [{"url": "http://a/1", "body": html_page("서울", KO)},
                                        {"url": "http://a/2", "body": html_page("BOOM", KO)},
                                        {"url": "http://a/3", "body": html_page("SLOW", KO)},
                                        {"url": "http://a/4", "body": html_page("부산", KO)}])
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump({"input": {"paths": [str(tmp_path / "a.warc.gz")]}, "output": str(tmp_path / "run"),
                                    "execution": {"backend": "local", "document_timeout_s": 1.0}}))
    t = time.time()
    s = run_job(load_config(str(path)), log=lambda *a: None)
    assert time.time() - t < 30
    assert s["documents_dropped"] == {"extract_failed": 1, "extract_timeout": 1} and s["documents_kept"] == 2


def test_score_all_keeps_the_same_documents_and_records_every_rule(tmp_path):
    cfg = yaml.safe_load((ROOT / "configs" / "ko-web.yaml").read_text(encoding="utf-8"))
    for key in ("line_dedup", "dedup", "mix", "tokenize", "report"):
        cfg.pop(key)
    cfg["steps"] = [s for s in cfg["steps"] if s["step"] != "line_dedup_v1"]
    cfg["input"]["paths"] = [str(p) for p in sorted((ROOT / "data" / "sample").glob("*.warc.gz"))[:2]]
    cfg["execution"] = {"backend": "local"}
    runs = {}
    for score_all in (False, True):
        cfg["output"] = str(tmp_path / f"run-{score_all}")
        cfg["execution"]["score_all"] = score_all
        path = tmp_path / f"{score_all}.yaml"
        path.write_text(yaml.safe_dump(cfg, allow_unicode=True))
        runs[score_all] = run_job(load_config(str(path)), log=lambda *a: None)
    assert runs[True]["documents_dropped"] == runs[False]["documents_dropped"]
    kept = {k: pq.read_table(tmp_path / f"run-{k}" / "documents").select(["id", "text"]).to_pylist() for k in runs}
    assert kept[True] == kept[False] and kept[True]
    rej = pq.read_table(tmp_path / "run-True" / "rejected").to_pylist()
    scored = [r for r in rej if r["drop_reasons"]]
    assert scored, "filter drops carry every rule that would drop them"
    for r in scored:
        reasons = json.loads(r["drop_reasons"])
        assert [r["step"], r["reason"]] == reasons[0]
    assert any(len(json.loads(r["drop_reasons"])) > 1 for r in scored)  # later rules scored the dropped too


# -- 7. credentials, thresholds, inputs -----------------------------------------------------------------------

def test_credentials_in_input_urls_never_reach_an_output(tmp_path):
    import fsspec

    url = "memory://AKIAEXAMPLE:hunter2secret@bucket/docs.jsonl"
    with fsspec.open(url, "wb") as fh:
        fh.write((json.dumps({"id": "1", "text": KO[0]}, ensure_ascii=False) + "\n").encode())
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump({"input": {"paths": [url, "memory://AKIAEXAMPLE:hunter2secret@bucket/missing.jsonl"]},
                                    "output": str(tmp_path / "run"), "steps": [{"step": "ko_signals_v1"}],
                                    "execution": {"backend": "local"}, "report": {}}))
    s = run_job(load_config(str(path)), log=lambda *a: None)
    assert s["documents_kept"] == 1 and len(s["shards_failed"]) == 1
    for p in (tmp_path / "run").rglob("*"):
        if p.is_file():
            data = p.read_bytes()
            assert b"hunter2secret" not in data and b"AKIAEXAMPLE" not in data, p
    assert any(p.endswith("***@bucket/docs.jsonl") for p in s["inputs"])


@pytest.mark.parametrize("value, expected", [
    (".nan", "finite"), (".inf", "finite"), ("-0.5", "out of range"), ("1.5", "out of range")])
def test_thresholds_must_be_finite_and_in_range(tmp_path, value, expected):
    path = tmp_path / "bad.yaml"
    path.write_text(f"input: {{paths: [x.warc.gz]}}\nsteps:\n  - {{step: ko_quality_v1, min_hangul_ratio: {value}}}\n")
    r = cli("validate", str(path))
    assert r.returncode == 2 and expected in r.stderr and "min_hangul_ratio" in r.stderr, r.stderr


def test_model_paths_are_checked_by_validate(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("input: {paths: [x.warc.gz]}\nsteps:\n  - {step: perplexity_v1, model_dir: /etc/hostname}\n")
    r = cli("validate", str(path))
    assert r.returncode == 2 and "model_dir: '/etc/hostname' is not a directory" in r.stderr, r.stderr


def test_a_glob_matching_nothing_names_the_input(tmp_path):
    cfg = small_config(tmp_path, tmp_path / "run")
    r = cli("run", str(cfg), "--input", str(tmp_path / "nothing-*.warc.gz"))
    assert r.returncode == 2 and "nothing-*.warc.gz' matches no file" in r.stderr, r.stderr


def test_the_same_shard_under_three_spellings_is_read_once(tmp_path):
    cfg = small_config(tmp_path, tmp_path / "run")
    os.symlink(tmp_path / "a.warc.gz", tmp_path / "link.warc.gz")
    r = cli("run", str(cfg), "--input", str(tmp_path / "a.warc.gz"), "--input", f"{tmp_path}/./a.warc.gz",
            "--input", str(tmp_path / "link.warc.gz"))
    assert r.returncode == 0, r.stderr
    s = summary(tmp_path / "run")
    assert s["documents_in"] == 3 and s["shards_total"] == 1


def test_config_errors_raise_config_error_in_process(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("input: {paths: [x]}\nexecution: {document_timeout_s: .nan}\n")
    with pytest.raises(ConfigError, match="document_timeout_s"):
        load_config(str(path))


def test_a_changed_word_list_reruns_the_shards(tmp_path):
    words = tmp_path / "stopwords.txt"
    words.write_text((ROOT / "configs" / "ko_stopwords.txt").read_text(encoding="utf-8"), encoding="utf-8")
    cfg = small_config(tmp_path, tmp_path / "run", steps=[{"step": "gopher_quality_ko_v1", "stopwords_path": str(words)}])
    assert cli("run", str(cfg)).returncode == 0
    r = cli("run", str(cfg))
    assert r.returncode == 0 and "resumed: 1 shard(s)" in r.stdout, r.stdout + r.stderr
    words.write_text(words.read_text(encoding="utf-8") + "\n새단어\n", encoding="utf-8")  # same path, new contents
    r = cli("run", str(cfg))
    assert r.returncode == 0 and "resumed" not in r.stdout, r.stdout + r.stderr


@pytest.mark.parametrize("backend", ["local", "ray"])
def test_a_model_file_that_does_not_load_is_a_config_error_on_every_backend(tmp_path, backend):
    """A model that exists (so the config is valid) but cannot be loaded in the worker: exit 2 with one line
    naming the file, on the local backend and through a Ray task alike (a Ray task's error used to exit 1)."""
    bad = tmp_path / "lid.bin"
    bad.write_bytes(b"not a fastText model")
    cfg = small_config(tmp_path, tmp_path / "run", steps=[{"step": "language_id_v1", "model_path": str(bad)}],
                       backend=backend, **({"num_cpus": 1} if backend == "ray" else {}))
    r = cli("run", str(cfg), timeout=300)
    err = r.stderr.strip().splitlines()
    assert r.returncode == 2, r.stderr[-2000:]
    assert "config error" in err[-1] and str(bad) in err[-1] and "cannot be loaded" in err[-1], r.stderr[-2000:]
