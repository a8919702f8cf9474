"""The `pipeline` command. Exit codes: 0 success, 1 run failure, 2 usage or config error.

    pipeline run CONFIG [--input GLOB] [--output DIR] [--restart]
    pipeline validate CONFIG
    pipeline lm train | lm cutoffs        (KenLM perplexity model: trainers/lm/)
    pipeline dedup --input ... --output ...
    pipeline tokenizer train ...
    pipeline train --shards DIR
    pipeline report RUN_DIR
    pipeline clean RUN_DIR [--dry-run]    (delete the work files a run's user never reads)

Subcommands other than run/validate live in their own modules, which provide `add_arguments(parser)` and
`main(args) -> int`; they are imported only when used.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from core.errors import ConfigError, RunError

# (command path, module, add_arguments, main, help)
SUBCOMMANDS = [
    (("lm", "train"), "trainers.lm", "add_train_arguments", "train_main", "train a SentencePiece + KenLM perplexity model"),
    (("lm", "cutoffs"), "trainers.lm", "add_cutoffs_arguments", "cutoffs_main", "compute perplexity bucket cutoffs"),
    (("quality", "train"), "trainers.quality", "add_arguments", "main", "train the fastText quality classifier"),
    (("dedup",), "pipeline.dedup.cli", "add_arguments", "main", "exact + MinHash-LSH dedup of Parquet documents"),
    (("mix",), "pipeline.mix", "add_arguments", "main", "mix curated sources by weights or token budgets"),
    (("tokenizer", "train"), "tokenizer.train", "add_arguments", "main", "train a SentencePiece tokenizer"),
    (("train",), "trainers.pretrain", "add_arguments", "main", "train a small GPT on tokenized shards"),
    (("report",), "pipeline.report", "add_arguments", "main", "write RUN_DIR/report.html and report.json"),
    (("audit",), "pipeline.report.audit", "add_arguments", "main", "what each drop rule costs, on labelled documents"),
    (("clean",), "pipeline.clean", "add_arguments", "main", "delete a run's work files (extracted/, dedup signatures) to free disk"),
    (("ablate",), "trainers.ablate", "add_arguments", "main", "train one small GPT per run and compare them on held-out text"),
]


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # usage errors exit 2 with one line, as argparse does, but without the usage dump
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="pipeline", description="ko-curate: Korean pretraining-data curation")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="run the whole job described by a config")
    run.add_argument("config")
    run.add_argument("--input", action="append", help="input path/glob/URL (repeatable); overrides input.paths")
    run.add_argument("--output", help="run directory; overrides output")
    run.add_argument("--restart", action="store_true", help="delete the run directory and start clean")
    run.add_argument("--backend", choices=["ray", "local"], help="overrides execution.backend")

    val = sub.add_parser("validate", help="check a config and exit")
    val.add_argument("config")

    groups: dict[str, argparse._SubParsersAction] = {}
    for path, module, add_fn, main_fn, help_ in SUBCOMMANDS:
        parent = sub
        if len(path) == 2:
            if path[0] not in groups:
                g = sub.add_parser(path[0], help=f"{path[0]} commands")
                groups[path[0]] = g.add_subparsers(dest="subcommand", required=True, parser_class=_Parser)
            parent = groups[path[0]]
        sp = parent.add_parser(path[-1], help=help_)
        sp.set_defaults(_module=module, _main=main_fn)
        try:
            getattr(importlib.import_module(module), add_fn)(sp)
        except (ModuleNotFoundError, AttributeError) as e:
            sp.set_defaults(_missing=str(e))
    return p


def _overrides(args) -> dict:
    ov = {}
    if args.input:
        ov["input.paths"] = args.input
    if args.output:
        ov["output"] = args.output
    if getattr(args, "backend", None):
        ov["execution.backend"] = args.backend
    return ov


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command in ("run", "validate"):
            from pipeline.job import load_config

            job = load_config(args.config, _overrides(args) if args.command == "run" else None)
            if args.command == "validate":
                print(f"{args.config}: ok ({len(job.steps)} steps; stages: "
                      f"{', '.join(n for n in ('dedup', 'mix', 'tokenize', 'report') if getattr(job, n) is not None) or 'none'})")
                return 0
            from core.redact import redact
            from pipeline.run import run_job

            s = run_job(job, restart=args.restart)
            print(f"documents: in {s['documents_in']}, kept {s['documents_kept']}, dropped "
                  f"{sum(s['documents_dropped'].values())}; shards failed: {len(s['shards_failed'])}; "
                  f"summary: {redact(job.output)}/summary.json")
            return 0
        if getattr(args, "_missing", None):
            print(f"pipeline: this command is not available: {args._missing}", file=sys.stderr)
            return 2
        return int(getattr(importlib.import_module(args._module), args._main)(args) or 0)
    except ConfigError as e:
        print(f"pipeline: config error: {e}", file=sys.stderr)
        return 2
    except RunError as e:
        print(f"pipeline: run failed: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("pipeline: interrupted; run the same command again to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
