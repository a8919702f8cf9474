"""The registry of per-document steps, and the small base class for steps that annotate.

A step is a datatrove `PipelineStep`: a filter subclasses datatrove's `BaseFilter` and implements
`filter(doc) -> bool | (bool, reason)`; an annotator subclasses `Annotator` below and implements
`annotate(doc)` (writes scores into `doc.metadata` or rewrites `doc.text`, never drops). Both still run
inside a plain datatrove pipeline through their `run()`.

Steps are named in config by a versioned registry name (`language_id_v1`); their keyword arguments are
the config keys, validated against the `__init__` signature (unknown key or wrong type: one line naming it).
Steps never import ray, and load heavy models lazily (see `core.models.cached`).

What a step tells the report and `pipeline audit` is declared on its class, never read from argument names:
- `columns`: the metadata keys it writes that become Parquet columns (its score columns), with their type;
- `decisions`: which argument is a threshold on which column, in which direction, with which drop reason
  (see `Decision`), so the report draws the threshold and shows the kept documents just inside it, and the
  audit measures what the rule costs at other values (`pipeline.report.thresholds.step_decisions` gives
  them with the values as run);
- `distributions` (optional): columns worth a histogram even where no threshold decides on them, with a
  title and scale (see `Distribution`). A column a decision of the run decides on gets one anyway.
"""

from __future__ import annotations

import importlib
import inspect
import os
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Literal

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from pydantic import ConfigDict, ValidationError, create_model

from core.errors import ConfigError

# Modules that register steps. Each is imported once, on first lookup.
STEP_MODULES = (
    "filters.line_dedup",
    "filters.language",
    "filters.signals",
    "filters.gopher",
    "filters.c4_fineweb",
    "filters.korean",
    "filters.urls",
    "filters.pii",
    "filters.perplexity",
    "filters.quality",
    "filters.decontaminate",
)

_REGISTRY: dict[str, type] = {}
_loaded = False


@dataclass(frozen=True)
class Decision:
    """Argument `param` of a step is a threshold on its score column `column`: a document whose `column` is
    below it (`direction` "min") or above it ("max") is dropped with `reason`. `requires` names other
    arguments that must have the given values for the threshold to decide anything (quality_filter_v1's
    `threshold` decides only in `mode: threshold`). A `param` set to None turns the decision off.

    Declared on the step class, in the order the step checks them:
        decisions: ClassVar[tuple[Decision, ...]] = (
            Decision("min_hangul_ratio", "hangul_ratio", "min", "ko_low_hangul_ratio"),
        )
    """

    param: str
    column: str
    direction: Literal["min", "max"]
    reason: str
    requires: tuple[tuple[str, Any], ...] = ()

    def __post_init__(self):
        if self.direction not in ("min", "max"):
            raise ValueError(f"Decision({self.param!r}): direction must be 'min' or 'max', not {self.direction!r}")


@dataclass(frozen=True)
class Distribution:
    """Score column `column` of a step is worth a histogram of kept and dropped documents in the report, whether
    or not a threshold decides on it (perplexity_v1's perplexity decides nothing by default). `title` heads the
    plot (default: the column and the step's name); `log_x` draws it on a log scale (None: log when the
    values span more than 100x); `cutoffs_param` names the step's argument holding named values drawn as
    dashed lines, a YAML file or a mapping (perplexity_v1's bucket cutoffs).

    Declared on the step class, for columns it writes (its `columns`):
        distributions: ClassVar[tuple[Distribution, ...]] = (
            Distribution("perplexity", "Perplexity", log_x=True, cutoffs_param="cutoffs"),
        )
    """

    column: str
    title: str | None = None
    log_x: bool | None = None
    cutoffs_param: str | None = None


def declared_decisions(cls: type | None) -> tuple[Decision, ...]:
    """The decisions a step class declares (() for none, or for a step the registry does not know)."""
    return tuple(getattr(cls, "decisions", ()) or ()) if cls is not None else ()


def declared_distributions(cls: type | None) -> tuple[Distribution, ...]:
    """The distributions a step class declares (() for none, or for a step the registry does not know)."""
    return tuple(getattr(cls, "distributions", ()) or ()) if cls is not None else ()


