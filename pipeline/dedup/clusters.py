"""Pairs → clusters (connected components) → one kept document per cluster, and the cluster statistics.

`build_clusters` is a chain of tasks through the executor (local or Ray) with files in between, and the
driver holds no per-document state, so the corpus is not bounded by one node's memory:
  components.py   pairs → each member's component, named by its lowest ref (large-star/small-star rounds)
  attach_members  per shard: the members' id, score, exact key, represents from docs/<shard>.parquet (read
                  once), sent to the partition of their component
  choose_part     per partition: the kept member and reasons of whole components (choose_kept), sorted
  merge_parts     one task: a streaming merge of the sorted parts into clusters.parquet, components numbered
                  0.. in the order of their lowest ref
Components numbered by lowest ref are the labels scipy's `connected_components` gives on the sorted refs, and
row groups are cut as `pq.write_table` cuts them, so clusters.parquet is byte for byte the file of
`build_clusters_in_memory`, the single-process scipy path kept as the reference (tests, bench).
The representative is chosen by a total order, so the choice does not depend on shard order or worker count:
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
Writes RUN/dedup/clusters.parquet: ref, shard_index, row, id, score, exact, represents, component, kept_id,
kept, reason, cluster_size, cluster_documents; sorted by component, then rank (kept first).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from core.atomic import atomic_path
from pipeline.dedup.components import SCRATCH, connected_stars, node_partition, read_routed, sends_to, write_routed

# Rows per row group of clusters.parquet: pyarrow's default for pq.write_table (1024 * 1024), which the
# reference path uses; the streaming merge cuts at the same rows so both files are the same bytes.
ROW_GROUP_ROWS = 1024 * 1024
# Largest clusters shown in stats.json and members shown of each (cluster_stats' defaults).
TOP_CLUSTERS = 10
MEMBERS_SHOWN = 5


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


def _members(refs: np.ndarray, docs: pa.Table, component: np.ndarray) -> pa.Table:
    """The member table of the refs of one shard; `docs` holds their docs/<shard>.parquet rows, in order."""
    rows = refs & np.int64(0xFFFFFFFF)
    return pa.table(
        {
            "ref": refs,
            "shard_index": refs >> np.int64(32),
            "row": rows,
            "id": docs.column("id"),
            "score": docs.column("score"),
            "exact": docs.column("exact"),
            "represents": docs.column("represents"),
            "component": component,
        }
    )


def member_table(nodes: np.ndarray, labels: np.ndarray, docs_files: list[str]) -> pa.Table:
    """id, score and exact key of every clustered document, read shard by shard (only the needed rows)."""
    shard = nodes >> np.int64(32)
    rows = nodes & np.int64(0xFFFFFFFF)
    parts = []
    for s in np.unique(shard):
        sel = shard == s
        docs = pq.read_table(docs_files[s])
        # docs rows are 0..n-1 in order, so row r is at position r.
        parts.append(_members(nodes[sel], docs.take(pa.array(rows[sel])), labels[sel]))
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


def empty_clusters() -> pa.Table:
    return pa.table(
        {
            "ref": pa.array([], pa.int64()), "shard_index": pa.array([], pa.int64()), "row": pa.array([], pa.int64()),
            "id": pa.array([], pa.string()), "score": pa.array([], pa.float64()), "exact": pa.array([], pa.uint64()),
            "represents": pa.array([], pa.int64()), "component": pa.array([], pa.int64()),
            "kept_id": pa.array([], pa.string()), "kept": pa.array([], pa.bool_()),
            "reason": pa.array([], pa.string()), "cluster_size": pa.array([], pa.int64()),
            "cluster_documents": pa.array([], pa.int64()),
        }
    )


def build_clusters_in_memory(dedup_dir: Path, docs_files: list[str], keep: str, out: Path | None = None) -> pa.Table:
    """The reference: every pair in this process, scipy's connected components, one table. Writes `out`
    (default RUN/dedup/clusters.parquet). Memory grows with the pairs; the stage uses build_clusters."""
    a, b = read_pairs(dedup_dir)
    nodes, labels = components(a, b)
    table = empty_clusters() if len(nodes) == 0 else choose_kept(member_table(nodes, labels, docs_files), keep)
    with atomic_path(out or dedup_dir / "clusters.parquet") as tmp:
        pq.write_table(table, tmp)
    return table


@dataclass
class ClusterSummary:
    """What the driver keeps of clusters.parquet: counts, the size histogram and the largest clusters."""

    members: int = 0  # rows of clusters.parquet: documents in a cluster of 2 or more
    clusters: int = 0
    size_histogram: dict[int, int] = field(default_factory=dict)  # cluster_size → clusters
    # The largest clusters, by size then kept id then component: {"kept_id", "size", "member_refs"}.
    largest: list[dict] = field(default_factory=list)
    rounds: int = 0  # large-star steps after round 0, the last one finding only stars (components.py)


def _largest(kept: pa.Table, position: np.ndarray, refs: np.ndarray, top: int, shown: int) -> list[dict]:
    """The `top` largest clusters of a sorted clusters table (or part); `position`: each kept row's index."""
    if len(kept) > top:
        # Only clusters at least as large as the top-th largest can be among the top.
        bound = np.partition(kept.column("cluster_size").to_numpy(), len(kept) - top)[len(kept) - top]
        sel = kept.column("cluster_size").to_numpy() >= bound
        kept, position = kept.filter(pa.array(sel)), position[sel]
    order = pc.sort_indices(
        kept, sort_keys=[("cluster_size", "descending"), ("kept_id", "ascending"), ("component", "ascending")]
    ).to_numpy()[:top]
    sizes, ids = kept.column("cluster_size").to_numpy(), kept.column("kept_id")
    comps = kept.column("component").to_numpy()
    return [
        {
            "kept_id": ids[i].as_py(),
            "size": int(sizes[i]),
            "component": int(comps[i]),
            "member_refs": [int(r) for r in refs[position[i] : position[i] + min(int(sizes[i]), shown)]],
        }
        for i in order
    ]


