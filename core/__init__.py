"""The kernel every other package may import, and which imports none of them: errors, atomic writes, text
helpers (NFC), the model cache, the per-document step API and registry, the typed job config, the time budget,
credential redaction, line hashing for line dedup, and reading text columns of Parquet/JSONL files.
"""
