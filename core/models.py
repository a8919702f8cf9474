"""Heavy models load once per worker process, lazily, on first use.

Ray reuses worker processes across tasks, so a module-level cache keyed by the model file loads each model
once per worker. Steps keep only the path (cheap to construct and to pickle) and call `cached(...)` when they
first need the model. A missing or unreadable model file is a ConfigError naming the file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

from core.budget import paused
from core.errors import ConfigError

_CACHE: dict[tuple[str, str], Any] = {}


def cached(kind: str, path: str, loader: Callable[[str], Any]) -> Any:
    key = (kind, os.path.abspath(path))
    if key not in _CACHE:
        if not os.path.isfile(path):
            raise ConfigError(f"{kind} model file not found: {path}")
        try:
            with paused():  # the model is the worker's, not the document's: not on its time budget
                _CACHE[key] = loader(path)
        except Exception as e:  # the loaders raise assorted C++ errors; name the file whatever they are
            raise ConfigError(f"{kind} model file cannot be loaded: {path}: {type(e).__name__}: {e}") from e
    return _CACHE[key]


def resolve_model_path(path: str) -> str:
    """Relative model paths in config resolve against the project root when not found from the cwd."""
    if os.path.isabs(path) or os.path.exists(path):
        return path
    here = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), path)
    return here if os.path.exists(here) else path


def load_fasttext(path: str):
    """A fastText model (language ID, the quality classifier), without fastText's load-time warning."""
    import fasttext

    fasttext.FastText.eprint = lambda *a, **k: None  # silence the load-time deprecation warning
    return fasttext.load_model(path)


def cache_dir() -> Path:
    """Root of ko-curate's cache (what is built once per machine: the KenLM programs, the UT1 index):
    $KO_CURATE_CACHE, else ~/.cache/ko-curate."""
    return Path(os.environ.get("KO_CURATE_CACHE") or Path.home() / ".cache" / "ko-curate")
