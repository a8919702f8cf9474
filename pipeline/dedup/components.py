"""Connected components of the dedup pair graph, as rounds of tasks over hash partitions of the documents.

The algorithm is large-star / small-star (Kiveris et al., "Connected Components in MapReduce and Beyond",
SoCC 2014; GraphFrames' connectedComponents). It rewrites the edge set, keeping its components, until every
component is a star centred on its lowest ref:
  large-star  each node u links every neighbour larger than u to m(u), the lowest of u and its neighbours;
  small-star  each node u links itself and every neighbour smaller than u to the lowest of those.
Each step needs only one node's neighbours, so it is one task per partition of the nodes (fmix64(ref) % P);
edges move between partitions in files. Rounds (one large-star + one small-star) grow as O(log n) on paths in
practice (the paper proves O(log² n)), where min-label propagation needs as many rounds as the longest path,
and each task holds only its partition's edges: memory is bounded by edges / P, not by the corpus.
Round 0 contracts each pairs file (one bucket partition) to stars with scipy, so a cluster whose buckets fall in
one partition is already a star and the rounds only have to join what partitions split.

Files, all under RUN/dedup/components/ (deleted when the clusters are written):
  <step>/from-<p>.arrow    edges (u, v) that task p of <step> sends on, one record batch per node partition q
A task of the next step reads batch q of every file. Edges going into a large-star are stored both ways (each end
sees its neighbour); into a small-star, once, under the larger end. The driver keeps only per-task counts.
Convergence: a large-star task counts the nodes of its partition that are not yet "star-shaped" (u is lowest
of its neighbourhood, or has exactly one neighbour and it is smaller); none anywhere means the edge set is
stars on component minima, and that step's output holds each non-root node's label.
"""

from __future__ import annotations

import bisect
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from pipeline.dedup.hashing import fmix64
from core.errors import RunError

SCRATCH = "components"
# A bound on rounds, never reached in practice (O(log² n)); it turns a bug into an error instead of a loop.
MAX_ROUNDS = 64
_EDGE_SCHEMA = pa.schema([("u", pa.int64()), ("v", pa.int64())])


def node_partition(refs: np.ndarray, num_partitions: int) -> np.ndarray:
    """Partition of each document ref: fmix64 of the ref, so the rows of one shard spread evenly."""
    return (fmix64(refs.astype(np.uint64)) % np.uint64(num_partitions)).astype(np.int64)


def write_routed(step_dir: Path, source: int, table: pa.Table, dest: np.ndarray, num_dest: int) -> None:
    """Write the rows of `table` as step_dir/from-<source>.arrow, one record batch per destination that gets
    rows (their numbers in the schema metadata), so a step leaves one file per task, not one per pair of tasks.
    Scratch is not fsynced: an interrupted run recomputes the clusters from the pairs; the rename keeps a
    retried task's reader from seeing half a file."""
    if len(table) == 0:
        return
    order = np.argsort(dest, kind="stable")
    bounds = np.searchsorted(dest[order], np.arange(num_dest + 1))
    table = table.take(pa.array(order)).combine_chunks()
    dests = np.flatnonzero(np.diff(bounds))
    schema = table.schema.with_metadata({b"dests": json.dumps(dests.tolist()).encode()})
    path = step_dir / f"from-{source:05d}.arrow"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, schema) as writer:
        for q in dests:
            writer.write_batch(table.slice(bounds[q], bounds[q + 1] - bounds[q]).to_batches()[0])
    os.replace(tmp, path)


def read_routed(step_dir: Path, dest: int, schema: pa.Schema | None) -> pa.Table:
    """Everything the tasks of one step sent to partition `dest` (an empty `schema` table when nothing was;
    None when the caller has checked there is something)."""
    tables = []
    for f in sorted(step_dir.glob("from-*.arrow")):
        with pa.OSFile(str(f), "rb") as src:
            reader = pa.ipc.open_file(src)
            dests = json.loads(reader.schema.metadata[b"dests"])
            i = bisect.bisect_left(dests, dest)
            if i < len(dests) and dests[i] == dest:
                tables.append(pa.Table.from_batches([reader.get_batch(i)]).replace_schema_metadata(None))
    return pa.concat_tables(tables).combine_chunks() if tables else schema.empty_table()


def sends_to(step_dir: Path, dest: int) -> bool:
    """Whether any task of the step sent rows to `dest`."""
    for f in step_dir.glob("from-*.arrow"):
        with pa.OSFile(str(f), "rb") as src:
            if dest in json.loads(pa.ipc.open_file(src).schema.metadata[b"dests"]):
                return True
    return False