def summarize(clusters: pa.Table, top: int = TOP_CLUSTERS, shown: int = MEMBERS_SHOWN) -> ClusterSummary:
    """The summary of a clusters table (or of one partition's part: components whole, sorted by rank)."""
    is_kept = clusters.column("kept").to_numpy(zero_copy_only=False)
    kept = clusters.filter(pa.array(is_kept))
    sizes, counts = np.unique(kept.column("cluster_size").to_numpy(), return_counts=True)
    return ClusterSummary(
        members=len(clusters),
        clusters=len(kept),
        size_histogram={int(s): int(c) for s, c in zip(sizes, counts)},
        largest=_largest(kept, np.flatnonzero(is_kept), clusters.column("ref").to_numpy(), top, shown),
    )


def attach_members(labels_dir: str, out_dir: str, shard_index: int, docs_file: str, num_partitions: int) -> dict:
    """Task per shard: the shard's clustered members with their docs columns, sent to their component's
    partition (every member of a component then meets in one choose_part task)."""
    t = read_routed(Path(labels_dir), shard_index, pa.schema([("u", pa.int64()), ("v", pa.int64())]))
    if len(t) == 0:
        return {"members": 0}
    # A root arrives once from each partition that holds one of its leaves: keep one (node, root) per node.
    refs, first = np.unique(t.column("u").to_numpy(), return_index=True)
    roots = t.column("v").to_numpy()[first]
    docs = pq.read_table(docs_file).take(pa.array(refs & np.int64(0xFFFFFFFF)))
    members = _members(refs, docs, roots)
    write_routed(Path(out_dir), shard_index, members, node_partition(roots, num_partitions), num_partitions)
    return {"members": len(refs)}


