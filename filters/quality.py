"""fastText quality classifier steps (GPT-3 / LLaMA / DCLM style): score every document, then keep by a
threshold or by GPT-3's Pareto sampling.

Registered steps (config keys are the `__init__` arguments):
- `quality_score_v1` (annotator): writes `quality_score` = P(curated) from a supervised fastText model
  (default `models/ko-quality/ko-quality.ftz`, trained by `pipeline quality train`; see its MODEL_CARD.md).
- `quality_filter_v1` (filter): reads `quality_score` and keeps a document when `mode: threshold` and the score
  is at least `threshold`, or when `mode: pareto` and `np.random.pareto(pareto_alpha) > 1 - score` (GPT-3,
  Brown et al. 2020, appendix A, alpha 9). Reason `quality_classifier`.

Two steps, not one: the score is written for every document whatever the decision (scores apart from
decisions), so the report can plot kept and dropped documents alike, and a run can score without filtering
by leaving `quality_filter_v1` out. The filter needs `quality_score_v1` earlier in `steps:`.
configs/ko-web.yaml does exactly that: on the recall dev set (data/make_devset.py, bench/quality/devset_recall.py)
the default model, at 0.5, dropped 23 of 33 clean Airbnb listings to remove 9 single reviews no other rule
removed, and no threshold separated the two (it learned Wikipedia/statutes vs review threads). Measure it on
your own crawl before turning the filter on.

The Pareto draw is seeded from (seed, doc.id), so a document's fate does not depend on batch order, worker
count or resume. `classifier_text` is the one normalization used both in training and at scoring time.
"""

# No `from __future__ import annotations` here: the step registry builds its config model from the __init__
# annotations, and a string "Literal[...]" cannot be resolved outside this module.
import hashlib
import re
from typing import ClassVar, Literal

import numpy as np
from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter

from core.errors import ConfigError
from core.models import cached, load_fasttext, resolve_model_path
from core.steps import Annotator, Decision, register_step
from core.text import nfc

POSITIVE_LABEL = "__label__curated"
NEGATIVE_LABEL = "__label__web"
# fastText reads one line per example, so line breaks become spaces. A `<nl>` token keeping the layout was
# tried and dropped (bench/quality/quality_layout.py): the model then learned "many short lines = web", and held-out
# review threads written on one line were called curated 41% of the time (none of 262 without it).
# Characters of a document the classifier reads. Korean articles in the sample are 700-1,400 characters;
# 2,000 covers their text and bounds the cost of very long pages (fastText averages over all tokens anyway).
DEFAULT_MAX_CHARS = 2000

_DIGITS = re.compile(r"\d")
_WHITESPACE = re.compile(r"\s+")


def classifier_text(text: str, max_chars: int = DEFAULT_MAX_CHARS) -> str:
    """The one-line form fastText sees: NFC, lowercase, digits → 0, whitespace collapsed, first `max_chars`."""
    t = nfc(text[:max_chars]).lower()
    t = _DIGITS.sub("0", t)  # dates, prices and counts carry no quality signal; this folds them (as CCNet)
    return _WHITESPACE.sub(" ", t).strip()


def curated_probabilities(model, texts: list[str], max_chars: int = DEFAULT_MAX_CHARS) -> list[float]:
    """P(curated) for each text under a two-label model (the other label's probability is 1 - p)."""
    labels, probs = model.predict([classifier_text(t, max_chars) for t in texts], k=2)
    out = []
    for labs, ps in zip(labels, probs):
        p = next((float(x) for lab, x in zip(labs, ps) if lab == POSITIVE_LABEL), None)
        if p is None:  # only the negative label came back (k=2 always returns both for a 2-label model)
            p = 1.0 - float(ps[0]) if len(ps) else 0.0
        out.append(min(1.0, max(0.0, p)))
    return out


@register_step("quality_score_v1")
class QualityScore(Annotator):
    """Write `quality_score` (P(curated), 0-1) for every document."""

    name = "⭐ quality score (fastText)"
    columns: ClassVar[dict[str, type]] = {"quality_score": float}

    def __init__(
        self,
        model_path: str = "models/ko-quality/ko-quality.ftz",
        max_chars: int = DEFAULT_MAX_CHARS,
    ):
        super().__init__()
        self.model_path = resolve_model_path(model_path)
        self.max_chars = max_chars

    @property
    def model(self):
        return cached("fastText quality classifier", self.model_path, load_fasttext)

    def annotate_batch(self, batch: list[Document]) -> None:
        for doc, p in zip(batch, curated_probabilities(self.model, [d.text for d in batch], self.max_chars)):
            doc.metadata["quality_score"] = round(p, 4)

    def annotate(self, doc: Document) -> None:
        self.annotate_batch([doc])


def pareto_draw(seed: int, doc_id: str, alpha: float) -> float:
    """One `np.random.pareto(alpha)` draw that depends only on (seed, doc_id)."""
    digest = hashlib.blake2b(f"{seed}\x00{doc_id}".encode(), digest_size=8).digest()
    return float(np.random.default_rng(int.from_bytes(digest, "little")).pareto(alpha))


@register_step("quality_filter_v1")
class QualityFilter(BaseFilter):
    """Keep by `quality_score`: a fixed threshold, or GPT-3's Pareto sampling (which keeps some low scorers)."""

    name = "⭐ quality filter"
    columns: ClassVar[dict[str, type]] = {}
    decisions: ClassVar[tuple[Decision, ...]] = (
        Decision("threshold", "quality_score", "min", "quality_classifier", requires=(("mode", "threshold"),)),
    )

    def __init__(
        self,
        mode: Literal["threshold", "pareto"] = "threshold",
        # threshold mode: keep when P(curated) >= threshold. 0.5 is the classifier's own decision boundary, at
        # which the default model's held-out precision/recall are measured (models/ko-quality/MODEL_CARD.md).
        threshold: float = 0.5,
        # pareto mode: keep when pareto(alpha) > 1 - score. GPT-3 used alpha = 9: a document scoring 0 is kept
        # with probability P(X > 1) = 2^-9 ≈ 0.2%, one scoring 0.5 with (1/1.5)^9 ≈ 2.6%, 0.9 with 42%.
        pareto_alpha: float = 9.0,
        seed: int = 0,
        exclusion_writer=None,
    ):
        super().__init__(exclusion_writer)
        if not 0.0 <= threshold <= 1.0:
            raise ConfigError(f"quality_filter_v1.threshold: must be within 0..1, got {threshold}")
        if pareto_alpha <= 0:
            raise ConfigError(f"quality_filter_v1.pareto_alpha: must be > 0, got {pareto_alpha}")
        self.mode = mode
        self.threshold = threshold
        self.pareto_alpha = pareto_alpha
        self.seed = seed

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        score = doc.metadata.get("quality_score")
        if score is None:
            raise ConfigError("quality_filter_v1 needs quality_score: put quality_score_v1 before it in steps:")
        if self.mode == "threshold":
            keep = score >= self.threshold
        else:
            keep = pareto_draw(self.seed, doc.id, self.pareto_alpha) > 1.0 - score
        return True if keep else (False, "quality_classifier")
