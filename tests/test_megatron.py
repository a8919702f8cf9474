"""Megatron-LM indexed datasets (tokens/megatron/{train,val}.{bin,idx}): layout, split, checksums, and a read-back
with megatron-core's own IndexedDataset reader, token for token (skipped when megatron-core is not installed)."""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from core.docfiles import unit_hash
from test_tokenizer import local, make_run, tiny_cfg
from tokenizer import megatron, stage


def expected_documents(root: Path, split: str, encode, eos_id: int, seed: int = 5, val_fraction: float = 0.1):
    """Every non-empty document of the split, in shard order, encoded with EOS appended."""
    out = []
    for f in sorted((root / "documents").glob("*.parquet")):
        for d in pq.read_table(f).to_pylist():
            if d["text"] and (unit_hash(seed, "split", d["id"]) < val_fraction) == (split == "val"):
                out.append(encode(d["text"]) + [eos_id])
    return out


def sp_encoder(root: Path):
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(root / "tokenizer" / "tokenizer.model"))
    return lambda text: sp.encode(text)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    root = make_run(tmp_path_factory.mktemp("megatron"), n_shards=3, docs_per_shard=60)
    stage.run(tiny_cfg(formats=["arrow", "megatron"]), None, root, local())
    return root


def test_read_back_with_megatron_core_token_for_token(run_dir):
    indexed = pytest.importorskip("megatron.core.datasets.indexed_dataset")
    m = json.loads((run_dir / "tokens" / "manifest.json").read_text())
    for split in ("train", "val"):
        expected = expected_documents(run_dir, split, sp_encoder(run_dir), m["eos_id"])
        ds = indexed.IndexedDataset(str(run_dir / "tokens" / "megatron" / split))
        assert len(ds) == len(expected) == m["megatron"]["splits"][split]["documents"] > 0
        assert ds.index.dtype == np.uint16
        assert ds.document_indices.tolist() == list(range(len(expected) + 1))  # one sequence per document
        for i, doc in enumerate(expected):
            assert ds[i].tolist() == doc
        assert ds.get(1, offset=2, length=3).tolist() == expected[1][2:5]


def test_same_documents_and_tokens_as_the_arrow_shards(run_dir):
    m = json.loads((run_dir / "tokens" / "manifest.json").read_text())
    assert m["formats"] == ["arrow", "megatron"]
    for split in ("train", "val"):
        mega = m["megatron"]["splits"][split]
        assert mega["documents"] == m["splits"][split]["documents"]
        assert mega["tokens"] == m["splits"][split]["tokens"]  # Arrow drops only the last partial row
        bin_tokens = np.fromfile(run_dir / "tokens" / "megatron" / f"{split}.bin", dtype=np.uint16)
        rows = [pa.ipc.open_file(str(run_dir / "tokens" / s["file"])).read_all().column("tokens").combine_chunks()
                .values.to_numpy() for s in m["shards"] if s["split"] == split]
        arrow = np.concatenate(rows)
        # Arrow packs each shard's full rows and then all shards' tails, so only the first shard's rows are a
        # prefix of the Megatron stream (its documents come first in both).
        n = next(s["tokens"] for s in m["shards"] if s["split"] == split)
        assert n > 0 and (arrow[:n] == bin_tokens[:n]).all() and len(arrow) <= len(bin_tokens)


def test_index_layout_and_checksums(run_dir):
    m = json.loads((run_dir / "tokens" / "manifest.json").read_text())
    assert m["megatron"]["dtype"] == "uint16"
    for split in ("train", "val"):
        entry = m["megatron"]["splits"][split]
        prefix = run_dir / "tokens" / entry["prefix"]
        for ext in ("bin", "idx"):
            path = prefix.with_name(f"{prefix.name}.{ext}")
            assert hashlib.sha256(path.read_bytes()).hexdigest() == entry[f"{ext}_sha256"]
        raw = prefix.with_name(prefix.name + ".idx").read_bytes()
        n = entry["sequences"]
        assert raw[:9] == b"MMIDIDX\x00\x00" and struct.unpack("<QBQQ", raw[9:34]) == (1, 8, n, n + 1)
        assert len(raw) == 34 + 4 * n + 8 * n + 8 * (n + 1)
        dtype, lengths, pointers, docs = megatron.read_index(prefix.with_name(prefix.name + ".idx"))
        assert pointers.tolist() == (np.concatenate([[0], np.cumsum(lengths)[:-1]]) * 2).tolist()
        assert int(lengths.sum()) * 2 == prefix.with_name(prefix.name + ".bin").stat().st_size == entry["tokens"] * 2
    assert not (run_dir / "tokens" / "megatron" / "parts").exists()  # merged and removed


