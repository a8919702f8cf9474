"""What makes a directory a ko-curate run directory, and the rules that keep a run from touching anything else.

    OUTPUT/.ko-curate-run   written when the run directory is created; only a directory that has it (or is
                            empty, or is a run directory of a version before the marker) is used as a run
                            directory, and only such a directory is ever deleted by `--restart`
    OUTPUT/.lock            {"pid", "host", "started"} while a run works in it; a second run on the same
                            directory stops with a RunError naming the holder. A lock left by a dead process
                            on this host is taken over.

`--restart` never deletes the working directory or one of its parents, the home directory or a filesystem
root, whatever they hold. Stale temp files (`NAME.tmp-<pid>`, core.atomic's in-progress names) are
removed only inside the directories and files this project writes (`OWNED_DIRS`, `OWNED_FILES`).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import time
from pathlib import Path

from core.atomic import TMP_NAME
from core.errors import ConfigError, RunError

MARKER = ".ko-curate-run"
LOCK = ".lock"
# Everything a run writes at the top of its directory. Stale temp files are looked for only here.
OWNED_DIRS = ("_stages", "extracted", "line_dedup", "filtered", "rejected", "stats", "documents", "dedup", "mix",
              "tokenizer", "tokens", "train", "ablation")
OWNED_FILES = ("summary.json", "config.yaml", "report.html", "report.json", MARKER)


def _protected(path: Path) -> str | None:
    """Why `path` must never be deleted, or None."""
    p = path.resolve()
    if p == Path(p.anchor):
        return "a filesystem root"
    if p == Path.home().resolve():
        return "the home directory"
    cwd = Path.cwd().resolve()
    if p == cwd or p in cwd.parents:
        return "the working directory or one of its parents"
    return None


def _only_our_names(path: Path) -> bool:
    return {p.name for p in path.iterdir()} <= set(OWNED_DIRS) | set(OWNED_FILES) | {LOCK}


def _is_legacy_run(path: Path) -> bool:
    """A run directory written before the marker existed: config.yaml and stats/, and nothing we do not write."""
    return (path / "config.yaml").is_file() and (path / "stats").is_dir() and _only_our_names(path)


def check_usable(path: Path, restart: bool) -> None:
    """Raise ConfigError unless `path` may be used (and, with restart, emptied) as a run directory."""
    if restart:
        why = _protected(path)
        if why:
            raise ConfigError(f"--restart refuses to delete {path}: it is {why}")
    if not path.exists():
        return
    if not path.is_dir():
        raise ConfigError(f"output {path} exists and is not a directory")
    if (path / MARKER).exists() or not any(path.iterdir()) or _is_legacy_run(path):
        return
    if not restart and _only_our_names(path):  # e.g. documents/ left by a run killed before it wrote the marker:
        return  # writing there touches only names of our layout; deleting it takes the marker
    raise ConfigError(
        f"output {path} is not empty and is not a ko-curate run directory (no {MARKER}); "
        f"{'--restart will not delete it' if restart else 'nothing was written there'}: choose another --output"
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


class RunLock:
    """`OUTPUT/.lock` for the life of a run (a context manager); see the module docstring."""

    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / LOCK
        self.held = False

    def __enter__(self) -> "RunLock":
        me = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.strftime("%Y-%m-%dT%H:%M:%S")}
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                holder = self._holder()
                if holder and (holder.get("host") != me["host"] or _alive(int(holder.get("pid", -1)))):
                    raise RunError(
                        f"{self.path.parent} is in use by another run (pid {holder.get('pid')} on "
                        f"{holder.get('host')} since {holder.get('started')}); wait for it, or delete "
                        f"{self.path} if that process is gone"
                    ) from None
                self.path.unlink(missing_ok=True)  # a dead run's lock (or an unreadable one): take it over
                continue
            with os.fdopen(fd, "w") as fh:
                json.dump(me, fh)
            self.held = True
            return self
        raise RunError(f"{self.path}: could not take the run lock")

    def _holder(self) -> dict | None:
        try:
            data = json.loads(self.path.read_text())
            return data if isinstance(data, dict) and "pid" in data else None
        except (OSError, ValueError):
            return None

    def __exit__(self, *exc) -> None:
        if self.held:
            self.path.unlink(missing_ok=True)
            self.held = False


def claim(run_dir: Path, restart: bool) -> None:
    """Make `run_dir` a run directory (marker written); with restart, empty it of everything but the lock.
    Call with the lock held, after `check_usable`."""
    run_dir.mkdir(parents=True, exist_ok=True)
    if restart:
        for p in run_dir.iterdir():
            if p.name == LOCK:
                continue
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            else:
                p.unlink()
    marker = run_dir / MARKER
    if not marker.exists():
        marker.write_text("ko-curate run directory: `pipeline run --restart` may delete this directory.\n")


def remove_stale_tmp(run_dir: str | os.PathLike) -> list[Path]:
    """Delete every `*.tmp-<pid>` file in the run directory's own files and subdirectories (left by a killed
    writer); return what was removed. Call only when no process can still be writing there: the pid in the
    name is not checked, because after a kill it may already belong to another process."""
    root = Path(run_dir)
    removed = []
    for name in OWNED_FILES:
        for p in root.glob(f"{name}.tmp-*"):
            if TMP_NAME.search(p.name) and p.is_file():
                p.unlink(missing_ok=True)
                removed.append(p)
    for sub in OWNED_DIRS:
        top = root / sub
        if not top.is_dir() or top.is_symlink():
            continue
        for dirpath, _, names in os.walk(top):
            for name in names:
                if TMP_NAME.search(name):
                    path = Path(dirpath) / name
                    path.unlink(missing_ok=True)
                    removed.append(path)
    return removed