def _unique_edges(u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Edges sorted by (u, v), duplicates removed."""
    if len(u) == 0:
        return u, v
    order = np.lexsort((v, u))
    u, v = u[order], v[order]
    keep = np.concatenate(([True], (u[1:] != u[:-1]) | (v[1:] != v[:-1])))
    return u[keep], v[keep]


def _send(step_dir: Path, source: int, u: np.ndarray, v: np.ndarray, num_partitions: int, both_ways: bool) -> None:
    """Route edges to the partition of u (and, both_ways, each edge reversed to the partition of v)."""
    if both_ways:
        u, v = np.concatenate([u, v]), np.concatenate([v, u])
    if len(u):
        write_routed(step_dir, source, pa.table({"u": u, "v": v}), node_partition(u, num_partitions), num_partitions)


def local_stars(pairs_file: str, step_dir: str, source: int, num_partitions: int) -> dict:
    """Task, round 0: the components of one pairs file, each as a star on its lowest ref, sent both ways."""
    t = pq.read_table(pairs_file, columns=["a", "b"])
    a, b = t.column("a").to_numpy(), t.column("b").to_numpy()
    nodes = np.unique(np.concatenate([a, b]))
    if len(nodes) == 0:
        return {"edges_in": 0, "edges_out": 0}
    ia, ib = np.searchsorted(nodes, a), np.searchsorted(nodes, b)
    graph = coo_matrix((np.ones(len(ia), np.int8), (ia, ib)), shape=(len(nodes), len(nodes)))
    _, labels = connected_components(graph, directed=False)
    # nodes are sorted, so the first node of each label is its lowest ref.
    root_of_label = np.full(labels.max() + 1, -1, np.int64)
    first = np.unique(labels, return_index=True)[1]
    root_of_label[labels[first]] = nodes[first]
    root = root_of_label[labels]
    leaf = nodes != root
    _send(Path(step_dir), source, nodes[leaf], root[leaf], num_partitions, both_ways=True)
    return {"edges_in": len(a), "edges_out": int(leaf.sum())}


def large_star(in_dir: str, out_dir: str, partition: int, num_partitions: int) -> dict:
    """Task: large-star on the nodes of one partition (input holds every edge both ways). Output goes to a
    small-star: edges (v, m(u)) under their larger end v. Returns the count of nodes not yet star-shaped."""
    t = read_routed(Path(in_dir), partition, _EDGE_SCHEMA)
    u, v = _unique_edges(t.column("u").to_numpy(), t.column("v").to_numpy())
    if len(u) == 0:
        return {"unstable": 0, "edges": 0}
    starts = np.flatnonzero(np.concatenate(([True], u[1:] != u[:-1])))
    group = np.cumsum(np.concatenate(([False], u[1:] != u[:-1])))
    lowest_neighbour = np.minimum.reduceat(v, starts)
    degree = np.diff(np.append(starts, len(u)))
    owner = u[starts]
    m = np.minimum(owner, lowest_neighbour)
    # Star-shaped: a centre (every neighbour larger) or a leaf (one neighbour, smaller).
    unstable = int(((m != owner) & (degree != 1)).sum())
    up = v > u
    out_u, out_v = _unique_edges(v[up], m[group][up])
    _send(Path(out_dir), partition, out_u, out_v, num_partitions, both_ways=False)
    return {"unstable": unstable, "edges": len(out_u)}


def small_star(in_dir: str, out_dir: str, partition: int, num_partitions: int) -> dict:
    """Task: small-star on the nodes of one partition (input: edges under their larger end). Output goes to a
    large-star, both ways: u and each smaller neighbour linked to the lowest of them."""
    t = read_routed(Path(in_dir), partition, _EDGE_SCHEMA)
    u, v = _unique_edges(t.column("u").to_numpy(), t.column("v").to_numpy())
    if len(u) == 0:
        return {"edges": 0}
    starts = np.flatnonzero(np.concatenate(([True], u[1:] != u[:-1])))
    group = np.cumsum(np.concatenate(([False], u[1:] != u[:-1])))
    m = np.minimum.reduceat(v, starts)  # < u: every neighbour here is smaller
    owners = u[starts]
    others = v != m[group]
    out_u = np.concatenate([owners, v[others]])
    out_v = np.concatenate([m, m[group][others]])
    _send(Path(out_dir), partition, out_u, out_v, num_partitions, both_ways=True)
    return {"edges": len(out_u)}


def star_labels(in_dir: str, out_dir: str, partition: int, num_partitions: int, num_shards: int) -> dict:
    """Task, after convergence: the (node, root) pairs of one partition's stars, each root with itself too,
    sent to the shard of the node (shard = ref >> 32) so each shard's members are read from its docs once."""
    t = read_routed(Path(in_dir), partition, _EDGE_SCHEMA)
    u, v = _unique_edges(t.column("u").to_numpy(), t.column("v").to_numpy())
    roots = np.unique(v)
    node, root = np.concatenate([u, roots]), np.concatenate([v, roots])
    if len(node):
        table = pa.table({"u": node, "v": root})
        write_routed(Path(out_dir), partition, table, node >> np.int64(32), num_shards)
    return {"nodes": len(u), "roots": len(roots)}


def connected_stars(executor, dedup_dir: Path, pairs_files: list[str], num_shards: int) -> tuple[Path, int]:
    """Run round 0 and the large-star/small-star rounds over `len(pairs_files)` partitions; returns the
    directory of labels routed by shard (u = member ref, v = its component's lowest ref) and
    the number of rounds. Clears RUN/dedup/components/ first, so an interrupted earlier run leaves nothing."""
    scratch = dedup_dir / SCRATCH
    shutil.rmtree(scratch, ignore_errors=True)
    num_partitions = max(1, len(pairs_files))
    P = num_partitions
    step = scratch / "round-00-local"
    executor.map(local_stars, [(f, str(step), p, P) for p, f in enumerate(pairs_files)], "dedup clusters: local")
    rounds = 0
    while True:
        rounds += 1
        if rounds > MAX_ROUNDS:
            raise RunError(f"dedup clusters: no convergence after {MAX_ROUNDS} rounds")
        large = scratch / f"round-{rounds:02d}-large"
        items = [(str(step), str(large), q, P) for q in range(P)]
        res = executor.map(large_star, items, f"dedup clusters: round {rounds}")
        shutil.rmtree(step, ignore_errors=True)
        step = large
        if sum(r["unstable"] for r in res) == 0:
            break
        small = scratch / f"round-{rounds:02d}-small"
        executor.map(small_star, [(str(step), str(small), q, P) for q in range(P)], f"dedup clusters: round {rounds}")
        shutil.rmtree(step, ignore_errors=True)
        step = small
    labels = scratch / "labels"
    executor.map(star_labels, [(str(step), str(labels), q, P, num_shards) for q in range(P)], "dedup clusters: labels")
    shutil.rmtree(step, ignore_errors=True)
    return labels, rounds
