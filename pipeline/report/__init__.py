"""The data-quality report: `RUN_DIR/report.html` (one self-contained page, plots embedded) and
`RUN_DIR/report.json` (the same figures, for machines).

Used three ways:
  - as the last barrier stage of `pipeline run` (config section `report:`, see `Config`): `run(...)`;
  - from the command line, `pipeline report RUN_DIR` (`add_arguments` / `main`), on any finished run;
  - from Python, `build_report(run_dir)`.
It needs `summary.json` and reads `documents/`, `rejected/` and whatever later stages wrote; a stage whose
output is absent is shown as "not run". The figures come from `pipeline.report.data`, the page from
`pipeline.report.html` (which escapes every piece of document text), the plots from `pipeline.report.plots`.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from core.atomic import atomic_path, write_json
from core.errors import ConfigError, RunError
from core.sections import ReportConfig as Config
from pipeline.report.data import collect
from pipeline.report.html import render


def build_report(run_dir: str | Path, cfg: Config | None = None) -> Path:
    """Write `report.json` and `report.html` into `run_dir` (atomically); return the HTML path.

    Raises ConfigError when `run_dir` holds no summary.json (not a run directory), RunError when it is
    unreadable."""
    run_dir = Path(run_dir)
    cfg = cfg or Config()
    if not (run_dir / "summary.json").is_file():
        raise ConfigError(f"{run_dir}: not a run directory (no summary.json)")
    try:
        figures = collect(run_dir, cfg)
    except (json.JSONDecodeError, OSError) as e:
        raise RunError(f"{run_dir}: cannot read the run for the report: {e}") from e
    write_json(run_dir / "report.json", figures)
    html_path = run_dir / "report.html"
    with atomic_path(html_path) as tmp:
        tmp.write_text(render(figures), encoding="utf-8")
    return html_path


def run(cfg: Config, job, run_dir: Path, executor) -> dict:
    """Barrier stage `report`: runs in the driver (reading is sampled and bounded; no tasks needed).

    Needs `summary.json` written before it runs; what it returns goes under `stages.report`."""
    started = time.perf_counter()
    html_path = build_report(run_dir, cfg)
    return {
        "html": str(html_path),
        "json": str(run_dir / "report.json"),
        "html_bytes": html_path.stat().st_size,
        "seconds": round(time.perf_counter() - started, 3),
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", metavar="RUN_DIR", help="output directory of `pipeline run` (holds summary.json)")
    defaults = Config()
    parser.add_argument("--sample-rows", type=int, default=defaults.sample_rows,
                        help="rows read per side (kept, dropped) for the distributions (default %(default)s)")
    parser.add_argument("--examples", type=int, default=defaults.examples_per_reason,
                        help="example documents per drop reason and per threshold (default %(default)s)")
    parser.add_argument("--snippet-chars", type=int, default=defaults.snippet_chars,
                        help="characters shown per snippet (default %(default)s)")


def main(args: argparse.Namespace) -> int:
    if args.sample_rows < 1 or args.examples < 0 or args.snippet_chars < 1:
        raise ConfigError("pipeline report: --sample-rows and --snippet-chars must be >= 1, --examples >= 0")
    cfg = Config(sample_rows=args.sample_rows, examples_per_reason=args.examples,
                 near_threshold_examples=args.examples, snippet_chars=args.snippet_chars)
    html_path = build_report(args.run_dir, cfg)
    print(html_path)
    print(Path(args.run_dir) / "report.json")
    return 0
