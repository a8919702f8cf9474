"""`pipeline train --shards RUN/tokens`: pretrain a small GPT on the packed token shards and log the loss.

    pipeline train --shards RUN/tokens --steps 200                              # CPU or one GPU
    pipeline train --shards RUN/tokens --preset configs/train-gpu.yaml --resume  # flags override the preset
    torchrun --nproc-per-node 8 -m pipeline.cli train --shards RUN/tokens --preset configs/train-gpu.yaml

Reads `manifest.json` for vocabulary size and sequence length and streams the train split through
`tokenizer.loader.TokenShardDataset` (epoch after epoch until `--steps`; every rank reads its own share, see the
loader). One step is `--grad-accum` micro-batches of `--batch-size` sequences per rank (or as many as
`--global-batch-tokens` needs), then one AdamW step; the learning rate warms up linearly, then decays on a
cosine to `lr * min_lr_ratio`. On CUDA: bf16 autocast, fused AdamW, `torch.compile` (`--no-compile` turns it
off; on CPU it is off unless `--compile`), DDP when started by torchrun (`WORLD_SIZE` > 1). Every
`--eval-every` steps it computes the loss on the first `--eval-batches` batches of the val split.

Writes to `--out` (default: `train/` beside the shards dir, i.e. RUN/train), from rank 0 only:
  loss.csv      step,train_loss,val_loss,lr,tokens_seen,elapsed_s (rewritten atomically at every log line, so
                the report can plot a run in progress; val_loss is empty on rows without evaluation)
  checkpoints/  step-NNNNNNNN.pt every `--checkpoint-every` steps (atomic; the last `--keep-checkpoints`
                kept): model, optimizer, schedule, step, loader position (epoch, batches consumed), every
                rank's RNG states (torch CPU and CUDA, numpy, python) and partial loss, and the log so far.
                `--resume` continues from the latest one and gives the same weights, bit for bit, as a run
                that was never stopped (tests/test_train.py); `--stop-at N` stops after checkpointing step N
  model.pt      state_dict + model config + tokenizer sha256, at the end
  train.json    parameters, device, steps, final losses, tokens/s, MFU
Throughput is printed at every log line as tokens/s and, on CUDA, model FLOPs utilisation against
`--peak-tflops` (default from the GPU's name, `PEAK_BF16_TFLOPS`).
Options and presets: trainers/pretrain_options.py; checkpoints and the random states they carry:
trainers/checkpoint.py. torch is the optional `[train]` extra: this module imports it only once `main` runs.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import os
import time
from contextlib import nullcontext
from dataclasses import asdict
from pathlib import Path

from core.atomic import atomic_path, read_json, write_json
from core.errors import ConfigError
from trainers.checkpoint import latest_checkpoint, rng_state, save_checkpoint, set_rng_state
from trainers.pretrain_options import OPTIONS, resolve

LOSS_COLUMNS = ("step", "train_loss", "val_loss", "lr", "tokens_seen", "elapsed_s")

# Dense bf16 tensor-core peaks from NVIDIA's data sheets (SXM parts unless named), first match on the device
# name wins, so longer names come before their prefixes (GH200 before H200, A100 before A10, L40S before L4).
PEAK_BF16_TFLOPS = (("GH200", 989.0), ("H200", 989.0), ("H100 PCIe", 756.0), ("H100", 989.0), ("B200", 2250.0),
                    ("A100", 312.0), ("A10", 125.0), ("L40S", 362.0), ("L40", 181.0), ("L4", 121.0))


def add_arguments(parser) -> None:
    parser.add_argument("--shards", required=True, help="token shards directory (RUN/tokens) with manifest.json")
    parser.add_argument("--preset", help="YAML file of these options (configs/train-cpu.yaml, train-gpu.yaml)")
    for name, type_, default, help_ in OPTIONS:
        flag = "--" + name.replace("_", "-")
        shown = f"{help_} (default: {default})" if default is not None else help_
        if type_ is bool:  # --compile / --no-compile, so a command line can turn off what a preset turns on
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=None, help=shown)
        elif name == "device":
            parser.add_argument(flag, choices=["auto", "cpu", "cuda"], default=None, help=shown)
        else:
            parser.add_argument(flag, type=type_, default=None, help=shown)


def lr_at(step: int, peak: float, warmup: int, total: int, min_ratio: float) -> float:
    """Linear warmup, then cosine decay to peak * min_ratio at the last step (nanoGPT's schedule)."""
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return peak * (min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))


def peak_tflops_for(device_name: str) -> float | None:
    return next((peak for part, peak in PEAK_BF16_TFLOPS if part in device_name), None)


