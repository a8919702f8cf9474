"""Dedup clustering at scale: wall time, rounds and peak RSS per process of `build_clusters` (clusters.py) on
synthetic MinHash-LSH bucket hits for 100k to 10M documents, and equality with the single-process scipy path.

What is generated (in a child process, so its memory is not counted), into a temporary dedup directory:
  docs/<shard>.parquet            row, id, score (5% missing, 2% NaN), exact key, represents, as signatures.py
  buckets/part-<p>/*.parquet      (key, ref) hits: every document's exact key and --filler-bands band keys of
                                  its own (buckets of one), plus the planted clusters' shared keys
Planted: 20% of documents in clusters of 2-50 members (sizes ∝ k^-2), half of them all in one bucket (pages
equal in a band), half a random tree of two-document buckets, 30% of tree members exact copies of their parent;
1% in chains of 50-500 documents, each linked only to the next (the case that needs several rounds). The pairs
come from the stage's own `partition_pairs` (min_jaccard 0: there are no signatures to verify).
Each measured run is a fresh process: --backend local runs every task in it; ray starts an embedded Ray with
--num-cpus CPUs. Peak RSS is each process's VmHWM (the kernel's high-water mark), read every 0.2 s from /proc
(bench/harness.py) for the driver and every process under it (Ray workers "ray::...", and Ray's own raylet/gcs/agents).
--check (default for ≤ 1M documents) runs build_clusters_in_memory too and compares clusters.parquet bytes and
the cluster statistics.
Usage: python bench/scale/dedup_cluster_scale.py --docs 100000 1000000 10000000 [--backends local ray] [--num-cpus 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.harness import ProcessTreeSampler


def generate(d: Path, n: int, shards: int, partitions: int, filler_bands: int, seed: int) -> dict:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from pipeline.dedup.signatures import exact_bucket_keys, partition_of

    rng = np.random.default_rng(seed)
    per = -(-n // shards)
    g = np.arange(n, dtype=np.int64)
    refs = ((g // per) << 32) | (g % per)
    exact = rng.integers(0, 2**63, size=n, dtype=np.int64).astype(np.uint64)
    perm = rng.permutation(n)
    # Cluster sizes 2..50 with P(k) ∝ k^-2 until 20% of documents; chains of 50..500 until 1% more.
    ks = np.arange(2, 51)
    sizes = rng.choice(ks, size=n // 5, p=(ks ** -2.0) / (ks ** -2.0).sum())
    sizes = sizes[: np.searchsorted(np.cumsum(sizes), n // 5) + 1]
    chains = rng.integers(50, 501, size=max(1, n // 100 // 50))
    chains = chains[: np.searchsorted(np.cumsum(chains), n // 100) + 1]
    group_sizes = np.concatenate([sizes, chains])
    kind = np.concatenate([np.where(rng.random(len(sizes)) < 0.5, 0, 1), np.full(len(chains), 2)])  # 0 bucket 1 tree 2 chain
    starts = np.concatenate(([0], np.cumsum(group_sizes)[:-1]))
    member_group = np.repeat(np.arange(len(group_sizes)), group_sizes)
    pos = np.arange(len(member_group)) - starts[member_group]
    members = perm[: len(member_group)]
    mkind = kind[member_group]
    hits_keys, hits_refs = [], []
    # One bucket per "bucket" cluster.
    sel = mkind == 0
    gkey = rng.integers(0, 2**63, size=len(group_sizes), dtype=np.int64).astype(np.uint64)
    hits_keys.append(gkey[member_group[sel]])
    hits_refs.append(refs[members[sel]])
    # Trees and chains: each non-first member shares a two-document bucket with its parent.
    child = (mkind != 0) & (pos > 0)
    parent_pos = np.where(mkind == 2, pos - 1, np.floor(rng.random(len(pos)) * pos).astype(np.int64))
    parent = perm[starts[member_group] + parent_pos][child]
    kids = members[child]
    link = rng.integers(0, 2**63, size=len(kids), dtype=np.int64).astype(np.uint64)
    hits_keys += [link, link]
    hits_refs += [refs[kids], refs[parent]]
    copies = (mkind[child] == 1) & (rng.random(len(kids)) < 0.3)
    exact[kids[copies]] = exact[parent[copies]]
    planted = {"clusters_2_50": int(len(sizes)), "chains_50_500": int(len(chains)), "planted_members": int(len(members))}
    del perm, member_group, pos, members, mkind, parent_pos
    # Every document's exact key, and its filler band keys, written 1M documents at a time.
    file_no = 0

    def write_hits(keys: np.ndarray, krefs: np.ndarray) -> None:
        nonlocal file_no
        part = partition_of(keys, partitions)
        order = np.argsort(part, kind="stable")
        bounds = np.searchsorted(part[order], np.arange(partitions + 1))
        for p in range(partitions):
            idx = order[bounds[p] : bounds[p + 1]]
            out = d / "buckets" / f"part-{p:04d}" / f"gen-{file_no:05d}.parquet"
            out.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(pa.table({"key": keys[idx], "ref": krefs[idx]}), out)
        file_no += 1

    write_hits(np.concatenate(hits_keys), np.concatenate(hits_refs))
    del hits_keys, hits_refs
    for lo in range(0, n, 1_000_000):
        hi = min(n, lo + 1_000_000)
        keys = [exact_bucket_keys(exact[lo:hi])]
        if filler_bands:
            keys.append(rng.integers(0, 2**63, size=(hi - lo) * filler_bands, dtype=np.int64).astype(np.uint64))
        krefs = np.concatenate([refs[lo:hi], np.repeat(refs[lo:hi], filler_bands)])
        write_hits(np.concatenate(keys), krefs)
    (d / "docs").mkdir()
    for s in range(shards):
        lo, hi = s * per, min(n, (s + 1) * per)
        m = hi - lo
        score = rng.random(m)
        score[rng.random(m) < 0.02] = np.nan
        pq.write_table(
            pa.table(
                {
                    "row": np.arange(m, dtype=np.int64),
                    "id": pa.array([f"doc-{i:08d}" for i in range(lo, hi)], pa.string()),
                    "score": pa.array(score, pa.float64(), mask=rng.random(m) < 0.05),
                    "exact": exact[lo:hi],
                    "represents": np.ones(m, np.int64),
                }
            ),
            d / "docs" / f"s{s:05d}.parquet",
        )
    return planted


def peaks(sampler: ProcessTreeSampler) -> dict:
    """VmHWM in MB of the driver, of each Ray worker and of Ray's own processes, after sampling stops."""
    sampler.stop()
    hwm = {pid: b / 2**20 for pid, b in sampler.hwm.items()}
    driver = hwm.pop(sampler.me)
    ray = set(sampler.ray_workers())
    return {"driver_mb": round(driver), "workers_mb": sorted(round(mb) for pid, mb in hwm.items() if pid in ray),
            "ray_system_mb": sorted(round(mb) for pid, mb in hwm.items() if pid not in ray)}


