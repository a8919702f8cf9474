"""Small models trained on each arm of an ablation: does the ranking of curation configs hold across seeds and sizes."""
