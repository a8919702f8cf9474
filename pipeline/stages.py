"""The registry of barrier stages: the work that runs after every shard's per-document pass.

Each stage module exposes
  - `Config`: a pydantic model (extra="forbid") for its YAML section (`dedup:`, `mix:`, `tokenize:`, `report:`);
  - `run(cfg: Config, job: JobConfig, run_dir: pathlib.Path, executor: Executor) -> dict`: reads what earlier
    stages wrote under `run_dir`, writes its own outputs atomically, and returns figures that go into
    `summary.json` under the stage's name. Work is split into tasks with `executor.map`; a stage never holds
    the whole corpus in one process.
Stages run in the order of STAGE_ORDER, each only when its section is present in the config.
No documents is not a failure: a stage given none (a run that kept nothing) writes its usual outputs and markers
with zero counts and returns its figures with `"note": "no documents"`, so summary.json and the report are
still written (tests/test_empty_run.py).
"""

from __future__ import annotations

import importlib
from typing import Any

from pydantic import ValidationError

from core.config import JobConfig, validation_message
from core.errors import ConfigError
from tokenizer.stage import check_files

STAGE_MODULES = {
    "dedup": "pipeline.dedup.stage",
    "mix": "pipeline.mix",
    "tokenize": "tokenizer.stage",
    "report": "pipeline.report",
}
STAGE_ORDER = ("dedup", "mix", "tokenize", "report")


def stage_module(name: str):
    return importlib.import_module(STAGE_MODULES[name])


def validate_section(name: str, section: Any, where: str):
    """A stage's section, checked as `load_config` checks it: its typed model (core/sections.py), then what needs
    the stage's own code (the tokenize section's tokenizer file). ConfigError naming `where.key`."""
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
