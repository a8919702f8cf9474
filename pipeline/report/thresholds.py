"""The thresholds and cutoffs of a run, from what its steps declare, for the report's plots and `pipeline audit`.

A step's thresholds are the decisions its class declares (`core.steps.Decision`: argument, score column,
direction, drop reason), with the argument's value as run (the config entry, else the class default). An
argument a step does not declare is never taken for a threshold, whatever its name: the report and the audit
show what the steps say they decide, and a new step gets its threshold lines by declaring them.
Cutoffs (named values drawn as dashed lines, perplexity_v1's buckets) come from the argument a step's
`core.steps.Distribution` names in `cutoffs_param`: a mapping, or a YAML file read defensively: any numbers at
the top level or one level down (`head`/`tail`, `p30`/`p60`, `ko: {...}`).
"""

from __future__ import annotations

import inspect
import math
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from core.steps import declared_decisions, registry


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def step_class(name: str) -> type | None:
    """The registered class of a step name; None for a name this checkout does not know (a newer run)."""
    try:
        return registry().get(name)
    except ImportError:  # a step module that cannot load here (a missing model package) must not stop the report
        return None


def step_arguments(spec: dict) -> dict:
    """A step's arguments as run: the registered class's defaults, overridden by the config entry (the config
    as run holds only what the YAML wrote). A step the registry does not know keeps its config entry."""
    cls = step_class(str(spec.get("step", "")))
    if cls is None:
        return dict(spec)
    defaults = {
        pname: p.default for pname, p in list(inspect.signature(cls.__init__).parameters.items())[1:]
        if p.default is not inspect.Parameter.empty
    }
    return {**defaults, **spec}


def numeric_columns(files: list[Path]) -> list[str]:
    """Numeric columns in the schemas of `files`: where a declared decision has scores to show."""
    names: dict[str, None] = {}
    for path in files:
        for f in pq.read_schema(path):
            if pa.types.is_integer(f.type) or pa.types.is_floating(f.type):
                names[f.name] = None
    return list(names)


def step_decisions(spec: dict, columns: list[str]) -> list[dict]:
    """[{step, key, column, value, kind: "min"|"max", reason}] for one `steps:` entry: the decisions its class
    declares that are on (value a number, `requires` met) and on one of `columns`, in declaration order."""
    if not isinstance(spec, dict):
        return []
    step_name = str(spec.get("step", ""))
    arguments = step_arguments(spec)
    available = set(columns)
    found = []
    for d in declared_decisions(step_class(step_name)):
        value = arguments.get(d.param)
        if not _is_number(value) or any(arguments.get(k) != v for k, v in d.requires):
            continue
        if d.column in available:
            found.append({"step": step_name, "key": d.param, "column": d.column, "value": float(value),
                          "kind": d.direction, "reason": d.reason})
    return found


def find_thresholds(steps: list[dict], columns: list[str]) -> list[dict]:
    """[{step, key, column, value, kind, reason}] for every declared threshold of `steps` on one of `columns`,
    in step order."""
    return [t for spec in steps for t in step_decisions(spec, columns)]


def _resolve(path: str, config_path: str | None, run_dir: Path) -> Path | None:
    """The cutoffs file as given (relative to the working directory, like the run), else beside the config
    or its parent (a config in configs/ naming configs/x.yaml), else inside the run directory."""
    bases = [Path.cwd()]
    if config_path:
        bases += [Path(config_path).parent, Path(config_path).parent.parent]
    bases.append(run_dir)
    for base in bases:
        candidate = Path(path) if Path(path).is_absolute() else base / path
        if candidate.is_file():
            return candidate
    return None


def read_cutoffs(ref: Any, config_path: str | None, run_dir: Path) -> list[dict]:
    """[{name, value}] sorted by value, from a cutoffs argument as run (a mapping, or a YAML file's path); []
    when there is none or it cannot be read (the report still renders; the plot then shows no cutoffs)."""
    if isinstance(ref, dict):  # cutoffs given inline
        data = ref
    elif isinstance(ref, str) and (path := _resolve(ref, config_path, run_dir)) is not None:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError):
            return []
    else:
        return []
    out = []
    if isinstance(data, dict):
        for name, value in data.items():
            if _is_number(value):
                out.append({"name": str(name), "value": float(value)})
            elif isinstance(value, dict):
                out += [{"name": f"{name}.{k}", "value": float(v)} for k, v in value.items() if _is_number(v)]
    return sorted(out, key=lambda c: c["value"])
