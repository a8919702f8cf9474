"""Distributed clustering (pipeline/dedup/clusters.py + components.py) against the single-process scipy path.

Each test writes a dedup directory by hand, docs/<shard>.parquet and pairs/part-<p>.parquet as the earlier
dedup steps write them, then checks that `build_clusters` (tasks through the local executor) writes the same
clusters.parquet, byte for byte, as `build_clusters_in_memory`, and the same cluster statistics.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from core.config import ExecutionConfig
from pipeline.dedup import clusters as clusters_mod
from pipeline.dedup.clusters import build_clusters, build_clusters_in_memory, cluster_stats
from pipeline.dedup.components import node_partition
from pipeline.executor import Executor

LOCAL = Executor(ExecutionConfig(backend="local"))


def ref(shard: int, row: int) -> int:
    return (shard << 32) | row


def write_run(d: Path, docs_per_shard: list[int], a, b, pair_partitions: int, seed: int = 0) -> list[str]:
    """docs files with ids, scores (some missing or NaN), exact keys (some shared) and the pairs a–b spread
    at random over the pairs files; returns the docs files."""
    rng = np.random.default_rng(seed)
    (d / "docs").mkdir(parents=True)
    (d / "pairs").mkdir()
    files = []
    for s, n in enumerate(docs_per_shard):
        score = rng.choice([0.1, 0.5, 0.9, np.nan], size=n)
        missing = rng.random(n) < 0.1
        docs = pa.table(
            {
                "row": np.arange(n, dtype=np.int64),
                # Repeated ids: the keep order falls through to the ref.
                "id": pa.array([f"문서-{rng.integers(0, max(1, n // 2))}" for _ in range(n)], pa.string()),
                "score": pa.array(score, pa.float64(), mask=missing),
                "exact": rng.integers(0, 3, size=n).astype(np.uint64),
                "represents": rng.integers(1, 4, size=n).astype(np.int64),
            }
        )
        files.append(str(d / "docs" / f"s{s:03d}.parquet"))
        pq.write_table(docs, files[-1])
    a, b = np.asarray(a, np.int64), np.asarray(b, np.int64)
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    part = rng.integers(0, pair_partitions, size=len(a))
    for p in range(pair_partitions):
        sel = part == p
        pq.write_table(
            pa.table({"a": lo[sel], "b": hi[sel], "jaccard": np.ones(sel.sum(), np.float32)}),
            d / "pairs" / f"part-{p:04d}.parquet",
        )
    return files


def check_equal(d: Path, docs: list[str], keep: str = "quality_then_id", documents_in: int = 0):
    """Both paths on the same directory: identical clusters.parquet bytes and statistics; returns the summary."""
    reference = build_clusters_in_memory(d, docs, keep, out=d / "reference.parquet")
    summary = build_clusters(d, docs, keep, LOCAL)
    assert (d / "clusters.parquet").read_bytes() == (d / "reference.parquet").read_bytes()
    assert cluster_stats(summary, documents_in) == cluster_stats(reference, documents_in)
    assert summary.members == len(reference)
    assert summary.clusters == int(reference.column("kept").to_numpy().sum()) if len(reference) else summary.clusters == 0
    assert not (d / "components").exists()  # scratch removed
    return summary, reference


def component_sets(table: pa.Table) -> set[frozenset]:
    comp = table.column("component").to_numpy()
    refs = table.column("ref").to_numpy()
    return {frozenset(refs[comp == c].tolist()) for c in np.unique(comp)}


def test_chain_across_partitions_needs_rounds(tmp_path):
    rng = np.random.default_rng(1)
    nodes = [ref(int(s), int(r)) for s, r in zip(rng.integers(0, 4, 300), rng.permutation(300))]
    nodes = list(dict.fromkeys(nodes))  # distinct, in random ref order along the path
    docs = write_run(tmp_path, [300] * 4, nodes[:-1], nodes[1:], pair_partitions=8)
    summary, reference = check_equal(tmp_path, docs, documents_in=1200)
    assert summary.clusters == 1 and summary.members == len(nodes)
    assert summary.rounds >= 3  # a path split over 8 partitions is not joined in one step


def test_star_with_many_leaves(tmp_path):
    centre = ref(2, 7)
    leaves = [ref(s, r) for s in range(3) for r in range(400) if ref(s, r) != centre]
    docs = write_run(tmp_path, [400] * 3, [centre] * len(leaves), leaves, pair_partitions=5)
    summary, _ = check_equal(tmp_path, docs, keep="lowest_id", documents_in=1200)
    assert summary.clusters == 1 and summary.members == 1200


def test_singletons_only_no_pairs(tmp_path):
    docs = write_run(tmp_path, [50, 50], [], [], pair_partitions=4)
    summary, reference = check_equal(tmp_path, docs, documents_in=100)
    assert summary.members == 0 and len(reference) == 0
    assert cluster_stats(summary, 100) == {"cluster_size_histogram": {"1": 100}, "largest_clusters": []}


def test_no_pairs_files(tmp_path):
    docs = write_run(tmp_path, [5], [], [], pair_partitions=0)
    check_equal(tmp_path, docs, documents_in=5)


def test_cluster_spanning_every_partition(tmp_path):
    # A ring over documents of every shard, plus small pairs elsewhere; its nodes fall in every node partition.
    ring = [ref(s, r) for r in range(0, 200, 5) for s in range(4)]
    partitions = 16
    assert set(node_partition(np.array(ring), partitions).tolist()) == set(range(partitions))
    a = ring + [ref(0, 1), ref(1, 1), ref(3, 2)]
    b = ring[1:] + ring[:1] + [ref(0, 2), ref(2, 3), ref(3, 3)]
    docs = write_run(tmp_path, [200] * 4, a, b, pair_partitions=partitions)
    summary, reference = check_equal(tmp_path, docs, documents_in=800)
    assert frozenset(ring) in component_sets(reference)
    assert summary.clusters == 4


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("keep", ["quality_then_id", "lowest_id"])
def test_random_graphs_equal_reference(tmp_path, seed, keep):
    rng = np.random.default_rng(seed)
    shards = int(rng.integers(1, 6))
    per = [int(x) for x in rng.integers(20, 300, size=shards)]
    n_edges = int(rng.integers(0, sum(per)))
    shard = rng.integers(0, shards, size=(2, n_edges))
    row = rng.integers(0, 10**6, size=(2, n_edges)) % np.array(per)[shard]
    a, b = ref(shard[0], row[0]), ref(shard[1], row[1])
    keep_edge = a != b
    docs = write_run(tmp_path, per, a[keep_edge], b[keep_edge], pair_partitions=int(rng.integers(1, 9)), seed=seed)
    summary, reference = check_equal(tmp_path, docs, keep, documents_in=sum(per))
    assert summary.members == len(np.unique(np.concatenate([a[keep_edge], b[keep_edge]])))


def test_row_groups_cut_as_write_table_cuts_them(tmp_path, monkeypatch):
    # clusters.parquet above ROW_GROUP_ROWS rows: the streaming merge cuts where pq.write_table would.
    rng = np.random.default_rng(5)
    a = [ref(int(s), int(r)) for s, r in zip(rng.integers(0, 3, 900), rng.integers(0, 500, 900))]
    b = [ref(int(s), int(r)) for s, r in zip(rng.integers(0, 3, 900), rng.integers(0, 500, 900))]
    docs = write_run(tmp_path, [500] * 3, *zip(*[(x, y) for x, y in zip(a, b) if x != y]), pair_partitions=4)
    monkeypatch.setattr(clusters_mod, "ROW_GROUP_ROWS", 100)
    reference = build_clusters_in_memory(tmp_path, docs, "quality_then_id", out=tmp_path / "unused.parquet")
    pq.write_table(reference, tmp_path / "reference.parquet", row_group_size=100)
    build_clusters(tmp_path, docs, "quality_then_id", LOCAL)
    assert pq.ParquetFile(tmp_path / "clusters.parquet").metadata.num_row_groups > 3
    assert (tmp_path / "clusters.parquet").read_bytes() == (tmp_path / "reference.parquet").read_bytes()


def test_rerun_after_interrupted_scratch(tmp_path):
    # Leftover scratch from an interrupted run (a stale edge file) must not change the result.
    docs = write_run(tmp_path, [100, 100], [ref(0, 1), ref(1, 2)], [ref(1, 5), ref(0, 9)], pair_partitions=2)
    stale = tmp_path / "components" / "round-00-local" / "from-00007.arrow"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"not arrow")
    check_equal(tmp_path, docs, documents_in=200)


def test_stage_writes_the_reference_clusters(tmp_path):
    # The whole stage on planted Korean duplicates (test_dedup's corpus, each text three times more with
    # small edits), then the reference on the stage's own pairs and docs: same file, same statistics.
    import json

    from test_dedup import change_eojeol, planted_docs, read_dir, run_dir_with

    from pipeline.dedup.stage import Config, run

    docs, _ = planted_docs()
    docs += [{**d, "id": f"{d['id']}-{k}", "text": change_eojeol(d["text"], 0.02, k)} for d in docs[:5] for k in range(3)]
    rd = run_dir_with(docs, tmp_path, 3)
    summary = run(Config(num_band_partitions=4), None, rd, LOCAL)
    dedup = rd / "dedup"
    docs_files = sorted(str(p) for p in (dedup / "docs").glob("*.parquet"))
    reference = build_clusters_in_memory(dedup, docs_files, "quality_then_id", out=tmp_path / "reference.parquet")
    assert (dedup / "clusters.parquet").read_bytes() == (tmp_path / "reference.parquet").read_bytes()
    stats = json.loads((dedup / "stats.json").read_text("utf-8"))
    expected = cluster_stats(reference, len(docs))
    assert stats["cluster_size_histogram"] == expected["cluster_size_histogram"]
    assert [c["kept_id"] for c in stats["largest_clusters"]] == [c["kept_id"] for c in expected["largest_clusters"]]
    assert summary["clusters"] == int(reference.column("kept").to_numpy().sum()) > 6
    assert len(read_dir(rd / "documents")) == len(docs) - len(reference) + summary["clusters"]
    assert not (dedup / "components").exists()


def test_ray_backend_writes_the_same_file(tmp_path):
    # Every task through embedded Ray (2 CPUs): the same bytes as the local backend and the reference.
    rng = np.random.default_rng(11)
    shard, row = rng.integers(0, 3, size=(2, 600)), rng.integers(0, 400, size=(2, 600))
    a, b = ref(shard[0], row[0]), ref(shard[1], row[1])
    chain = [ref(i % 3, 400 + i) for i in range(120)]
    a, b = np.concatenate([a, chain[:-1]]), np.concatenate([b, chain[1:]])
    docs = write_run(tmp_path, [600] * 3, a[a != b], b[a != b], pair_partitions=6)
    local, _ = check_equal(tmp_path, docs, documents_in=1800)
    ray_executor = Executor(ExecutionConfig(backend="ray", num_cpus=2))
    try:
        on_ray = build_clusters(tmp_path, docs, "quality_then_id", ray_executor)
    finally:
        ray_executor.shutdown()
    assert (tmp_path / "clusters.parquet").read_bytes() == (tmp_path / "reference.parquet").read_bytes()
    assert on_ray == local
