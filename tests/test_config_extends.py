"""`extends:` in a job config: a config laid over another (mappings merged key by key, anything else replaced),
relative to the extending file, chains, and one-line errors for a missing base or a cycle. The shipped variant
(configs/ko-web-rehydrate.yaml) differs from configs/ko-web.yaml only where it says, and `pipeline ablate`
derives its arms from the resolved config, not the file as written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from core.config import config_mapping
from core.errors import ConfigError
from pipeline.job import load_config
from trainers.ablate import derived_config

ROOT = Path(__file__).resolve().parents[1]

BASE = {
    "input": {"paths": ["x.warc.gz"], "source": "web"},
    "output": "runs/base",
    "steps": [{"step": "language_id_v1", "min_score": 0.5}, {"step": "ko_signals_v1"}],
    "dedup": {"exact": True, "fuzzy": True, "threshold": 0.8, "num_perm": 112},
    "tokenize": {"vocab_size": 8000},
    "execution": {"backend": "local", "batch_size": 64},
}


def write(path: Path, cfg: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    return path


def test_child_is_laid_over_its_base(tmp_path):
    write(tmp_path / "base.yaml", BASE)
    child = write(tmp_path / "variants" / "child.yaml", {
        "extends": "../base.yaml",  # relative to the child, not to the current directory
        "output": "runs/child",
        "steps": [{"step": "language_id_v1"}],  # a list replaces the base's
        "dedup": {"threshold": 0.7},  # a mapping merges: the other dedup keys stay
        "tokenize": None,  # null turns a stage off
    })
    job = load_config(str(child))
    assert job.output == "runs/child" and job.input.source == "web"
    assert [s["step"] for s in job.steps] == ["language_id_v1"] and "min_score" not in job.steps[0]
    assert job.dedup.threshold == 0.7 and job.dedup.num_perm == 112 and job.dedup.fuzzy
    assert job.tokenize is None
    assert job.execution.batch_size == 64


def test_chain_and_overrides_on_top(tmp_path):
    write(tmp_path / "a.yaml", BASE)
    write(tmp_path / "b.yaml", {"extends": "a.yaml", "execution": {"batch_size": 32}})
    c = write(tmp_path / "c.yaml", {"extends": "b.yaml", "dedup": {"num_perm": 128}})
    job = load_config(str(c), {"output": str(tmp_path / "run")})
    assert job.execution.batch_size == 32 and job.dedup.num_perm == 128 and job.dedup.threshold == 0.8
    assert job.output == str(tmp_path / "run")
    bases: list[Path] = []
    config_mapping(c, bases)
    assert bases == [(tmp_path / "b.yaml").resolve(), (tmp_path / "a.yaml").resolve()]


def test_missing_base_cycle_and_bad_value_are_one_line_errors(tmp_path):
    missing = write(tmp_path / "missing.yaml", {"extends": "nope.yaml"})
    r = subprocess.run([sys.executable, "-m", "pipeline.cli", "validate", str(missing)], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    err = r.stderr.strip()
    assert r.returncode == 2 and len(err.splitlines()) == 1, err
    assert "missing.yaml: extends: config file not found: nope.yaml" in err

    write(tmp_path / "x.yaml", {"extends": "y.yaml"})
    write(tmp_path / "y.yaml", {"extends": "x.yaml"})
    with pytest.raises(ConfigError, match=r"y\.yaml: extends: a cycle \(\S*x\.yaml -> \S*y\.yaml -> \S*x\.yaml\)"):
        load_config(str(tmp_path / "x.yaml"))
    write(tmp_path / "self.yaml", {"extends": "self.yaml"})
    with pytest.raises(ConfigError, match="a cycle"):
        load_config(str(tmp_path / "self.yaml"))
    write(tmp_path / "list.yaml", {"extends": ["a.yaml"]})
    with pytest.raises(ConfigError, match="list.yaml: extends: must be the path of another config file"):
        load_config(str(tmp_path / "list.yaml"))


def test_an_error_in_a_base_names_the_base_too(tmp_path):
    write(tmp_path / "base.yaml", {**BASE, "dedup": {"threshold": "high"}})
    child = write(tmp_path / "child.yaml", {"extends": "base.yaml"})
    with pytest.raises(ConfigError) as e:
        load_config(str(child))
    assert "child.yaml (extends " in str(e.value) and "base.yaml)" in str(e.value)
    assert "dedup.threshold" in str(e.value)


def test_rehydrate_config_is_ko_web_but_for_what_it_sets():
    web = load_config("configs/ko-web.yaml").model_dump()
    rehydrate = load_config("configs/ko-web-rehydrate.yaml").model_dump()
    assert {k for k in web if web[k] != rehydrate[k]} == {"output", "mix"}
    web_mix, re_mix = web["mix"], rehydrate["mix"]
    assert web_mix["sources"][0]["rehydrate"] is None
    assert re_mix["sources"][0]["rehydrate"]["column"] == "cluster_size"
    re_mix["sources"][0]["rehydrate"] = None
    assert re_mix == web_mix


def test_ablate_arms_come_from_the_resolved_config(tmp_path):
    write(tmp_path / "base.yaml", BASE)
    child = write(tmp_path / "child.yaml", {"extends": "base.yaml", "execution": {"batch_size": 16}})
    arm = derived_config(str(child), "dedup-only", tmp_path / "ablation")
    assert "extends" not in yaml.safe_load(arm.read_text(encoding="utf-8"))
    job = load_config(str(arm))
    assert job.steps == [] and job.execution.batch_size == 16 and job.dedup.num_perm == 112
    assert job.input.paths == ["x.warc.gz"]
