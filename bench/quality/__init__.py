"""What is kept and dropped: recall and false drops of the filters, dedup, extraction, language ID, the report."""