def run_clusters(d: Path, backend: str, num_cpus: int) -> dict:
    from core.config import ExecutionConfig
    from pipeline.dedup.clusters import build_clusters, cluster_stats
    from pipeline.executor import Executor

    sampler = ProcessTreeSampler(interval=0.2)
    docs = sorted(str(p) for p in (d / "docs").glob("*.parquet"))
    ex = Executor(ExecutionConfig(backend=backend, num_cpus=num_cpus))
    t0 = time.perf_counter()
    summary = build_clusters(d, docs, "quality_then_id", ex)
    wall = time.perf_counter() - t0
    memory = peaks(sampler)
    ex.shutdown()
    os.replace(d / "clusters.parquet", d / f"clusters-{backend}.parquet")
    return {"wall_s": round(wall, 1), "rounds": summary.rounds, "members": summary.members, "clusters": summary.clusters,
            "stats": cluster_stats(summary, 0), **memory}


def run_reference(d: Path) -> dict:
    from pipeline.dedup.clusters import build_clusters_in_memory, cluster_stats

    sampler = ProcessTreeSampler(interval=0.2)
    docs = sorted(str(p) for p in (d / "docs").glob("*.parquet"))
    t0 = time.perf_counter()
    table = build_clusters_in_memory(d, docs, "quality_then_id", out=d / "clusters-reference.parquet")
    wall = time.perf_counter() - t0
    return {"wall_s": round(wall, 1), "members": len(table), "stats": cluster_stats(table, 0), **peaks(sampler)}


