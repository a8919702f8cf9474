"""Typed job config, read from one YAML file (`configs/ko-web.yaml`).

Every section is a pydantic model with `extra="forbid"`: an unknown key, a wrong type or a missing file is
a ConfigError whose one-line message names the file and the key (`configs/x.yaml: dedup.threshold: ...`).
Relative paths inside the config resolve against the current directory. Units are in the field names.

A config may start from another: `extends: ko-web.yaml` (relative to the extending file) reads that one first,
then lays this one over it: mappings merge key by key, anything else (a list such as `steps`, a number, `null`
to turn a stage off) replaces what the base had. A base may extend another; a cycle is an error.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from core.errors import ConfigError
from core.redact import redact
from core.sections import RUN_PLACEHOLDERS, DedupConfig, LineDedupConfig, MixConfig, ReportConfig, TokenizeConfig
from core.steps import validate_step


class Strict(BaseModel):
    # NaN and ±inf are refused everywhere: NaN compares false with everything and would silently disable a check.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class CCIndexConfig(Strict):
    """`input.format: cc_index`: `input.paths` name Common Crawl's columnar URL index (directories, globs or
    Parquet files); only the records whose languages match are fetched, by byte range (pipeline/read/ccindex.py)."""

    # Prefix of the index's `warc_filename` column: the record is read from warc_prefix + warc_filename.
    # s3://commoncrawl/ (with storage_options {anon: true} outside AWS credentials) or https://data.commoncrawl.org/
    warc_prefix: str = "s3://commoncrawl/"
    # ISO-639-3 codes as CC writes them in `content_languages` (CLD2, up to three, comma-separated, primary first).
    languages: list[Annotated[str, Field(pattern=r"^[a-z]{3}$")]] = Field(default=["kor"], min_length=1)
    # false: the language anywhere in the list ("eng,kor" too: a Korean page with an English menu is often
    # detected English first; language ID decides later). true: only pages whose primary language it is.
    primary_only: bool = False
    # Index hits per shard (one Ray task): shards are balanced by records, not by index files. Ids are stable:
    # they follow the index files' sorted order and the hits' row order.
    records_per_shard: int = Field(default=2000, ge=1)
    # fsspec options for the index and the WARC files, e.g. {anon: true} for s3://commoncrawl without credentials.
    # No credentials here (they would be written to config.yaml and summary.json): AWS_* variables instead.
    storage_options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("storage_options")
    @classmethod
    def _no_credentials(cls, options: dict) -> dict:
        def names(d: dict):
            for k, v in d.items():
                yield str(k)
                if isinstance(v, dict):
                    yield from names(v)

        bad = [k for k in names(options) if any(w in k.lower() for w in ("key", "secret", "token", "password"))]
        if bad:
            raise ValueError(f"{bad[0]}: credentials do not belong in the config (it is written into the run "
                             "directory); set the AWS_* variables instead")
        return options


class InputConfig(Strict):
    # Local paths, globs or fsspec URLs (s3://bucket/prefix/*.warc.gz). Compression from the suffix (.gz, .zst).
    # With format cc_index: the index (directories, globs or Parquet files).
    paths: list[str]
    # auto: from the file name (.warc/.wet/.jsonl/.json/.parquet, before any compression suffix).
    # cc_index: select records from Common Crawl's columnar index, then fetch only those (the `cc_index` keys).
    format: Literal["auto", "warc", "wet", "jsonl", "parquet", "cc_index"] = "auto"
    cc_index: CCIndexConfig | None = None
    # Source name recorded on every document (`source` column); mixing groups by it.
    source: str = "ko-web"
    # JSONL/Parquet: the field holding the text (and optionally id and url).
    text_key: str = "text"
    id_key: str = "id"
    url_key: str = "url"
    # HTML payloads above this size are dropped as `read_too_large` before extraction (bytes).
    max_payload_bytes: int = Field(default=5_000_000, gt=0)
    # WARC/WET: drop a page whose raw bytes hold fewer than 10 Hangul syllables (UTF-8, EUC-KR/CP949, UTF-16/32
    # with a BOM, or &#...; references) as `read_no_hangul`, before decoding and extraction: the 99% of a crawl
    # that is not Korean then costs a byte count. Off by default: a job for another language must not lose its
    # pages. Recall and speed: pipeline/read/charset.py `hangul_evidence`, bench/scale/prefilter.py.
    prefilter_korean: bool = False

    @model_validator(mode="after")
    def _cc_index_section(self) -> "InputConfig":
        if self.format == "cc_index" and self.cc_index is None:
            self.cc_index = CCIndexConfig()
        elif self.format != "cc_index" and self.cc_index is not None:
            raise ValueError("cc_index: only with format: cc_index")
        return self



class ExtractConfig(Strict):
    # resiliparse is the default: measured on the bundled sample, see bench/quality/extractors.py and README Performance.
    extractor: Literal["resiliparse", "trafilatura"] = "resiliparse"
    # Documents whose extracted text is shorter than this (characters, after NFC) are dropped as `extract_empty`.
    min_chars: int = Field(default=1, ge=0)


class ExecutionConfig(Strict):
    # ray: embedded local Ray, or the cluster named by RAY_ADDRESS / `ray job submit`. local: one process, no Ray.
    backend: Literal["ray", "local"] = "ray"
    # Embedded Ray only: CPUs to start it with (null = all of this machine's).
    num_cpus: int | None = Field(default=None, ge=1)
    # Resources each shard task asks Ray for.
    cpus_per_task: float = Field(default=1.0, gt=0)
    memory_per_task_mb: int | None = Field(default=None, gt=0)
    # Ray retries a task whose worker died this many times (lost worker, OOM kill).
    max_retries: int = Field(default=3, ge=0)
    # Documents processed together through each step (bounded memory per worker).
    batch_size: int = Field(default=256, ge=1)
    # Rows per Parquet row group in the outputs.
    row_group_size: int = Field(default=2000, ge=1)
    # Wall-clock budget for one document's extraction and for each step on it (seconds; null = none). Over it,
    # the document is dropped as `extract_timeout` / `step_timeout:<step>` and the shard goes on. Normal pages
    # take milliseconds (a 5 MB payload, the largest read by default, about a second per step).
    document_timeout_s: float | None = Field(default=10.0, gt=0)
    # Score every document with every step: a filter's drop is recorded (`drop_reasons`) but the document goes
    # on through the later steps, so `pipeline audit` can measure what each rule costs. The kept set is the same.
    score_all: bool = False
    # Remote `output` (s3://...) only: the local directory the run works in before each file is uploaded
    # (pipeline/storage.py). null = $TMPDIR/ko-curate-staging/<name from the URL>, stable so a rerun resumes.
    # On a multi-node cluster it must be on a filesystem every node sees.
    staging_dir: str | None = None


class RejectedConfig(Strict):
    # Characters of text kept with each dropped document for the report.
    snippet_chars: int = Field(default=300, ge=0)


class JobConfig(Strict):
    input: InputConfig
    output: str = "runs/default"
    extract: ExtractConfig = ExtractConfig()
    # Per-document steps in order; each is {step: REGISTERED_NAME, key: value, ...}. See core/steps.py.
    steps: list[dict[str, Any]] = Field(default_factory=list)
    rejected: RejectedConfig = RejectedConfig()
    execution: ExecutionConfig = ExecutionConfig()
    # The stages after the per-document steps (core/sections.py; a section left out turns its stage off).
    line_dedup: LineDedupConfig | None = None   # CCNet-style pre-pass: lines repeated across pages
    dedup: DedupConfig | None = None
    mix: MixConfig | None = None
    tokenize: TokenizeConfig | None = None
    report: ReportConfig | None = None

    # Where the config came from, for messages and the report (not a YAML key).
    source_path: str | None = Field(default=None, exclude=True)


def _fmt_loc(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def parse_config(path: str, overrides: dict[str, Any] | None = None) -> JobConfig:
    """Read and validate the job config: every section's keys and values, and every step's arguments; raise
    ConfigError with one line naming file and key. What needs a stage's own code (a tokenizer file's special
    tokens) is checked on top of this by `pipeline.job.load_config`, which is what commands call."""
    bases: list[Path] = []
    raw = config_mapping(path, bases)
    # An error may come from a base file: name them all (the key tells which section)
    where = f"{path} (extends {', '.join(os.path.relpath(b) for b in bases)})" if bases else str(path)
    for key, value in (overrides or {}).items():
        section, _, sub = key.partition(".")
        if sub:
            raw.setdefault(section, {})[sub] = value
        else:
            raw[section] = value
    try:
        cfg = JobConfig(**raw)
    except ValidationError as e:
        raise ConfigError(f"{where}: {validation_message(e)}") from None
    cfg.source_path = str(path)
    for i, spec in enumerate(cfg.steps):
        validate_step(spec, f"{where}: steps[{i}]")
        if spec.get("step") == "line_dedup_v1" and cfg.line_dedup is None:
            raise ConfigError(f"{where}: steps[{i}] (line_dedup_v1) needs a line_dedup: section "
                              "(the pre-pass it reads)")
    if cfg.mix is not None:
        check_against_job(cfg.mix, cfg, f"{where}: mix")
    return cfg


def config_mapping(path: str | Path, bases: list[Path] | None = None) -> dict:
    """The config file at `path` as one mapping, its `extends:` chain resolved (the files it extends, nearest
    first, appended to `bases`); not validated."""
    if not Path(path).is_file():
        raise ConfigError(f"config file not found: {path}")
    return _read_extended(Path(path), (), bases if bases is not None else [])


def _read_yaml(p: Path) -> dict:
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"{p}: not valid YAML: {str(e).splitlines()[0]}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{p}: top level must be a mapping")
    return raw


def _read_extended(p: Path, chain: tuple[Path, ...], bases: list[Path]) -> dict:
    """The config at `p` laid over the one its `extends:` names, recursively (`chain`: the files that extend it)."""
    raw = _read_yaml(p)
    base = raw.pop("extends", None)
    if base is None:
        return raw
    if not isinstance(base, str) or not base:
        raise ConfigError(f"{p}: extends: must be the path of another config file")
    base_path = (p.parent / base).resolve()
    if base_path in chain or base_path == p.resolve():
        names = " -> ".join(str(c) for c in (*chain, p.resolve(), base_path))
        raise ConfigError(f"{p}: extends: a cycle ({names})")
    if not base_path.is_file():
        raise ConfigError(f"{p}: extends: config file not found: {base} (looked for {base_path})")
    bases.append(base_path)
    return _merge(_read_extended(base_path, (*chain, p.resolve()), bases), raw)


def _merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for key, value in over.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def check_against_job(cfg: MixConfig, job, where: str = "mix") -> None:
    """A source that rehydrates this run's own documents needs the dedup stage that writes their cluster sizes."""
    if job is None or getattr(job, "dedup", None) is not None:
        return
    for i, src in enumerate(cfg.sources):
        paths = [src.path] if isinstance(src.path, str) else src.path
        own = any(ph in p for p in paths for ph in RUN_PLACEHOLDERS)
        if src.rehydrate is not None and own and src.rehydrate.column == "cluster_size":
            raise ConfigError(f"{where}.sources[{i}] ({src.name}).rehydrate: needs a dedup: section, which writes the "
                              f"cluster_size column it reads")


