"""Obtain KenLM's `lmplz` and `build_binary` programs: found on PATH, or built once from source and cached.

Only `pipeline lm train` needs them; scoring uses the `kenlm` Python module and a committed binary model.
Neither PyPI nor Debian ships `lmplz` as a binary, but the kenlm sdist on PyPI carries its C++ sources.
`ensure_kenlm_bin()` therefore:

1. returns `lmplz`/`build_binary` from `$KO_CURATE_CACHE/kenlm-bin/` (default `~/.cache/ko-curate`) or PATH;
2. otherwise checks for cmake, a C++ compiler and the Boost headers, naming the Debian package to install
   when one is missing (see `BUILD_DEPS`);
3. downloads the kenlm sdist with pip (`--no-binary kenlm --no-build-isolation`, so pip does not compile
   cmake from source as a build dependency), builds the two targets with cmake and copies them into the
   cache. About two minutes on two cores; later calls reuse the cache.

    from trainers.lm.lmplz import ensure_kenlm_bin
    bins = ensure_kenlm_bin()     # KenLMBinaries(lmplz=Path(...), build_binary=Path(...))
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from core.errors import RunError
from core.models import cache_dir

# The sdist version whose sources we build; 0.3.0 is the newest on PyPI (2025) and builds with Boost 1.74.
KENLM_SDIST = "kenlm==0.3.0"
# KenLM's CMakeLists.txt requires these Boost components (find_package ... REQUIRED), even for lmplz alone.
# Each entry: (what to look for, Debian package that provides it).
BUILD_DEPS = {
    "cmake": ("cmake", "cmake"),
    "c++ compiler": ("c++", "g++"),
    "boost program_options": ("boost/program_options.hpp", "libboost-program-options-dev"),
    "boost system": ("boost/system/error_code.hpp", "libboost-system-dev"),
    "boost thread": ("boost/thread.hpp", "libboost-thread-dev"),
    "boost unit_test_framework": ("boost/test/unit_test.hpp", "libboost-test-dev"),
}
APT_LINE = "apt-get install -y cmake g++ " + " ".join(
    sorted({pkg for _, pkg in BUILD_DEPS.values() if pkg.startswith("libboost")})
)
INCLUDE_DIRS = ("/usr/include", "/usr/local/include", "/opt/homebrew/include")


@dataclass(frozen=True)
class KenLMBinaries:
    lmplz: Path
    build_binary: Path


def find_kenlm_bin() -> KenLMBinaries | None:
    """The cached build if present, else programs on PATH, else None. Never builds."""
    cached = cache_dir() / "kenlm-bin"
    if (cached / "lmplz").is_file() and (cached / "build_binary").is_file():
        return KenLMBinaries(cached / "lmplz", cached / "build_binary")
    lmplz, build_binary = shutil.which("lmplz"), shutil.which("build_binary")
    if lmplz and build_binary:
        return KenLMBinaries(Path(lmplz), Path(build_binary))
    return None


def missing_build_deps() -> list[str]:
    """Debian packages whose absence would make the build fail (empty when all seem present)."""
    missing = []
    for what, (probe, pkg) in BUILD_DEPS.items():
        if "/" in probe:
            found = any(Path(d, probe).is_file() for d in INCLUDE_DIRS)
        else:
            found = shutil.which(probe) is not None or (what == "c++ compiler" and shutil.which("g++") is not None)
        if not found:
            missing.append(pkg)
    return missing


def ensure_kenlm_bin(jobs: int | None = None, log=print) -> KenLMBinaries:
    """Return usable lmplz/build_binary, building them into the cache on first use. RunError if impossible."""
    found = find_kenlm_bin()
    if found:
        return found
    missing = missing_build_deps()
    if missing:
        raise RunError(
            "building KenLM's lmplz needs missing packages: "
            f"{' '.join(missing)} (Debian/Ubuntu: apt-get install -y {' '.join(missing)})"
        )
    # two cores by default: the build is shared-machine friendly and takes ~2 minutes anyway
    jobs = jobs or min(2, os.cpu_count() or 1)
    out = cache_dir() / "kenlm-bin"
    with tempfile.TemporaryDirectory(prefix="kenlm-build-", dir=_mkdir(cache_dir())) as tmp:
        src = _fetch_sdist(Path(tmp), log)
        build = Path(tmp) / "build"
        log(f"building KenLM lmplz + build_binary from {src.name} with {jobs} jobs (about two minutes, once)")
        _run(["cmake", "-S", str(src), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release", "-DKENLM_MAX_ORDER=6"],
             "cmake configure")
        _run(["cmake", "--build", str(build), "--target", "lmplz", "build_binary", "-j", str(jobs)], "cmake build")
        out.mkdir(parents=True, exist_ok=True)
        for name in ("build_binary", "lmplz"):  # lmplz last: its presence marks the cache complete
            tmp_dst = out / f"{name}.tmp-{os.getpid()}"
            shutil.copy2(build / "bin" / name, tmp_dst)
            os.replace(tmp_dst, out / name)
    log(f"KenLM programs cached in {out}")
    return KenLMBinaries(out / "lmplz", out / "build_binary")


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _fetch_sdist(tmp: Path, log) -> Path:
    log(f"downloading the {KENLM_SDIST} source distribution with pip")
    _run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-build-isolation",
          "--no-binary", "kenlm", KENLM_SDIST, "-d", str(tmp)], "pip download of the kenlm sdist")
    tarballs = sorted(tmp.glob("kenlm-*.tar.gz"))
    if not tarballs:
        raise RunError(f"pip download of {KENLM_SDIST} produced no kenlm-*.tar.gz in {tmp}")
    with tarfile.open(tarballs[0]) as tf:
        tf.extractall(tmp, filter="data")
    src = tmp / tarballs[0].name.removesuffix(".tar.gz")
    if not (src / "lm" / "builder" / "lmplz_main.cc").is_file():
        raise RunError(f"{tarballs[0].name} holds no lmplz sources (lm/builder/lmplz_main.cc)")
    return src


def _run(cmd: list[str], what: str) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        hint = f"\nif a library is missing: {APT_LINE}" if "cmake" in what else ""
        raise RunError(f"{what} failed (exit {proc.returncode}): {' '.join(cmd)}\n{tail}{hint}")
