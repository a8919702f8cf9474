"""`pipeline lm cutoffs`: perplexity bucket cutoffs from a scored sample, written as YAML data for the filter.

    pipeline lm cutoffs --model models/ko-wiki-lm --corpus ../shared/data/kowiki-ref.jsonl.gz \
        --heldout-every 50 --out configs/perplexity_cutoffs.yaml

cc_net buckets documents by the percentiles of their perplexity on a sample of the same language
(`PerplexityBucket`: head < p30 <= middle < p60 <= tail). This command scores a sample, computes those
percentiles and writes

    head: <p30>        # perplexity below this is "head"
    tail: <p60>        # perplexity at or above this is "tail"; between is "middle"
    percentiles: [{percentile: 10, perplexity: ...}, ...]
    computed: {corpus: ..., sample: ..., date: ..., command: ..., model: ...}

`--head-percentile` / `--tail-percentile` change the 30/60 split. The sample's corpus decides what the
buckets mean: cc_net computes them on the web crawl itself, so its head/middle/tail split the web into
30/30/40%. Percentiles of Wikipedia (our default sample, see configs/perplexity_cutoffs.yaml) are stricter:
at 30/60 the tail would hold 40% of Wikipedia itself, which is why the committed file uses 30/90.
"""

from __future__ import annotations

import argparse
import datetime
import shlex
import sys
from pathlib import Path

import numpy as np
import yaml

from core.atomic import atomic_path
from core.errors import ConfigError
from filters.lm_score import load_scorer
from trainers.lm.build import is_heldout, read_documents

REPORTED_PERCENTILES = (10, 30, 50, 60, 70, 90)


def add_cutoffs_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default="models/ko-wiki-lm", help="model directory (sp.model, kenlm.binary)")
    parser.add_argument("--corpus", nargs="+", required=True, help="sample to score: .jsonl(.gz), .parquet, .txt(.gz)")
    parser.add_argument("--out", required=True, help="YAML file to write (e.g. configs/perplexity_cutoffs.yaml)")
    parser.add_argument("--heldout-every", type=int, default=0,
                        help="score only the documents `lm train --heldout-every N` held out (0 = all documents)")
    parser.add_argument("--max-docs", type=int, default=0, help="score at most this many documents (0 = all)")
    parser.add_argument("--head-percentile", type=float, default=30.0, help="head = below this percentile (cc_net: 30)")
    parser.add_argument("--tail-percentile", type=float, default=60.0, help="tail = from this percentile up (cc_net: 60)")
    parser.add_argument("--note", default="", help="why these percentiles / this sample (kept in the YAML)")


def cutoffs_main(args: argparse.Namespace) -> int:
    for path in args.corpus:
        if not Path(path).is_file():
            raise ConfigError(f"--corpus: file not found: {path}")
    if not 0 < args.head_percentile < args.tail_percentile < 100:
        raise ConfigError("--head-percentile/--tail-percentile: need 0 < head < tail < 100")
    perplexities = score_sample(args.model, args.corpus, args.heldout_every, args.max_docs)
    if not perplexities.size:
        raise ConfigError(f"--corpus: no scorable document in {', '.join(args.corpus)}")
    sample = f"{perplexities.size} documents"
    if args.heldout_every:
        sample += f" (the 1-in-{args.heldout_every} held-out slice by id hash, as `lm train` holds it out)"
    data = compute_cutoffs(perplexities, args.head_percentile, args.tail_percentile)
    data["computed"] = {
        "corpus": [str(p) for p in args.corpus],
        "sample": sample,
        "model": args.model,
        "buckets": f"head < p{args.head_percentile:g} <= middle < p{args.tail_percentile:g} <= tail "
                   "(cc_net PerplexityBucket)",
        "meaning": f"head: less perplexing than {100 - args.head_percentile:g}% of the sample; tail: more perplexing "
                   f"than {args.tail_percentile:g}% of it. The buckets are relative to this sample's corpus.",
        **({"note": args.note} if args.note else {}),
        "date": datetime.date.today().isoformat(),
        "command": _command_line(args.note),
    }
    write_cutoffs(Path(args.out), data)
    print(yaml.safe_dump({k: data[k] for k in ("head", "tail")}, sort_keys=False).strip())
    return 0


def _command_line(note: str) -> str:
    """The command as typed, with the --note text (recorded beside it) shortened to '<note>'."""
    argv = sys.argv[sys.argv.index("cutoffs") + 1:] if "cutoffs" in sys.argv else sys.argv[1:]
    return "pipeline lm cutoffs " + " ".join("'<note>'" if a == note and note else shlex.quote(a) for a in argv)


def score_sample(model_dir: str, corpus: list[str], heldout_every: int = 0, max_docs: int = 0) -> np.ndarray:
    """Perplexity of each scorable document of the sample (documents without a scorable line are skipped)."""
    scorer = load_scorer(model_dir)
    out = []
    for path in corpus:
        for doc_id, text in read_documents(path):
            if heldout_every and not is_heldout(doc_id, text, heldout_every):
                continue
            score = scorer.score(text)
            if score.tokens:
                out.append(score.perplexity)
            if max_docs and len(out) >= max_docs:
                return np.array(out)
    return np.array(out)


def compute_cutoffs(perplexities: np.ndarray, head_percentile: float = 30, tail_percentile: float = 60) -> dict:
    """{head, tail, percentiles}. The percentile table is a list, not a mapping: the report draws every number
    of a mapping in this file as a cutoff line (pipeline/report/thresholds.py), and these are context only."""
    points = sorted({*REPORTED_PERCENTILES, head_percentile, tail_percentile})
    table = [{"percentile": p, "perplexity": round(float(np.percentile(perplexities, p)), 1)} for p in points]
    value = {row["percentile"]: row["perplexity"] for row in table}
    return {"head": value[head_percentile], "tail": value[tail_percentile], "percentiles": table}


def write_cutoffs(path: Path, data: dict) -> None:
    header = (
        "# Perplexity bucket cutoffs for the perplexity_v1 step (filters/perplexity.py), written by\n"
        "# `pipeline lm cutoffs` (trainers/lm/cutoffs.py); `computed` says from which sample and how.\n"
        "# head: perplexity < head; middle: head <= perplexity < tail; tail: perplexity >= tail.\n"
    )
    with atomic_path(path) as tmp:
        tmp.write_text(header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=120), encoding="utf-8")
