"""Per-document steps: language ID, Korean signals, heuristic quality filters, Korean spam and boilerplate,
PII masking, perplexity. Each module registers its steps with `core.steps.register_step`."""
