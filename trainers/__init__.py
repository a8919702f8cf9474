"""Commands that fit models, apart from the runner: the KenLM + SentencePiece perplexity model (`lm/`), the
fastText quality classifier (`quality.py`, its data recipe `quality_data.py`) and the small GPT that
`pipeline train` and `pipeline ablate` pre-train on token shards (`gpt.py`; `pretrain.py`, the loop, with
`pretrain_options.py` and `checkpoint.py`).
"""