def validation_message(e: ValidationError, prefix: str = "") -> str:
    """`key.path: what is wrong` of a pydantic error's first problem, as every ConfigError says it."""
    err = e.errors()[0]
    msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
    loc = _fmt_loc(err["loc"])
    return f"{prefix}.{loc}: {msg}" if prefix and loc else f"{prefix or loc}: {msg}"


def is_remote(path: str) -> bool:
    return "://" in path and not path.startswith("file://")


def expand_inputs(patterns: list[str], key: str = "input.paths") -> list[str]:
    """Expand globs (local or fsspec) into a sorted list of shard paths, each file once.

    A glob that matches nothing is a ConfigError naming it (`key[i]`): a typo must not end as an empty run.
    A plain path is kept as given even when it does not exist: the shard task then reports it under
    `shards_failed` with its error, as for any other unreadable shard. The same local file under several
    spellings (`data/x.warc.gz`, `./data/x.warc.gz`, a symlink to it) is read once, under its first spelling.
    """
    out: list[str] = []
    for i, pat in enumerate(patterns):
        if is_remote(pat):
            import fsspec

            fs, _, paths = fsspec.get_fs_token_paths(pat)
            found = [fs.unstrip_protocol(x) for x in sorted(paths)] if paths else []
            magic = glob.has_magic(pat)
        else:
            magic = glob.has_magic(pat)
            found = sorted(glob.glob(os.path.expanduser(pat))) if magic else [pat]
        if magic and not found:
            raise ConfigError(f"{key}[{i}]: {redact(pat)!r} matches no file")
        out.extend(found or [pat])
    seen: set[str] = set()
    unique = []
    for x in out:
        ident = x if is_remote(x) else os.path.realpath(os.path.expanduser(x))
        if ident not in seen:
            seen.add(ident)
            unique.append(x)
    return unique
