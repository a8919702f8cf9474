"""Find the thresholds and perplexity bucket cutoffs of a run in its config as run, for the report's plots
and for `pipeline audit`.

A step's thresholds are first the decisions its class declares (`core.steps.Decision`: argument, score
column, direction, drop reason), with the argument's value as run (the config entry, else the class default).
For arguments it does not declare, a naming convention is the fallback (such thresholds carry no reason):
a keyword argument names a threshold when it is a number called `min_X` or `max_X` and `X` matches a score
column: `X` itself
(`min_hangul_ratio` -> `hangul_ratio`), the step's name prefixed (`language_id_v1.min_score` ->
`language_score`), a length the report computes (`min_chars`, `min_words`, `min_eojeol` -> text length in
characters / eojeol), or every column the step declares that ends in `_X` (`ko_spam_v1.max_line_share` ->
`ko_spam_gambling_line_share`, `ko_spam_adult_line_share`). Arguments that match no column are skipped, and
so are the few named like thresholds that are not (NOT_THRESHOLDS).
Perplexity cutoffs come from the YAML file named by the perplexity step's `cutoffs` argument, read
defensively: any numbers at the top level or one level down (`head`/`tail`, `p30`/`p60`, `ko: {...}`).
"""

from __future__ import annotations

import inspect
import math
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

# Argument stems that mean the document length the report computes itself (pipeline.report.data).
LENGTH_ALIASES = {
    "chars": "text_chars", "text_chars": "text_chars", "doc_chars": "text_chars", "length": "text_chars",
    "words": "eojeol_count", "eojeol": "eojeol_count", "eojeols": "eojeol_count", "eojeol_count": "eojeol_count",
}

# Step arguments shaped like `max_X` that cut the input a model sees rather than decide a drop.
NOT_THRESHOLDS = {
    "language_id_v1": {"max_chars"},  # fastText reads only the first max_chars characters
    "quality_score_v1": {"max_chars"},  # the classifier reads only the first max_chars characters
}


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _step_tokens(step_name: str) -> list[str]:
    """`language_id_v1` -> ["language", "language_id"]: prefixes a step's score columns may carry."""
    parts = [p for p in step_name.split("_") if not (p.startswith("v") and p[1:].isdigit())]
    return ["_".join(parts[: i + 1]) for i in range(len(parts))]


def _step_class(name: str) -> type | None:
    try:
        from core.steps import registry

        return registry().get(name)
    except ImportError:  # a step module that cannot load here must not stop the report
        return None


def step_arguments(spec: dict) -> tuple[dict, list[str]]:
    """A step's arguments as run -- the registered class's defaults, overridden by the config entry, since
    the config as run holds only what the YAML wrote -- and the columns the class declares it writes.
    A step the registry does not know (a newer run read by an older checkout) keeps its config entry."""
    cls = _step_class(str(spec.get("step", "")))
    if cls is None:
        return dict(spec), []
    defaults = {
        pname: p.default for pname, p in list(inspect.signature(cls.__init__).parameters.items())[1:]
        if p.default is not inspect.Parameter.empty
    }
    return {**defaults, **spec}, list(getattr(cls, "columns", {}) or {})


def numeric_columns(files: list[Path]) -> list[str]:
    """Numeric columns in the schemas of `files`: where a threshold has scores to show."""
    names: dict[str, None] = {}
    for path in files:
        for f in pq.read_schema(path):
            if pa.types.is_integer(f.type) or pa.types.is_floating(f.type):
                names[f.name] = None
    return list(names)


def step_decisions(spec: dict, columns: list[str]) -> list[dict]:
    """[{step, key, column, value, kind: "min"|"max", reason, declared}] for one `steps:` entry: the decisions
    its class declares that are on (value a number, `requires` met), then the arguments the naming convention
    finds among the undeclared ones (reason None, declared False); only thresholds on one of `columns`."""
    from core.steps import declared_decisions

    if not isinstance(spec, dict):
        return []
    step_name = str(spec.get("step", ""))
    arguments, step_columns = step_arguments(spec)
    available = set(columns)
    found = []
    declared = declared_decisions(_step_class(step_name))
    for d in declared:
        value = arguments.get(d.param)
        if not _is_number(value) or any(arguments.get(k) != v for k, v in d.requires):
            continue
        if d.column in available:
            found.append({"step": step_name, "key": d.param, "column": d.column, "value": float(value),
                          "kind": d.direction, "reason": d.reason, "declared": True})
    declared_params = {d.param for d in declared}
    for key, value in arguments.items():
        kind, _, stem = key.partition("_")
        if key in declared_params or kind not in ("min", "max") or not stem or not _is_number(value):
            continue
        if key in NOT_THRESHOLDS.get(step_name, ()):
            continue
        candidates = [stem] + [f"{prefix}_{stem}" for prefix in _step_tokens(step_name)]
        matched = [c for c in candidates if c in available][:1]
        if not matched and LENGTH_ALIASES.get(stem) in available:
            matched = [LENGTH_ALIASES[stem]]
        if not matched:  # one argument shared by several of the step's columns: ko_spam_v1.max_line_share
            matched = [c for c in step_columns if c.endswith(f"_{stem}") and c in available]
        for column in matched:
            found.append({"step": step_name, "key": key, "column": column, "value": float(value), "kind": kind,
                          "reason": None, "declared": False})
    return found


def find_thresholds(steps: list[dict], columns: list[str]) -> list[dict]:
    """[{step, key, column, value, kind, reason, declared}] for every threshold of `steps` on one of `columns`:
    declared decisions first, the naming convention for the rest (see the module docstring)."""
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


def perplexity_cutoffs(steps: list[dict], config_path: str | None, run_dir: Path) -> list[dict]:
    """[{name, value}] sorted by value, from the perplexity step's `cutoffs` file; [] when there is none."""
    for spec in steps:
        if not isinstance(spec, dict) or "perplexity" not in str(spec.get("step", "")):
            continue
        ref = step_arguments(spec)[0].get("cutoffs")
        if isinstance(ref, dict):  # cutoffs given inline
            data = ref
        elif isinstance(ref, str) and (path := _resolve(ref, config_path, run_dir)) is not None:
            try:
                data = yaml.safe_load(path.read_text(encoding="utf-8"))
            except (OSError, yaml.YAMLError):
                return []  # the report still renders; the plot then shows no cutoffs
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
    return []
