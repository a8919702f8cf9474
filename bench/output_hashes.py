"""Hashes of everything a run hands its user, so a refactor can show it changed no byte of the outputs.

    python bench/output_hashes.py configs/ko-web.yaml --save bench/baselines/sample.json
    python bench/output_hashes.py configs/ko-web.yaml --check bench/baselines/sample.json

Runs `pipeline run CONFIG` (local backend, a fresh temporary run directory; `--input` replaces input.paths)
and hashes every file of documents/, rejected/, mix/, tokenizer/ and tokens/ (name and bytes), plus the
figures of summary.json and report.json with what varies from run to run taken out: timings, timestamps,
package versions, the run directory's path, the config as written, fingerprints of settings. Bookkeeping
files (completion markers, a stage's working files) are not outputs and are not compared.
`--check` prints every output that differs from the saved hashes and exits 1 if any does.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

OUTPUT_DIRS = ("documents", "rejected", "mix", "tokenizer", "tokens")
# Keys whose values change between two runs of the same config (or name the run directory).
VOLATILE = {"seconds", "stage_seconds", "started", "finished", "documents_per_second", "versions", "config",
            "config_path", "fingerprint", "run_dir", "execution", "resumed", "worker_pid", "run", "extracted_copy",
            "generated", "elapsed"}


def _scrub(obj, run_dir: str):
    if isinstance(obj, dict):
        return {k: _scrub(v, run_dir) for k, v in obj.items() if k not in VOLATILE and not k.endswith("_seconds")}
    if isinstance(obj, list):
        return [_scrub(v, run_dir) for v in obj]
    if isinstance(obj, str):
        return obj.replace(run_dir, "RUN")
    return obj


def output_hashes(run_dir: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for d in OUTPUT_DIRS:
        for f in sorted((run_dir / d).rglob("*")) if (run_dir / d).is_dir() else []:
            if f.is_file() and not f.name.startswith("_"):
                rel = f.relative_to(run_dir).as_posix()
                if f.suffix == ".json":  # manifests carry the run directory's path and timings
                    data = _scrub(json.loads(f.read_text(encoding="utf-8")), str(run_dir))
                    out[rel] = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
                else:
                    out[rel] = hashlib.sha256(f.read_bytes()).hexdigest()
    for name in ("summary.json", "report.json"):
        p = run_dir / name
        if p.exists():
            data = _scrub(json.loads(p.read_text(encoding="utf-8")), str(run_dir))
            if name == "summary.json":
                data.get("stages", {}).pop("line_dedup", None)  # the pre-pass's bookkeeping, not an output
            out[name] = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("config")
    ap.add_argument("--input", action="append", help="replaces input.paths (repeatable)")
    ap.add_argument("--run-dir", help="hash this finished run instead of running the config")
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--save", help="write the hashes to this JSON file")
    g.add_argument("--check", help="compare with the hashes saved in this JSON file")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="ko-curate-hashes-") as tmp:
        run_dir = Path(args.run_dir) if args.run_dir else Path(tmp) / "run"
        if not args.run_dir:
            cmd = [sys.executable, "-m", "pipeline.cli", "run", args.config, "--output", str(run_dir), "--backend", "local"]
            for p in args.input or []:
                cmd += ["--input", p]
            subprocess.run(cmd, check=True)
        hashes = output_hashes(run_dir)
    print(f"{len(hashes)} output files hashed")
    if args.save:
        Path(args.save).parent.mkdir(parents=True, exist_ok=True)
        Path(args.save).write_text(json.dumps(hashes, indent=1, sort_keys=True) + "\n")
        print(f"saved to {args.save}")
    if args.check:
        saved = json.loads(Path(args.check).read_text())
        bad = sorted(k for k in saved.keys() | hashes.keys() if saved.get(k) != hashes.get(k))
        for k in bad:
            print(f"differs: {k} ({'missing now' if k not in hashes else 'new' if k not in saved else 'changed'})")
        print("identical" if not bad else f"{len(bad)} output(s) differ")
        return 1 if bad else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