def register_step(name: str) -> Callable[[type], type]:
    """Class decorator: make a step available in config under `name` (snake_case, versioned: `x_v1`)."""

    def deco(cls: type) -> type:
        if name in _REGISTRY and _REGISTRY[name] is not cls:
            raise RuntimeError(f"step name {name!r} registered twice ({_REGISTRY[name]} and {cls})")
        _check_decisions(name, cls)
        _REGISTRY[name] = cls
        cls.registry_name = name
        return cls

    return deco


def _check_decisions(name: str, cls: type) -> None:
    """A declared decision names arguments of the step, and a declared distribution one of the step's columns:
    a typo would otherwise make the report and the audit silently show nothing. (A decision's column is checked
    once every step module is loaded: see `registry`.)"""
    params = inspect.signature(cls.__init__).parameters
    for d in declared_decisions(cls):
        if not isinstance(d, Decision):
            raise RuntimeError(f"step {name}: decisions holds {d!r}, not a Decision")
        for param in (d.param, *(key for key, _ in d.requires)):
            if param not in params:
                raise RuntimeError(f"step {name}: decision on {d.param!r} names {param!r}, not an argument of {cls.__name__}")
    own = getattr(cls, "columns", {}) or {}
    for dist in declared_distributions(cls):
        if not isinstance(dist, Distribution):
            raise RuntimeError(f"step {name}: distributions holds {dist!r}, not a Distribution")
        if dist.column not in own:
            raise RuntimeError(f"step {name}: distribution of {dist.column!r}, not one of its columns ({', '.join(own)})")
        if dist.cutoffs_param is not None and dist.cutoffs_param not in params:
            raise RuntimeError(f"step {name}: distribution of {dist.column!r} names {dist.cutoffs_param!r}, "
                               f"not an argument of {cls.__name__}")


def _check_decision_columns(reg: dict[str, type]) -> None:
    """A decision's column is one some step writes (its own, or an earlier step's: quality_filter_v1 decides
    on quality_score_v1's quality_score)."""
    written = {c for cls in reg.values() for c in (getattr(cls, "columns", {}) or {})}
    for name, cls in reg.items():
        for d in declared_decisions(cls):
            if d.column not in written:
                raise RuntimeError(f"step {name}: decision on {d.param!r} names column {d.column!r}, "
                                   "which no registered step writes")


def registry() -> dict[str, type]:
    global _loaded
    if not _loaded:
        for mod in STEP_MODULES:
            try:
                importlib.import_module(mod)
            except ModuleNotFoundError as e:  # a step module not written yet must not break the others
                if e.name != mod:
                    raise
        _check_decision_columns(_REGISTRY)
        _loaded = True
    return _REGISTRY


def _params_model(cls: type):
    sig = inspect.signature(cls.__init__)
    fields: dict[str, Any] = {}
    for pname, p in list(sig.parameters.items())[1:]:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or pname == "exclusion_writer":
            continue
        ann = p.annotation if p.annotation is not inspect.Parameter.empty else Any
        default = p.default if p.default is not inspect.Parameter.empty else ...
        fields[pname] = (ann, default)
    return create_model(f"{cls.__name__}Params", __config__=ConfigDict(extra="forbid", arbitrary_types_allowed=True, allow_inf_nan=False), **fields)


def validate_step(spec: dict[str, Any], where: str) -> dict[str, Any]:
    """Check one `steps:` entry ({step: NAME, key: value, ...}); return the validated keyword arguments."""
    if not isinstance(spec, dict) or "step" not in spec:
        raise ConfigError(f"{where}: each entry needs a 'step' key naming a registered step")
    name = spec["step"]
    reg = registry()
    if name not in reg:
        raise ConfigError(f"{where}.step: unknown step {name!r}; available steps: {', '.join(sorted(reg))}")
    params = {k: v for k, v in spec.items() if k != "step"}
    try:
        model = _params_model(reg[name])(**params)
    except ValidationError as e:
        err = e.errors()[0]
        loc = ".".join(str(x) for x in err["loc"])
        msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        raise ConfigError(f"{where} ({name}).{loc}: {msg}") from None
    values = {k: getattr(model, k) for k in params}
    for key, value in values.items():
        problem = _out_of_range(reg[name], key, value) or _missing_file(key, value)
        if problem:
            raise ConfigError(f"{where} ({name}).{key}: {problem}")
    return values


