"""Tokenizer training, packed Arrow shards (determinism, split, manifest) and the torch loader's coverage."""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from core.config import ExecutionConfig
from pipeline.executor import Executor
from core.docfiles import unit_hash
from tokenizer import pack, stage
from tokenizer.train import TokenizerConfig, input_files, train_tokenizer

SUBJECTS = ["나는", "우리 학교는", "서울 시민들은", "그 회사는", "어린이들이", "대한민국(大韓民國)은", "할머니께서"]
OBJECTS = ["책을", "김치찌개를", "새로운 기술을", "한국어 문법을", "축구 경기를", "데이터를", "역사(歷史)를"]
VERBS = ["읽었다.", "만들었습니다.", "배우고 있다.", "좋아한다.", "보았어요.", "정리했다.", "공부한다."]


def korean_docs(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    docs = []
    for _ in range(n):
        lines = [" ".join([rng.choice(SUBJECTS), rng.choice(OBJECTS), rng.choice(VERBS)]) for _ in range(rng.randint(2, 8))]
        docs.append("\n".join(lines))
    return docs


def make_run(root: Path, n_shards: int = 2, docs_per_shard: int = 150) -> Path:
    (root / "documents").mkdir(parents=True)
    for s in range(n_shards):
        texts = korean_docs(docs_per_shard, seed=s)
        ids = [f"doc-{s}-{i}" for i in range(docs_per_shard)]
        texts[0] = ""  # an empty document is skipped, not packed as a lone EOS
        pq.write_table(pa.table({"id": ids, "text": texts}), root / "documents" / f"part-{s:05d}.parquet")
    return root


def tiny_cfg(**kw) -> stage.Config:
    base = dict(vocab_size=400, seq_len=32, val_fraction=0.1, heldout_documents=20, sample_documents=1000,
                num_threads=1, seed=5)
    base.update(kw)
    return stage.Config(**base)


def local() -> Executor:
    return Executor(ExecutionConfig(backend="local"))


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    root = make_run(tmp_path_factory.mktemp("run"))
    stage.run(tiny_cfg(), None, root, local())
    return root


def file_hashes(tokens_dir: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(tokens_dir.glob("*.arrow"))}


def test_stats_report_fertility_and_byte_fallback(run_dir):
    stats = json.loads((run_dir / "tokenizer" / "stats.json").read_text())
    assert stats["model_type"] == "unigram" and 0 < stats["vocab_size"] <= 400
    assert stats["heldout_documents"] == 20
    assert 1.0 < stats["fertility_tokens_per_eojeol"] < 10
    assert 0.1 < stats["fertility_tokens_per_char"] < 1.5
    assert 0.0 <= stats["byte_fallback_share"] < 0.5
    assert stats["hangul_char_coverage"] > 0.9 and stats["hanja_chars"] > 0


def test_rare_characters_fall_back_to_bytes_and_round_trip(run_dir):
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(run_dir / "tokenizer" / "tokenizer.model"))
    text = "龘 한국어\n두 번째 줄"
    ids = sp.encode(text)
    assert any(sp.is_byte(i) for i in ids)  # 龘 never occurs in the sample
    assert "\n" in [sp.id_to_piece(i) for i in ids]  # newline is one piece, not a byte
    assert sp.decode(ids) == text


