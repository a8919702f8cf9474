"""Benchmarks that print the figures of the README's Performance and Recall sections (bench/README.md)."""
