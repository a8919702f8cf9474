"""`pipeline train`: a tiny GPT on tiny shards learns (loss goes down on CPU) and logs the loss CSV; a run stopped
and resumed from its checkpoint ends with the same weights, bit for bit, as one never stopped; gradient
accumulation over two half batches gives the weights of one whole batch; presets and their overrides."""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import pytest

from trainers import pretrain as train
from trainers.pretrain_options import resolve
from core.errors import ConfigError

torch = pytest.importorskip("torch")

from test_tokenizer import local, make_run, tiny_cfg  # noqa: E402  (tests/ is on sys.path, see conftest)
from tokenizer import stage  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TINY = ("--n-layer", "1", "--n-head", "2", "--n-embd", "32", "--lr", "1e-2", "--warmup-steps", "3",
        "--device", "cpu", "--eval-batches", "2")


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    train.add_arguments(parser)
    return parser.parse_args(list(argv))


@pytest.fixture(scope="module")
def tokens(tmp_path_factory) -> Path:
    run_dir = make_run(tmp_path_factory.mktemp("run") / "run")
    stage.run(tiny_cfg(), None, run_dir, local())
    return run_dir / "tokens"  # 820 train sequences of 32 tokens


def weights(out: Path) -> dict:
    return torch.load(out / "model.pt", weights_only=True)["model"]