def test_manifest_matches_shards(run_dir):
    m = json.loads((run_dir / "tokens" / "manifest.json").read_text())
    assert m["dtype"] == "uint16" and m["row_tokens"] == 33 and m["seq_len"] == 32
    assert m["tokenizer_sha256"] == hashlib.sha256((run_dir / "tokenizer" / "tokenizer.model").read_bytes()).hexdigest()
    assert m["splits"]["train"]["documents"] + m["splits"]["val"]["documents"] == 298  # 2 empty docs skipped
    for shard in m["shards"]:
        path = run_dir / "tokens" / shard["file"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == shard["sha256"]
        table = pa.ipc.open_file(str(path)).read_all()
        assert table.schema.field("tokens").type == pa.list_(pa.uint16(), 33)
        assert table.num_rows == shard["sequences"]
    for split, figures in m["splits"].items():
        assert figures["sequences"] == sum(s["sequences"] for s in m["shards"] if s["split"] == split)
        assert 0 <= figures["tokens_dropped"] < 33  # only the last partial row of all tails is lost
    # Rows hold whole documents ending in EOS: the EOS count equals the documents whose EOS was not dropped.
    eos = sum(pc_count(run_dir / "tokens" / s["file"], m["eos_id"]) for s in m["shards"] if s["split"] == "train")
    assert m["splits"]["train"]["documents"] - 1 <= eos <= m["splits"]["train"]["documents"]


def pc_count(path: Path, value: int) -> int:
    table = pa.ipc.open_file(str(path)).read_all()
    return int((table.column("tokens").combine_chunks().values.to_numpy() == value).sum())


def test_validation_split_is_by_document_hash(run_dir):
    m = json.loads((run_dir / "tokens" / "manifest.json").read_text())
    expected_val = sum(1 for s in range(2) for i in range(1, 150) if unit_hash(5, "split", f"doc-{s}-{i}") < 0.1)
    assert m["splits"]["val"]["documents"] == expected_val > 0


def test_same_seed_same_shards_other_seed_differs(run_dir, tmp_path):
    again = make_run(tmp_path / "again")
    stage.run(tiny_cfg(), None, again, local())
    assert file_hashes(again / "tokens") == file_hashes(run_dir / "tokens")
    other = make_run(tmp_path / "other")
    stage.run(tiny_cfg(seed=6), None, other, local())
    assert file_hashes(other / "tokens") != file_hashes(run_dir / "tokens")


def test_reads_the_mix_when_there_is_one(tmp_path):
    root = make_run(tmp_path / "r")
    (root / "mix").mkdir()
    pq.write_table(pa.table({"id": ["m1"], "text": ["섞인 문서"], "source": ["ko-wiki"]}), root / "mix" / "ko-wiki-00000.parquet")
    assert input_files(str(root)) == [str(root / "documents" / "part-00000.parquet"),
                                      str(root / "documents" / "part-00001.parquet")]  # no manifest yet
    (root / "mix" / "manifest.json").write_text("{}")
    assert input_files(str(root)) == [str(root / "mix" / "ko-wiki-00000.parquet")]


def test_large_vocabulary_uses_uint32():
    assert pack.token_type(8000) == pa.uint16() and pack.token_type(65536) == pa.uint16()
    assert pack.token_type(65537) == pa.uint32()


def test_bpe_model_type_trains(tmp_path):
    root = make_run(tmp_path / "bpe", n_shards=1)
    stats = train_tokenizer(input_files(str(root)), tmp_path / "tok",
                            TokenizerConfig(vocab_size=400, model_type="bpe", heldout_documents=10, num_threads=1))
    assert stats["model_type"] == "bpe" and stats["heldout_tokens"] > 0


def test_shards_open_with_datasets(run_dir, tmp_path):
    datasets = pytest.importorskip("datasets")
    ds = datasets.load_dataset("arrow", data_files={"train": str(run_dir / "tokens" / "train-*.arrow")},
                               cache_dir=str(tmp_path / "hf"))["train"]
    m = json.loads((run_dir / "tokens" / "manifest.json").read_text())
    assert len(ds) == m["splits"]["train"]["sequences"] and len(ds[0]["tokens"]) == 33


# ---------------------------------------------------------------- loader


def rows_of(ds, workers: int) -> list[bytes]:
    from torch.utils.data import DataLoader

    return [row.numpy().tobytes() for row in DataLoader(ds, batch_size=None, num_workers=workers)]


def test_loader_every_sequence_once_across_2_ranks_x_2_workers(run_dir):
    pytest.importorskip("torch")
    from tokenizer.loader import TokenShardDataset

    everything = Counter(rows_of(TokenShardDataset(run_dir / "tokens", "train", shuffle=False), 0))
    seen: Counter = Counter()
    for rank in range(2):
        ds = TokenShardDataset(run_dir / "tokens", "train", seed=3, rank=rank, world_size=2)
        rows = rows_of(ds, 2)
        assert len(rows) == len(ds)
        seen.update(rows)
    assert seen == everything and sum(everything.values()) > 10


def test_loader_shuffle_is_seeded_and_changes_by_epoch(run_dir):
    pytest.importorskip("torch")
    from tokenizer.loader import TokenShardDataset

    a = TokenShardDataset(run_dir / "tokens", "train", seed=3, rank=0, world_size=1)
    b = TokenShardDataset(run_dir / "tokens", "train", seed=3, rank=0, world_size=1)
    first = rows_of(a, 0)
    assert first == rows_of(b, 0)
    b.set_epoch(1)
    second = rows_of(b, 0)
    assert second != first and sorted(second) == sorted(first)


def test_loader_drop_uneven_gives_equal_counts(run_dir):
    pytest.importorskip("torch")
    from tokenizer.loader import TokenShardDataset

    counts = [len(rows_of(TokenShardDataset(run_dir / "tokens", "train", rank=r, world_size=3, drop_uneven=True), 0))
              for r in range(3)]
    total = TokenShardDataset(run_dir / "tokens", "train").num_sequences
    assert counts == [total // 3] * 3


def test_rows_hold_encoded_documents_and_follow_a_retrained_tokenizer(tmp_path):
    import sentencepiece as spm

    root = make_run(tmp_path / "r", n_shards=1)
    for model_type in ("unigram", "bpe"):  # same tokenizer path, retrained in the same process
        stage.run(tiny_cfg(model_type=model_type), None, root, local())
        sp = spm.SentencePieceProcessor(model_file=str(root / "tokenizer" / "tokenizer.model"))
        docs = pq.read_table(root / "documents" / "part-00000.parquet").to_pylist()
        first = next(d for d in docs if d["text"] and unit_hash(5, "split", d["id"]) >= 0.1)
        expected = (sp.encode(first["text"]) + [2])[:33]
        row0 = pa.ipc.open_file(str(root / "tokens" / "train-00000.arrow")).get_batch(0).column(0)[0].as_py()
        assert row0[: len(expected)] == expected


def test_tokenizer_train_command_on_a_run_directory(tmp_path, capsys):
    import argparse

    from tokenizer import train

    root = make_run(tmp_path / "r", n_shards=1)
    parser = argparse.ArgumentParser()
    train.add_arguments(parser)
    args = parser.parse_args(["--input", str(root), "--vocab-size", "400", "--heldout-documents", "10",
                              "--user-defined-symbols", "<EMAIL>", "<PHONE>"])
    assert train.main(args) == 0
    stats = json.loads((root / "tokenizer" / "stats.json").read_text())
    assert stats["user_defined_symbols"] == ["<EMAIL>", "<PHONE>", "\n"]
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(root / "tokenizer" / "tokenizer.model"))
    assert "<EMAIL>" in [sp.id_to_piece(i) for i in sp.encode("연락처 <EMAIL> 입니다")]
    with pytest.raises(train.ConfigError, match="--out is required"):
        train.main(parser.parse_args(["--input", str(root / "documents" / "*.parquet")]))
