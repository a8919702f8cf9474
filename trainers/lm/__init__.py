"""KenLM + SentencePiece perplexity (CCNet-style): normalization, scoring, `pipeline lm train`, `pipeline lm cutoffs`.

- `normalize.py`: the one text normalization used both for training text and at scoring time.
- `score.py`: `LMScorer` (SentencePiece + KenLM), per-line scoring aggregated per document.
- `train.py`: `pipeline lm train` (SentencePiece, tokenize, lmplz, build_binary).
- `cutoffs.py`: `pipeline lm cutoffs` (percentile cutoffs from a scored sample → configs/perplexity_cutoffs.yaml).
- `lmplz.py`: obtain KenLM's lmplz/build_binary (PATH or a cached build from the PyPI sdist).

The CLI (`pipeline/cli.py`) wires `pipeline lm train` and `pipeline lm cutoffs` to the functions below.
"""

from trainers.lm.cutoffs import add_cutoffs_arguments, cutoffs_main
from trainers.lm.build import add_train_arguments, train_main

__all__ = ["add_train_arguments", "train_main", "add_cutoffs_arguments", "cutoffs_main"]
