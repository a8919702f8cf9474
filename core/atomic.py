"""Atomic writes: every output is written to `NAME.tmp-<pid>` and renamed into place.

A reader (or a resumed run) therefore never sees a half-written file under its final name. Completion
markers are written only after the outputs they vouch for have been renamed. A process killed mid-write
(SIGKILL, a lost Ray worker) leaves its `.tmp-<pid>` file behind; `pipeline.rundir.remove_stale_tmp` clears
those, inside the run directory's own files only, when no writer can still be alive.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it to `path` if the block succeeds, delete it if not."""
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f"{final.name}.tmp-{os.getpid()}")
    try:
        yield tmp
        if tmp.exists():
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_json(path: str | os.PathLike, obj: Any) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=False, default=str), encoding="utf-8")


def read_json(path: str | os.PathLike) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))


# The in-progress name `atomic_path` writes; pipeline.rundir removes stale ones, pipeline.storage skips them.
TMP_NAME = re.compile(r"\.tmp-\d+$")


def sha256_file(path: str | os.PathLike) -> str:
    """Hex sha256 of a file's bytes, read in 1 MiB blocks (manifest checksums)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
