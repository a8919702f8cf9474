"""Errors sorted by what happens next (after dolma's core/errors.py).

- ConfigError: bad config or command line. One line naming the key or file; exit code 2.
- ShardError: this shard cannot be (fully) read. Counted in summary.json `shards_failed`; the run goes on.
- RunError: the run as a whole failed (accounting broken, every shard failed, a write failed); exit code 1.
"""


class ConfigError(Exception):
    """Bad configuration or arguments: the message names the key or file. Exit code 2."""


class ShardError(Exception):
    """One input shard could not be read (or only partly). The run records it and continues."""


class RunError(Exception):
    """The run cannot produce a correct result. Exit code 1."""
