"""Reading shards: records out of WARC / WET / JSONL / Parquet files or Common Crawl's index (`readers`, `warc`,
`ccindex`), charset decoding and the raw-byte Korean pre-filter (`charset`), feeds (`feeds`) and main-content
extraction from HTML (`extract`). `shard_paths` turns `input:` into the run's list of shards.
"""

from __future__ import annotations

from core.config import InputConfig, expand_inputs
from pipeline.read import ccindex


def shard_paths(cfg: InputConfig, key: str = "input.paths") -> list[str]:
    """The shards of the run: the files `cfg.paths` name, or with format cc_index one `ccindex://` shard per
    `cc_index.records_per_shard` index hits (pipeline/read/ccindex.py), which `read_shard` reads."""
    if cfg.format == "cc_index":
        return ccindex.plan_shards(cfg, key)
    return expand_inputs(cfg.paths, key)
