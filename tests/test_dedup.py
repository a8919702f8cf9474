"""Dedup: datasketch-equal signatures, planted Korean near-duplicates found, topic neighbours kept, exact
duplicates removed, deterministic across runs, shard splits and partition counts, resumable rewrite."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from datasketch import MinHash

from core.config import ExecutionConfig
from pipeline.dedup.hashing import normalize_for_shingles, shingle_hashes, shingle_strings
from pipeline.dedup.signatures import minhash_signatures
from pipeline.dedup.stage import Config, dedup_files, run
from pipeline.executor import Executor

PARAS = {k: v for k, v in json.loads((Path(__file__).parent / "fixtures" / "dedup_ko_paragraphs.json").read_text("utf-8")).items() if not k.startswith("_")}


def change_eojeol(text: str, share: float, seed: int) -> str:
    rng = random.Random(seed)
    ws = text.split(" ")
    for i in rng.sample(range(len(ws)), max(1, round(share * len(ws)))):
        ws[i] = ws[i] + "요"
    return " ".join(ws)


def drop_sentence(text: str) -> str:
    sents = text.split(". ")
    return ". ".join(sents[:2] + sents[3:])


def change_numbers(text: str) -> str:
    return re.sub(r"\d+", lambda m: str(int(m.group()) + 7), text)


def planted_docs() -> tuple[list[dict], dict[str, str]]:
    """Originals, planted variants, and {variant id: original id}."""
    docs, truth = [], {}
    for name, text in PARAS.items():
        docs.append({"id": f"{name}", "text": text, "language_score": 0.9})
    variants = {
        "eojeol4": change_eojeol(PARAS["hangul"], 0.04, 1),
        "dropped": drop_sentence(PARAS["typhoon"]),
        "numbers": change_numbers(PARAS["subway_a"]),
        "boiler": "홈 | 로그인 | 회원가입\n" + PARAS["jeju"] + "\n저작권자 © 제주일보 무단전재 및 재배포 금지",
        "exact": PARAS["joseon"],
        "spaces": "  " + PARAS["football"].replace(" ", "   ") + "\n",
    }
    sources = {"eojeol4": "hangul", "dropped": "typhoon", "numbers": "subway_a", "boiler": "jeju", "exact": "joseon", "spaces": "football"}
    for v, text in variants.items():
        docs.append({"id": f"z_{v}", "text": text, "language_score": 0.5})
        truth[f"z_{v}"] = sources[v]
    return docs, truth


def write_shards(docs: list[dict], out: Path, n_shards: int) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for s in range(n_shards):
        part = docs[s::n_shards]
        t = pa.table(
            {
                "id": [d["id"] for d in part], "text": [d["text"] for d in part], "url": [f"https://ex.kr/{d['id']}" for d in part],
                "source": ["test"] * len(part), "source_shard": [f"s{s}"] * len(part),
                "language_score": [d["language_score"] for d in part],
            }
        )
        p = out / f"shard-{s:03d}.parquet"
        pq.write_table(t, p)
        paths.append(p)
    return paths


def run_dir_with(docs, tmp: Path, n_shards: int = 2) -> Path:
    write_shards(docs, tmp / "filtered", n_shards)  # the steps stage's kept documents: what the dedup stage reads
    return tmp


def read_dir(d: Path) -> pa.Table:
    files = sorted(d.glob("*.parquet"))
    return pa.concat_tables([pq.read_table(f) for f in files], promote_options="default") if files else None


LOCAL = Executor(ExecutionConfig(backend="local"))


def decisions(run_dir: Path) -> dict[str, tuple[str, str]]:
    rej = read_dir(run_dir / "rejected")
    return {i: (r, k) for i, r, k in zip(rej["id"].to_pylist(), rej["reason"].to_pylist(), rej["duplicate_of"].to_pylist())}


@pytest.mark.parametrize("shingle,n", [("char", 5), ("eojeol", 3)])
def test_sha1_signatures_equal_datasketch(shingle, n):
    texts = list(PARAS.values())[:4] + ["짧다", ""]
    h, d = shingle_hashes(texts, shingle, n, hash="sha1")
    sig = minhash_signatures(h, d, len(texts), 112, 1)
    for i, t in enumerate(texts):
        m = MinHash(num_perm=112, seed=1)
        m.update_batch([s.encode("utf-8") for s in shingle_strings(t, shingle, n)])
        assert np.array_equal(m.hashvalues, sig[i])


def test_fast_hash_jaccard_matches_datasketch():
    a, b = PARAS["hangul"], change_eojeol(PARAS["hangul"], 0.15, 3)
    h, d = shingle_hashes([a, b], "char", 5)
    assert sorted(set(h[d == 0].tolist())).__len__() == len(set(shingle_strings(a, "char", 5)))
    sig = minhash_signatures(h, d, 2, 256, 1)
    ours = float((sig[0] == sig[1]).mean())
    ms = [MinHash(num_perm=256, seed=1) for _ in range(2)]
    for m, t in zip(ms, (a, b)):
        m.update_batch([s.encode() for s in shingle_strings(t, "char", 5)])
    sa, sb = set(shingle_strings(a, "char", 5)), set(shingle_strings(b, "char", 5))
    true = len(sa & sb) / len(sa | sb)
    # Both estimators have sd sqrt(J(1-J)/256) ≈ 0.03 around the true Jaccard.
    assert abs(ours - true) < 0.1 and abs(ms[0].jaccard(ms[1]) - true) < 0.1


def test_normalization_keeps_hangul_syllables():
    norm = normalize_for_shingles("한국어  문장, 2024년!")
    assert norm == "한국어 문장 0000년"
    assert all("\u1100" > ch or ch > "\u11ff" for ch in norm)  # no conjoining jamo (what NFD would produce)


def test_planted_duplicates_found_and_neighbours_kept(tmp_path):
    docs, truth = planted_docs()
    rd = run_dir_with(docs, tmp_path)
    summary = run(Config(), None, rd, LOCAL)
    dec = decisions(rd)
    for variant, original in truth.items():
        assert dec[variant][1] == original, (variant, dec.get(variant))
    assert dec["z_exact"][0] == "duplicate" and dec["z_spaces"][0] == "duplicate"
    assert dec["z_eojeol4"][0] == "near_duplicate" and dec["z_boiler"][0] == "near_duplicate"
    kept = set(read_dir(rd / "documents")["id"].to_pylist())
    assert kept == set(PARAS)  # topic neighbours (kimchi_a/b, subway_a/b) both kept
    assert summary["documents_in"] == len(docs) == summary["documents_kept"] + sum(summary["dropped"].values())
    assert summary["dropped"] == {"duplicate": 2, "near_duplicate": 4}
    stats = json.loads((rd / "dedup" / "stats.json").read_text("utf-8"))
    assert stats["cluster_size_histogram"] == {"1": len(PARAS) - 6, "2": 6}
    assert stats["bands"] * stats["rows"] <= stats["num_perm"] and len(stats["largest_clusters"]) == 6
    assert stats["largest_clusters"][0]["members"][0]["id"] == stats["largest_clusters"][0]["kept_id"]
    rej = read_dir(rd / "rejected")
    assert set(rej.column("step").to_pylist()) == {"dedup"} and "text" not in rej.schema.names
    assert (rd / "dedup" / "_SUCCESS").exists()


def test_rerun_with_marker_does_nothing(tmp_path):
    docs, _ = planted_docs()
    rd = run_dir_with(docs, tmp_path)
    first = run(Config(), None, rd, LOCAL)
    before = {p.name: p.stat().st_mtime_ns for p in (rd / "documents").glob("*")}
    assert run(Config(), None, rd, LOCAL) == first
    assert {p.name: p.stat().st_mtime_ns for p in (rd / "documents").glob("*")} == before


def test_resume_after_interrupted_renames(tmp_path):
    docs, _ = planted_docs()
    rd = run_dir_with(docs, tmp_path)
    first = run(Config(), None, rd, LOCAL)
    kept = sorted(read_dir(rd / "documents")["id"].to_pylist())
    # Simulate a stop after staging: _SUCCESS missing, one staged file not yet renamed.
    (rd / "dedup" / "_SUCCESS").unlink()
    staged = rd / "dedup" / "documents" / "shard-000.parquet"
    staged.parent.mkdir(exist_ok=True)
    pq.write_table(pq.read_table(rd / "documents" / "shard-000.parquet"), staged)
    assert run(Config(), None, rd, LOCAL) == first
    assert not staged.exists() and sorted(read_dir(rd / "documents")["id"].to_pylist()) == kept


@pytest.mark.parametrize("n_shards,partitions", [(1, 1), (3, 5)])
def test_deterministic_across_shards_and_partitions(tmp_path, n_shards, partitions):
    docs, _ = planted_docs()
    ref = run_dir_with(docs, tmp_path / "ref", 2)
    run(Config(), None, ref, LOCAL)
    other = run_dir_with(list(reversed(docs)), tmp_path / "other", n_shards)
    run(Config(num_band_partitions=partitions), None, other, LOCAL)
    assert decisions(ref) == decisions(other)


@pytest.mark.parametrize("keep,expect", [("quality_then_id", "b_doc"), ("lowest_id", "a_doc")])
def test_keep_choice(tmp_path, keep, expect):
    text = PARAS["semiconductor"]
    docs = [{"id": "a_doc", "text": text, "language_score": 0.3}, {"id": "b_doc", "text": text, "language_score": 0.8},
            {"id": "c_doc", "text": text, "language_score": float("nan")}]
    rd = run_dir_with(docs, tmp_path, 2)
    run(Config(keep=keep), None, rd, LOCAL)
    assert read_dir(rd / "documents")["id"].to_pylist() == [expect]


def test_exact_only_and_empty_documents(tmp_path):
    docs = [{"id": "e1", "text": "", "language_score": 0.5}, {"id": "e2", "text": " ", "language_score": 0.5},
            {"id": "k1", "text": PARAS["kimchi_a"], "language_score": 0.5},
            {"id": "k2", "text": change_eojeol(PARAS["kimchi_a"], 0.03, 2), "language_score": 0.5}]
    rd = run_dir_with(docs, tmp_path, 1)
    summary = run(Config(fuzzy=False), None, rd, LOCAL)
    assert summary["dropped"] == {"duplicate": 1, "near_duplicate": 0}
    assert decisions(rd) == {"e2": ("duplicate", "e1")}


def test_standalone_targets_leave_input_untouched(tmp_path):
    docs, truth = planted_docs()
    inputs = write_shards(docs, tmp_path / "in", 2)
    out = tmp_path / "out"
    targets = [(str(p), str(out / "documents" / p.name), str(out / "rejected" / f"dedup-{p.name}")) for p in inputs]
    summary = dedup_files(Config(), targets, out / "dedup", LOCAL)
    assert summary["documents_kept"] == len(PARAS)
    assert sum(pq.read_metadata(p).num_rows for p in inputs) == len(docs)
