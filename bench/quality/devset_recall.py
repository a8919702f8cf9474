"""What each drop rule costs on clean Korean it was never fitted on, and how much junk it removes.

    python data/make_devset.py --out /tmp/ko-devset          # once: the labeled dev set (../shared/data)
    python bench/quality/devset_recall.py [--config configs/ko-web.yaml] [--devset /tmp/ko-devset] [--out DIR]
    python bench/quality/devset_recall.py --devset data/sample   # the bundled sample, labeled by its manifest's kind

Runs `pipeline run CONFIG --backend local` on the dev set's WARC shards (a copy of the config without the
dedup / mix / tokenize / report stages, with `execution.score_all: true` so that every rule scores every
document; the first rule that fires is the drop reason, as in a normal run). Then prints, from
manifest.jsonl (url -> register, label) and the run's documents/ and rejected/ Parquet files:

1. per clean register: documents, kept share, the median share of a kept document's characters left after
   line-level rules (`text`), drop reasons (first rule) with counts;
2. per junk class: documents and dropped share;
3. per drop rule: documents it dropped (first rule), good documents among them; documents it would drop
   (any rule order), good among them, the largest share of one clean register it would drop, and how many
   junk documents only it drops (what the rule earns; 0 means it only repeats other rules' drops);
4. quality_score and perplexity per register (median, p10, p90; share of quality_score < 0.5).

Without a dev set it first builds one at --devset from ../shared/data; without those it exits with one line.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import yaml

from bench.harness import ROOT, SHARED, shared_data

# The bundled sample's manifest (data/sample/) says what each page is (`kind`) but has no label: articles and
# their copies are good prose (copies are dedup's business, which this bench does not run), the rest is junk.
SAMPLE_KEEP_KINDS = {"article", "near_duplicate", "exact_duplicate"}


def with_label(m: dict) -> dict:
    if "label" not in m:
        m = {**m, "register": m["kind"], "label": "keep" if m["kind"] in SAMPLE_KEEP_KINDS else "drop"}
    return m


def run_pipeline(config: Path, devset: Path, out: Path) -> None:
    cfg = yaml.safe_load(config.read_text(encoding="utf-8"))
    for stage in ("dedup", "mix", "tokenize", "report"):
        cfg.pop(stage, None)
    cfg.setdefault("execution", {})["score_all"] = True
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / config.name
        copy.write_text(yaml.safe_dump(cfg, allow_unicode=True, sort_keys=False), encoding="utf-8")
        cmd = [sys.executable, "-m", "pipeline.cli", "run", str(copy), "--input", str(devset / "*.warc.gz"),
               "--output", str(out), "--backend", "local", "--restart"]
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        if proc.returncode != 0:
            sys.exit(f"pipeline run failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")


def read_run(out: Path) -> tuple[dict[str, dict], dict[str, dict]]:
    """url -> row of the kept documents, url -> row of the rejected ones."""
    def rows(pattern: str, columns: list[str]) -> list[dict]:
        got = []
        for f in sorted(out.glob(pattern)):
            t = pq.read_table(f)
            cols = [c for c in columns if c in t.column_names]
            got += t.select(cols).to_pylist()
        return got
    scores = ["quality_score", "perplexity"]
    kept = {r["url"]: r for r in rows("documents/*.parquet", ["url", "text_chars", *scores])}
    rejected = {r["url"]: r for r in rows("rejected/*.parquet", ["url", "reason", "drop_reasons", *scores])}
    return kept, rejected


def all_reasons(row: dict) -> list[str]:
    if row.get("drop_reasons"):
        return list(dict.fromkeys(r for _, r in json.loads(row["drop_reasons"])))
    return [row["reason"]]


def pct(a: int, b: int) -> str:
    return f"{100 * a / b:5.1f}%" if b else "    -"


def report(manifest: list[dict], kept: dict, rejected: dict) -> None:
    by_reg: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for m in manifest:
        by_reg[(m["label"], m["register"])].append(m)
    missing = [m["url"] for m in manifest if m["url"] not in kept and m["url"] not in rejected]
    if missing:
        print(f"warning: {len(missing)} pages neither kept nor rejected (first: {missing[0]})")

    print("\n## Clean registers (label keep)")
    print(f"{'register':<18}{'docs':>6}{'kept':>8}{'text':>7}  drop reasons (first rule)")
    good_total = good_kept = 0
    for (label, reg), ms in sorted(by_reg.items()):
        if label != "keep":
            continue
        k = sum(m["url"] in kept for m in ms)
        good_total, good_kept = good_total + len(ms), good_kept + k
        reasons = Counter(rejected[m["url"]]["reason"] for m in ms if m["url"] in rejected)
        # text: median share of a kept document's characters still there (line-level rules remove lines)
        shares = [min(1.0, kept[m["url"]]["text_chars"] / m["chars"]) for m in ms if m["url"] in kept and m.get("chars")]
        text = f"{100 * float(np.median(shares)):5.0f}%" if shares else "     -"
        print(f"{reg:<18}{len(ms):>6}{pct(k, len(ms)):>8}{text:>7}  "
              + ", ".join(f"{r} {n}" for r, n in reasons.most_common()))
    print(f"{'all clean':<18}{good_total:>6}{pct(good_kept, good_total):>8}")

    print("\n## Junk (label drop)")
    print(f"{'class':<18}{'docs':>6}{'dropped':>8}  drop reasons (first rule)")
    junk_total = junk_dropped = 0
    for (label, reg), ms in sorted(by_reg.items()):
        if label != "drop":
            continue
        d = sum(m["url"] in rejected for m in ms)
        junk_total, junk_dropped = junk_total + len(ms), junk_dropped + d
        reasons = Counter(rejected[m["url"]]["reason"] for m in ms if m["url"] in rejected)
        print(f"{reg:<18}{len(ms):>6}{pct(d, len(ms)):>8}  " + ", ".join(f"{r} {n}" for r, n in reasons.most_common()))
    print(f"{'all junk':<18}{junk_total:>6}{pct(junk_dropped, junk_total):>8}")

    first, first_good = Counter(), Counter()
    would, would_good, only_junk = Counter(), Counter(), Counter()
    per_reg_would: dict[str, Counter] = defaultdict(Counter)
    reg_size = Counter()
    for m in manifest:
        reg_size[m["register"]] += 1
        row = rejected.get(m["url"])
        if row is None:
            continue
        good = m["label"] == "keep"
        first[row["reason"]] += 1
        first_good[row["reason"]] += good
        rs = all_reasons(row)
        for r in rs:
            would[r] += 1
            would_good[r] += good
            if good:
                per_reg_would[r][m["register"]] += 1
        if not good and len(rs) == 1:
            only_junk[rs[0]] += 1
    print("\n## Drop rules")
    print(f"{'reason':<28}{'dropped':>8}{'good':>6}{'would':>7}{'good':>6}  {'worst clean register':<28}{'junk only it drops':>19}")
    for r, _ in sorted(would.items(), key=lambda kv: -kv[1]):
        worst = max(per_reg_would[r].items(), key=lambda kv: kv[1] / reg_size[kv[0]], default=None)
        worst_s = f"{worst[0]} {pct(worst[1], reg_size[worst[0]]).strip()}" if worst else "-"
        print(f"{r:<28}{first[r]:>8}{first_good[r]:>6}{would[r]:>7}{would_good[r]:>6}  {worst_s:<28}{only_junk[r]:>19}")

    print("\n## Scores per register (all documents that reached the step)")
    print(f"{'register':<18}{'quality n':>10}{'p10':>7}{'median':>7}{'<0.5':>7}{'ppl n':>7}{'p10':>7}{'median':>7}{'p90':>7}")
    for (label, reg), ms in sorted(by_reg.items()):
        rows = [kept.get(m["url"]) or rejected.get(m["url"]) or {} for m in ms]
        q = np.array([r["quality_score"] for r in rows if r.get("quality_score") is not None])
        p = np.array([r["perplexity"] for r in rows if r.get("perplexity") is not None and np.isfinite(r["perplexity"])])
        qs = f"{len(q):>10}{np.percentile(q, 10):>7.3f}{np.median(q):>7.3f}{pct(int((q < 0.5).sum()), len(q)):>7}" \
            if len(q) else f"{0:>10}{'':>21}"
        ps = f"{len(p):>7}{np.percentile(p, 10):>7.0f}{np.median(p):>7.0f}{np.percentile(p, 90):>7.0f}" if len(p) else f"{0:>7}"
        print(f"{label[0]}:{reg:<16}{qs}{ps}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", type=Path, default=ROOT / "configs" / "ko-web.yaml")
    ap.add_argument("--devset", type=Path, default=Path("/tmp/ko-devset"),
                    help="directory written by data/make_devset.py (built there first when missing)")
    ap.add_argument("--out", type=Path, default=None, help="run directory (default: a temporary one)")
    args = ap.parse_args(argv)
    if not (args.devset / "manifest.jsonl").is_file():
        shared_data()
        subprocess.run([sys.executable, str(ROOT / "data" / "make_devset.py"), "--shared", str(SHARED),
                        "--out", str(args.devset)], check=True)
    manifest = [with_label(json.loads(line))
                for line in (args.devset / "manifest.jsonl").read_text(encoding="utf-8").splitlines()]
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp) / "run"
        run_pipeline(args.config.resolve(), args.devset.resolve(), out)
        kept, rejected = read_run(out)
        print(f"config {os.path.relpath(args.config.resolve(), ROOT)} on {args.devset} ({len(manifest)} pages): "
              f"{len(kept)} kept, {len(rejected)} dropped")
        report(manifest, kept, rejected)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