# Parameters naming a file the step reads (or, for `model_dir`, a directory): checked when the config is
# validated, so a typo or a path that is not a model stops `pipeline validate` instead of the first shard.
# Paths outside the checkout are allowed on purpose: a team's own models and word lists live anywhere.
_DIR_PARAMS = ("model_dir",)
_FILE_PARAMS = ("cutoffs",)


def step_files(spec: dict[str, Any]) -> list[str]:
    """The files and model directories a step entry reads (its arguments, else the class defaults): the
    path-named arguments checked above, and `path` keys of lists of mappings (decontaminate_v1's benchmarks).
    A shard's fingerprint covers their contents, so replacing a word list or a model re-runs the shards."""
    cls = registry().get(spec.get("step"))
    args: dict[str, Any] = {}
    if cls is not None:
        for pname, p in list(inspect.signature(cls.__init__).parameters.items())[1:]:
            if p.default is not inspect.Parameter.empty:
                args[pname] = p.default
    args.update({k: v for k, v in spec.items() if k != "step"})
    out = []
    for key, value in args.items():
        if isinstance(value, str) and "{run_dir}" not in value and (
                key in _DIR_PARAMS or key in _FILE_PARAMS or key.endswith("_path")):
            out.append(value)
        elif isinstance(value, (list, tuple)):
            out += [v["path"] for v in value if isinstance(v, dict) and isinstance(v.get("path"), str)]
    return out


def _missing_file(key: str, value: Any) -> str | None:
    if not isinstance(value, str) or "{run_dir}" in value:
        return None
    if key in _DIR_PARAMS:
        return None if os.path.isdir(value) else f"{value!r} is not a directory"
    if key.endswith("_path") or key in _FILE_PARAMS:
        return None if os.path.isfile(value) else f"{value!r} is not a file"
    return None


# Every number a step takes is a count, a length or a threshold: finite and >= 0 unless the step declares
# another range in `param_ranges`; thresholds on shares (names with ratio/frac/share/thr/score/threshold) are
# at most 1. NaN would silently turn a check off (every comparison with it is false), and a negative minimum
# does the same.
_SHARE_WORDS = ("ratio", "frac", "share", "_thr", "score", "threshold")


def _out_of_range(cls: type, key: str, value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (list, tuple)):
        return next((p for p in (_out_of_range(cls, key, v) for v in value) if p), None)
    if not isinstance(value, (int, float)):
        return None
    if value != value or value in (float("inf"), float("-inf")):
        return f"{value} is not a finite number"
    declared = getattr(cls, "param_ranges", {}).get(key)
    if declared:
        lo, hi = declared
    else:
        lo, hi = 0.0, (1.0 if any(w in key for w in _SHARE_WORDS) and isinstance(value, float) else float("inf"))
    if not lo <= value <= hi:
        return f"{value} is out of range [{lo:g}, {hi:g}]"
    return None


def build_step(spec: dict[str, Any], where: str = "steps", run_dir: str | None = None) -> PipelineStep:
    """Build a step from its config entry. String arguments may say `{run_dir}` (a file an earlier pass of this
    run wrote, e.g. the line-dedup pre-pass); it is filled in here."""
    kwargs = validate_step(spec, where)
    if run_dir is not None:
        kwargs = {k: v.replace("{run_dir}", str(run_dir)) if isinstance(v, str) else v for k, v in kwargs.items()}
    cls = registry()[spec["step"]]
    if run_dir is not None:  # defaults may name {run_dir} too
        for pname, p in inspect.signature(cls.__init__).parameters.items():
            if pname not in kwargs and isinstance(p.default, str) and "{run_dir}" in p.default:
                kwargs[pname] = p.default.replace("{run_dir}", str(run_dir))
    return cls(**kwargs)


class Annotator(PipelineStep):
    """A step that adds scores to `doc.metadata` (or rewrites `doc.text`) and never drops a document."""

    type = "✍️ - ANNOTATOR"
    # metadata keys this step writes that become Parquet columns, with their Python type (float/int/str/bool)
    columns: ClassVar[dict[str, type]] = {}

    def annotate(self, doc: Document) -> None:
        raise NotImplementedError

    def annotate_batch(self, batch: list[Document]) -> None:
        for doc in batch:
            self.annotate(doc)

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        for doc in data:
            with self.track_time():
                self.annotate(doc)
            self.stat_update("total")
            yield doc
