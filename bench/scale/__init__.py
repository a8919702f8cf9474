"""How time and memory grow: with the number of documents (dedup, line dedup, a 100k-page run, a 99%-foreign
crawl) and with the size of a hostile document."""
