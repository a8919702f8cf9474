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

from pipeline.errors import ConfigError

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
    try:
        mod = stage_module(name)
    except ModuleNotFoundError as e:
        raise ConfigError(f"{where}: stage {name!r} is not available in this version ({e.name} missing)") from None
    if not isinstance(section, dict):
        raise ConfigError(f"{where}: must be a mapping")
    try:
        return mod.Config(**section)
    except ValidationError as e:
        err = e.errors()[0]
        loc = ".".join(str(x) for x in err["loc"])
        msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        raise ConfigError(f"{where}.{loc}: {msg}") from None
