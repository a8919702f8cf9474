"""The tokenize stage with a team's existing tokenizer: a Hugging Face tokenizer.json or a SentencePiece model.

Every tokenizer is built here, from the test's own Korean sentences: nothing is downloaded.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline import job as stages
from core.errors import ConfigError
from core.docfiles import unit_hash
from test_tokenizer import korean_docs, local, make_run
from tokenizer import external, stage

tokenizers = pytest.importorskip("tokenizers")

EOT = "<|endoftext|>"


def byte_level_bpe(out_dir: Path, vocab_size: int = 400, with_config: bool = True) -> Path:
    """A GPT-2-style byte-level BPE trained on the test's sentences; tokenizer_config.json names its EOS."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[EOT, "<|begin|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(korean_docs(200, seed=9), trainer)
    tok.enable_truncation(16)  # a stored truncation must not cut documents
    out_dir.mkdir(parents=True, exist_ok=True)
    tok.save(str(out_dir / "tokenizer.json"))
    if with_config:
        (out_dir / "tokenizer_config.json").write_text(json.dumps({"eos_token": {"content": EOT}, "bos_token": "<|begin|>"}))
    return out_dir / "tokenizer.json"


def byte_fallback_bpe(out_dir: Path) -> Path:
    """A Llama-style vocabulary: whole characters plus the 256 `<0xNN>` byte pieces for the rest."""
    from tokenizers import Tokenizer, decoders, models

    chars = sorted(set("".join(korean_docs(200, seed=9))))
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for b in range(256):
        vocab[f"<0x{b:02X}>"] = len(vocab)
    for ch in chars:
        vocab.setdefault(ch, len(vocab))
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>", byte_fallback=True))
    tok.decoder = decoders.Sequence([decoders.ByteFallback(), decoders.Fuse()])
    out_dir.mkdir(parents=True, exist_ok=True)
    tok.save(str(out_dir / "tokenizer.json"))
    return out_dir / "tokenizer.json"


