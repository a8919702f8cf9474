"""How fast: documents, tokens or records per second per core of a step, a stage or the whole pass."""