def choose_part(in_dir: str, out_file: str, partition: int, keep: str) -> dict:
    """Task per partition: choose_kept on whole components, written sorted (components by lowest ref)."""
    members = read_routed(Path(in_dir), partition, None) if sends_to(Path(in_dir), partition) else None
    if members is None:
        return {"summary": ClusterSummary()}
    table = choose_kept(members, keep)
    with atomic_path(Path(out_file)) as tmp, pa.OSFile(str(tmp), "wb") as sink:
        with pa.ipc.new_file(sink, table.schema) as writer:
            # Batches bound what merge_parts holds per part (8192 rows × ~170 bytes × partitions).
            writer.write_table(table, max_chunksize=8192)
    return {"summary": summarize(table)}


def _batches(path: Path):
    with pa.OSFile(str(path), "rb") as src:
        reader = pa.ipc.open_file(src)
        for i in range(reader.num_record_batches):
            yield pa.Table.from_batches([reader.get_batch(i)])


class _RowGroupBuffer:
    """Rows waiting for a full row group, held column by column. pq.write_table writes each row group from
    one chunk per column, and Parquet's pages and dictionary fallbacks depend on the chunking, so a row group
    is combined before it is written; column by column, each column's pieces are freed as it is combined:
    one row group in memory, not two."""

    def __init__(self) -> None:
        self.schema: pa.Schema | None = None
        self.columns: list[list[pa.Array]] = []
        self.rows = 0

    def add(self, table: pa.Table) -> None:
        if self.schema is None:
            self.schema, self.columns = table.schema, [[] for _ in table.schema]
        for pieces, column in zip(self.columns, table.columns):
            pieces.extend(column.chunks)
        self.rows += len(table)

    def take(self, n: int) -> pa.Table:
        """The first n rows, one chunk per column; the rest (copied, so the row group's memory goes) stays."""
        out = []
        for i, pieces in enumerate(self.columns):
            whole = pa.concat_arrays(pieces)
            self.columns[i] = [pa.concat_arrays([whole.slice(n)])] if len(whole) > n else []
            out.append(whole.slice(0, n))
        self.rows -= n
        return pa.Table.from_arrays(out, schema=self.schema)


def merge_parts(part_files: list[str], out: str) -> dict:
    """Task: merge the sorted parts by component (lowest ref) into one Parquet file, numbering components
    0, 1, ... in that order and cutting row groups every ROW_GROUP_ROWS rows, as pq.write_table does."""
    sources = [_batches(Path(f)) for f in part_files]
    heads: list[pa.Table | None] = [None] * len(sources)
    done = [False] * len(sources)
    buffer = _RowGroupBuffer()
    components_seen = 0
    last_root = -1  # refs are >= 0
    writer = None
    with atomic_path(Path(out)) as tmp:
        while True:
            for i, src in enumerate(sources):
                while heads[i] is None and not done[i]:
                    heads[i] = next(src, None)
                    if heads[i] is None:
                        done[i] = True
                    elif len(heads[i]) == 0:
                        heads[i] = None
            live = [i for i in range(len(sources)) if heads[i] is not None]
            if not live:
                break
            # Rows up to the smallest last component among parts that may hold more are safe to emit: a
            # component lives in one part, and a part is sorted.
            open_parts = [i for i in live if not done[i]]
            bound = min(heads[i].column("component")[-1].as_py() for i in open_parts) if open_parts else None
            taken = []
            for i in live:
                comp = heads[i].column("component").to_numpy()
                cut = len(comp) if bound is None else int(np.searchsorted(comp, bound, side="right"))
                taken.append(heads[i].slice(0, cut))
                heads[i] = heads[i].slice(cut) if cut < len(comp) else None
            chunk = pa.concat_tables(taken)
            roots = chunk.column("component").to_numpy()
            order = np.argsort(roots, kind="stable")  # rows of one component stay in rank order
            chunk, roots = chunk.take(pa.array(order)), roots[order]
            new = np.concatenate(([roots[0] != last_root], roots[1:] != roots[:-1]))
            number = components_seen + np.cumsum(new) - 1
            components_seen += int(new.sum())
            last_root = roots[-1]
            column = chunk.schema.get_field_index("component")
            buffer.add(chunk.set_column(column, "component", pa.array(number, pa.int64())))
            del chunk, taken
            while buffer.rows >= ROW_GROUP_ROWS:
                writer = writer or pq.ParquetWriter(tmp, buffer.schema)
                writer.write_table(buffer.take(ROW_GROUP_ROWS), row_group_size=ROW_GROUP_ROWS)
        if buffer.rows:
            writer = writer or pq.ParquetWriter(tmp, buffer.schema)
            writer.write_table(buffer.take(buffer.rows), row_group_size=ROW_GROUP_ROWS)
        if writer is None:
            pq.write_table(empty_clusters(), tmp)
        else:
            writer.close()
    return {"components": components_seen}