def word_level_large(out_dir: Path) -> Path:
    """A word vocabulary of 70,000 ids (above uint16): the test's words sit at the top of the id range."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    words = sorted({w for d in korean_docs(200, seed=9) for w in d.split()} | {w for s in range(3) for d in
                   korean_docs(150, seed=s) for w in d.split()})
    vocab = {"[UNK]": 0, "</s>": 1}
    for i in range(70_000 - len(words) - 2):
        vocab[f"filler{i}"] = len(vocab)
    for w in words:
        vocab[w] = len(vocab)
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    out_dir.mkdir(parents=True, exist_ok=True)
    tok.save(str(out_dir / "tokenizer.json"))
    return out_dir / "tokenizer.json"


def sentencepiece_model(out_dir: Path) -> Path:
    import sentencepiece as spm

    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "text.txt").write_text("\n".join(korean_docs(200, seed=9)), encoding="utf-8")
    spm.SentencePieceTrainer.train(input=str(out_dir / "text.txt"), model_prefix=str(out_dir / "team"),
                                   vocab_size=500, byte_fallback=True, character_coverage=0.99, num_threads=1,
                                   hard_vocab_limit=False, minloglevel=2, bos_id=1, eos_id=2, unk_id=0)
    return out_dir / "team.model"


def ext_cfg(tokenizer: Path, **kw) -> stage.Config:
    base = dict(tokenizer=str(tokenizer), seq_len=32, val_fraction=0.1, heldout_documents=20, seed=5)
    base.update(kw)
    return stage.Config(**base)


def documents_of(split: str, root: Path, seed: int = 5, val_fraction: float = 0.1) -> list[str]:
    out = []
    for f in sorted((root / "documents").glob("*.parquet")):
        for d in pq.read_table(f).to_pylist():
            in_val = unit_hash(seed, "split", d["id"]) < val_fraction
            if d["text"] and in_val == (split == "val"):
                out.append(d["text"])
    return out


def arrow_stream(root: Path, split: str) -> np.ndarray:
    m = json.loads((root / "tokens" / "manifest.json").read_text())
    parts = [pa.ipc.open_file(str(root / "tokens" / s["file"])).read_all().column("tokens").combine_chunks()
             .values.to_numpy() for s in m["shards"] if s["split"] == split]
    return np.concatenate(parts)


@pytest.fixture(scope="module")
def hf_run(tmp_path_factory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("hf")
    path = byte_level_bpe(tmp / "team-tokenizer")
    root = make_run(tmp / "run", n_shards=1)
    stage.run(ext_cfg(path), None, root, local())
    return root, path


def test_hf_tokenizer_sets_vocabulary_eos_and_is_copied_into_the_run(hf_run):
    root, path = hf_run
    tok = tokenizers.Tokenizer.from_file(str(path))
    m = json.loads((root / "tokens" / "manifest.json").read_text())
    assert m["vocab_size"] == tok.get_vocab_size() and m["dtype"] == "uint16"
    assert m["eos_id"] == tok.token_to_id(EOT) and m["bos_id"] == tok.token_to_id("<|begin|>")
    assert m["tokenizer"] == "../tokenizer/tokenizer.json" and m["tokenizer_type"] == "huggingface"
    assert m["tokenizer_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (root / "tokenizer" / "tokenizer_config.json").is_file()
    assert not (root / "tokenizer" / "tokenizer.model").exists()


def test_hf_rows_hold_whole_documents_then_eos_despite_stored_truncation(hf_run):
    root, path = hf_run
    tok = tokenizers.Tokenizer.from_file(str(path))
    tok.no_truncation()
    eos = tok.token_to_id(EOT)
    expected = []
    for text in documents_of("train", root):
        expected += tok.encode(text, add_special_tokens=False).ids + [eos]
    stream = arrow_stream(root, "train")
    assert stream.tolist() == expected[: len(stream)] and len(expected) - len(stream) < 33
    first_doc = stream[: int(np.argmax(stream == eos))]
    assert tok.decode(first_doc.tolist()) == documents_of("train", root)[0]


def test_hf_stats_report_fertility_and_byte_level_fallback(hf_run):
    root, _ = hf_run
    stats = json.loads((root / "tokenizer" / "stats.json").read_text())
    assert stats["tokenizer_source"] == "external" and stats["tokenizer_type"] == "huggingface"
    assert stats["byte_fallback_rule"] == "byte_level_partial_utf8"
    assert stats["heldout_documents"] == 20 and stats["heldout_tokens"] > 0
    assert 1.0 < stats["fertility_tokens_per_eojeol"] < 10 and 0.1 < stats["fertility_tokens_per_char"] < 3
    # 400 pieces cannot hold every syllable of the sample: some Hangul is cut into UTF-8 bytes.
    assert 0.0 < stats["byte_fallback_share"] < 1.0 and stats["unk_share"] == 0.0
    assert 0.0 < stats["hangul_char_coverage"] <= 1.0 and stats["hanja_chars"] > 0


def test_byte_level_counts_cut_syllables_not_ascii_bytes(tmp_path):
    tok = external.ExternalTokenizer("huggingface", str(byte_level_bpe(tmp_path / "t", vocab_size=300)))
    ids = tok.encode(["龘 a"])[0]  # 龘 (3 bytes, never seen) is three byte tokens; "a" and " " are whole
    assert sum(i in tok.byte_ids for i in ids) == 3 and len(ids) == 5
    assert not tok.covers("龘") and tok.covers("a")


def test_byte_fallback_pieces_are_counted_like_sentencepiece(tmp_path):
    path = byte_fallback_bpe(tmp_path / "t")
    tok = external.ExternalTokenizer("huggingface", str(path))
    assert tok.byte_fallback_rule == "byte_pieces" and len(tok.byte_ids) == 256
    figures = external.measure(tok, ["서울 龘"])
    assert figures["byte_fallback_share"] == round(3 / 6, 6)  # 서, 울, " " whole; 龘 three <0xNN>
    assert figures["hanja_char_coverage"] == 0.0 and figures["hangul_char_coverage"] == 1.0
    root = make_run(tmp_path / "run", n_shards=1)
    stage.run(ext_cfg(path, eos_token="</s>"), None, root, local())  # no tokenizer_config.json: the config names EOS
    m = json.loads((root / "tokens" / "manifest.json").read_text())
    assert m["eos_id"] == 2


def test_sentencepiece_model_gives_the_same_figures_as_our_own(tmp_path):
    import sentencepiece as spm

    from tokenizer.train import heldout_texts, measure

    path = sentencepiece_model(tmp_path / "team")
    root = make_run(tmp_path / "run", n_shards=1)
    cfg = ext_cfg(path)
    stage.run(cfg, None, root, local())
    stats = json.loads((root / "tokenizer" / "stats.json").read_text())
    sp = spm.SentencePieceProcessor(model_file=str(path))
    heldout = heldout_texts([str(p) for p in sorted((root / "documents").glob("*.parquet"))], cfg, 150)
    assert {k: stats[k] for k in measure(sp, heldout)} == measure(sp, heldout)
    assert stats["byte_fallback_rule"] == "sentencepiece_byte_pieces" and stats["eos_id"] == sp.eos_id()
    m = json.loads((root / "tokens" / "manifest.json").read_text())
    assert m["tokenizer"] == "../tokenizer/tokenizer.model" and m["vocab_size"] == sp.get_piece_size()
    expected = []
    for text in documents_of("train", root):
        expected += sp.encode(text) + [sp.eos_id()]
    stream = arrow_stream(root, "train")
    assert stream.tolist() == expected[: len(stream)]


@pytest.mark.parametrize("add_bos", [False, True], ids=["eos", "bos+eos"])
def test_sentencepiece_ids_as_arrays_or_as_int_lists_give_the_same_shards(tmp_path, monkeypatch, add_bos):
    """sentencepiece >= 0.2.1 hands out int32 arrays and the stage packs them as they are; an older one gives
    int lists. Both must write the same bytes."""
    import sentencepiece as spm

    from tokenizer import pack

    path = sentencepiece_model(tmp_path / "team")
    if not pack.sp_gives_arrays(spm.SentencePieceProcessor(model_file=str(path))):
        pytest.skip("this sentencepiece gives int lists only: there is nothing to compare")
    digests = []
    for arrays in (True, False):
        if not arrays:
            monkeypatch.setattr(pack, "sp_gives_arrays", lambda sp: False)
        root = make_run(tmp_path / f"run-{arrays}", n_shards=1)
        stage.run(ext_cfg(path, add_bos=add_bos), None, root, local())
        digests.append({f.name: hashlib.sha256(f.read_bytes()).hexdigest()
                        for f in sorted((root / "tokens").glob("*.arrow"))})
        stream = arrow_stream(root, "train")
        if add_bos:
            assert stream[0] == 1 and (stream[1:][stream[:-1] == 2] == 1).all()
    assert digests[0] == digests[1] and digests[0]


def test_add_bos_puts_bos_before_every_document(tmp_path):
    path = byte_level_bpe(tmp_path / "t")
    root = make_run(tmp_path / "run", n_shards=1)
    stage.run(ext_cfg(path, add_bos=True), None, root, local())
    tok = tokenizers.Tokenizer.from_file(str(path))
    bos, eos = tok.token_to_id("<|begin|>"), tok.token_to_id(EOT)
    stream = arrow_stream(root, "train")
    assert stream[0] == bos
    after_eos = stream[1:][stream[:-1] == eos]
    assert len(after_eos) > 10 and (after_eos == bos).all()


def test_vocabulary_above_uint16_is_stored_as_uint32_and_loads(tmp_path):
    torch = pytest.importorskip("torch")
    from tokenizer.loader import TokenShardDataset

    path = word_level_large(tmp_path / "t")
    root = make_run(tmp_path / "run", n_shards=1)
    result = stage.run(ext_cfg(path, eos_token="</s>"), None, root, local())
    m = json.loads((root / "tokens" / "manifest.json").read_text())
    assert m["vocab_size"] == 70_000 and m["dtype"] == "uint32" and result["vocab_size"] == 70_000
    rows = list(TokenShardDataset(root / "tokens", "train", shuffle=False))
    assert len(rows) == m["splits"]["train"]["sequences"] > 0
    assert rows[0].dtype == torch.int64 and int(torch.stack(rows).max()) > 65_535
    stats = json.loads((root / "tokenizer" / "stats.json").read_text())
    assert stats["byte_fallback_rule"] == "none" and stats["unk_share"] == 0.0  # every word of the run is in it
    figures = external.measure(external.ExternalTokenizer("huggingface", str(path)), ["서울 시민들은 龘"])
    assert figures["unk_share"] == round(1 / 3, 6) and figures["hangul_char_coverage"] == 0.0  # no lone syllables


def test_default_config_trains_and_writes_no_new_manifest_keys(tmp_path):
    root = make_run(tmp_path / "run", n_shards=1)
    (root / "tokenizer").mkdir()
    (root / "tokenizer" / "tokenizer.json").write_text("{}")  # an earlier run's external tokenizer
    stage.run(stage.Config(vocab_size=400, seq_len=32, heldout_documents=10, num_threads=1), None, root, local())
    m = json.loads((root / "tokens" / "manifest.json").read_text())
    assert not {"formats", "megatron", "tokenizer_type", "bos_id"} & set(m)
    assert sorted(p.name for p in (root / "tokenizer").iterdir()) == ["stats.json", "tokenizer.model", "tokenizer.vocab"]


def test_external_tokenizer_with_no_documents(tmp_path):
    path = byte_level_bpe(tmp_path / "t")
    root = tmp_path / "run"
    (root / "documents").mkdir(parents=True)
    result = stage.run(ext_cfg(path, formats=["arrow", "megatron"]), None, root, local())
    assert result["note"] == "no documents" and result["vocab_size"] > 0
    stats = json.loads((root / "tokenizer" / "stats.json").read_text())
    assert stats["note"] == "no documents" and stats["heldout_documents"] == 0


# ---------------------------------------------------------------- config errors name the key


def check_config_error(section: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        stages.validate_section("tokenize", section, "job.yaml: tokenize")


def test_training_keys_with_an_existing_tokenizer_are_errors(tmp_path):
    path = byte_level_bpe(tmp_path / "t")
    check_config_error({"tokenizer": str(path), "vocab_size": 32000}, r"tokenize\.vocab_size: .*not used with tokenizer")
    check_config_error({"tokenizer": str(path), "model_type": "bpe"}, r"tokenize\.model_type")
    assert stages.validate_section("tokenize", {"tokenizer": str(path.parent)}, "t").tokenizer == str(path.parent)


def test_missing_or_unreadable_tokenizer_is_an_error(tmp_path):
    check_config_error({"tokenizer": str(tmp_path / "nope.json")}, r"tokenize\.tokenizer: .*file not found")
    (tmp_path / "vocab.txt").write_text("가\n")
    check_config_error({"tokenizer": str(tmp_path / "vocab.txt")}, r"tokenize\.tokenizer: .*not a Hugging Face")
    (tmp_path / "broken.json").write_text("{")
    check_config_error({"tokenizer": str(tmp_path / "broken.json")}, r"tokenize\.tokenizer")
    check_config_error({"tokenizer": str(tmp_path)}, r"neither tokenizer\.json nor tokenizer\.model")


def test_eos_must_be_known(tmp_path):
    bare = byte_level_bpe(tmp_path / "bare", with_config=False)
    check_config_error({"tokenizer": str(bare)}, r"tokenize\.eos_token: .*declares no EOS token; set tokenize\.eos_token")
    check_config_error({"tokenizer": str(bare), "eos_token": "</s>"}, r"tokenize\.eos_token: .*not in the vocabulary")
    assert stages.validate_section("tokenize", {"tokenizer": str(bare), "eos_token": EOT}, "t").eos_token == EOT
    check_config_error({"tokenizer": str(bare), "eos_token": EOT, "add_bos": True}, r"tokenize\.add_bos: .*no BOS")
    check_config_error({"eos_token": EOT}, r"tokenize\.eos_token: .*only with tokenizer")
    check_config_error({"add_bos": True}, r"tokenize\.add_bos: .*only with tokenizer")