def loss_rows(out: Path) -> list[dict]:
    with open(out / "loss.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def test_tiny_gpt_loss_goes_down_on_cpu(tmp_path, capsys):
    run_dir = make_run(tmp_path / "run")
    stage.run(tiny_cfg(), None, run_dir, local())
    args = parse("--shards", str(run_dir / "tokens"), "--steps", "40", "--batch-size", "8", "--n-layer", "1",
                 "--n-head", "2", "--n-embd", "32", "--lr", "1e-2", "--warmup-steps", "5", "--log-every", "10",
                 "--eval-every", "20", "--eval-batches", "2", "--device", "cpu")
    assert train.main(args) == 0
    out = run_dir / "train"  # default: beside RUN/tokens
    rows = loss_rows(out)
    assert list(rows[0]) == ["step", "train_loss", "val_loss", "lr", "tokens_seen", "elapsed_s"]
    assert [int(r["step"]) for r in rows] == [0, 10, 20, 30, 39]
    first, last = float(rows[0]["train_loss"]), float(rows[-1]["train_loss"])
    assert last < first - 1.0, (first, last)
    vals = [float(r["val_loss"]) for r in rows if r["val_loss"]]
    assert len(vals) == 3 and vals[-1] < vals[0]
    assert int(rows[-1]["tokens_seen"]) == 40 * 8 * 32
    summary = json.loads((out / "train.json").read_text())
    assert summary["device"] == "cpu" and summary["parameters"] > 0 and summary["tokens_per_s"] > 0
    assert summary["mfu"] is None  # no peak FLOPs figure on CPU
    checkpoint = torch.load(out / "model.pt", weights_only=True)
    assert checkpoint["config"]["n_embd"] == 32
    printed = capsys.readouterr().out
    assert "tokens/s" in printed and "MFU" not in printed


def test_resume_from_checkpoint_is_bit_for_bit(tokens, tmp_path, capsys):
    # Dropout on, so the restored torch RNG matters; 3 micro-batches per step, so the loader position does.
    common = ("--shards", str(tokens), "--steps", "12", "--batch-size", "4", "--grad-accum", "3", "--dropout",
              "0.1", "--log-every", "2", "--eval-every", "5", "--checkpoint-every", "4", *TINY)
    straight, stopped = tmp_path / "straight", tmp_path / "stopped"
    assert train.main(parse(*common, "--out", str(straight))) == 0
    assert train.main(parse(*common, "--out", str(stopped), "--stop-at", "6")) == 0
    assert not (stopped / "model.pt").exists()
    assert sorted(p.name for p in (stopped / "checkpoints").iterdir()) == ["step-00000004.pt", "step-00000006.pt"]
    assert train.main(parse(*common, "--out", str(stopped), "--resume")) == 0
    assert "resumed from step-00000006.pt" in capsys.readouterr().out
    a, b = weights(straight), weights(stopped)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    drop_time = [{k: v for k, v in r.items() if k != "elapsed_s"} for r in loss_rows(straight)]
    assert drop_time == [{k: v for k, v in r.items() if k != "elapsed_s"} for r in loss_rows(stopped)]
    # keep_checkpoints (2): the newest two, and no temporary files left behind
    assert sorted(p.name for p in (stopped / "checkpoints").iterdir()) == ["step-00000008.pt", "step-00000012.pt"]
    ck = torch.load(stopped / "checkpoints" / "step-00000012.pt", weights_only=True)
    assert {"model", "optimizer", "schedule", "step", "loader", "ranks"} <= ck.keys()
    assert {"torch", "numpy", "python"} <= ck["ranks"][0]["rng"].keys() and ck["loader"] == {"epoch": 0, "batch": 12 * 3}


def test_resume_with_other_options_is_a_config_error(tokens, tmp_path):
    common = ("--shards", str(tokens), "--steps", "4", "--batch-size", "4", "--out", str(tmp_path), *TINY)
    assert train.main(parse(*common, "--stop-at", "2")) == 0
    with pytest.raises(ConfigError, match="other batch_size"):
        train.main(parse(*common, "--resume", "--batch-size", "8"))


def test_grad_accum_matches_one_whole_batch(tokens, tmp_path):
    common = ("--shards", str(tokens), "--steps", "10", "--log-every", "5", "--eval-every", "100", *TINY)
    whole, halves = tmp_path / "whole", tmp_path / "halves"
    assert train.main(parse(*common, "--batch-size", "8", "--out", str(whole))) == 0
    assert train.main(parse(*common, "--batch-size", "4", "--grad-accum", "2", "--out", str(halves))) == 0
    a, b = weights(whole), weights(halves)
    assert all(torch.allclose(a[k], b[k], rtol=1e-4, atol=1e-5) for k in a)
    assert not all(torch.equal(a[k], b[k]) for k in a)  # summed in another order: close, not identical
    assert loss_rows(whole)[-1]["tokens_seen"] == loss_rows(halves)[-1]["tokens_seen"] == str(10 * 8 * 32)


def test_presets_load_and_flags_override(tmp_path):
    cpu = resolve(parse("--shards", "x", "--preset", str(ROOT / "configs/train-cpu.yaml"), "--steps", "7"))
    assert cpu["steps"] == 7 and cpu["n_embd"] == 32 and cpu["compile"] is False
    gpu = resolve(parse("--shards", "x", "--preset", str(ROOT / "configs/train-gpu.yaml")))
    assert (gpu["n_layer"], gpu["n_head"], gpu["n_embd"], gpu["seq_len"]) == (12, 12, 768, 1024)
    assert gpu["global_batch_tokens"] == 2 ** 19 and gpu["steps"] * 2 ** 19 > 2e9 and gpu["compile"] is True
    # a --grad-accum on the command line replaces the preset's global batch
    assert resolve(parse("--shards", "x", "--preset", str(ROOT / "configs/train-gpu.yaml"),
                         "--grad-accum", "4"))["global_batch_tokens"] is None
    bad = tmp_path / "bad.yaml"
    bad.write_text("n_layers: 3\n")
    with pytest.raises(ConfigError, match="bad.yaml: n_layers: unknown option"):
        resolve(parse("--shards", "x", "--preset", str(bad)))
    bad.write_text("steps: many\n")
    with pytest.raises(ConfigError, match="bad.yaml: steps: expected int"):
        resolve(parse("--shards", "x", "--preset", str(bad)))


def test_gpt_small_preset_shape_and_flops():
    from trainers.gpt import GPT, GPTConfig

    model = GPT(GPTConfig(vocab_size=50257, seq_len=1024, n_layer=12, n_head=12, n_embd=768))
    assert 123e6 < model.num_parameters() < 126e6  # GPT-2 small's 124M
    assert model.flops_per_token() == pytest.approx(6 * (model.num_parameters() - 1024 * 768) + 12 * 12 * 768 * 1024)
    assert train.peak_tflops_for("NVIDIA H200") == train.peak_tflops_for("NVIDIA H100 80GB HBM3") == 989.0
    assert train.peak_tflops_for("NVIDIA A100-SXM4-80GB") == 312.0 and train.peak_tflops_for("NVIDIA GH200 480GB") == 989
    assert train.peak_tflops_for("Tesla T4") is None


def test_missing_manifest_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="no manifest.json"):
        train.main(parse("--shards", str(tmp_path)))


def test_lr_schedule_warms_up_then_decays():
    lrs = [train.lr_at(s, 1.0, 10, 100, 0.1) for s in range(100)]
    assert lrs[0] == pytest.approx(0.1) and lrs[9] == pytest.approx(1.0)
    assert lrs[-1] == pytest.approx(0.1, abs=0.01) and all(a >= b for a, b in zip(lrs[9:], lrs[10:]))


def test_torchrun_two_ranks_on_cpu(tokens, tmp_path):
    """DDP over gloo: two ranks, each its own half of the data (the loader's rank split), one set of weights."""
    import os
    import subprocess
    import sys

    out = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
           "-m", "pipeline.cli", "train", "--shards", str(tokens), "--preset", str(ROOT / "configs/train-cpu.yaml"),
           "--steps", "6", "--batch-size", "4", "--grad-accum", "2", "--log-every", "5", "--out", str(out)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "2 rank(s)" in r.stdout and "4 x 2 x 2 sequences per step" in r.stdout
    summary = json.loads((out / "train.json").read_text())
    assert summary["world_size"] == 2 and summary["tokens_seen"] == 6 * 4 * 2 * 2 * 32
