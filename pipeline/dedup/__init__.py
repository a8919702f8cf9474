"""Exact and MinHash-LSH fuzzy deduplication across all shards of a run (barrier stage `dedup`).

Data flow (each arrow is a set of tasks run with `Executor.map`, nothing holds the whole index):
  documents/*.parquet → signatures.py (per shard: exact key + MinHash, band keys partitioned to disk)
    → buckets.py (per partition: documents sharing a band key → verified candidate pairs)
    → clusters.py (union-find over pairs → one representative per cluster, chosen deterministically)
    → rewrite.py (per shard: staged documents/rejected files, then renames and `dedup/_SUCCESS`).
`stage.py` holds `Config` and `run`, `cli.py` the standalone `pipeline dedup` command. Every kept document carries
`cluster_size`; `rehydrate.py` holds the weight tables by cluster size that pipeline/mix.py repeats documents by.
"""
