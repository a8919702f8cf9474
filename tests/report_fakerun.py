"""A small, realistic fake run directory for the report's tests and `bench/quality/report_screenshot.py --fake`.

`make_fake_run(root, with_stages=True) -> Path` writes what `pipeline run` writes (summary.json, documents/ and
rejected/ Parquet, and, with `with_stages`, dedup/, mix/, tokenizer/, tokens/, train/) from inline Korean
sentences and seeded random scores, so the report can be tested without the runner or ../shared.
Figures are consistent: documents_in == kept + sum(dropped), and rejected/ holds exactly the dropped counts.
One rejected snippet and one kept text carry `<script>alert(1)</script>` to check escaping.
The config names real steps and `fake_length_v1`, registered here: two declared thresholds on one column.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from core.steps import Decision, register_step

SCRIPT = "<script>alert(1)</script>"
SENTENCES = [
    "서울의 아침 공기는 생각보다 차가웠다.", "이 영화는 배우들의 연기가 정말 좋았습니다.",
    "대한민국 헌법은 1948년에 제정되었다.", "오늘은 도서관에서 한국어 문법을 공부했다.",
    "지하철 2호선은 출근 시간에 매우 붐빈다.", "이 제품은 배송이 빠르고 포장이 꼼꼼했어요.",
    "The quick brown fox jumps over the lazy dog.", "ㅋㅋㅋㅋㅋ 진짜 웃기다",
]
STEPS_CONFIG = [
    {"step": "language_id_v1", "languages": ["ko"], "min_score": 0.65, "max_chars": 4000},
    {"step": "ko_quality_v1", "min_hangul_ratio": 0.5, "max_jamo_run_ratio": 0.2},
    {"step": "perplexity_v1", "cutoffs": "configs/perplexity_cutoffs.yaml"},
    {"step": "pii_mask_v1"},
    {"step": "fake_length_v1", "min_words": 5, "max_words": 400},  # two thresholds on one column
]
# reason -> (step, number of rejected documents)
DROPS = {"language_low_score": ("language_id_v1", 9), "ko_low_hangul_ratio": ("ko_quality_v1", 7),
         "ko_jamo_spam": ("ko_quality_v1", 3), "exact_duplicate": ("dedup", 4), "near_duplicate": ("dedup", 2)}


@register_step("fake_length_v1")
class FakeLength:
    """A length filter only the fake run uses: a minimum and a maximum on the eojeol count (which ko_signals_v1
    writes and the report computes from kept text)."""

    columns: ClassVar[dict[str, type]] = {}
    decisions: ClassVar[tuple[Decision, ...]] = (Decision("min_words", "eojeol_count", "min", "fake_short"),
                                                 Decision("max_words", "eojeol_count", "max", "fake_long"))

    def __init__(self, min_words: int | None = 5, max_words: int | None = 400):
        pass


def _text(rng: np.random.Generator, n_sentences: int) -> str:
    return " ".join(SENTENCES[i] for i in rng.integers(0, len(SENTENCES), n_sentences))


def _write(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=16)


def make_fake_run(root: str | Path, with_stages: bool = True, n_kept: int = 60) -> Path:
    root = Path(root)
    run = root / "run"
    rng = np.random.default_rng(7)
    kept = []
    for i in range(n_kept):
        text = _text(rng, int(rng.integers(2, 30)))
        if i == 5:
            text = f"{SCRIPT} 이 문서는 스크립트 태그를 포함한 웹 페이지입니다."
        kept.append({
            "id": f"kept-{i}", "text": text, "url": f"https://example.kr/{i}", "source": "ko-web",
            "source_shard": f"shard-{i % 2}.jsonl.gz", "language": "ko",
            "language_score": float(rng.uniform(0.66, 1.0)), "hangul_ratio": float(rng.uniform(0.52, 1.0)),
            "jamo_run_ratio": float(rng.uniform(0, 0.19)), "perplexity": float(rng.lognormal(6, 0.6)),
            "perplexity_bucket": ["head", "middle", "tail"][i % 3],
        })
    kept[5]["language_score"] = 0.651  # the kept document closest to min_score: shown as "just inside"
    rejected = []
    for reason, (step, count) in DROPS.items():
        for j in range(count):
            text = _text(rng, int(rng.integers(1, 8)))
            row = {"id": f"{reason}-{j}", "url": f"https://spam.example/{reason}/{j}", "source": "ko-web",
                   "source_shard": "shard-0.jsonl.gz", "reason": reason, "step": step, "snippet": text[:300],
                   "text_chars": len(text), "language": "ko", "language_score": float(rng.uniform(0.2, 0.64)),
                   "hangul_ratio": None, "jamo_run_ratio": None, "perplexity": None, "duplicate_of": None}
            if step != "language_id_v1":
                row["language_score"] = float(rng.uniform(0.66, 1.0))
                row["hangul_ratio"] = float(rng.uniform(0.05, 0.49) if reason == "ko_low_hangul_ratio" else rng.uniform(0.5, 1))
                row["jamo_run_ratio"] = float(rng.uniform(0.21, 0.6) if reason == "ko_jamo_spam" else rng.uniform(0, 0.19))
            if step == "dedup":
                row["perplexity"] = float(rng.lognormal(6, 0.6))
                row["duplicate_of"] = "kept-1"
            rejected.append(row)
    rejected[0]["snippet"] = f"{SCRIPT} 무료 쿠폰 지금 클릭하세요"
    rejected[0]["url"] = 'https://spam.example/"><img src=x onerror=alert(2)>'
    _write(run / "documents" / "shard-0.parquet", kept[: n_kept // 2])
    _write(run / "documents" / "shard-1.parquet", kept[n_kept // 2:])
    _write(run / "rejected" / "shard-0.parquet", rejected)

    configs = root / "configs"
    configs.mkdir(parents=True, exist_ok=True)
    (configs / "perplexity_cutoffs.yaml").write_text("# fake cutoffs\nhead: 250.0\ntail: 900.0\n", encoding="utf-8")
    (configs / "ko-web.yaml").write_text("input: {paths: [x]}\n", encoding="utf-8")
    n_dropped = sum(c for _, c in DROPS.values())
    bytes_kept = sum(len(d["text"].encode()) for d in kept)
    bytes_in = bytes_kept + sum(r["text_chars"] * 3 for r in rejected)
    n_in = n_kept + n_dropped
    summary = {
        "documents_in": n_in, "documents_kept": n_kept,
        "documents_dropped": {reason: count for reason, (_, count) in DROPS.items()},
        "bytes_in": bytes_in, "bytes_kept": bytes_kept, "shards_total": 3,
        "shards_failed": [{"shard": "shard-2.warc.gz", "error": "ShardError: truncated gzip <b>at</b> byte 1234",
                           "partial": True, "documents_read": 0}],
        "funnel": [{"stage": "read", "documents": n_in, "bytes": bytes_in},
                   {"stage": "language_id_v1", "documents": n_in - 9, "bytes": bytes_in - 900},
                   {"stage": "ko_quality_v1", "documents": n_in - 19, "bytes": bytes_in - 1500},
                   {"stage": "dedup", "documents": n_kept, "bytes": bytes_kept}],
        "steps": {
            "language_id_v1": {"documents_in": n_in, "documents_out": n_in - 9, "seconds": 0.5, "counters": {}},
            "ko_quality_v1": {"documents_in": n_in - 9, "documents_out": n_in - 19, "seconds": 0.2, "counters": {}},
            "pii_mask_v1": {"documents_in": n_in - 19, "documents_out": n_in - 19, "seconds": 0.1,
                            "counters": {"pii_email": 12, "pii_phone": 5, "pii_rrn": 1, "documents_masked": 9}},
        },
        "stage_seconds": {"process": 3.2, "dedup": 1.1, "mix": 0.2, "tokenize": 2.5},
        "documents_per_second": 25.5,
        "config": {"input": {"paths": ["data/*.jsonl.gz"]}, "steps": STEPS_CONFIG, "dedup": {"threshold": 0.8}},
        "config_path": str(configs / "ko-web.yaml"),
        "versions": {"python": "3.11", "datatrove": "0.10.1", "pyarrow": pa.__version__},
        "inputs": ["data/shard-0.jsonl.gz", "data/shard-1.jsonl.gz", "data/shard-2.warc.gz"],
        "started": "2025-01-01T00:00:00Z", "finished": "2025-01-01T00:00:07Z", "stages": {},
    }
    (run / "summary.json").write_text(json.dumps(summary, ensure_ascii=False), encoding="utf-8")
    if not with_stages:
        return run
    _json(run / "dedup" / "stats.json", {
        "exact_removed": 4, "near_removed": 2, "threshold": 0.8, "num_perm": 128,
        "cluster_size_histogram": {"2": 3, "3": 1},
        "largest_clusters": [{"kept_id": "kept-1", "size": 3, "members": [
            {"id": "exact_duplicate-0", "url": "https://spam.example/a", "snippet": f"{SCRIPT} 중복 문서"},
            {"id": "near_duplicate-0", "url": "https://spam.example/b", "snippet": "거의 같은 중복 문서"}]}],
    })
    # the shape pipeline/mix.py writes: sources keyed by name, repeats as {copies: input documents}
    _json(run / "mix" / "manifest.json", {"seed": 0, "target": "tokens", "documents": 60, "tokens_est": 12500, "sources": {
        "ko-web": {"target_share": 0.7, "documents": 42, "tokens_est": 9000, "share_documents": 0.7,
                   "share_tokens": 0.72, "repeats": {"1": 42}},
        "kowiki": {"target_share": 0.3, "documents": 18, "tokens_est": 3500, "share_documents": 0.3,
                   "share_tokens": 0.28, "repeats": {"1": 6, "2": 6}}}})
    _json(run / "tokenizer" / "stats.json", {"vocab_size": 32000, "model_type": "unigram",
                                             "fertility_tokens_per_eojeol": 2.1, "fertility_tokens_per_char": 0.62,
                                             "byte_fallback_share": 0.0012})
    _json(run / "tokens" / "manifest.json", {"seq_len": 1024, "documents": 60, "tokens": 12500, "sequences": 11,
                                             "splits": {"train": {"documents": 50, "tokens": 11000, "sequences": 10},
                                                        "val": {"documents": 10, "tokens": 1500, "sequences": 1}},
                                             "shards": [
        {"file": "train-000.arrow", "split": "train", "documents": 50, "tokens": 11000, "sequences": 10, "sha256": "ab"},
        {"file": "val-000.arrow", "split": "val", "documents": 10, "tokens": 1500, "sequences": 1, "sha256": "cd"}]})
    (run / "train").mkdir(parents=True, exist_ok=True)
    (run / "train" / "loss.csv").write_text(
        "step,train_loss,val_loss\n" + "".join(f"{s},{8 / (1 + s / 50):.4f},{'' if s % 50 else 8.2 / (1 + s / 50)}\n"
                                               for s in range(0, 301, 10)), encoding="utf-8")
    return run


def _json(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj), encoding="utf-8")
