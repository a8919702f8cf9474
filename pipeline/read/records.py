"""What every reader yields and shares: `RawRecord`, `PartialShard`, `open_shard` (local or fsspec, regular files
only) and `scrub_surrogates`. The readers (readers.py, warc.py, ccindex.py) import this module and never each
other's internals.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field

import fsspec

from core.config import is_remote
from core.errors import ShardError


@dataclass(slots=True)
class RawRecord:
    index: int  # position in the shard, among records that are documents
    url: str | None = None
    html: bytes | None = None  # WARC payload, to decode and extract
    text: str | None = None  # WET/JSONL/Parquet text, already extracted
    charset_header: str | None = None
    drop_reason: str | None = None
    meta: dict = field(default_factory=dict)


class PartialShard(ShardError):
    """The shard broke after some records were read; those records are still processed."""

    def __init__(self, msg: str, records_read: int):
        super().__init__(msg)
        self.records_read = records_read


def open_shard(path: str, compression: str | None = "infer"):
    if not is_remote(path):
        local = path[len("file://"):] if path.startswith("file://") else path
        try:
            st = os.stat(local)
        except FileNotFoundError:
            raise ShardError(f"shard not found: {path}") from None
        except (OSError, ValueError) as e:
            raise ShardError(f"shard cannot be opened: {path}: {e}") from None
        if not stat.S_ISREG(st.st_mode):  # /dev/zero never ends, a FIFO blocks: neither is a shard
            raise ShardError(f"{path}: not a regular file")
    try:
        return fsspec.open(path, "rb", compression=compression).open()
    except FileNotFoundError:
        raise ShardError(f"shard not found: {path}") from None
    except (OSError, ValueError) as e:
        raise ShardError(f"shard cannot be opened: {path}: {e}") from None


_SURROGATE = re.compile("[\ud800-\udfff]")


def scrub_surrogates(s: str | None) -> str | None:
    """`s` with lone surrogates (which JSON's \\ud800 escapes can produce, and which UTF-8 cannot encode)
    replaced by U+FFFD; `s` itself when it has none."""
    if s is None or s.isascii():
        return s
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", s)
    return s
