"""Multi-member gzip, one member at a time, as Common Crawl writes WARC files (a member per record).

warc.py undoes the gzip here rather than through warcio, so that a truncated or corrupt member is noticed,
counted and skipped instead of ending the file quietly.
"""

from __future__ import annotations

import io
import zlib


class TruncatedInput(OSError):
    """The gzip stream ends inside a member (the file was cut short)."""


class CorruptGzip(TruncatedInput):
    """A gzip member fails to decompress (bad deflate data or CRC); later members may still be intact."""


_GZIP_MAGIC = b"\x1f\x8b\x08"  # ID1, ID2, CM=deflate: how every gzip member starts (RFC 1952)


_GZIP_OUT = 1 << 20  # decompressed bytes held at most: a gzip bomb costs time, never memory


class GzipMembers(io.RawIOBase):
    """Multi-member gzip reader, one member at a time: reading returns the current member's bytes and then
    b"" (its end); `next_member()` goes on to the next. A truncated or corrupt stream is reported as
    TruncatedInput (an OSError) only after every byte before the damage was returned -- never as the EOFError
    that warcio takes for the normal end of an archive -- so records before the damage are still read and
    counted. After a CorruptGzip, `resync()` skips to the next member header so that the records after the
    damage are read too. Output is decompressed at most 1 MiB at a time."""

    def __init__(self, raw):
        self._raw = raw
        self._in = b""  # compressed bytes read but not yet decompressed
        self._d = None  # the current member's decompressor; None at a member's end
        self._at_head = False  # `_in` starts with the current member's own header
        self._damaged = False  # a CorruptGzip was raised: `_in` holds the data it was raised on
        self._resynced = False
        self._out, self._off = b"", 0  # decompressed bytes not yet returned (at most _GZIP_OUT)

    def readable(self) -> bool:
        return True

    def _more(self) -> bool:
        chunk = self._raw.read(1 << 16)
        if chunk:
            self._in = self._in + chunk if self._in else chunk
        return bool(chunk)

    def next_member(self) -> bool:
        """Start the next member; False at the end of the input."""
        if self._damaged:
            raise RuntimeError("next_member() after a CorruptGzip without resync()")
        self._resynced = False
        while not self._in:
            if not self._more():
                return False
        self._d, self._at_head = zlib.decompressobj(16 + zlib.MAX_WBITS), True
        return True

    def readinto(self, b) -> int:
        if self._off < len(self._out):
            n = min(len(b), len(self._out) - self._off)
            b[:n] = self._out[self._off : self._off + n]
            self._off += n
            return n
        if self._d is None or not len(b):
            return 0
        out = self._step()
        if not out:
            return 0
        self._out, self._off = out, 0
        return self.readinto(b)

    def read_member(self, cap: int) -> tuple[bytes, bool, TruncatedInput | None]:
        """The rest of the current member, decompressed, without going through `readinto`'s copies:
        (data, whole, error). `whole`: data ends where the member ends. Otherwise either more than `cap`
        bytes are read (the member goes on: read the rest as usual), or `error` is the TruncatedInput that
        `readinto` would have raised after returning `data`."""
        parts = [self._out[self._off :]] if self._off < len(self._out) else []
        total = len(parts[0]) if parts else 0
        self._out, self._off = b"", 0
        try:
            while total <= cap:
                out = self._step()
                if not out:
                    return b"".join(parts), True, None
                parts.append(out)
                total += len(out)
        except TruncatedInput as e:
            return b"".join(parts), False, e
        return b"".join(parts), False, None

    def _step(self) -> bytes:
        """The next decompressed piece of the current member: b"" at its end."""
        while self._d is not None:
            d = self._d
            if not self._in and not self._more():
                self._d = None
                raise TruncatedInput("truncated gzip: the last member ends before its end marker")
            try:
                out = d.decompress(self._in, _GZIP_OUT)
            except zlib.error as e:
                self._d, self._damaged = None, True
                raise CorruptGzip(f"corrupt gzip data: {e}") from None
            self._at_head = False
            if d.eof:
                self._in, self._d = d.unused_data, None
            else:
                self._in = d.unconsumed_tail
            if out:
                return out
        return b""

    def resync(self) -> bool:
        """After a CorruptGzip: position at the next member header from which data decompresses (then call
        `next_member()`). False at the end of input, and after a plain truncation, which has nothing after
        it. True again if called twice."""
        if self._resynced:
            return True
        if not self._damaged:
            return False
        self._damaged = False
        data, start = self._in, (1 if self._at_head else 0)
        while True:
            i = data.find(_GZIP_MAGIC, start)
            if i < 0:
                chunk = self._raw.read(1 << 16)
                if not chunk:
                    self._in = b""
                    return False
                # Keep two bytes: a header split across the chunk boundary is still found.
                data, start = data[-2:] + chunk, 0
                continue
            if len(data) - i < 64:  # too few bytes to try: read on first
                chunk = self._raw.read(1 << 16)
                if chunk:
                    data += chunk
                    continue
            try:  # three bytes that only look like a header, inside the damaged data, fail at once
                zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data[i:], 64)
            except zlib.error:
                start = i + 1
                continue
            self._in, self._resynced = data[i:], True
            return True

    def close(self) -> None:
        self._raw.close()
        super().close()
