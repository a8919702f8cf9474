"""`line_dedup_v1`: remove the lines that the line-dedup pre-pass (pipeline/repeated_lines.py) found on many pages.

The pre-pass writes `RUN/line_dedup/frequent_lines.npy` (sorted uint64 hashes of normalized lines seen on at
least `min_repeats` distinct documents of the corpus); this step hashes each line of a document the same way
(`core.linehash.normalized_lines` / `line_hash`) and removes those in the set: site footers, menus,
copyright notices, byline templates. Put it first among the steps, before any document-level filter, so that
they judge what is left. A document left with fewer than `min_chars_after` characters is dropped as
`line_dedup_empty`. Counters: `line_dedup_lines_removed`, `line_dedup_bytes_removed` (UTF-8, with newlines);
column `line_dedup_lines_removed` per document.
"""

from __future__ import annotations

import os
import re
from typing import ClassVar

import numpy as np
from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter

from core.errors import ConfigError
from core.linehash import line_hash, normalized_lines
from core.models import cached
from core.steps import register_step

_BLANK_RUNS = re.compile(r"\n\s*\n(\s*\n)+")


def _load_hashes(path: str) -> np.ndarray:
    arr = np.load(path)
    if arr.dtype != np.uint64 or arr.ndim != 1:
        raise ValueError(f"expected a 1-d uint64 array, got {arr.dtype} {arr.shape}")
    return arr


@register_step("line_dedup_v1")
class LineDedup(BaseFilter):
    """Remove corpus-frequent lines from `doc.text`; drop as `line_dedup_empty` when too little remains."""

    name = "🧹 line dedup (CCNet)"
    columns: ClassVar[dict[str, type]] = {"line_dedup_lines_removed": int}

    def __init__(
        self,
        # `{run_dir}` is filled in by the runner; the file is written by the `line_dedup:` pre-pass.
        frequent_lines_path: str = "{run_dir}/line_dedup/frequent_lines.npy",
        # 1: drop only documents the removal emptied; the length filters after it decide about short ones.
        min_chars_after: int = 1,
        exclusion_writer=None,
    ):
        super().__init__(exclusion_writer)
        self.frequent_lines_path = frequent_lines_path
        self.min_chars_after = min_chars_after

    @property
    def frequent(self) -> np.ndarray:
        if not os.path.isfile(self.frequent_lines_path):
            raise ConfigError(f"line_dedup_v1: {self.frequent_lines_path} not found: the config needs a "
                              "`line_dedup:` section so the pre-pass writes it before the steps run")
        return cached("line dedup hashes", self.frequent_lines_path, _load_hashes)

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        frequent = self.frequent
        text_lines = doc.text.split("\n")
        removed_lines = removed_bytes = 0
        if len(frequent):
            hashes = np.fromiter(map(line_hash, normalized_lines(doc.text)), np.uint64, len(text_lines))
            pos = np.minimum(np.searchsorted(frequent, hashes), len(frequent) - 1)
            hit = frequent[pos] == hashes
            # blank and too-short lines normalize to strings the pre-pass never counted; they never hit
            if hit.any():
                kept = []
                for line, is_frequent in zip(text_lines, hit):
                    if is_frequent and line.strip():
                        removed_lines += 1
                        removed_bytes += len(line.encode("utf-8")) + 1  # + its newline
                    else:
                        kept.append(line)
                doc.text = _BLANK_RUNS.sub("\n\n", "\n".join(kept)).strip()
        doc.metadata["line_dedup_lines_removed"] = removed_lines
        if removed_lines:
            self.stat_update("line_dedup_lines_removed", value=removed_lines)
            self.stat_update("line_dedup_bytes_removed", value=removed_bytes)
        if len(doc.text.strip()) < self.min_chars_after:
            return False, "line_dedup_empty"
        return True
