"""`load_config(path)`: the job config as every command reads it. `core.config.parse_config` checks the YAML
against the typed sections and every step's arguments; here the stages add what needs their own code: an existing
tokenizer (`tokenize.tokenizer`) must load and hold the EOS/BOS tokens the config names. Every problem is one ConfigError
line naming the file and the key.
"""

from __future__ import annotations

from typing import Any

from core.config import JobConfig, parse_config
from tokenizer.stage import check_files


def load_config(path: str, overrides: dict[str, Any] | None = None) -> JobConfig:
    cfg = parse_config(path, overrides)
    if cfg.tokenize is not None:
        check_files(cfg.tokenize, f"{path}: tokenize")
    return cfg