def build_clusters(dedup_dir: Path, docs_files: list[str], keep: str, executor) -> ClusterSummary:
    """RUN/dedup/pairs/part-*.parquet → RUN/dedup/clusters.parquet through `executor`'s tasks; the partitions
    are those of the pairs files. Returns the summary; the table itself stays on disk."""
    dedup_dir = Path(dedup_dir)
    pairs_files = sorted(str(f) for f in (dedup_dir / "pairs").glob("part-*.parquet"))
    num_partitions = max(1, len(pairs_files))
    labels, rounds = connected_stars(executor, dedup_dir, pairs_files, len(docs_files))
    scratch = dedup_dir / SCRATCH
    members = scratch / "members"
    executor.map(
        attach_members,
        [(str(labels), str(members), s, f, num_partitions) for s, f in enumerate(docs_files)],
        "dedup clusters: members",
    )
    shutil.rmtree(labels, ignore_errors=True)
    parts = [str(scratch / "chosen" / f"part-{q:05d}.arrow") for q in range(num_partitions)]
    chosen = executor.map(
        choose_part, [(str(members), parts[q], q, keep) for q in range(num_partitions)], "dedup clusters: keep"
    )
    shutil.rmtree(members, ignore_errors=True)
    executor.map(merge_parts, [([p for p in parts if Path(p).exists()], str(dedup_dir / "clusters.parquet"))],
                 "dedup clusters: merge")
    shutil.rmtree(scratch, ignore_errors=True)
    summary = ClusterSummary(rounds=rounds)
    for r in chosen:
        part = r["summary"]
        summary.members += part.members
        summary.clusters += part.clusters
        for size, count in part.size_histogram.items():
            summary.size_histogram[size] = summary.size_histogram.get(size, 0) + count
        summary.largest.extend(part.largest)
    summary.largest = sorted(summary.largest, key=lambda c: (-c["size"], c["kept_id"], c["component"]))[:TOP_CLUSTERS]
    return summary


def cluster_stats(
    clusters: pa.Table | ClusterSummary, documents_in: int, top: int = TOP_CLUSTERS,
    members_per_cluster: int = MEMBERS_SHOWN,
) -> dict:
    """Histogram {size: count} (size 1 = documents in no cluster) and the largest clusters' first members.
    A ClusterSummary holds at most TOP_CLUSTERS clusters and MEMBERS_SHOWN members of each."""
    summary = clusters if isinstance(clusters, ClusterSummary) else summarize(clusters, top, members_per_cluster)
    hist: dict[int, int] = {}
    singletons = documents_in - summary.members
    if singletons:
        hist[1] = singletons
    hist.update(summary.size_histogram)
    largest = [
        {"kept_id": c["kept_id"], "size": c["size"], "member_refs": c["member_refs"][:members_per_cluster]}
        for c in summary.largest[:top]
    ]
    return {"cluster_size_histogram": {str(k): v for k, v in sorted(hist.items())}, "largest_clusters": largest}
