"""`load_config(path)`: the job config as every command reads it. `core.config.parse_config` checks the YAML
against the typed sections and every step's arguments; here the stages add what needs their own code: an existing
tokenizer (`tokenize.tokenizer`) must load and hold the EOS/BOS tokens the config names. Every problem is one ConfigError
line naming the file and the key.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from core.config import JobConfig, parse_config, validation_message
from core.errors import ConfigError
from tokenizer.stage import check_files


def load_config(path: str, overrides: dict[str, Any] | None = None) -> JobConfig:
    cfg = parse_config(path, overrides)
    if cfg.tokenize is not None:
        check_files(cfg.tokenize, f"{path}: tokenize")
    return cfg


def validate_section(name: str, section: Any, where: str):
    """One stage's section (`dedup`, `mix`, `tokenize`, ...) checked as `load_config` checks it: its typed model
    (core/sections.py), then what needs the stage's own code. ConfigError naming `where.key`."""
    if not isinstance(section, dict):
        raise ConfigError(f"{where}: must be a mapping")
    model = JobConfig.model_fields[name].annotation.__args__[0]  # `SectionConfig | None`
    try:
        cfg = model(**section)
    except ValidationError as e:
        raise ConfigError(validation_message(e, where)) from None
    if name == "tokenize":
        check_files(cfg, where)
    return cfg
