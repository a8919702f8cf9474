"""Run directories on object storage: `output: s3://bucket/runs/x` (any fsspec URL) for `pipeline run`.

Every stage writes local files (pyarrow, SentencePiece, atomic renames), and object stores have no rename, so
a remote run works in a local *staging directory* and mirrors it to the URL:

    run_job:  run_dir = RemoteRun(url, staging_dir).prepare(restart)   # pull the remote copy (resume)
              ... each finished shard, each finished stage, summary, report → RemoteRun.push()

`push()` uploads every file that changed since the last push, data files first and completion markers
(`stats/<shard>.json`, `_stages/<stage>.json`, `*/_SUCCESS`, `manifest.json`, `summary.json`) last, then deletes remote objects
that no longer exist locally (a stage's temporary files). What is atomic on S3 is one object PUT; so a marker
that exists remotely vouches for the data uploaded before it, as a local marker does after its renames. A push
that overwrites or deletes objects (a stage redone with other settings) first writes `_UPLOADING`
and removes it at the end: a resume that finds it refuses to continue from the remote copy alone (the
staging directory on the machine that was uploading still has the whole run).

Resume: `prepare()` downloads the remote files missing from the staging directory, so a run can continue on a
fresh machine; on the same machine the staging directory (stable per URL) already holds them. On a
multi-node Ray cluster the staging directory must be on a filesystem every node sees, as a local `output` must.

Credentials and endpoint come from the usual places of the fsspec backend: for s3fs, the AWS environment
(`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_ENDPOINT_URL` for an S3-compatible server) or fsspec's
own config (`FSSPEC_S3_ENDPOINT_URL`, `FSSPEC_S3_KEY`, ...).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path

from core.atomic import TMP_NAME
from core.config import is_remote
from core.errors import ConfigError, RunError
from pipeline.rundir import LOCK, MARKER

# Files that vouch for others (written last by the stages that own them); uploaded after everything else.
_MARKER_NAMES = {"_SUCCESS", "_STAGED", "_COMPUTED", "manifest.json"}
_LAST = ("summary.json", "report.json", "report.html")
UPLOADING = "_UPLOADING"
# The extract stage's copies (pipeline/extracted.py) are work files: never uploaded. A resume on another machine
# without them reads and extracts the shards again where it needs them (the steps stage and line dedup do).
# The run lock (pipeline/rundir.py) belongs to the staging directory's machine.
_LOCAL_ONLY = ("extracted/", ".lock")

__all__ = ["RemoteRun", "is_remote", "default_staging_dir"]


def default_staging_dir(url: str) -> Path:
    """Stable per URL, so a rerun on the same machine resumes from what it already has."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", url.split("://", 1)[-1]).strip("_")[-60:]
    digest = hashlib.sha256(url.encode()).hexdigest()[:10]
    return Path(tempfile.gettempdir()) / "ko-curate-staging" / f"{slug}-{digest}"


def _upload_rank(rel: str) -> int:
    if rel == MARKER:  # first: a remote prefix holding any of our files is then known to be a run directory
        return -1
    name = rel.rsplit("/", 1)[-1]
    if rel in _LAST:
        return 2 + _LAST.index(rel)
    if name in _MARKER_NAMES or rel.startswith(("stats/", "_stages/")):
        return 1
    return 0


