"""The shape of the code that README's ARCHITECTURE section promises: imports go one way between the packages
(core < filters < tokenizer < pipeline < trainers) with no cycle between sibling modules, checked by
import-linter with the contracts in pyproject.toml; the per-document steps load without the runner; and no
module grows past one screenful of responsibilities."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("core", "filters", "tokenizer", "pipeline", "trainers")


def test_layer_and_cycle_contracts_hold():
    exe = shutil.which("lint-imports", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    assert exe, "import-linter is part of the dev extra: pip install -e '.[dev]'"
    r = subprocess.run([exe, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert "2 kept, 0 broken" in r.stdout


def test_every_step_module_loads_without_the_runner():
    code = ("import sys; from core.steps import STEP_MODULES, registry; registry(); "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('pipeline', 'tokenizer', 'trainers')); "
            "print(len(STEP_MODULES)); assert not bad, bad")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert int(r.stdout.strip()) >= 10


def test_modules_stay_small_and_the_runner_is_a_loop():
    sizes = {str(p.relative_to(ROOT)): len(p.read_text(encoding="utf-8").splitlines())
             for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}
    assert len(sizes) > 60
    assert {p: n for p, n in sizes.items() if n > 400} == {}
    assert sizes["pipeline/run.py"] < 80
