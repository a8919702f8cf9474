"""Against datatrove: its FineWeb pipeline and FineWeb-2's Korean configuration, on the same shards."""
