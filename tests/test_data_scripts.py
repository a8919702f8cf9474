"""The scripts under data/ that build the sample, the sources, the dev set and the held-out sets from the reference
corpora in ../shared/data (not shipped): each one imports (two of them once imported a module that had moved)
and, when a corpus it is built from is missing, says which in one line on stderr, exits with code 2 and writes
nothing."""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# script → the reference files it reads, in the order it checks them
SCRIPTS = {
    "make_sample.py": ["kowiki-ref.jsonl.gz", "ko-statutes.jsonl.gz", "nsmc-reviews.jsonl.gz"],
    "make_sources.py": ["kowiki-ref.jsonl.gz", "ko-statutes.jsonl.gz"],
    "make_devset.py": ["kowiki-ref.jsonl.gz", "ko-statutes.jsonl.gz", "nsmc-reviews.jsonl.gz",
                       "ko-registers-dev.jsonl.gz"],
    "make_heldout.py": ["kowiki-ref.jsonl.gz", "ko-statutes.jsonl.gz", "nsmc-reviews.jsonl.gz"],
}


def _run(script: str, shared: Path, out: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "data" / script), "--shared", str(shared), "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_each_missing_reference_file_is_named(script, tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    for name in SCRIPTS[script]:  # present: every file before `name`; `name` itself is the one missing
        out = tmp_path / f"out-{name}"
        proc = _run(script, shared, out)
        assert proc.returncode == 2, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and f"no {shared / name}" in lines[0] and lines[0].startswith(script), proc.stderr
        assert not out.exists()
        with gzip.open(shared / name, "wt", encoding="utf-8") as f:  # an empty corpus: enough to pass the check
            f.write("")
