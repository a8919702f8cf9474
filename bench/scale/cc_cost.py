"""What curating the Korean part of one Common Crawl snapshot costs: CPU-hours, wall time on N nodes of M cores,
and bytes read, reading whole WARC files (with and without the raw-byte pre-filter) or only the Korean records
through the columnar index (`input.format: cc_index`).

    python bench/scale/cc_cost.py [--measure] [--pages 2.5e9] [--warc-tib 75] [--korean-share 0.01] ...

A model, not a run: every per-record cost is a figure measured on this machine by the bench named beside it,
and every property of the snapshot is an option with its source. `--measure` re-measures the per-record costs
here (bench/scale/prefilter.py's corpus, ~10 minutes) instead of taking the README's figures.

Per-record CPU (one core, milliseconds):
  foreign page, whole file, pre-filter off   1.42   bench/scale/prefilter.py --records 100000 (1.43 at 30000)
  foreign page, whole file, pre-filter on    0.19   bench/scale/prefilter.py --records 100000 (0.18 at 30000)
  Korean page, extract → steps → dedup       2.1    bench/compare/vs_fineweb2.py (464-514 docs/s per core, 3,000
                                                    pages, every step of ko-web.yaml and dedup)
The foreign-page costs were measured on 33 KB pages (the bench corpus); they are mostly decompression and a byte
scan, so they are scaled to the snapshot's page size: its compressed bytes per page times `--gzip-ratio`.
Index mode: the index scan plus one range request per Korean record, each record its own gzip member of the
snapshot's compressed bytes per page. Reading is also bounded by the network: `--gbit-per-node` per node. Scaling: 1 → 2 workers gave 1.65-1.78× on this
machine (bench/speed/ray_overhead.py), so wall time assumes 85% of linear per core.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.harness import ROOT

EFFICIENCY = 0.85  # bench/speed/ray_overhead.py: 1.65-1.78x for 2 workers


def measure(records: int) -> dict[str, float]:
    """Per-record CPU ms from bench/scale/prefilter.py's own run (its section 3)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run([sys.executable, str(ROOT / "bench" / "scale" / "prefilter.py"), "--records", str(records),
                              "--out", tmp, "--json", str(Path(tmp) / "figures.json")], check=True, cwd=ROOT)
        del out
        return json.loads((Path(tmp) / "figures.json").read_text())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    # The snapshot. Pages and size: recent crawls hold 2-3 billion pages in "on the order of 75TB" of compressed
    # WARC (arXiv 2404.09770, 2024); their columnar index is under 200 GB compressed (same source). Korean share:
    # about 1% of pages (set it from Common Crawl's languages.csv for the snapshot you read).
    ap.add_argument("--pages", type=float, default=2.5e9)
    ap.add_argument("--warc-tib", type=float, default=75.0)
    ap.add_argument("--index-gb", type=float, default=200.0, help="the whole columnar index: an upper bound of the scan")
    ap.add_argument("--korean-share", type=float, default=0.01)
    ap.add_argument("--kept-share", type=float, default=0.59,
                    help="Korean pages kept after every step and dedup (the bundled sample: 237 of 400)")
    ap.add_argument("--foreign-ms-off", type=float, default=1.42)
    ap.add_argument("--foreign-ms-on", type=float, default=0.19)
    ap.add_argument("--korean-ms", type=float, default=2.1)
    ap.add_argument("--gzip-ratio", type=float, default=4.0, help="uncompressed / gzip-compressed WARC bytes")
    ap.add_argument("--bench-page-kb", type=float, default=33.0, help="page size the foreign costs were measured on")
    ap.add_argument("--gbit-per-node", type=float, default=10.0)
    ap.add_argument("--measure", action="store_true", help="re-measure the foreign-page costs (bench/scale/prefilter.py)")
    ap.add_argument("--records", type=int, default=10000, help="corpus size for --measure")
    ap.add_argument("--clusters", default="1x2,10x32,50x64", help="NODESxCORES shapes for the wall-time columns")
    args = ap.parse_args()
    if args.measure:
        m = measure(args.records)
        args.foreign_ms_off, args.foreign_ms_on = m["foreign_ms_off"], m["foreign_ms_on"]

    pages, share = args.pages, args.korean_share
    korean, foreign = pages * share, pages * (1 - share)
    record_kb = args.warc_tib * 2**40 / pages / 1000
    scale = record_kb * args.gzip_ratio / args.bench_page_kb  # foreign costs grow with the bytes to decompress and scan
    args.foreign_ms_off, args.foreign_ms_on = args.foreign_ms_off * scale, args.foreign_ms_on * scale
    modes = {
        "whole WARC, pre-filter off": (foreign * args.foreign_ms_off + korean * args.korean_ms, args.warc_tib * 2**40),
        "whole WARC, pre-filter on": (foreign * args.foreign_ms_on + korean * args.korean_ms, args.warc_tib * 2**40),
        "cc_index (Korean records only)": (korean * args.korean_ms, args.index_gb * 1e9 + korean * record_kb * 1000),
    }
    shapes = [tuple(int(x) for x in s.split("x")) for s in args.clusters.split(",")]
    print(f"snapshot: {pages:.2e} pages, {args.warc_tib:.0f} TiB WARC ({record_kb:.0f} KB per page), Korean "
          f"{share:.1%} = {korean:.2e} pages, kept ~{korean * args.kept_share:.2e}")
    print(f"per-record CPU ms: foreign {args.foreign_ms_off:.2f} (pre-filter off) / {args.foreign_ms_on:.2f} (on), "
          f"scaled {scale:.1f}x from {args.bench_page_kb:.0f} KB pages; Korean {args.korean_ms}")
    print(f"wall time: the larger of CPU-hours / (cores x {EFFICIENCY}) and bytes / ({args.gbit_per_node:g} Gbit/s x nodes)\n")
    head = "| mode | CPU-hours | bytes read | " + " | ".join(f"wall, {n} x {c} cores" for n, c in shapes) + " |"
    print(head)
    print("|" + "---|" * (3 + len(shapes)))
    for name, (cpu_ms, nbytes) in modes.items():
        hours = cpu_ms / 1000 / 3600
        walls = [max(hours / (n * c * EFFICIENCY), nbytes * 8 / (args.gbit_per_node * 1e9 * n) / 3600) for n, c in shapes]
        print(f"| {name} | {hours:,.0f} | {nbytes / 2**40:,.2f} TiB | "
              + " | ".join(f"{w / 24:,.1f} days" if w >= 48 else f"{w:,.1f} h" for w in walls) + " |")


if __name__ == "__main__":
    main()
