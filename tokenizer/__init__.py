"""The tokenizer side of the pipeline: SentencePiece training (or a team's existing tokenizer), encoding into
packed Arrow token shards and Megatron-LM indexed datasets, and the PyTorch loader over the Arrow shards.

- `tokenizer.train`: `train_tokenizer(files, out_dir, cfg)` and the `pipeline tokenizer train` command;
- `tokenizer.external`: an existing Hugging Face tokenizer.json or SentencePiece .model (`tokenize.tokenizer`),
  its special ids and its Korean figures (fertility, byte-fallback and UNK shares);
- `tokenizer.pack`: one task per document shard encodes, appends EOS and packs `seq_len + 1` token rows;
- `tokenizer.megatron`: `.bin` + `.idx` in Megatron-Core's layout, one sequence per document (`tokenize.formats`);
- `tokenizer.stage`: barrier stage `tokenize` (trains on the mix, or on `documents/` without one, then packs);
- `tokenizer.loader`: `TokenShardDataset`, a torch IterableDataset split by rank and worker (needs torch).

Only `loader` imports torch, so the rest works without the `[train]` extra.
"""