def test_streaming_buffers_do_not_change_the_files(run_dir, tmp_path, monkeypatch):
    m = json.loads((run_dir / "tokens" / "manifest.json").read_text())
    monkeypatch.setattr(megatron, "FLUSH_TOKENS", 7)  # many writes per part
    monkeypatch.setattr(megatron, "CHUNK", 5)  # many index chunks per part when merging
    root = make_run(tmp_path / "again", n_shards=3, docs_per_shard=60)
    stage.run(tiny_cfg(formats=["arrow", "megatron"]), None, root, local())
    again = json.loads((root / "tokens" / "manifest.json").read_text())
    assert again["megatron"] == m["megatron"]


def test_megatron_only_and_a_stale_dataset_is_removed(tmp_path):
    root = make_run(tmp_path / "r", n_shards=1, docs_per_shard=40)
    stage.run(tiny_cfg(formats=["megatron"], val_fraction=0.0), None, root, local())
    m = json.loads((root / "tokens" / "manifest.json").read_text())
    assert m["shards"] == [] and not list((root / "tokens").glob("*.arrow"))
    assert m["megatron"]["splits"]["val"] == {"prefix": None, "documents": 0, "sequences": 0, "tokens": 0}
    assert sorted(p.name for p in (root / "tokens" / "megatron").iterdir()) == ["train.bin", "train.idx"]
    assert m["splits"]["train"]["documents"] == m["megatron"]["splits"]["train"]["documents"] == 39
    stage.run(tiny_cfg(), None, root, local())  # back to the default: Arrow only
    assert not (root / "tokens" / "megatron").exists()
    assert "megatron" not in json.loads((root / "tokens" / "manifest.json").read_text())


def test_large_vocabulary_is_int32_as_megatron_expects(tmp_path):
    pytest.importorskip("tokenizers")
    from test_tokenize_external import ext_cfg, word_level_large

    path = word_level_large(tmp_path / "t")
    root = make_run(tmp_path / "r", n_shards=2, docs_per_shard=40)
    stage.run(ext_cfg(path, eos_token="</s>", formats=["arrow", "megatron"]), None, root, local())
    m = json.loads((root / "tokens" / "manifest.json").read_text())
    assert m["dtype"] == "uint32" and m["megatron"]["dtype"] == "int32"
    import tokenizers

    tok = tokenizers.Tokenizer.from_file(str(path))
    expected = expected_documents(root, "train", lambda t: tok.encode(t, add_special_tokens=False).ids, m["eos_id"])
    dtype, lengths, _, _ = megatron.read_index(root / "tokens" / "megatron" / "train.idx")
    tokens = np.fromfile(root / "tokens" / "megatron" / "train.bin", dtype=dtype)
    assert dtype == np.int32 and tokens.tolist() == [t for doc in expected for t in doc] and max(tokens) > 65_535
    assert lengths.tolist() == [len(d) for d in expected]
    indexed = pytest.importorskip("megatron.core.datasets.indexed_dataset")
    ds = indexed.IndexedDataset(str(root / "tokens" / "megatron" / "train"))
    assert [ds[i].tolist() for i in range(len(ds))] == expected


def test_token_dtype_follows_megatron():
    assert megatron.token_dtype(8000) == np.uint16 and megatron.token_dtype(65499) == np.uint16
    assert megatron.token_dtype(65500) == np.int32 and megatron.token_dtype(128_256) == np.int32


def test_formats_are_checked():
    from pipeline import job as stages
    from core.errors import ConfigError

    with pytest.raises(ConfigError, match=r"tokenize\.formats\[1\]: Input should be 'arrow' or 'megatron'"):
        stages.validate_section("tokenize", {"formats": ["arrow", "nemo"]}, "job.yaml: tokenize")
    with pytest.raises(ConfigError, match=r"tokenize\.formats: .*listed twice"):
        stages.validate_section("tokenize", {"formats": ["megatron", "megatron"]}, "job.yaml: tokenize")
    with pytest.raises(ConfigError, match=r"tokenize\.formats: .*at least 1"):
        stages.validate_section("tokenize", {"formats": []}, "job.yaml: tokenize")
    assert stages.validate_section("tokenize", {}, "t").formats == ["arrow"]
