"""`pipeline ablate RUN_A RUN_B ... --out DIR`: does the curated data make a better model? Train the same small
GPT on the same number of tokens from each run ("arm"), and compare them on the same held-out text.

    pipeline ablate runs/curated runs/other --out runs/ablation-1 [--tokens N] [--seed S] [--heldout F.jsonl ...]
    pipeline ablate runs/ko-web-sample --raw-arm configs/ko-web.yaml --dedup-only-arm configs/ko-web.yaml --out X

Every arm gets the same model shape, the same seed (so the same initial weights and data order rule), the same
training-token count (`--tokens`; an arm with less text repeats it, and table.json says how many epochs) and
the same tokenizer. An arm's text is its run's `documents/*.parquet` (`--documents mix`: its `mix/`, which
also holds the mixed-in sources, so it measures the mix rather than the curation).

**One shared tokenizer** is the default: a SentencePiece model trained on an equal share of characters from
every arm (OUT/tokenizer/), or `--tokenizer MODEL`. With a tokenizer per arm, per-token losses are not
comparable (a vocabulary fitted to junk splits Wikipedia into more, easier tokens), and the arm's tokenizer
would itself be part of what is measured. We still report bits per byte (total NLL in bits / UTF-8 bytes of
the held-out text), which is independent of the tokenizer, so results stay comparable with other tokenizers.

Baselines, each one flag, built here with `pipeline run` of a config derived from CONFIG (written beside them):
  --raw-arm CONFIG         extraction only: no steps, no Korean pre-filter, no line dedup, no dedup (OUT/arms/raw)
  --dedup-only-arm CONFIG  extraction + CONFIG's line-dedup pre-pass and exact/MinHash dedup, no other filter
                           (OUT/arms/dedup-only); what dedup alone buys, against raw and curated
Both keep CONFIG's mix, whose web source is then the arm's own documents, and skip its tokenize and report.

Held-out sets (`--heldout`, JSONL of {text}; the set is named by the file stem): by default the small slices
committed in tests/fixtures/heldout/; `python data/make_heldout.py` builds the full ones (Korean Wikipedia,
statutes, conversational reviews), none of which any arm can have trained on (see that script).

What it shows on the bundled sample (bench/training/ablate.py, curated = configs/ko-web.yaml's documents, 237 pages, vs
the raw arm, 388 pages; 2 layers x 64 wide, 1,000-piece shared tokenizer, seq 128, lr 1e-2; held-out kowiki
loss of raw minus curated, nats per token, seeds 1 / 2 / 3):
    100k tokens  +0.049 / +0.047 / +0.059      (bits per byte +0.029 / +0.028 / +0.035)
    200k tokens  +0.029 / -0.060 / -0.025
    400k tokens  -0.032 / +0.259 / +0.053
    800k tokens  +0.097 / +0.049 / -0.033
At 100k tokens the models are still learning token frequencies, and the curated arm's are closer to
Wikipedia's in every seed. Beyond that, which arm first leaves the loss plateau (~5.4 nats) varies with the
seed by more than the arms differ, and the curated arm (215k unique tokens against raw's 303k) repeats its
text sooner. So on 400 pages this is a test of the machinery, not evidence that curation helps: run it on a
real crawl, with several seeds, and read a margin only against the seed-to-seed spread.

Writes OUT/tokenizer/, OUT/arms/NAME/{tokens,train}/ (the token shards and `pipeline train`'s output), and
OUT/ablation/table.csv, table.json (setup, per arm and per held-out set: tokens, loss in nats per token, bits
per byte) and plot.png (bits per byte per held-out set per arm). Training goes through `pipeline train`, so
`--train-preset` and a GPU work as there.
"""

from __future__ import annotations

import argparse
import csv
import glob
import io
import json
import math
import random
import re
from pathlib import Path

import yaml