def run_generate(d: Path, n: int, shards: int, partitions: int, filler_bands: int, seed: int) -> dict:
    import shutil

    from core.config import ExecutionConfig
    from pipeline.dedup.buckets import partition_pairs
    from pipeline.executor import Executor

    t0 = time.perf_counter()
    planted = generate(d, n, shards, partitions, filler_bands, seed)
    t1 = time.perf_counter()
    ex = Executor(ExecutionConfig(backend="local"))
    res = ex.map(partition_pairs, [(str(d), p, [], 0.0) for p in range(partitions)], "pairs")
    shutil.rmtree(d / "buckets")
    return {**planted, "pairs": sum(r["pairs"] for r in res), "generate_s": round(t1 - t0, 1),
            "pairs_s": round(time.perf_counter() - t1, 1)}


def child(args: list[str]) -> dict:
    """Run this script's `--child` mode in a fresh process and return its JSON answer."""
    out = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True,
                         env={**os.environ, "TQDM_DISABLE": "1"})
    if out.returncode:
        sys.exit(f"{args[0]} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        mode, d, *rest = sys.argv[2:]
        if mode == "generate":
            n, shards, partitions, filler, seed = map(int, rest)
            print(json.dumps(run_generate(Path(d), n, shards, partitions, filler, seed)))
        elif mode == "cluster":
            print(json.dumps(run_clusters(Path(d), rest[0], int(rest[1]))))
        else:
            print(json.dumps(run_reference(Path(d))))
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, nargs="+", default=[100_000])
    ap.add_argument("--shards", type=int, default=64)
    ap.add_argument("--partitions", type=int, default=16)
    ap.add_argument("--filler-bands", type=int, default=14, help="band keys of each document in buckets of one")
    ap.add_argument("--backends", nargs="+", choices=["local", "ray"], default=["local", "ray"])
    ap.add_argument("--num-cpus", type=int, default=2)
    ap.add_argument("--check", choices=["auto", "yes", "no"], default="auto", help="compare with the scipy path")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tmp", default=None, help="where the temporary dedup directory goes")
    args = ap.parse_args()
    for n in args.docs:
        with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
            d = Path(tmp)
            gen = child(["generate", tmp, str(n), str(args.shards), str(args.partitions), str(args.filler_bands), str(args.seed)])
            print(f"docs={n:,} shards={args.shards} partitions={args.partitions} filler_bands={args.filler_bands}: "
                  f"planted {gen['clusters_2_50']:,} clusters of 2-50 and {gen['chains_50_500']:,} chains of 50-500 "
                  f"({gen['planted_members']:,} documents), {gen['pairs']:,} pairs; generate {gen['generate_s']} s, "
                  f"pairs {gen['pairs_s']} s", flush=True)
            results = {}
            for backend in args.backends:
                r = results[backend] = child(["cluster", tmp, backend, str(args.num_cpus)])
                label = "local (one process)" if backend == "local" else f"ray ({args.num_cpus} CPUs, embedded)"
                workers = r["workers_mb"]
                line = (f"  {label}: wall {r['wall_s']} s, rounds {r['rounds']}, {r['members']:,} members in "
                        f"{r['clusters']:,} clusters; peak RSS driver {r['driver_mb']} MB")
                if backend == "ray":
                    line += (f", {len(workers)} workers {workers} MB, Ray's own processes max "
                             f"{max(r['ray_system_mb'], default=0)} MB")
                print(line, flush=True)
            files = [f"clusters-{b}.parquet" for b in args.backends]
            if args.check == "yes" or (args.check == "auto" and n <= 1_000_000):
                ref = child(["reference", tmp])
                print(f"  reference (scipy, one process): wall {ref['wall_s']} s, peak RSS {ref['driver_mb']} MB")
                files.append("clusters-reference.parquet")
                same_stats = all(r["stats"] == ref["stats"] for r in results.values())
                print(f"  cluster statistics equal to the reference: {same_stats}")
            blobs = [(d / f).read_bytes() for f in files]
            print(f"  clusters.parquet byte-identical across {', '.join(f.split('-')[1].split('.')[0] for f in files)}: "
                  f"{all(b == blobs[0] for b in blobs)} ({len(blobs[0]) / 2**20:.1f} MB)", flush=True)


if __name__ == "__main__":
    main()
