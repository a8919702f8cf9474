"""Checkpoints of `pipeline train`: OUT/checkpoints/step-NNNNNNNN.pt written atomically with the newest
`--keep-checkpoints` kept, and the random states (torch CPU and CUDA, numpy, python) a resumed run restores to
continue bit for bit. What a checkpoint holds is assembled by the loop in trainers/pretrain.py.

torch and numpy are passed in, not imported: torch is the optional `[train]` extra, imported only once a run starts.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

from core.atomic import atomic_path

CHECKPOINT = re.compile(r"^step-(\d{8})\.pt$")


def latest_checkpoint(directory: Path) -> Path | None:
    found = sorted(p for p in directory.glob("step-*.pt") if CHECKPOINT.match(p.name)) if directory.is_dir() else []
    return found[-1] if found else None


def save_checkpoint(torch, directory: Path, keep: int, state: dict) -> None:
    """Atomic write of step-NNNNNNNN.pt, then the oldest beyond `keep` removed (never the one just written)."""
    with atomic_path(directory / f"step-{state['step']:08d}.pt") as tmp:
        torch.save(state, tmp)
    found = sorted(p for p in directory.glob("step-*.pt") if CHECKPOINT.match(p.name))
    for old in found[:-keep]:
        old.unlink()


def rng_state(torch, np) -> dict:
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state = {"torch": torch.get_rng_state(), "python": random.getstate(),
             "numpy": [kind, keys.tolist(), pos, has_gauss, cached]}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state()
    return state


def set_rng_state(state: dict, torch, np) -> None:
    torch.set_rng_state(state["torch"])
    random.setstate(state["python"])
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, np.array(keys, dtype=np.uint32), pos, has_gauss, cached))
    if "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"])

