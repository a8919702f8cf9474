"""CCNet-style perplexity filter (`perplexity_v1`): score each document with KenLM, bucket it, keep some buckets.

Writes two Parquet columns for every document, kept or dropped:
- perplexity         10^(-sum log10 p / tokens) over the document's normalized lines under the SentencePiece +
                     KenLM model in `model_dir` (filters/lm_score.py; lines, as cc_net's DocLM); +inf when
                     no line is left after normalization
- perplexity_bucket  head (perplexity < cutoffs.head), middle, or tail (>= cutoffs.tail), cc_net's buckets

By default every bucket is kept: the step annotates (cc_net itself only buckets) and decides nothing but
`perplexity_no_text` (a document without scorable text). Documents whose bucket is not in `keep_buckets` are
dropped with reason `perplexity_<bucket>`. The model loads lazily, once per worker process; a missing or
corrupt model or cutoffs file is a ConfigError naming the file. The default model is Korean Wikipedia
(models/ko-wiki-lm/MODEL_CARD.md) and the default cutoffs are held-out Wikipedia's own p30/p90
(configs/perplexity_cutoffs.yaml says how they were computed).

    steps:
      - step: perplexity_v1
        model_dir: models/ko-wiki-lm
        cutoffs: configs/perplexity_cutoffs.yaml
        keep_buckets: [head, middle, tail]
"""

# no `from __future__ import annotations`: the step registry builds its config model from the real
# annotation objects, and a string "Literal[...]" could not be resolved there
import math
from pathlib import Path
from typing import ClassVar, Literal

from datatrove.data import Document
import yaml
from datatrove.pipeline.filters.base_filter import BaseFilter

from core.errors import ConfigError
from filters.lm_score import LMScorer, load_scorer
from core.models import resolve_model_path
from core.steps import Distribution, register_step

BUCKETS = ("head", "middle", "tail")


@register_step("perplexity_v1")
class PerplexityFilter(BaseFilter):
    name = "📉 KenLM perplexity"
    columns: ClassVar[dict[str, type]] = {"perplexity": float, "perplexity_bucket": str}
    # No decision on the number itself (buckets decide), so the histogram is declared, with the bucket cutoffs.
    distributions: ClassVar[tuple[Distribution, ...]] = (
        Distribution("perplexity", "Perplexity", log_x=True, cutoffs_param="cutoffs"),
    )

    def __init__(
        self,
        model_dir: str = "models/ko-wiki-lm",
        cutoffs: str = "configs/perplexity_cutoffs.yaml",
        # Literal: `pipeline validate` rejects an unknown bucket name before anything runs.
        # All three by default. Dropping the tail (>= held-out Wikipedia's p90) dropped one Wikipedia article in
        # ten by construction and, on the dev set (data/make_devset.py: registers no model or cut-off was fitted
        # on; python bench/quality/devset_recall.py), 11% of held-out Wikipedia, 5.5% of statute text, 12-76% of news,
        # policy briefings and listings, while every junk page it would drop was dropped by another rule too
        # (junk only it drops: 0 of 440 dev pages, 0 of 128 on the bundled sample).
        keep_buckets: list[Literal["head", "middle", "tail"]] = ["head", "middle", "tail"],  # noqa: B006 (never mutated)
        exclusion_writer=None,
    ):
        super().__init__(exclusion_writer)
        unknown = [b for b in keep_buckets if b not in BUCKETS]
        if unknown:
            raise ConfigError(
                f"perplexity_v1.keep_buckets: unknown bucket {unknown[0]!r}; buckets: {', '.join(BUCKETS)}")
        self.model_dir = model_dir
        self.cutoffs_path = resolve_model_path(cutoffs)
        self.keep_buckets = frozenset(keep_buckets)
        # cutoffs are small data: read now, so a bad file fails at config time rather than in a worker
        self.head_below, self.tail_from = read_cutoffs(self.cutoffs_path)
        self._scorer: LMScorer | None = None

    @property
    def scorer(self) -> LMScorer:
        if self._scorer is None:
            self._scorer = load_scorer(self.model_dir)
        return self._scorer

    def __getstate__(self):  # the loaded model never travels with the step to a worker
        state = self.__dict__.copy()
        state["_scorer"] = None
        return state

    def bucket(self, perplexity: float) -> str:
        if perplexity < self.head_below:
            return "head"
        return "middle" if perplexity < self.tail_from else "tail"

    def filter_batch(self, batch: list[Document]) -> list[bool | tuple[bool, str]]:
        return [self._judge(doc, score) for doc, score in zip(batch, self.scorer.score_batch([d.text for d in batch]))]

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        return self._judge(doc, self.scorer.score(doc.text))

    def _judge(self, doc: Document, score) -> bool | tuple[bool, str]:
        perplexity = score.perplexity
        bucket = self.bucket(perplexity)
        doc.metadata["perplexity"] = round(perplexity, 1) if math.isfinite(perplexity) else perplexity
        doc.metadata["perplexity_bucket"] = bucket
        self.stat_update(f"bucket_{bucket}")
        if not score.tokens:
            return False, "perplexity_no_text"
        if bucket not in self.keep_buckets:
            return False, f"perplexity_{bucket}"
        return True


def read_cutoffs(path: str) -> tuple[float, float]:
    """(head, tail) from a cutoffs YAML; ConfigError naming the file and key if unusable."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"perplexity cutoffs file not found: {path}") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"perplexity cutoffs file {path}: invalid YAML ({e})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"perplexity cutoffs file {path}: expected a mapping with 'head' and 'tail'")
    values = []
    for key in ("head", "tail"):
        value = data.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise ConfigError(f"perplexity cutoffs file {path}: '{key}' must be a positive number, got {value!r}")
        values.append(float(value))
    if values[0] > values[1]:
        raise ConfigError(f"perplexity cutoffs file {path}: head ({values[0]}) is above tail ({values[1]})")
    return values[0], values[1]
