"""Pairs → clusters (connected components) → one kept document per cluster, and the cluster statistics.

Only documents that appear in a verified pair are loaded here (pairs are few: ~ the duplicates, not the
corpus). Components come from scipy's union-find-equivalent `connected_components` on the pair graph. The
representative is chosen by a total order, so the choice does not depend on shard order or worker count:
  quality_then_id: highest `score` (the configured column; missing/NaN last), then lowest id, then lowest ref;
  lowest_id:       lowest id, then lowest ref.
A dropped member is `duplicate` when its exact key equals the kept document's, else `near_duplicate`.

A cluster is a connected component of one graph whose edges are both kinds of match: equal exact keys (when
`exact` is on) and verified MinHash pairs (when `fuzzy` is on). So an exact-duplicate group and the near
duplicates of any of its members are one cluster, counted once each, as FineWeb-2's MinHash clusters count
them (an exact copy is also a MinHash match there). `cluster_size` is the number of members;
`cluster_documents` the number of input documents they stand for: the sum of the members' own `cluster_size`
when the input was deduplicated before (signatures.SIZE_COLUMN), else the same as `cluster_size`. rewrite.py
writes `cluster_documents` on the kept document.
Writes RUN/dedup/clusters.parquet: ref, shard_index, row, id, represents, kept_id, kept, reason, cluster_size,
cluster_documents.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from pipeline.atomic import atomic_path


def read_pairs(dedup_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    files = sorted((dedup_dir / "pairs").glob("part-*.parquet"))
    if not files:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    t = pa.concat_tables([pq.read_table(f, columns=["a", "b"]) for f in files])
    return t.column("a").to_numpy(), t.column("b").to_numpy()


def components(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sorted node refs, component label per node) of the graph with edges a–b."""
    nodes = np.unique(np.concatenate([a, b]))
    if len(nodes) == 0:
        return nodes, np.empty(0, np.int64)
    ia, ib = np.searchsorted(nodes, a), np.searchsorted(nodes, b)
    graph = coo_matrix((np.ones(len(ia), np.int8), (ia, ib)), shape=(len(nodes), len(nodes)))
    _, labels = connected_components(graph, directed=False)
    return nodes, labels.astype(np.int64)


def member_table(nodes: np.ndarray, labels: np.ndarray, docs_files: list[str]) -> pa.Table:
    """id, score and exact key of every clustered document, read shard by shard (only the needed rows)."""
    shard = nodes >> np.int64(32)
    rows = nodes & np.int64(0xFFFFFFFF)
    parts = []
    for s in np.unique(shard):
        sel = shard == s
        docs = pq.read_table(docs_files[s])
        # docs rows are 0..n-1 in order, so row r is at position r.
        taken = docs.take(pa.array(rows[sel]))
        parts.append(
            pa.table(
                {
                    "ref": nodes[sel],
                    "shard_index": np.full(sel.sum(), s, dtype=np.int64),
                    "row": rows[sel],
                    "id": taken.column("id"),
                    "score": taken.column("score"),
                    "exact": taken.column("exact"),
                    "represents": taken.column("represents"),
                    "component": labels[sel],
                }
            )
        )
    return pa.concat_tables(parts)


def choose_kept(members: pa.Table, keep: str) -> pa.Table:
    """members + kept_id, kept, reason, cluster_size, cluster_documents; sorted by component then rank (kept
    first)."""
    if keep == "quality_then_id":
        # NaN scores sort as missing: replace by null so null_placement puts them last.
        score = members.column("score")
        score = pc.if_else(pc.is_nan(score), pa.scalar(None, pa.float64()), score)
        members = members.set_column(members.schema.get_field_index("score"), "score", score)
        keys = [("component", "ascending"), ("score", "descending", "at_end"), ("id", "ascending"), ("ref", "ascending")]
    else:
        keys = [("component", "ascending"), ("id", "ascending"), ("ref", "ascending")]
    members = members.sort_by(keys)
    comp = members.column("component").to_numpy()
    first = np.concatenate(([True], comp[1:] != comp[:-1]))
    head_pos = np.flatnonzero(first)[np.cumsum(first) - 1]
    ids = members.column("id")
    exact = members.column("exact").to_numpy()
    kept_id = ids.take(pa.array(head_pos))
    same_exact = exact == exact[head_pos]
    reason = np.where(first, "", np.where(same_exact, "duplicate", "near_duplicate"))
    cluster_of = np.cumsum(first) - 1
    sizes = np.bincount(cluster_of)[cluster_of]
    documents = np.add.reduceat(members.column("represents").to_numpy(), np.flatnonzero(first))[cluster_of]
    return (
        members.append_column("kept_id", kept_id)
        .append_column("kept", pa.array(first))
        .append_column("reason", pa.array(reason))
        .append_column("cluster_size", pa.array(sizes.astype(np.int64)))
        .append_column("cluster_documents", pa.array(documents))
    )


def build_clusters(dedup_dir: Path, docs_files: list[str], keep: str) -> pa.Table:
    a, b = read_pairs(dedup_dir)
    nodes, labels = components(a, b)
    if len(nodes) == 0:
        table = pa.table(
            {
                "ref": pa.array([], pa.int64()), "shard_index": pa.array([], pa.int64()), "row": pa.array([], pa.int64()),
                "id": pa.array([], pa.string()), "score": pa.array([], pa.float64()), "exact": pa.array([], pa.uint64()),
                "represents": pa.array([], pa.int64()), "component": pa.array([], pa.int64()),
                "kept_id": pa.array([], pa.string()), "kept": pa.array([], pa.bool_()),
                "reason": pa.array([], pa.string()), "cluster_size": pa.array([], pa.int64()),
                "cluster_documents": pa.array([], pa.int64()),
            }
        )
    else:
        table = choose_kept(member_table(nodes, labels, docs_files), keep)
    # Component labels depend on node order only (refs), but name clusters by kept id for readers.
    with atomic_path(dedup_dir / "clusters.parquet") as tmp:
        pq.write_table(table, tmp)
    return table


def cluster_stats(clusters: pa.Table, documents_in: int, top: int = 10, members_per_cluster: int = 5) -> dict:
    """Histogram {size: count} (size 1 = documents in no cluster) and the largest clusters' first members."""
    kept = clusters.filter(clusters.column("kept"))
    sizes = kept.column("cluster_size").to_numpy()
    hist: dict[int, int] = {}
    singletons = documents_in - len(clusters)
    if singletons:
        hist[1] = singletons
    for size, count in zip(*np.unique(sizes, return_counts=True)):
        hist[int(size)] = int(count)
    kept_ids = kept.column("kept_id").to_pylist()
    order = sorted(range(len(kept)), key=lambda i: (-int(sizes[i]), kept_ids[i]))[:top]
    comps = kept.column("component").to_numpy()
    largest = []
    comp_all = clusters.column("component").to_numpy()
    for i in order:
        idx = np.flatnonzero(comp_all == comps[i])[:members_per_cluster]  # kept first: table is sorted by rank
        largest.append(
            {
                "kept_id": kept_ids[i],
                "size": int(sizes[i]),
                "member_refs": [int(r) for r in clusters.column("ref").to_numpy()[idx]],
            }
        )
    return {"cluster_size_histogram": {str(k): v for k, v in sorted(hist.items())}, "largest_clusters": largest}