def write_loss_csv(path: Path, rows: list[dict]) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=LOSS_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    with atomic_path(path) as tmp:
        tmp.write_text(buf.getvalue(), encoding="utf-8")


def main(args) -> int:
    try:
        import torch  # noqa: F401
    except ModuleNotFoundError:
        raise ConfigError("pipeline train needs torch: pip install 'ko-curate[train]' (or pip install torch)") from None
    opts = resolve(args)
    shards = Path(opts["shards"])
    if not (shards / "manifest.json").is_file():
        raise ConfigError(f"--shards: no manifest.json in {shards}")
    manifest = read_json(shards / "manifest.json")
    if opts["seq_len"] is not None and opts["seq_len"] != manifest["seq_len"]:
        raise ConfigError(f"--seq-len {opts['seq_len']}: {shards} was packed with seq_len {manifest['seq_len']}; "
                          "tokenize again with tokenize.seq_len set, or drop the option")
    out = Path(opts["out"]) if opts["out"] else shards.parent / "train"
    summary = train(opts, shards, manifest, out)
    if summary is not None:
        write_json(out / "train.json", summary)
    return 0


def train(opts: dict, shards: Path, manifest: dict, out: Path) -> dict | None:
    """Set up the device (and the process group under torchrun), run the loop, tear the group down."""
    import torch

    world, rank, local_rank = (int(os.environ.get(k, d)) for k, d in (("WORLD_SIZE", 1), ("RANK", 0), ("LOCAL_RANK", 0)))
    if opts["device"] == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda: no CUDA device available")
    use_cuda = opts["device"] == "cuda" or (opts["device"] == "auto" and torch.cuda.is_available())
    if use_cuda:
        torch.cuda.set_device(local_rank)
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    if world > 1:
        torch.distributed.init_process_group("nccl" if use_cuda else "gloo")
    try:
        result = _train(opts, shards, manifest, out, f"cuda:{local_rank}" if use_cuda else "cpu", rank, world)
        if world > 1:  # leave together: a rank that tears gloo down while rank 0 still writes can abort (SIGABRT)
            torch.distributed.barrier()
        return result
    finally:
        if world > 1:
            torch.distributed.destroy_process_group()


