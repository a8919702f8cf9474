"""How reliably does `pipeline ablate` rank the curated sample above the raw one? Builds the curated run
(configs/ko-web.yaml without tokenize/report, local backend) once, then runs the ablation against the raw arm
(`--raw-arm`) for several seeds and sizes and prints, per setting, the held-out loss of each arm and the margin
(raw - curated, nats per token, and bits per byte) on every held-out set.

    python bench/training/ablate.py [--seeds 1 2 3] [--tokens 100000] [--vocab-size 1000] [--heldout F.jsonl ...]

tests/test_ablate.py asserts the kowiki margin at the size this measures by default; the module docstring of
trainers/ablate.py and the figures below say how it came out.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import yaml

from bench.harness import ROOT
from pipeline import cli


def curated_config(tmp: Path) -> Path:
    cfg = yaml.safe_load((ROOT / "configs" / "ko-web.yaml").read_text(encoding="utf-8"))
    cfg.update(tokenize=None, report=None, output=str(tmp / "curated"))
    cfg["execution"] = {**cfg.get("execution", {}), "backend": "local"}
    path = tmp / "curated.yaml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    return path


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--tokens", type=int, nargs="+", default=[100_000])
    ap.add_argument("--vocab-size", type=int, default=1000)
    ap.add_argument("--character-coverage", type=float, default=0.98)
    ap.add_argument("--heldout", action="append")
    ap.add_argument("--extra", default="", help="more `pipeline ablate` options, one string")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="ablate-bench-"))
    config = curated_config(tmp)
    assert cli.main(["run", str(config)]) == 0
    for tokens in args.tokens:
        for seed in args.seeds:
            out = tmp / f"ablation-{tokens}-{seed}"
            t0 = time.perf_counter()
            argv = ["ablate", str(tmp / "curated"), "--raw-arm", str(config), "--out", str(out), "--tokens",
                    str(tokens), "--seed", str(seed), "--vocab-size", str(args.vocab_size), "--character-coverage",
                    str(args.character_coverage), "--device", "cpu", *args.extra.split()]
            for f in args.heldout or []:
                argv += ["--heldout", f]
            assert cli.main(argv) == 0
            rows = json.loads((out / "ablation" / "table.json").read_text())["rows"]
            by = {(r["arm"], r["heldout"]): r for r in rows}
            for heldout in sorted({r["heldout"] for r in rows}):
                c, r = by["curated", heldout], by["raw", heldout]
                print(f"RESULT tokens {tokens} seed {seed} {heldout:<15} curated {c['loss']:.4f} raw {r['loss']:.4f} "
                      f"margin {r['loss'] - c['loss']:+.4f} nats/token, {r['bits_per_byte'] - c['bits_per_byte']:+.4f} "
                      f"bits/byte  ({time.perf_counter() - t0:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
