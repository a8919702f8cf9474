"""What the benchmarks share: the reference corpora and their texts, staged input shards, CPU seconds, memory.

    from bench.harness import ROOT, SHARED, cpu_seconds, jsonl_texts, peak_rss_mib, shared_data

`bench` is a package of the project (pyproject.toml), so after `pip install -e '.[bench]'` every script runs
from the repository root as `python bench/<group>/<name>.py` and imports this module as above.

- Reference corpora: Korean Wikipedia, statutes and movie reviews as .jsonl.gz in ../shared/data beside the
  repository (not shipped; KO_CURATE_SHARED=DIR points elsewhere). A bench that needs them calls
  `shared_data(...)` first: it exits with one line (code 2) when they are absent.
- CPU seconds: `cpu_seconds()` of this process (every thread), `children_cpu_seconds()` of the children it has
  waited for (a `subprocess.run`, a forked sandbox). Documents/s "per core" divide by these.
- Memory: `peak_rss_mib()` (this process's high-water mark), `rss_mib()` (now), and `ProcessTreeSampler` for
  a process and everything under it (Ray's workers), read from /proc.
"""

from __future__ import annotations

import glob
import gzip
import json
import os
import resource
import shutil
import sys
import threading
import time
import unicodedata
from collections.abc import Iterable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("KO_CURATE_SHARED") or ROOT.parent / "shared" / "data")


# -- the reference corpora ---------------------------------------------------------------------------------------

def shared_data(*paths: str | Path) -> Path:
    """`SHARED`, or the first of `paths`, after checking that every one exists (default: `SHARED` itself).
    When one is missing: one line on stderr naming the script and the path, and exit code 2."""
    paths = tuple(Path(p) for p in paths) or (SHARED,)
    for path in paths:
        if not path.exists():
            script = Path(sys.argv[0]).resolve()
            name = script.relative_to(ROOT) if script.is_relative_to(ROOT) else script
            print(f"{name} needs ../shared/data (the reference corpora beside the repository; KO_CURATE_SHARED=DIR "
                  f"points elsewhere); not found at {path}", file=sys.stderr)
            sys.exit(2)
    return paths[0]


def jsonl_records(path: str | Path) -> Iterator[dict]:
    """The JSON objects of a .jsonl.gz file, one a line, as they are."""
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            yield json.loads(line)


def jsonl_texts(path: str | Path) -> Iterator[str]:
    """The `text` of every record of a .jsonl.gz file, normalized to NFC (as the pipeline reads text)."""
    for record in jsonl_records(path):
        yield unicodedata.normalize("NFC", record["text"])


def chunks(source: Iterable[str], n: int, size_bytes: int = 2048) -> list[str]:
    """`n` documents of `size_bytes` UTF-8 bytes (cut at a character boundary, so a few bytes fewer) from the
    texts joined by newlines, in order; fewer when the texts run out."""
    out: list[str] = []
    buf = ""
    for text in source if n > 0 else ():
        buf += text + "\n"
        while len(buf.encode("utf-8")) >= size_bytes:
            head = buf.encode("utf-8")[:size_bytes].decode("utf-8", errors="ignore")
            out.append(head)
            buf = buf[len(head):]
            if len(out) == n:
                return out
    return out


def read_manifest(path: str | Path) -> dict[str, dict]:
    """url → row of a shard set's manifest.jsonl (data/sample/, a dev set): what each page is."""
    with open(path, encoding="utf-8") as f:
        return {row["url"]: row for row in (json.loads(line) for line in f if line.strip())}


# -- input shards ------------------------------------------------------------------------------------------------

def stage_shards(pattern: str, dest: Path, copies: int = 1) -> list[Path]:
    """Copies of the shards matching `pattern` (a glob) in `dest`, each `copies` times as `<name>-r<k>.<ext>`,
    so that every run of a bench reads the very same files. Exits with one line when nothing matches."""
    sources = sorted(glob.glob(pattern))
    if not sources:
        sys.exit(f"no input shards match {pattern}")
    dest.mkdir(parents=True, exist_ok=True)
    out = []
    for k in range(copies):
        for src in sources:
            stem, dot, ext = Path(src).name.partition(".")
            target = dest / f"{stem}-r{k}{dot}{ext}"
            shutil.copyfile(src, target)
            out.append(target)
    return out


