"""Does the quality classifier judge words or page layout? Trains the default model's chosen hyper-parameters
twice, with and without a `<nl>` token for line breaks, and scores held-out test documents as written and
with their layout changed (review threads on one line, Wikipedia one sentence a line).

    python -m trainers.quality_data --out /tmp/ko-quality-data
    python bench/quality/quality_layout.py --data /tmp/ko-quality-data

The default `classifier_text` has no `<nl>` token because of this measurement (filters/quality.py).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

import filters.quality as fq
from trainers.quality import _train, read_texts, split_of

PARAMS = {"dim": 64, "wordNgrams": 1, "minn": 0, "maxn": 0, "epoch": 20, "bucket": 0}  # the default model's


def one_line(text: str, newline: str) -> str:
    t = fq._DIGITS.sub("0", fq.nfc(text[:2000]).lower())
    return " ".join(newline.join(" ".join(ln.split()) for ln in t.split("\n") if ln.strip()).split(" "))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="/tmp/ko-quality-data")
    args = ap.parse_args()
    data = {"train": [], "valid": [], "test": []}
    for label, name in (("__label__curated", "positive"), ("__label__web", "negative")):
        for i, (src, t) in enumerate(read_texts([f"{args.data}/{name}.jsonl.gz"], 2000)):
            data[split_of(0, label, i, t)].append((label, src, t))
    test = data["test"]
    threads = [t for _, s, t in test if s.endswith(":thread")]
    wiki = [t for _, s, t in test if s.endswith(":kowiki")]
    chrome_spam = [t for lab, s, t in test if lab == "__label__web" and not s.endswith(":thread")]
    cases = [("review threads, one review a line", threads, 0),
             ("review threads on one line", [t.replace("\n", " ") for t in threads], 0),
             ("kowiki as written", wiki, 1),
             ("kowiki one sentence a line", [t.replace(". ", ".\n") for t in wiki], 1),
             ("chrome and spam pages", chrome_spam, 0)]
    for variant, newline in (("<nl> token", " <nl> "), ("no token", " ")):
        with tempfile.TemporaryDirectory() as tmp:
            train_file = Path(tmp) / "train.txt"
            train_file.write_text("".join(f"{lab} {one_line(t, newline)}\n" for lab, _, t in data["train"]),
                                  encoding="utf-8")
            model = _train(str(train_file), 0.2, 0, PARAMS)
        for name, texts, want in cases:
            labels, probs = model.predict([one_line(t, newline) for t in texts], k=2)
            p = [dict(zip(a, b)).get("__label__curated", 0.0) for a, b in zip(labels, probs)]
            acc = sum((x >= 0.5) == bool(want) for x in p) / len(p)
            print(f"{variant:11s} {name:36s} n={len(p):4d} mean P(curated) {statistics.mean(p):.3f} "
                  f"accuracy {acc:.3f}")


if __name__ == "__main__":
    main()
