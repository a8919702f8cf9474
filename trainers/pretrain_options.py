"""The options of `pipeline train`, and how a run's values are chosen: command line > `--preset` file > default.

`OPTIONS` lists each option once (name, type, default, help): trainers/pretrain.py turns it into flags,
`load_preset` checks a preset (configs/train-cpu.yaml, train-gpu.yaml) against it (an unknown key or a wrong type
is an error naming the file and the key), and `resolve` merges the three levels into the dict the loop reads.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from core.errors import ConfigError

# (option, type, default, help). Defaults live here rather than in argparse so that a --preset file can sit
# between them and the command line: command line > preset > default.
OPTIONS = [
    ("out", str, None, "output directory (default: train/ beside the shards directory)"),
    ("steps", int, 200, "optimizer steps"),
    ("batch_size", int, 16, "sequences per micro-batch per rank"),
    ("grad_accum", int, 1, "micro-batches per optimizer step"),
    ("global_batch_tokens", int, None, "tokens per optimizer step over all ranks; sets --grad-accum"),
    ("seq_len", int, None, "expected sequence length; an error if the shards were packed with another"),
    ("lr", float, 1e-3, "peak learning rate (AdamW)"),
    ("min_lr_ratio", float, 0.1, "cosine decay ends at lr * this"),
    ("warmup_steps", int, 20, "linear warm-up steps"),
    ("weight_decay", float, 0.1, "AdamW weight decay on matrices (not on norms and biases)"),
    ("grad_clip", float, 1.0, "clip the gradient norm to this (0: off)"),
    ("n_layer", int, 4, "transformer blocks"),
    ("n_head", int, 4, "attention heads"),
    ("n_embd", int, 256, "model width"),
    ("dropout", float, 0.0, "dropout probability"),
    ("log_every", int, 10, "steps between loss.csv rows"),
    ("eval_every", int, 50, "steps between validation losses"),
    ("eval_batches", int, 10, "validation batches per evaluation"),
    ("device", str, "auto", "auto, cpu or cuda"),
    ("num_workers", int, 0, "DataLoader workers per rank"),
    ("seed", int, 1234, "model init and data order"),
    ("compile", bool, None, "torch.compile the model (default: on with CUDA, off on CPU)"),
    ("checkpoint_every", int, 0, "steps between checkpoints (0: none)"),
    ("keep_checkpoints", int, 2, "checkpoints kept on disk, newest first"),
    ("resume", bool, False, "continue from the latest checkpoint in OUT/checkpoints (fresh start if none)"),
    ("stop_at", int, None, "checkpoint and stop once this many steps are done (a job with a time limit)"),
    ("peak_tflops", float, None, "peak bf16 TFLOPs per GPU for MFU (default: from the GPU name)"),
]
DEFAULTS = {name: default for name, _, default, _ in OPTIONS}
TYPES = {name: type_ for name, type_, _, _ in OPTIONS}


def load_preset(path: str | os.PathLike) -> dict:
    """A preset's options, checked: an unknown key or a wrong type is an error naming the file and the key."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ConfigError(f"--preset: no such file: {path}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a preset is a mapping of option: value")
    preset = {}
    for key, value in data.items():
        name = str(key).replace("-", "_")
        if name not in TYPES:
            raise ConfigError(f"{path}: {key}: unknown option; known: {', '.join(TYPES)}")
        want = TYPES[name]
        ok = value is None or (isinstance(value, bool) if want is bool else
                               isinstance(value, (int, float)) and not isinstance(value, bool) if want is float else
                               isinstance(value, want) and not isinstance(value, bool))
        if not ok:
            raise ConfigError(f"{path}: {key}: expected {want.__name__}, got {value!r}")
        preset[name] = float(value) if want is float and value is not None else value
    return preset


def resolve(args) -> dict:
    """Command line > preset > default, per option. A batch size given at one level wins over the other's."""
    preset = load_preset(args.preset) if getattr(args, "preset", None) else {}
    given = {n: getattr(args, n) for n in DEFAULTS if getattr(args, n, None) is not None}
    if "grad_accum" in given or "global_batch_tokens" in given:
        preset.pop("grad_accum", None)
        preset.pop("global_batch_tokens", None)
    opts = {**DEFAULTS, **preset, **given}
    if opts["global_batch_tokens"] is not None and ("grad_accum" in given or "grad_accum" in preset):
        raise ConfigError("--grad-accum and --global-batch-tokens both given; set one")
    for name in ("steps", "batch_size", "grad_accum", "log_every", "eval_every", "eval_batches", "keep_checkpoints"):
        if opts[name] < 1:
            raise ConfigError(f"--{name.replace('_', '-')} must be >= 1, got {opts[name]}")
    opts["shards"] = args.shards
    return opts