def _train(opts: dict, shards: Path, manifest: dict, out: Path, device: str, rank: int, world: int) -> dict | None:
    import numpy as np
    import torch
    from torch.utils.data import DataLoader

    from trainers.gpt import GPT, GPTConfig
    from tokenizer.loader import TokenShardDataset

    ddp, master, use_cuda = world > 1, rank == 0, device.startswith("cuda")
    seq_len, steps, batch_size = manifest["seq_len"], opts["steps"], opts["batch_size"]
    grad_accum = opts["grad_accum"]
    if opts["global_batch_tokens"] is not None:
        per_micro = batch_size * seq_len * world
        if opts["global_batch_tokens"] % per_micro:
            raise ConfigError(f"--global-batch-tokens {opts['global_batch_tokens']} is not a multiple of batch size "
                              f"x seq_len x ranks = {batch_size} x {seq_len} x {world}")
        grad_accum = opts["global_batch_tokens"] // per_micro
    use_bf16 = use_cuda and torch.cuda.is_bf16_supported()
    use_compile = opts["compile"] if opts["compile"] is not None else use_cuda
    torch.manual_seed(opts["seed"])

    # drop_uneven under DDP: every rank takes the same number of steps per epoch, or the all-reduce hangs.
    train_ds = TokenShardDataset(shards, "train", seed=opts["seed"], drop_uneven=ddp)
    if len(train_ds) < batch_size:
        raise ConfigError(f"--shards: {shards} has {len(train_ds)} train sequences per rank, fewer than "
                          f"--batch-size {batch_size}")
    val_ds = TokenShardDataset(shards, "val", shuffle=False, drop_uneven=ddp)
    model_cfg = GPTConfig(vocab_size=manifest["vocab_size"], seq_len=seq_len, n_layer=opts["n_layer"],
                          n_head=opts["n_head"], n_embd=opts["n_embd"], dropout=opts["dropout"])
    raw = GPT(model_cfg).to(device)
    if ddp:
        torch.manual_seed(opts["seed"] + rank)  # dropout masks differ per rank; DDP broadcasts rank 0's weights
    decay = [p for p in raw.parameters() if p.dim() >= 2]
    no_decay = [p for p in raw.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": opts["weight_decay"]},
                             {"params": no_decay, "weight_decay": 0.0}], lr=opts["lr"], betas=(0.9, 0.95),
                            fused=use_cuda)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: lr_at(s, 1.0, opts["warmup_steps"], steps, opts["min_lr_ratio"]))
    compiled = torch.compile(raw) if use_compile else raw
    model = torch.nn.parallel.DistributedDataParallel(compiled, device_ids=[device] if use_cuda else None) \
        if ddp else compiled
    # What a checkpoint must agree with to be continued: anything that changes the trajectory.
    run_key = {"model": asdict(model_cfg), "batch_size": batch_size, "grad_accum": grad_accum, "world_size": world,
               "steps": steps, "seed": opts["seed"], "tokenizer_sha256": manifest.get("tokenizer_sha256"),
               "train_sequences": train_ds.num_sequences,
               **{k: opts[k] for k in ("lr", "min_lr_ratio", "warmup_steps", "weight_decay", "grad_clip")}}

    def autocast():
        return torch.autocast(device_type="cuda" if use_cuda else "cpu", dtype=torch.bfloat16, enabled=use_bf16)

    def loader(ds, epoch: int, drop_last: bool):
        ds.set_epoch(epoch)
        # Its own generator, so that making a DataLoader never draws from the global RNG (dropout's): a resumed
        # run makes one more than a run that was never stopped.
        return DataLoader(ds, batch_size=batch_size, num_workers=opts["num_workers"], pin_memory=use_cuda,
                          drop_last=drop_last, generator=torch.Generator().manual_seed(opts["seed"]))

    position = {"epoch": 0, "batch": 0}  # batches of the epoch already consumed

    def batches():
        while True:
            it = iter(loader(train_ds, position["epoch"], drop_last=True))
            # Resuming: read past what the checkpointed run consumed (the loader has no seek; at 512 sequences a
            # step this is reads only, seconds for thousands of steps).
            for _ in range(position["batch"]):
                next(it)
            for rows in it:
                position["batch"] += 1
                yield rows.to(device, non_blocking=True)
            position["epoch"], position["batch"] = position["epoch"] + 1, 0

    @torch.no_grad()
    def val_loss() -> float | None:
        compiled.eval()
        total = torch.zeros(2, device=device, dtype=torch.float64)
        for i, rows in enumerate(loader(val_ds, 0, drop_last=False)):
            if i >= opts["eval_batches"]:
                break
            rows = rows.to(device)
            with autocast():
                total += torch.tensor([compiled(rows[:, :-1], rows[:, 1:])[1].item(), 1.0], device=device,
                                      dtype=torch.float64)
        compiled.train()
        if ddp:
            torch.distributed.all_reduce(total)
        return None if total[1] == 0 else (total[0] / total[1]).item()

    ckpt_dir = out / "checkpoints"
    rows_log: list[dict] = []
    interval = torch.zeros((), device=device)  # sum of step losses since the last log line
    interval_steps = tokens_seen = start_step = 0
    elapsed0 = 0.0
    resumed = latest_checkpoint(ckpt_dir) if opts["resume"] else None
    if resumed is not None:
        # On CPU: RNG states must be CPU tensors; load_state_dict moves weights and optimizer state to the device.
        ck = torch.load(resumed, map_location="cpu", weights_only=True)
        differ = sorted(k for k in run_key if ck["run"].get(k) != run_key[k])
        if differ:
            raise ConfigError(f"--resume: {resumed} was written by a run with other {', '.join(differ)}; "
                              "use the same options, or another --out")
        raw.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        schedule.load_state_dict(ck["schedule"])
        position.update(ck["loader"])
        rows_log, interval_steps = ck["log"], ck["interval_steps"]
        tokens_seen, elapsed0, start_step = ck["tokens_seen"], ck["elapsed_s"], ck["step"]
        interval = ck["ranks"][rank]["interval"].to(device)
        set_rng_state(ck["ranks"][rank]["rng"], torch, np)

    if master:
        out.mkdir(parents=True, exist_ok=True)
        print(f"model: {raw.num_parameters() / 1e6:.2f}M parameters, device {device}{' bf16' if use_bf16 else ''}"
              f"{' compiled' if use_compile else ''}, {world} rank(s), {train_ds.num_sequences} train / "
              f"{val_ds.num_sequences} val sequences of {seq_len}, {batch_size} x {grad_accum} x {world} "
              f"sequences per step" + (f"; resumed from {resumed.name}" if resumed else ""), flush=True)
    peak = opts["peak_tflops"] or (peak_tflops_for(torch.cuda.get_device_name(device)) if use_cuda else None)
    if master and use_cuda and peak is None:
        print(f"MFU: unknown peak for {torch.cuda.get_device_name(device)}; pass --peak-tflops", flush=True)
    flops_per_token = raw.flops_per_token()
    tokens_per_step = batch_size * seq_len * grad_accum * world
    stop = min(steps, opts["stop_at"]) if opts["stop_at"] else steps
    stream = batches()
    start = time.perf_counter() - elapsed0
    mark, mark_tokens, throughput = time.perf_counter(), tokens_seen, {}
    for step in range(start_step, stop):
        lr = schedule.get_last_lr()[0]
        for micro in range(grad_accum):
            rows = next(stream)
            # Under DDP only the last micro-batch all-reduces the gradients.
            with model.no_sync() if ddp and micro < grad_accum - 1 else nullcontext():
                with autocast():
                    _, loss = model(rows[:, :-1], rows[:, 1:])
                (loss / grad_accum).backward()
            interval += loss.detach() / grad_accum
        if opts["grad_clip"] > 0:
            torch.nn.utils.clip_grad_norm_(raw.parameters(), opts["grad_clip"])
        opt.step()
        schedule.step()
        opt.zero_grad(set_to_none=True)
        tokens_seen += tokens_per_step
        interval_steps += 1
        evaluate = step % opts["eval_every"] == 0 or step == steps - 1
        if step % opts["log_every"] == 0 or evaluate:
            if use_cuda:
                torch.cuda.synchronize()
            now = time.perf_counter()
            throughput = {"tokens_per_s": (tokens_seen - mark_tokens) / max(now - mark, 1e-9)}
            if peak:
                throughput["mfu"] = throughput["tokens_per_s"] * flops_per_token / (peak * 1e12 * world)
            if ddp:
                torch.distributed.all_reduce(interval)  # a sum: gloo has no AVG
                interval /= world
            vl = val_loss() if evaluate else None
            rows_log.append({"step": step, "train_loss": round(interval.item() / interval_steps, 5),
                             "val_loss": "" if vl is None else round(vl, 5), "lr": f"{lr:.3e}",
                             "tokens_seen": tokens_seen, "elapsed_s": round(time.perf_counter() - start, 3)})
            interval, interval_steps = torch.zeros((), device=device), 0
            if master:
                write_loss_csv(out / "loss.csv", rows_log)
                r = rows_log[-1]
                mfu = f"  MFU {throughput['mfu']:.1%}" if "mfu" in throughput else ""
                print(f"step {step:>6}  train {r['train_loss']:.4f}  val {r['val_loss'] or '-'}  lr {lr:.2e}  "
                      f"{throughput['tokens_per_s']:,.0f} tokens/s{mfu}", flush=True)
            mark, mark_tokens = time.perf_counter(), tokens_seen  # evaluation time is not throughput
        done = step + 1
        if (opts["checkpoint_every"] and done % opts["checkpoint_every"] == 0) or (done == stop < steps):
            # Per rank: its RNG states and its share of the loss logged next (each rank averages its own).
            ranks, mine = [None] * world, {"rng": rng_state(torch, np), "interval": interval.cpu()}
            if ddp:
                torch.distributed.all_gather_object(ranks, mine)
            else:
                ranks = [mine]
            if master:
                save_checkpoint(torch, ckpt_dir, opts["keep_checkpoints"], {
                    "step": done, "model": raw.state_dict(), "optimizer": opt.state_dict(),
                    "schedule": schedule.state_dict(), "loader": dict(position), "ranks": ranks, "log": rows_log,
                    "interval_steps": interval_steps, "tokens_seen": tokens_seen,
                    "elapsed_s": time.perf_counter() - start, "run": run_key})

    if stop < steps:
        if master:
            print(f"stopped after step {stop} of {steps}; run again with --resume to continue", flush=True)
        return None
    if not master:
        return None
    elapsed = time.perf_counter() - start
    with atomic_path(out / "model.pt") as tmp:
        torch.save({"model": raw.state_dict(), "config": asdict(model_cfg),
                    "tokenizer_sha256": manifest.get("tokenizer_sha256")}, tmp)
    final_val = next((r["val_loss"] for r in reversed(rows_log) if r["val_loss"] != ""), None)
    return {
        "parameters": raw.num_parameters(), "config": asdict(model_cfg), "device": device.split(":")[0],
        "bf16": use_bf16, "compiled": use_compile, "world_size": world, "steps": steps, "batch_size": batch_size,
        "grad_accum": grad_accum, "tokens_seen": tokens_seen, "elapsed_s": round(elapsed, 3),
        "tokens_per_s": round(tokens_seen / elapsed, 1), "last_interval_tokens_per_s":
            round(throughput.get("tokens_per_s", 0.0), 1), "mfu": round(throughput["mfu"], 4) if "mfu" in throughput
        else None, "peak_tflops": peak, "first_train_loss": rows_log[0]["train_loss"],
        "final_train_loss": rows_log[-1]["train_loss"], "final_val_loss": final_val, "shards": str(shards),
        "seed": opts["seed"], "resumed_from": str(resumed) if resumed else None,
    }
