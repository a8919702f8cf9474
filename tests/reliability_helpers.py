"""Helpers for tests/test_reliability.py: the bundled job as a small test config, the
run's outputs reduced to hashes, running `pipeline run` as a killable subprocess, and finding the Ray worker
processes that a run started (read from /proc, so no extra package is needed).
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import yaml

ROOT = Path(__file__).resolve().parents[1]

# Outputs whose bytes must not depend on kills, resumes or the number of workers. Markers and stats files hold
# timings and pids; they are compared through `figures` below with those keys stripped.
DATA_GLOBS = ("documents/*.parquet", "rejected/*.parquet", "dedup/clusters.parquet", "dedup/stats.json",
              "tokenizer/tokenizer.model", "tokenizer/tokenizer.vocab", "tokenizer/stats.json",
              "tokens/*.arrow", "tokens/manifest.json")
VOLATILE_KEYS = {"seconds", "worker_pid", "resumed", "extracted_copy"}  # extracted_copy: how, not what


def job_config(tmp: Path, out: Path, *, backend: str = "local", num_cpus: int | None = None,
               shards: int = 4, report: bool = False) -> Path:
    """configs/ko-web.yaml on the first `shards` bundled sample shards, written to tmp/<name>.yaml."""
    cfg = yaml.safe_load((ROOT / "configs" / "ko-web.yaml").read_text(encoding="utf-8"))
    cfg["input"]["paths"] = [str(p) for p in sorted((ROOT / "data" / "sample").glob("*.warc.gz"))[:shards]]
    cfg["output"] = str(out)
    if not report:
        cfg.pop("report", None)  # matplotlib figures: seconds per run, and nothing the resume tests compare
    cfg["execution"]["backend"] = backend
    if num_cpus is not None:
        cfg["execution"]["num_cpus"] = num_cpus
    path = tmp / f"{out.name}.yaml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _strip(obj):
    if isinstance(obj, dict):
        return {k: _strip(v) for k, v in obj.items() if k not in VOLATILE_KEYS}
    if isinstance(obj, list):
        return [_strip(v) for v in obj]
    return obj


def digest(run_dir: Path) -> dict[str, str]:
    """sha256 of every data output, keyed by path relative to the run directory."""
    out = {}
    for pattern in DATA_GLOBS:
        for p in sorted(run_dir.glob(pattern)):
            out[str(p.relative_to(run_dir))] = sha256(p)
    return out


def figures(run_dir: Path) -> dict:
    """summary.json and stats/*.json without timings, pids, paths of temp files or resume flags."""
    s = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    keep = ("documents_in", "documents_kept", "documents_dropped", "bytes_in", "bytes_kept", "shards_total",
            "shards_failed", "steps", "stages")
    out = {k: _strip(s[k]) for k in keep}
    out["stats"] = {p.name: _strip(json.loads(p.read_text(encoding="utf-8"))) for p in sorted((run_dir / "stats").glob("*.json"))}
    return out


def leftover_tmp(run_dir: Path) -> list[str]:
    return sorted(str(p.relative_to(run_dir)) for p in run_dir.rglob("*.tmp-*"))


def cli_command(cfg: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "pipeline.cli", "run", str(cfg), *extra]


def run_cli(cfg: Path, *extra: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(cli_command(cfg, *extra), cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def start_cli(cfg: Path, *extra: str) -> subprocess.Popen:
    # Its own session, so that a kill reaches the whole process group (an embedded Ray's processes too).
    return subprocess.Popen(cli_command(cfg, *extra), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)


def kill_when(proc: subprocess.Popen, ready: Callable[[], bool], timeout: float = 300, poll: float = 0.01) -> bool:
    """SIGKILL the process group as soon as `ready()` holds; False if the process ended first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return True
        if proc.poll() is not None:
            return False
        time.sleep(poll)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    raise TimeoutError("the kill point was not reached in time")


def descendants(pid: int) -> list[int]:
    """Every live process below `pid` (children, grandchildren, ...), from /proc."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:  # the process ended while we looked
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])  # the name in (...) may hold spaces
        parents.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def process_title(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\x00", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def kill_shard_worker(driver: subprocess.Popen, task_title: str = "ray::process_shard", timeout: float = 240,
                      poll: float = 0.01) -> str | None:
    """Wait until a Ray worker of this run executes `task_title`, SIGKILL that worker, return its title.
    None if the run ended first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and driver.poll() is None:
        for pid in descendants(driver.pid):
            title = process_title(pid)
            if title.startswith(task_title):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:  # it finished the task between the look and the kill
                    continue
                return title
        time.sleep(poll)
    return None
