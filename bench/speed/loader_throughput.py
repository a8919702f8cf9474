"""Loader throughput: sequences and tokens per second out of `TokenShardDataset` through a torch DataLoader.

Builds synthetic shards (random uint16 tokens, --sequences rows of 513 split over --shards files) unless
--tokens-dir names real ones, then reads one epoch with 0 and 2 DataLoader workers at batch size --batch-size.
Needs torch.

    python bench/speed/loader_throughput.py --sequences 20000 --shards 4
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
from torch.utils.data import DataLoader

from core.atomic import write_json
from tokenizer.loader import TokenShardDataset
from tokenizer.pack import shard_schema


def synthetic_shards(out: Path, sequences: int, shards: int, seq_len: int = 512) -> None:
    rng = np.random.default_rng(0)
    schema = shard_schema(seq_len, 8000)
    entries = []
    for s in range(shards):
        n = sequences // shards
        flat = pa.array(rng.integers(0, 8000, n * (seq_len + 1), dtype=np.uint16))
        path = out / f"train-{s:05d}.arrow"
        with pa.ipc.new_file(str(path), schema) as w:
            for start in range(0, n, 1024):
                rows = min(1024, n - start)
                piece = flat.slice(start * (seq_len + 1), rows * (seq_len + 1))
                w.write_batch(pa.record_batch([pa.FixedSizeListArray.from_arrays(piece, seq_len + 1)], schema=schema))
        entries.append({"file": path.name, "split": "train", "sequences": n})
    write_json(out / "manifest.json", {"row_tokens": seq_len + 1, "seq_len": seq_len, "shards": entries})


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens-dir")
    ap.add_argument("--sequences", type=int, default=20000)
    ap.add_argument("--shards", type=int, default=4)
    ap.add_argument("--batch-size", type=int, default=16)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tokens_dir = Path(args.tokens_dir) if args.tokens_dir else Path(tmp)
        if not args.tokens_dir:
            synthetic_shards(tokens_dir, args.sequences, args.shards)
        for workers in (0, 2):
            ds = TokenShardDataset(tokens_dir, "train", seed=1)
            t0 = time.perf_counter()
            n = 0
            for rows in DataLoader(ds, batch_size=args.batch_size, num_workers=workers):
                n += rows.shape[0]
            dt = time.perf_counter() - t0
            print(f"workers={workers}: {n} sequences of {ds.row_tokens} in {dt:.2f} s = {n / dt:,.0f} seq/s, "
                  f"{n * ds.row_tokens / dt / 1e6:.1f} M tokens/s")


if __name__ == "__main__":
    main()