from core.atomic import atomic_path, sha256_file, write_json
from core.config import config_mapping
from core.docfiles import iter_text_batches
from core.errors import ConfigError, RunError
from core.sections import TokenizerConfig
from pipeline.job import load_config
from pipeline.run import run_job
from tokenizer.pack import shard_schema, token_type
from tokenizer.train import train_tokenizer

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_HELDOUT = REPO_ROOT / "tests" / "fixtures" / "heldout"
TABLE_COLUMNS = ("arm", "heldout", "documents", "bytes", "tokens", "loss", "bits_per_byte")


def add_arguments(parser) -> None:
    parser.add_argument("runs", nargs="*", help="run directories, one per arm")
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--tokens", type=int, default=400_000, help="training tokens per arm (default: 400000)")
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--heldout", action="append", help="held-out JSONL file (repeatable; default: the "
                        "committed slices in tests/fixtures/heldout)")
    parser.add_argument("--raw-arm", metavar="CONFIG", help="add an arm: CONFIG with extraction only")
    parser.add_argument("--dedup-only-arm", metavar="CONFIG", help="add an arm: CONFIG with extraction + dedup only")
    parser.add_argument("--documents", choices=["documents", "mix"], default="documents",
                        help="which text of a run an arm trains on (default: documents, the curated web text)")
    parser.add_argument("--tokenizer", help="an existing SentencePiece .model for every arm instead of training one")
    # A small vocabulary by default: a model of a few hundred thousand tokens learns little beyond unigram
    # frequencies over 4,000 pieces, and the arms then differ by noise (bench/training/ablate.py measures both).
    parser.add_argument("--vocab-size", type=int, default=1000, help="shared tokenizer's vocabulary (default: 1000)")
    parser.add_argument("--character-coverage", type=float, default=0.98, help="shared tokenizer's character "
                        "coverage; rarer characters fall back to bytes (default: 0.98, so 1,000 pieces suffice)")
    parser.add_argument("--tokenizer-chars", type=int, default=2_000_000,
                        help="characters the shared tokenizer trains on, split equally between arms")
    parser.add_argument("--seq-len", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--n-layer", type=int, default=2)
    parser.add_argument("--n-head", type=int, default=2)
    parser.add_argument("--n-embd", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-2)
    parser.add_argument("--train-preset", help="a `pipeline train` preset; the options above override it")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")


def derived_config(config: str, kind: str, out: Path) -> Path:
    """Write OUT/arms/KIND.yaml: CONFIG with only extraction (raw) or extraction + dedup (dedup-only)."""
    if not Path(config).is_file():
        raise ConfigError(f"--{kind}-arm: config file not found: {config}")
    cfg = config_mapping(config)  # `extends:` resolved: the arm's file lives elsewhere
    cfg["steps"] = []
    if isinstance(cfg.get("input"), dict) and "prefilter_korean" in cfg["input"]:
        cfg["input"] = {**cfg["input"], "prefilter_korean": False}  # a language filter, applied while reading
    # The mix stays (its web source is this arm's documents), so `--documents mix` compares whole mixes.
    for section in ("tokenize", "report") + (("line_dedup", "dedup") if kind == "raw" else ()):
        cfg[section] = None
    if kind == "dedup-only" and cfg.get("dedup"):
        # Without steps there is no quality score to prefer one copy by; keep the lowest id.
        cfg["dedup"] = {**cfg["dedup"], "keep": "lowest_id"}
        cfg["dedup"].pop("score_column", None)
    cfg["output"] = str(out / "arms" / kind)
    path = out / "arms" / f"{kind}.yaml"
    with atomic_path(path) as tmp:
        tmp.write_text(f"# {kind} arm of {config}, written by pipeline ablate\n"
                       + yaml.safe_dump(cfg, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def build_arm(config: str, kind: str, out: Path) -> Path:

    job = load_config(str(derived_config(config, kind, out)))
    s = run_job(job)
    print(f"arm {kind}: documents in {s['documents_in']}, kept {s['documents_kept']}", flush=True)
    return Path(job.output)


def arm_texts(run_dir: Path, which: str) -> list[str]:

    pattern = "documents/*.parquet" if which == "documents" else "mix/*"
    files = sorted(f for f in glob.glob(str(run_dir / pattern)) if f.endswith((".parquet", ".jsonl", ".jsonl.gz")))
    if not files:
        raise ConfigError(f"{run_dir}: no {pattern} (is it a finished run directory?)")
    texts = [t for f in files for batch, _ in iter_text_batches(f) for t in batch if t and t.strip()]
    if not texts:
        raise ConfigError(f"{run_dir}: its {which} hold no text")
    return texts


def equal_share(arms: dict[str, list[str]], total_chars: int, seed: int) -> dict[str, list[str]]:
    """From each arm, seeded-shuffled documents up to the same number of characters: the smaller of
    total_chars / arms and the smallest arm's size, so no arm's text dominates the vocabulary."""
    share = min(total_chars // len(arms), min(sum(map(len, t)) for t in arms.values()))
    out = {}
    for name, texts in arms.items():
        order = list(range(len(texts)))
        random.Random(f"{seed}:{name}").shuffle(order)
        picked, size = [], 0
        for i in order:
            if size >= share:
                break
            picked.append(texts[i][: share - size])
            size += len(picked[-1])
        out[name] = picked
    return out


def train_shared_tokenizer(arms: dict[str, list[str]], out: Path, vocab_size: int, chars: int, seed: int,
                           coverage: float) -> Path:

    sample_dir = out / "tokenizer" / "sample"
    files = []
    for name, texts in equal_share(arms, chars, seed).items():
        path = sample_dir / f"{name}.jsonl"
        with atomic_path(path) as tmp:
            tmp.write_text("".join(json.dumps({"id": f"{name}-{i}", "text": t}, ensure_ascii=False) + "\n"
                                   for i, t in enumerate(texts)), encoding="utf-8")
        files.append(str(path))
    cfg = TokenizerConfig(vocab_size=vocab_size, heldout_documents=0, seed=seed, num_threads=1,
                          character_coverage=coverage)
    try:
        stats = train_tokenizer(files, out / "tokenizer", cfg)
    except RunError as e:
        # The arms' text needs more distinct characters at this coverage than the vocabulary holds (SentencePiece:
        # "Vocabulary size is smaller than required_chars. 1000 vs 1024"): a choice of the user's, said in one line.
        found = re.search(r"required_chars\. (\d+) vs (\d+)", str(e))
        if not found:
            raise
        raise ConfigError(f"--vocab-size {vocab_size} is below the {found.group(2)} pieces these arms need at "
                          f"--character-coverage {coverage}: raise --vocab-size or lower --character-coverage") from None
    print(f"shared tokenizer: {stats['vocab_size']} pieces from {len(files)} equal shares", flush=True)
    return out / "tokenizer" / "tokenizer.model"


def pack_arm(texts: list[str], sp, tokenizer_path: Path, out_dir: Path, seq_len: int) -> dict:
    """Every document EOS-terminated, concatenated, cut into rows of seq_len + 1: the loader's train split."""
    import numpy as np
    import pyarrow as pa


    eos, vocab = sp.eos_id(), sp.get_piece_size()
    stream = np.fromiter((t for ids in sp.encode(texts) for t in (*ids, eos)), dtype=np.int64)
    rows = len(stream) // (seq_len + 1)
    if rows == 0:
        raise ConfigError(f"{out_dir}: fewer than {seq_len + 1} tokens; lower --seq-len")
    values = pa.array(stream[: rows * (seq_len + 1)].astype(np.uint32), type=token_type(vocab))
    table = pa.table({"tokens": pa.FixedSizeListArray.from_arrays(values, seq_len + 1)},
                     schema=shard_schema(seq_len, vocab))
    with atomic_path(out_dir / "train-00000.arrow") as tmp:
        with pa.ipc.new_file(str(tmp), table.schema) as writer:
            writer.write_table(table)
    manifest = {"tokenizer": str(tokenizer_path), "tokenizer_sha256": sha256_file(tokenizer_path),
                "vocab_size": vocab, "eos_id": eos, "seq_len": seq_len, "row_tokens": seq_len + 1,
                "documents": len(texts), "tokens": int(len(stream)), "sequences": rows,
                "shards": [{"file": "train-00000.arrow", "split": "train", "sequences": rows}]}
    write_json(out_dir / "manifest.json", manifest)
    return manifest


def evaluate(model_path: Path, sp, docs: list[str], seq_len: int, device: str) -> dict:
    """Summed NLL over every token of every document and its closing EOS, each document read from an EOS (in
    training a document follows one), in consecutive windows of seq_len tokens, as training rows are cut."""
    import torch

    from trainers.gpt import GPT, GPTConfig

    ck = torch.load(model_path, map_location=device, weights_only=True)
    model = GPT(GPTConfig(**ck["config"])).to(device).eval()
    model.load_state_dict(ck["model"])
    nats, tokens = 0.0, 0
    with torch.no_grad():
        for ids in sp.encode(docs):
            seq = torch.tensor([sp.eos_id(), *ids, sp.eos_id()], device=device)
            for start in range(0, len(seq) - 1, seq_len):
                y = seq[start + 1:start + seq_len + 1]
                logits, _ = model(seq[start:start + len(y)][None])
                nats += torch.nn.functional.cross_entropy(logits[0].float(), y, reduction="sum").item()
                tokens += len(y)
    n_bytes = sum(len(d.encode("utf-8")) for d in docs)
    return {"documents": len(docs), "bytes": n_bytes, "tokens": tokens, "loss": nats / tokens,
            "bits_per_byte": nats / math.log(2) / n_bytes}


def read_heldout(path: str) -> list[str]:
    with open(path, encoding="utf-8") as fh:
        docs = [json.loads(line)["text"] for line in fh if line.strip()]
    if not docs:
        raise ConfigError(f"--heldout {path}: no documents")
    return docs


def write_outputs(rows: list[dict], setup: dict, out: Path) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=TABLE_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: (round(r[k], 5) if isinstance(r[k], float) else r[k]) for k in TABLE_COLUMNS} for r in rows)
    with atomic_path(out / "table.csv") as tmp:
        tmp.write_text(buf.getvalue(), encoding="utf-8")
    write_json(out / "table.json", {"setup": setup, "rows": rows})
    plot(rows, out / "plot.png", setup["tokens"])


def plot(rows: list[dict], path: Path, tokens: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sets = list(dict.fromkeys(r["heldout"] for r in rows))
    arms = list(dict.fromkeys(r["arm"] for r in rows))
    value = {(r["arm"], r["heldout"]): r["bits_per_byte"] for r in rows}
    width = 0.8 / len(arms)
    fig, ax = plt.subplots(figsize=(1.8 + 1.6 * len(sets), 3.6))
    for i, arm in enumerate(arms):
        xs = [j + (i - (len(arms) - 1) / 2) * width for j in range(len(sets))]
        bars = ax.bar(xs, [value[arm, s] for s in sets], width, label=arm)
        ax.bar_label(bars, fmt="%.3f", fontsize=7)
    ax.set_xticks(range(len(sets)), sets)
    ax.set_ylabel("bits per byte (lower is better)")
    ax.set_title(f"held-out bits per byte after {tokens:,} training tokens per arm", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)


def main(args) -> int:
    try:
        import sentencepiece as spm
        import torch
    except ModuleNotFoundError as e:
        raise ConfigError(f"pipeline ablate needs torch and sentencepiece: pip install 'ko-curate[train]' ({e})") \
            from None
    from trainers import pretrain as train

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    runs = {}
    for run in args.runs:
        name = Path(run).resolve().name
        while name in runs:
            name += "'"
        runs[name] = Path(run)
    for kind, config in (("raw", args.raw_arm), ("dedup-only", args.dedup_only_arm)):
        if config:
            runs[kind] = build_arm(config, kind, out)
    if len(runs) < 2:
        raise ConfigError("pipeline ablate needs at least two arms (run directories, --raw-arm, --dedup-only-arm)")
    heldout_files = args.heldout or sorted(glob.glob(str(DEFAULT_HELDOUT / "*.jsonl")))
    heldout = {Path(f).name.removesuffix(".jsonl"): read_heldout(f) for f in heldout_files}
    arms = {name: arm_texts(run, args.documents) for name, run in runs.items()}
    tokenizer_path = Path(args.tokenizer) if args.tokenizer else train_shared_tokenizer(
        arms, out, args.vocab_size, args.tokenizer_chars, args.seed, args.character_coverage)
    sp = spm.SentencePieceProcessor(model_file=str(tokenizer_path))
    steps = max(1, args.tokens // (args.batch_size * args.seq_len))
    device = "cuda" if args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available()) else "cpu"
    rows, per_arm = [], {}
    for name, texts in arms.items():
        arm_dir = out / "arms" / name
        manifest = pack_arm(texts, sp, tokenizer_path, arm_dir / "tokens", args.seq_len)
        parser = argparse.ArgumentParser()
        train.add_arguments(parser)
        argv = ["--shards", str(arm_dir / "tokens"), "--out", str(arm_dir / "train"), "--steps", str(steps),
                "--batch-size", str(args.batch_size), "--grad-accum", "1", "--n-layer", str(args.n_layer),
                "--n-head", str(args.n_head), "--n-embd", str(args.n_embd), "--lr", str(args.lr),
                "--warmup-steps", str(max(1, steps // 10)), "--seed", str(args.seed), "--device", args.device,
                "--log-every", str(max(1, steps // 5)), "--eval-every", str(steps), "--eval-batches", "1",
                "--dropout", "0"] + (["--preset", args.train_preset] if args.train_preset else [])
        print(f"arm {name}: {len(texts)} documents, {manifest['tokens']:,} tokens; training {steps} steps", flush=True)
        train.main(parser.parse_args(argv))
        summary = json.loads((arm_dir / "train" / "train.json").read_text(encoding="utf-8"))
        per_arm[name] = {"run": str(runs[name]), "documents": len(texts), "characters": sum(map(len, texts)),
                         "unique_tokens": manifest["tokens"], "train_tokens": summary["tokens_seen"],
                         "epochs": round(summary["tokens_seen"] / max(1, manifest["sequences"] * args.seq_len), 3),
                         "final_train_loss": summary["final_train_loss"]}
        for set_name, docs in heldout.items():
            rows.append({"arm": name, "heldout": set_name,
                         **evaluate(arm_dir / "train" / "model.pt", sp, docs, args.seq_len, device)})
    setup = {"tokens": steps * args.batch_size * args.seq_len, "seed": args.seed, "documents": args.documents,
             "tokenizer": str(tokenizer_path), "vocab_size": sp.get_piece_size(), "shared_tokenizer": True,
             "model": {"n_layer": args.n_layer, "n_head": args.n_head, "n_embd": args.n_embd,
                       "seq_len": args.seq_len}, "steps": steps, "batch_size": args.batch_size, "lr": args.lr,
             "heldout": {k: str(f) for k, f in zip(heldout, heldout_files)}, "arms": per_arm,
             "train_preset": args.train_preset}
    write_outputs(rows, setup, out / "ablation")
    for r in rows:
        print(f"{r['arm']:>16}  {r['heldout']:<16} loss {r['loss']:.4f}  bits/byte {r['bits_per_byte']:.4f}")
    print(f"table: {out / 'ablation' / 'table.csv'}")
    return 0

