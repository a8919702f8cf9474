"""PyTorch loader over the packed token shards: every sequence exactly once per epoch across ranks and workers.

    ds = TokenShardDataset("RUN/tokens", split="train", seed=0)      # rank/world from torch.distributed or env
    for epoch in range(n):
        ds.set_epoch(epoch)
        for rows in DataLoader(ds, batch_size=16, num_workers=2):    # rows: int64 [16, seq_len + 1]
            x, y = rows[:, :-1], rows[:, 1:]

The shard list comes from `manifest.json` (files of one split, in manifest order). Each epoch, a generator
seeded by (seed, epoch) shuffles the shard order and then all sequences of the split together (one global
permutation, 8 bytes per sequence per worker: 16 MB for 1B tokens at seq_len 512). Rank r takes every
world_size-th index of it starting at r, and DataLoader worker w every num_workers-th of the rank's share. So
consumers never overlap, their union is the whole split, and consecutive sequences come from different shards.
Shards are memory-mapped Arrow IPC files read zero-copy; only the rows a consumer takes are touched.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import torch
from torch.utils.data import IterableDataset, get_worker_info

from core.atomic import read_json


def _rank_world(rank: int | None, world_size: int | None) -> tuple[int, int]:
    if rank is not None and world_size is not None:
        return rank, world_size
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))


class TokenShardDataset(IterableDataset):
    def __init__(self, shards_dir: str | os.PathLike, split: str = "train", *, seed: int = 0, shuffle: bool = True,
                 rank: int | None = None, world_size: int | None = None, drop_uneven: bool = False):
        """`drop_uneven`: every rank yields the same count (N // world_size), as DDP needs; the rest is skipped."""
        self.dir = Path(shards_dir)
        self.manifest = read_json(self.dir / "manifest.json")
        entries = [s for s in self.manifest["shards"] if s["split"] == split]
        self.files = [str(self.dir / s["file"]) for s in entries]
        self.counts = np.array([s["sequences"] for s in entries], dtype=np.int64)
        self.row_tokens = int(self.manifest["row_tokens"])
        self.split, self.seed, self.shuffle, self.drop_uneven = split, seed, shuffle, drop_uneven
        self.rank, self.world_size = rank, world_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    @property
    def num_sequences(self) -> int:
        return int(self.counts.sum())

    def _indices(self) -> tuple[np.ndarray, np.ndarray]:
        """This consumer's global indices, and the shard order they refer to."""
        rank, world = _rank_world(self.rank, self.world_size)
        info = get_worker_info()
        workers, worker = (info.num_workers, info.id) if info else (1, 0)
        rng = np.random.default_rng([self.seed, self.epoch])
        order = rng.permutation(len(self.files)) if self.shuffle else np.arange(len(self.files))
        total = self.num_sequences
        perm = rng.permutation(total) if self.shuffle else np.arange(total)
        # Split by rank first, then by worker: a rank's share does not depend on its number of workers.
        of_rank = perm[rank::world]
        if self.drop_uneven:
            of_rank = of_rank[: total // world]
        return of_rank[worker::workers], order

    def __iter__(self):
        mine, order = self._indices()
        if len(mine) == 0:
            return
        # One view per record batch of every shard, in the epoch's shard order, with its first global index.
        views, starts, start = [], [], 0
        for pos in order:
            reader = pa.ipc.open_file(pa.memory_map(self.files[pos], "r"))
            for b in range(reader.num_record_batches):
                column = reader.get_batch(b).column(0)
                rows = column.values.to_numpy(zero_copy_only=True).reshape(-1, self.row_tokens)
                views.append(rows)
                starts.append(start)
                start += len(rows)
        starts_arr = np.array(starts, dtype=np.int64)
        batch_of = np.searchsorted(starts_arr, mine, side="right") - 1
        row_of = mine - starts_arr[batch_of]
        for b, r in zip(batch_of.tolist(), row_of.tolist()):
            yield torch.from_numpy(views[b][r].astype(np.int64))

    def __len__(self) -> int:
        """Sequences this rank yields per epoch, summed over its workers."""
        rank, world = _rank_world(self.rank, self.world_size)
        total = self.num_sequences
        if self.drop_uneven:
            return total // world
        return len(range(rank, total, world))