class RemoteRun:
    def __init__(self, url: str, staging_dir: str | None = None):
        import fsspec

        self.url = url.rstrip("/")
        self.fs, self.root = fsspec.core.url_to_fs(self.url)
        self.root = self.root.rstrip("/")
        self.local = Path(staging_dir) if staging_dir else default_staging_dir(self.url)
        # rel path → (size, mtime_ns) of the local file as last uploaded (or downloaded)
        self._synced: dict[str, tuple[int, int]] = {}
        self.uploaded = self.downloaded = self.deleted = 0

    # -- remote listing ----------------------------------------------------------------------------
    def _remote_files(self) -> dict[str, int]:
        try:
            found = self.fs.find(self.root, detail=True)
        except FileNotFoundError:
            return {}
        out = {}
        for path, info in found.items():
            if info.get("type") == "directory":
                continue
            rel = path.removeprefix(self.root).lstrip("/")
            if rel:
                out[rel] = int(info.get("size") or 0)
        return out

    def _local_files(self) -> dict[str, tuple[int, int]]:
        out = {}
        for dirpath, _, names in os.walk(self.local):
            for name in names:
                if TMP_NAME.search(name):
                    continue
                p = Path(dirpath) / name
                rel = p.relative_to(self.local).as_posix()
                if rel.startswith(_LOCAL_ONLY):
                    continue
                st = p.stat()
                out[rel] = (st.st_size, st.st_mtime_ns)
        return out

    # -- the run's two ends ------------------------------------------------------------------------
    def prepare(self, restart: bool = False) -> Path:
        """Make the staging directory match the remote run (or clear both on restart); return it."""
        remote = self._remote_files()
        legacy = "config.yaml" in remote and any(rel.startswith("stats/") for rel in remote)  # before the marker
        if remote and MARKER not in remote and not legacy:
            raise ConfigError(f"output {self.url} is not empty and is not a ko-curate run directory (no {MARKER}): "
                              f"nothing was written or deleted there; choose another output")
        if restart:
            if "/" not in self.root:
                raise ConfigError(f"--restart refuses to delete {self.url}: it is a whole bucket")
            for rel in sorted(remote):
                self.fs.rm_file(f"{self.root}/{rel}")
            remote = {}
            for p in self.local.iterdir() if self.local.is_dir() else ():
                if p.name != LOCK:
                    shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()
        self.local.mkdir(parents=True, exist_ok=True)
        if UPLOADING in remote:
            raise RunError(
                f"{self.url}: an upload was interrupted while it replaced files ({UPLOADING} exists); resume on "
                f"the machine whose staging directory has the run (execution.staging_dir), or use --restart"
            )
        for rel, size in sorted(remote.items()):
            dest = self.local / rel
            if not (dest.is_file() and dest.stat().st_size == size):
                dest.parent.mkdir(parents=True, exist_ok=True)
                tmp = dest.with_name(f"{dest.name}.tmp-{os.getpid()}")
                self.fs.get_file(f"{self.root}/{rel}", str(tmp))
                os.replace(tmp, dest)
                self.downloaded += 1
        local = self._local_files()
        self._synced = {rel: st for rel, st in local.items() if remote.get(rel) == st[0]}
        return self.local

    def push(self) -> dict[str, int]:
        """Upload what changed since the last push (markers last), then delete what is gone locally."""
        try:
            return self._push()
        except OSError as e:  # s3fs turns service errors (denied, no such bucket, timeouts) into OSErrors
            raise RunError(f"{self.url}: upload failed: {type(e).__name__}: {e}") from e

    def _push(self) -> dict[str, int]:
        local = self._local_files()
        changed = sorted((rel for rel, st in local.items() if self._synced.get(rel) != st),
                         key=lambda rel: (_upload_rank(rel), rel))
        gone = sorted(rel for rel in self._synced if rel not in local)
        replacing = bool(gone) or any(rel in self._synced for rel in changed)
        if not changed and not gone:
            return {"uploaded": 0, "deleted": 0}
        if replacing:
            with self.fs.open(f"{self.root}/{UPLOADING}", "w") as f:
                f.write(json.dumps({"replacing": [r for r in changed if r in self._synced], "deleting": gone}))
        for rel in changed:
            self.fs.put_file(str(self.local / rel), f"{self.root}/{rel}")
            self._synced[rel] = local[rel]
        for rel in gone:
            if self.fs.exists(f"{self.root}/{rel}"):
                self.fs.rm_file(f"{self.root}/{rel}")
            del self._synced[rel]
        if replacing:
            self.fs.rm_file(f"{self.root}/{UPLOADING}")
        self.uploaded += len(changed)
        self.deleted += len(gone)
        return {"uploaded": len(changed), "deleted": len(gone)}
