"""Credentials out of everything a run writes or prints: `s3://KEY:SECRET@host/...` → `s3://***@host/...`, and
the values of secret-looking query parameters (`?X-Amz-Signature=...`, `token=`, `password=`) → `***`.

Inputs may be URLs with credentials in them (presigned URLs, `https://user:pass@host/x.warc.gz`); the run
uses them as given, but summary.json, config.yaml, the report, stats, `source_shard` and log lines carry the
redacted form.
"""

from __future__ import annotations

import re
from typing import Any

# scheme://userinfo@ : the userinfo (user, or user:password) is dropped whole.
# (fsspec writes some URLs with a third slash: memory:///user:pass@...)
_USERINFO = re.compile(r"\b([A-Za-z][A-Za-z0-9+.\-]{0,31}:///?)[^/?#@\s]{1,512}@")
_SECRET_PARAM = re.compile(
    r"([?&](?:[A-Za-z0-9_.\-]{0,40}(?:signature|token|secret|password|passwd|pwd|credential|api[_-]?key|"
    r"access[_-]?key|sig|auth)[A-Za-z0-9_.\-]{0,40})=)[^&#\s]{1,4096}", re.I)


def redact(text: str) -> str:
    if "://" not in text:
        return text
    return _SECRET_PARAM.sub(r"\1***", _USERINFO.sub(r"\1***@", text))


def redact_obj(obj: Any) -> Any:
    """`redact` on every string in a JSON-like structure."""
    if isinstance(obj, str):
        return redact(obj)
    if isinstance(obj, dict):
        return {k: redact_obj(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [redact_obj(v) for v in obj]
    return obj