# -- CPU time and memory -----------------------------------------------------------------------------------------

def cpu_seconds(children: bool = False) -> float:
    """User + system CPU seconds of this process, all its threads; with `children`, plus `children_cpu_seconds()`
    (datatrove's Trafilatura runs in a forked child, reaped at the end of the run)."""
    return time.process_time() + (children_cpu_seconds() if children else 0.0)


def children_cpu_seconds() -> float:
    """User + system CPU seconds of the children this process has waited for (rusage)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def peak_rss_mib() -> float:
    """This process's peak resident memory so far (ru_maxrss, KiB on Linux), in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mib() -> float:
    """This process's resident memory now (/proc/self/statm), in MiB."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _parents() -> dict[int, list[int]]:
    """ppid → pids of every process, from /proc/<pid>/stat."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):  # ended while listing
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    return children


def _descendants(root: int) -> list[int]:
    children, out, todo = _parents(), [], [root]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


class ProcessTreeSampler:
    """Memory and CPU of this process and of every process under it (Ray's workers and daemons, forked
    children), read from /proc every `interval` seconds on a thread from start until `stop()`.

    Per pid: `hwm` the kernel's high-water mark (VmHWM: a true peak), `rss` the largest resident size sampled
    (a peak shorter than `interval` can be missed), `cpu` user + system seconds at its last sample, `name` its
    command line (a Ray worker's "ray::<task>" title is kept once seen); all sizes in bytes. `total_rss`: the
    largest sum of resident sizes at one instant; `dir_bytes`: the largest size of the files in `watch_dir`."""

    def __init__(self, interval: float = 0.5, watch_dir: Path | None = None):
        self.me = os.getpid()
        self.interval, self.watch_dir = interval, watch_dir
        self.hwm: dict[int, int] = {}
        self.rss: dict[int, int] = {}
        self.cpu: dict[int, float] = {}
        self.name: dict[int, str] = {}
        self.total_rss = self.dir_bytes = 0
        self._tick = os.sysconf("SC_CLK_TCK")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _sample_one(self, pid: int) -> int:
        with open(f"/proc/{pid}/status") as f:
            fields = dict(line.split(":", 1) for line in f if line.startswith(("VmHWM:", "VmRSS:")))
        if "VmRSS" not in fields:  # a kernel thread or a zombie: no memory of its own
            return 0
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
        with open(f"/proc/{pid}/cmdline") as f:
            name = " ".join(f.read().split("\0")).strip()[:60] or stat[stat.index("(") + 1:stat.rindex(")")]
        hwm, rss = (int(fields[k].split()[0]) * 1024 for k in ("VmHWM", "VmRSS"))
        user, system = stat.rsplit(")", 1)[1].split()[11:13]
        self.hwm[pid] = max(hwm, self.hwm.get(pid, 0))
        self.rss[pid] = max(rss, self.rss.get(pid, 0))
        self.cpu[pid] = (int(user) + int(system)) / self._tick
        if not (self.name.get(pid, "").startswith("ray::") and not name.startswith("ray::")):
            self.name[pid] = name
        return rss

    def sample(self) -> None:
        total = 0
        for pid in [self.me, *_descendants(self.me)]:
            try:
                total += self._sample_one(pid)
            except (OSError, ValueError, IndexError):  # ended between listing and reading
                continue
        self.total_rss = max(self.total_rss, total)
        if self.watch_dir is not None:
            size = 0
            for p in self.watch_dir.glob("*"):
                try:
                    size += p.stat().st_size
                except FileNotFoundError:  # deleted between listing and stat
                    pass
            self.dir_bytes = max(self.dir_bytes, size)

    def _run(self) -> None:
        while True:
            self.sample()
            if self._stop.wait(self.interval):
                return

    def stop(self) -> ProcessTreeSampler:
        """Stop sampling (after one last sample) and return self."""
        self._stop.set()
        self._thread.join()
        self.sample()
        return self

    def ray_workers(self) -> list[int]:
        return [pid for pid, name in self.name.items() if name.startswith("ray::")]
