"""Build the small extra sources that the bundled job mixes with its curated web text.

    python data/make_sources.py [--shared ../shared/data] [--out data/sources] [--wiki-docs 300] [--statutes 20]

Writes `ko-wiki.jsonl.gz` (Korean Wikipedia articles, CC BY-SA) and `ko-statutes.jsonl.gz` (Korean statutes,
public works), each a deterministic slice (every k-th document by a hash of its id) of the files in `--shared`.
Text is NFC; ids are kept so every document can be traced back to its source.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import unicodedata
from pathlib import Path

from make_sample import require_reference  # data/ is this script's directory, first on sys.path

ROOT = Path(__file__).resolve().parents[1]


def pick(path: Path, n: int, max_chars: int, salt: str) -> list[dict]:
    rows = [json.loads(line) for line in gzip.open(path, "rt", encoding="utf-8")]
    for r in rows:  # the statutes file names each law by its path instead of an id
        r.setdefault("id", r.get("path"))
    rows.sort(key=lambda r: hashlib.sha256(f"{salt}:{r['id']}".encode()).hexdigest())
    out = []
    for r in rows:
        text = unicodedata.normalize("NFC", r["text"]).strip()
        if len(text) < 300:
            continue
        out.append({"id": str(r["id"]), "text": text[:max_chars]})
        if len(out) == n:
            break
    return sorted(out, key=lambda r: r["id"])


def write(rows: list[dict], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.GzipFile(path, "wb", mtime=0) as fh:  # mtime=0: byte-identical rebuilds
        for r in rows:
            fh.write((json.dumps(r, ensure_ascii=False) + "\n").encode("utf-8"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--out", default=str(ROOT / "data" / "sources"))
    ap.add_argument("--wiki-docs", type=int, default=300)
    ap.add_argument("--statutes", type=int, default=20)
    a = ap.parse_args()
    shared, out = Path(a.shared), Path(a.out)
    require_reference(shared, "make_sources.py", "kowiki-ref.jsonl.gz", "ko-statutes.jsonl.gz")
    write(pick(shared / "kowiki-ref.jsonl.gz", a.wiki_docs, 3000, "wiki"), out / "ko-wiki.jsonl.gz")
    write(pick(shared / "ko-statutes.jsonl.gz", a.statutes, 6000, "statutes"), out / "ko-statutes.jsonl.gz")
    for f in sorted(out.glob("*.jsonl.gz")):
        print(f, f.stat().st_size, "bytes")


if __name__ == "__main__":
    main()
