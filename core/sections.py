"""The typed sections of the job config for the stages after the per-document steps: `line_dedup:`, `dedup:`,
`mix:`, `tokenize:` and `report:`. Each is a pydantic model with `extra="forbid"`; `core.config.JobConfig` holds
them, so a config is checked whole when it is read, before any work. The stage that reads a section is named in
its docstring; the comments say why each default is what it is.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator


# -- line_dedup ----------------------------------------------------------------------------------------

class LineDedupConfig(BaseModel):
    """`line_dedup:` the CCNet-style pre-pass (pipeline/repeated_lines.py)."""

    model_config = ConfigDict(extra="forbid")
    # A line is removed when it occurs on at least this many distinct documents. CCNet removes every repeat
    # (in effect 2); we use 3 because an exact duplicate page (same article under a second URL) would lose
    # its text in *both* copies before document-level dedup can keep one. On the bundled sample
    # (bench/quality/line_dedup_sample.py): at 2, 37 documents are emptied, exact-duplicate articles among them; at 3
    # no article paragraph is removed (only chrome and a byline template) and 24.8% of lines / 9.5% of bytes
    # go; at 5 less chrome goes (22.5% / 8.2%). A site footer is on dozens of pages.
    min_repeats: int = Field(default=3, ge=2)
    # Shards read by one task. Memory per task: ~16 bytes per distinct line of the group (hash + count).
    group_size: int = Field(default=8, ge=1)
    # Normalized lines shorter than this are never counted or removed: "더보기", "네", "1" repeat everywhere, are
    # the line-level filters' business, and prose lines are longer. 10 characters is about 3-4 eojeol.
    min_line_chars: int = Field(default=10, ge=1)
    # Hash partitions of the merge (rounded up to a power of two; the top bits of the hash choose it). Memory per merge task
    # is about (distinct lines in the corpus) / partitions x 16 bytes.
    partitions: int = Field(default=16, ge=1)


# -- dedup ---------------------------------------------------------------------------------------------

class DedupConfig(BaseModel):
    """`dedup:` exact and MinHash-LSH dedup (pipeline/dedup/stage.py says why each default)."""

    model_config = ConfigDict(extra="forbid")

    # Drop documents whose NFC, whitespace-collapsed text is identical (reason `duplicate`).
    exact: bool = True
    # MinHash-LSH near-duplicates (reason `near_duplicate`).
    fuzzy: bool = True
    # Jaccard similarity of shingle sets that counts as a near-duplicate (GPT-3, FineWeb: 0.8 region).
    threshold: float = Field(default=0.8, gt=0, lt=1)
    # 112 = FineWeb-2's 14 bands × 8 rows; with the weights below datasketch's _optimal_param picks exactly 14×8.
    num_perm: int = Field(default=112, ge=2, le=1024)
    # datasketch MinHashLSH weights the two errors 0.5/0.5, which at 112 perms gives 9×12 bands and only 47%
    # recall at Jaccard 0.8; 0.05/0.95 gives 14×8 (92% at 0.8, 99% at 0.85) and pair verification below
    # removes the extra false positives.
    false_positive_weight: float = Field(default=0.05, ge=0, le=1)
    false_negative_weight: float = Field(default=0.95, ge=0, le=1)
    # Character 5-grams, not eojeol 5-grams (FineWeb-2's word 5-grams): a Korean eojeol carries its particles
    # and endings (학교에/학교를), so one edit changes a whole word and every eojeol n-gram over it. Measured on
    # 2,000 planted kowiki pairs (bench/quality/dedup_quality.py --compare-shingles): share with true Jaccard ≥ 0.8 is
    # 0.979 for char-5 and 0.598 for eojeol-5, and stage recall over all planted pairs 0.989 vs 0.761, with no
    # false removals in either (0 of 6,236 documents without a duplicate).
    shingle: Literal["char", "eojeol"] = "char"
    ngram: int = Field(default=5, ge=1, le=32)
    # fast: vectorized 32-bit shingle hash; sha1: datasketch's sha1_hash32 (bit-identical signatures, ~6× slower).
    hash: Literal["fast", "sha1"] = "fast"
    # Permutation seed; 1 is datasketch MinHash's default.
    seed: int = 1
    # Candidate pairs whose signatures agree on fewer than this share of values are not merged (0 = off).
    # 0.7 = threshold - 0.1: the estimate's standard deviation at J=0.8 with 112 perms is 0.038, so true
    # 0.8 pairs pass with >99% probability while pairs at J≤0.6 (topic neighbours) are rejected.
    min_jaccard: float = Field(default=0.7, ge=0, le=1)
    # Bucket partitions, one task each; a task holds ~ documents × (bands + 1) × 16 bytes / partitions.
    num_band_partitions: int = Field(default=16, ge=1, le=4096)
    # Which member of a cluster survives; score_column is read when present (higher is better).
    keep: Literal["quality_then_id", "lowest_id"] = "quality_then_id"
    score_column: str = "language_score"
    # Documents read and hashed together (bounded memory per task: ~256 × 2 KB text + shingle matrix).
    batch_rows: int = Field(default=256, ge=1)


# -- mix -----------------------------------------------------------------------------------------------

_BUCKET = re.compile(r"^\s*(\d+)\s*(?:(-)\s*(\d+)|(\+))?\s*$")


def parse_bucket(key: str) -> tuple[int, int | None]:
    """'3' -> (3, 3); '5-99' -> (5, 99); '1000+' -> (1000, None). Bounds are cluster sizes, inclusive."""
    m = _BUCKET.match(key)
    if not m:
        raise ValueError(f"bucket {key!r}: write a size (2), a range (5-99) or an open end (1000+)")
    lo = int(m.group(1))
    hi = None if m.group(4) else int(m.group(3)) if m.group(2) else lo
    if lo < 1 or (hi is not None and hi < lo):
        raise ValueError(f"bucket {key!r}: sizes start at 1 and a range runs from low to high")
    return lo, hi


class RehydrateConfig(BaseModel):
    """Copies per document by the size of its duplicate cluster (FineWeb-2's rehydration)."""

    model_config = ConfigDict(extra="forbid")

    # Integer column with the number of documents each row stands for; `cluster_size` is what dedup writes.
    column: str = "cluster_size"
    # {bucket: copies per document}. Buckets are "N", "A-B" (inclusive) or "A+", together covering 1, 2, ...
    # without gap or overlap. Copies are finite and >= 0 (0 leaves the bucket out); a fraction is rounded per
    # document by the mix's seeded coin.
    weights: dict[str, Annotated[float, Field(ge=0, allow_inf_nan=False)]]

    @field_validator("weights", mode="before")
    @classmethod
    def _keys_as_text(cls, v):
        # YAML reads `1: 1` with an integer key; the bucket is the same as "1".
        return {str(k): w for k, w in v.items()} if isinstance(v, dict) else v

    @field_validator("weights")
    @classmethod
    def _buckets_cover_sizes(cls, v: dict[str, float]) -> dict[str, float]:
        if not v:
            raise ValueError("give at least one bucket, e.g. {\"1+\": 1}")
        spans = sorted((parse_bucket(k), k) for k in v)
        expected, previous = 1, None
        for (lo, hi), key in spans:
            if lo < expected:
                raise ValueError(f"buckets {previous!r} and {key!r} overlap")
            if lo > expected:
                raise ValueError(f"no bucket holds cluster size {expected}" + (f" (after {previous!r})" if previous else ""))
            if hi is None and key != spans[-1][1]:
                raise ValueError(f"bucket {key!r} is open-ended but {spans[-1][1]!r} comes after it")
            expected, previous = (hi + 1 if hi is not None else None), key
        if expected is not None:
            raise ValueError(f"no bucket for sizes above {expected - 1}: end with an open bucket such as '{expected}+'")
        return v

    def buckets(self) -> list[tuple[str, int, float]]:
        """(name, lowest size, weight) in size order."""
        return sorted(((k, parse_bucket(k)[0], w) for k, w in self.weights.items()), key=lambda b: b[1])


class SourceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    # Glob(s) of .parquet / .jsonl / .jsonl.gz files; "{run_dir}" is replaced by the run directory.
    path: str | list[str]
    # Exactly one of: weight (relative share among the weighted sources) or budget (documents or tokens, per
    # `target`, taken first; the weighted sources share what is left of the total).
    weight: float | None = Field(default=None, gt=0)
    budget: int | None = Field(default=None, gt=0)
    # Up-sampling cap: a document is written at most this many times (FineWeb-2 rehydration repeats the best
    # clusters up to a small cap rather than without bound).
    max_repeats: int = Field(default=1, ge=1)
    text_key: str = "text"
    id_key: str = "id"
    # Up-sample by duplicate-cluster size (module docstring). Without `max_repeats` given, nothing caps the
    # weights; with it, no document gets more than max_repeats copies.
    rehydrate: RehydrateConfig | None = None

    @field_validator("path")
    @classmethod
    def _one_placeholder(cls, value):
        for pat in [value] if isinstance(value, str) else value:
            if "{run}" in pat:
                raise ValueError(f"{pat!r}: write {{run_dir}} for this run's directory")
        return value

    @model_validator(mode="after")
    def _weight_or_budget(self):
        if (self.weight is None) == (self.budget is None):
            raise ValueError(f"source {self.name!r}: give exactly one of weight or budget")
        return self

    @property
    def repeat_cap(self) -> int:
        """Most copies of one document: max_repeats, or for a rehydrated source without it, its largest weight."""
        if self.rehydrate is not None and "max_repeats" not in self.model_fields_set:
            return max(1, math.ceil(max(self.rehydrate.weights.values())))
        return self.max_repeats


# In a source's path, this run's directory: "{run_dir}/documents/*.parquet" is the curated output.
RUN_PLACEHOLDERS = ("{run_dir}",)


class MixConfig(BaseModel):
    """`mix:` sources by weight or budget (pipeline/mix.py)."""

    model_config = ConfigDict(extra="forbid")

    seed: int = 1234
    # Unit in which weights, budgets, totals and shares are counted.
    target: Literal["documents", "tokens"] = "documents"
    sources: list[SourceConfig] = Field(min_length=1)
    # Size of the mix in the target unit; null = the largest mix that keeps the weights without any source
    # exceeding its max_repeats.
    total_documents: int | None = Field(default=None, gt=0)
    total_tokens: int | None = Field(default=None, gt=0)
    # Token estimate = characters / chars_per_token. 1.65 is what the default 8000-piece unigram tokenizer gives
    # on Korean Wikipedia (bench/speed/tokenize_throughput.py: 0.6076 tokens/char); a run's own figure is
    # 1 / `fertility_tokens_per_char` in tokenizer/stats.json.
    chars_per_token: float = Field(default=1.65, gt=0)
    # Documents read and written per record batch (bounded memory per task).
    batch_rows: int = Field(default=1000, ge=1)

    @model_validator(mode="after")
    def _totals_match_target(self):
        names = [s.name for s in self.sources]
        if len(set(names)) != len(names):
            raise ValueError("source names must be unique")
        if self.target == "documents" and self.total_tokens is not None:
            raise ValueError("total_tokens needs target: tokens")
        if self.target == "tokens" and self.total_documents is not None:
            raise ValueError("total_documents needs target: documents")
        return self

    @property
    def total(self) -> int | None:
        return self.total_documents if self.target == "documents" else self.total_tokens


# -- tokenize ------------------------------------------------------------------------------------------

# Keys that only shape training: with an existing tokenizer (`tokenizer:`) setting one is an error, not ignored.
TRAINING_KEYS = ("vocab_size", "model_type", "character_coverage", "byte_fallback", "user_defined_symbols",
                 "newline_piece", "unk_piece", "bos_piece", "eos_piece", "sample_documents", "input_sentence_size",
                 "max_sentence_chars", "num_threads")


class TokenizerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # An existing tokenizer to use instead of training one (tokenizer/external.py): a Hugging Face
    # tokenizer.json, a SentencePiece .model, or a directory holding one. None (default): train our own.
    tokenizer: str | None = None
    # 8000 suits the small sample runs and a few-million-parameter model; a production Korean vocabulary is
    # larger (32k-64k). Above 65536 the token shards switch from uint16 to uint32.
    vocab_size: int = Field(default=8000, ge=64)
    model_type: Literal["unigram", "bpe"] = "unigram"
    # 0.9995 is SentencePiece's recommended value for CJK: with ~11k Hangul syllables and Hanja in Korean text,
    # 1.0 would put every rare Hanja in the vocabulary; the rarest 0.05% of characters go to byte fallback.
    character_coverage: float = Field(default=0.9995, gt=0, le=1)
    byte_fallback: bool = True
    user_defined_symbols: list[str] = Field(default_factory=list)
    # "\n" as its own piece keeps paragraph structure in one token instead of the byte <0x0A>.
    newline_piece: bool = True
    unk_piece: str = "<unk>"
    bos_piece: str = "<s>"
    eos_piece: str = "</s>"
    # Documents in the training sample, and held out (disjoint) for the stats.
    sample_documents: int = Field(default=100_000, ge=1)
    heldout_documents: int = Field(default=1000, ge=0)
    seed: int = 1234
    # Lines SentencePiece loads into memory at most (it shuffles and keeps this many); bounds training memory.
    input_sentence_size: int = Field(default=2_000_000, ge=1)
    # Lines are cut at whitespace to at most this many characters: SentencePiece skips lines longer than
    # max_sentence_length bytes (default 4192) and a Hangul syllable is 3 bytes in UTF-8.
    max_sentence_chars: int = Field(default=1200, ge=16)
    num_threads: int | None = Field(default=None, ge=1)
    batch_rows: int = Field(default=1000, ge=1)

    @field_validator(*TRAINING_KEYS)
    @classmethod
    def _training_only(cls, value, info: ValidationInfo):
        # Validators of fields run only for keys given in the config, so this fires only when one is set.
        if info.data.get("tokenizer") is not None:
            raise ValueError("not used with tokenizer: (an existing tokenizer is used as it is, nothing is trained)")
        return value


class TokenizeConfig(TokenizerConfig):
    """`tokenize:` train (or take) a tokenizer and write token shards (tokenizer/stage.py). What needs the
    tokenizer file itself (it loads; EOS/BOS are in its vocabulary) is checked by tokenizer.stage.check_files."""

    # Tokens per training sequence; each stored row holds seq_len + 1 (inputs and shifted targets).
    seq_len: int = Field(default=512, ge=8)
    # Share of documents (by a hash of their id) held out for validation loss.
    val_fraction: float = Field(default=0.01, ge=0, lt=1)
    # With `tokenizer`: the EOS appended to every document, and the BOS put before it when `add_bos`. None:
    # the tokenizer's own (a SentencePiece model's ids; the tokenizer_config.json beside a tokenizer.json).
    eos_token: str | None = Field(default=None, validate_default=True)
    bos_token: str | None = Field(default=None, validate_default=True)
    # Off by default, as for our own tokenizer (documents are separated by EOS only); Llama-style models that
    # were trained with BOS at each document start want it on.
    add_bos: bool = Field(default=False, validate_default=True)
    # Token outputs: "arrow" (tokens/*.arrow, read by tokenizer.loader and `pipeline train`) and/or "megatron"
    # (tokens/megatron/{train,val}.{bin,idx}, Megatron-LM's indexed datasets).
    formats: list[Literal["arrow", "megatron"]] = Field(default_factory=lambda: ["arrow"], min_length=1)

    @field_validator("eos_token", "bos_token")
    @classmethod
    def _special_token(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("tokenizer") is None and value is not None:
            raise ValueError("only with tokenizer: (our own tokenizer's ids are fixed: 0 unk, 1 bos, 2 eos)")
        return value

    @field_validator("add_bos")
    @classmethod
    def _add_bos(cls, value: bool, info: ValidationInfo) -> bool:
        if value and info.data.get("tokenizer") is None:
            raise ValueError("only with tokenizer: (our own tokenizer's documents end with EOS only)")
        return value

    @field_validator("formats")
    @classmethod
    def _unique_formats(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError(f"a format is listed twice: {value}")
        return value


# -- report --------------------------------------------------------------------------------------------

class ReportConfig(BaseModel):
    """`report:` the data-quality report (pipeline/report/)."""

    model_config = ConfigDict(extra="forbid")

    # Rows read per side (kept, dropped) for the distributions: the first rows of each file, spread over
    # the files. 200k rows of ~10 float columns is ~16 MB, and a histogram of 200k is as smooth as of more.
    sample_rows: int = Field(default=200_000, ge=1)
    # Dropped documents shown per drop reason, and kept documents shown just inside each threshold.
    examples_per_reason: int = Field(default=3, ge=0)
    near_threshold_examples: int = Field(default=3, ge=0)
    # Characters of each snippet shown (cut with "…"); rejected/ stores up to `rejected.snippet_chars` (300).
    snippet_chars: int = Field(default=300, ge=1)
