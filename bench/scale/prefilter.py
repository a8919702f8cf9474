"""What the 99% of a crawl that is not Korean costs, with and without input.prefilter_korean, and what the
pre-filter loses; bytes read per Korean page with input.format cc_index against reading whole WARC files.

    python bench/scale/prefilter.py [--records 10000] [--korean-share 0.01] [--shards 10] [--devset /tmp/ko-devset]
                                    [--out /tmp/ko-prefilter-bench] [--skip-run]

Builds a corpus of WARC shards under --out: 1% Korean pages (the Korean pages of the bundled sample and of the
dev set, as served, EUC-KR and CP949 ones included) among foreign pages of typical size (30-60 KB: inline
script and style, a menu, paragraphs), in English, Japanese and Chinese (the sample generator's text) and 17
other languages (sentences of words from babel's locale data: names of countries, languages, months, days);
5% of the foreign pages in a legacy charset (windows-1251, Shift_JIS, GBK, ISO-8859-1, ...), as in a crawl.
Prints:
  1. recall: Korean pages of the sample and of the dev set dropped as read_no_hangul, per charset (must be 0);
  2. records/s on one core of `hangul_evidence` alone, and of the WARC reader without / with the pre-filter;
  3. `pipeline run` (configs/ko-web.yaml without dedup/mix/tokenize: line-dedup pre-pass + per-document pass,
     --backend local) without / with the pre-filter: CPU seconds (this process's children) per record;
  4. bytes read per Korean page: whole WARC files vs cc_index mode (an index built for the corpus, with the
     index's own bytes counted), through a counting fsspec filesystem.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import yaml

from bench.harness import ROOT, children_cpu_seconds, cpu_seconds, read_manifest
from core.config import InputConfig
from pipeline.read.charset import PREFILTER_MIN_HANGUL, hangul_evidence
from pipeline.read.readers import read_shard

# Share of foreign pages per language, roughly a Common Crawl snapshot's (CC's published language statistics).
LANGS = {"en": 45, "ru": 6, "de": 6, "ja": 5, "zh": 5, "fr": 4, "es": 4, "it": 2, "pt": 2, "pl": 2, "nl": 2,
         "tr": 1, "vi": 1, "id": 1, "cs": 1, "uk": 1, "ar": 1, "fa": 1, "th": 1, "el": 1}
LEGACY = {"ru": "windows-1251", "uk": "windows-1251", "ja": "shift_jis", "zh": "gbk", "de": "iso-8859-1",
          "fr": "iso-8859-1", "es": "iso-8859-1", "it": "iso-8859-1", "pt": "iso-8859-1", "pl": "iso-8859-2",
          "cs": "iso-8859-2", "el": "iso-8859-7", "ar": "windows-1256", "tr": "iso-8859-9", "th": "tis-620",
          "en": "iso-8859-1", "nl": "iso-8859-1", "vi": "windows-1258", "id": "iso-8859-1", "fa": "windows-1256"}


def korean_pages(sample: Path, devset: Path) -> list[dict]:
    """The Korean pages of the sample and the dev set as served: payload and Content-Type header."""
    out = []
    for root, is_ko in ((sample, lambda d: d.get("lang") == "ko"),
                        (devset, lambda d: not d["register"].startswith("foreign"))):
        manifest = read_manifest(root / "manifest.jsonl")
        for p in sorted(root.glob("*.warc.gz")):
            for rec in read_shard(str(p), InputConfig(paths=[str(p)])):
                d = manifest.get(rec.url)
                if d and is_ko(d) and rec.html is not None:
                    ctype = "text/html" + (f"; charset={rec.charset_header}" if rec.charset_header else "")
                    out.append({"url": rec.url, "body": rec.html, "content_type": ctype,
                                "charset": d.get("charset") or "utf-8", "lang": "ko"})
    return out


def foreign_text(rng: random.Random, lang: str, words: dict) -> list[str]:
    import sample_text as st

    pools = {"en": st.ENGLISH_PARAGRAPHS, "ja": st.JAPANESE_PARAGRAPHS, "zh": st.CHINESE_PARAGRAPHS}
    if lang in pools:
        return [rng.choice(pools[lang]) for _ in range(rng.randint(8, 20))]
    sep = "" if lang in ("th",) else " "
    return [". ".join(sep.join(rng.choices(words[lang], k=rng.randint(6, 14))) for _ in range(rng.randint(3, 6))) + "."
            for _ in range(rng.randint(8, 20))]


def locale_words() -> dict[str, list[str]]:
    from babel import Locale

    out = {}
    for lang in LANGS:
        loc = Locale.parse(lang)
        words = [w for names in (loc.territories, loc.languages, loc.months["format"]["wide"],
                                 loc.days["format"]["wide"]) for w in names.values()]
        out[lang] = [w for w in words if w.strip()]
    return out


def foreign_page(rng: random.Random, lang: str, words: dict, script: str) -> dict:
    paragraphs = foreign_text(rng, lang, words)
    charset = LEGACY[lang] if rng.random() < 0.05 else "utf-8"
    nav = "".join(f'<li><a href="/section/{i}">{rng.choice(paragraphs)[:24]}</a></li>' for i in range(40))
    html = (f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="{charset}"><title>{paragraphs[0][:60]}</title>'
            f"<script>{script[:rng.randint(15_000, 35_000)]}</script></head><body><nav><ul>{nav}</ul></nav>"
            "<article>" + "".join(f"<p>{p}</p>" for p in paragraphs) + "</article><footer>© 2024</footer></body></html>")
    body = html.encode(charset, errors="xmlcharrefreplace")
    return {"url": f"https://{lang}.site{rng.randint(0, 10**6)}.example/{rng.randint(0, 10**9)}", "body": body,
            "content_type": f"text/html; charset={charset}", "charset": charset, "lang": lang}


def build_corpus(out: Path, records: int, share: float, shards: int, korean: list[dict], seed: int = 1) -> list[dict]:
    from warcgen import write_warc

    rng = random.Random(seed)
    words = locale_words()
    script = "".join(f"var a{i}=function(e){{return e&&e.length>{i}?e.slice({i}):null}};" for i in range(2000))
    n_ko = max(1, round(records * share))
    pages = rng.sample(korean, k=min(n_ko, len(korean)))
    langs = rng.choices(list(LANGS), weights=list(LANGS.values()), k=records - len(pages))
    pages += [foreign_page(rng, lang, words, script) for lang in langs]
    rng.shuffle(pages)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.warc.gz"):
        old.unlink()
    for i in range(shards):
        write_warc(out / f"mix-{i:05d}.warc.gz", pages[i::shards])
    (out / "manifest.jsonl").write_text("".join(json.dumps({"url": p["url"], "lang": p["lang"], "charset": p["charset"]})
                                                + "\n" for p in pages))
    return pages


def recall(name: str, root: Path, is_ko) -> None:
    manifest = read_manifest(root / "manifest.jsonl")
    seen, lost, low = Counter(), Counter(), {}
    for p in sorted(root.glob("*.warc.gz")):
        for rec in read_shard(str(p), InputConfig(paths=[str(p)])):
            d = manifest.get(rec.url)
            if not (d and is_ko(d)) or rec.html is None and rec.text is None:
                continue
            cs = d.get("charset") or "?"
            seen[cs] += 1
            payload = rec.html if rec.html is not None else rec.text.encode()
            n = hangul_evidence(payload, 10**9)
            low[cs] = min(low.get(cs, n), n)
            lost[cs] += n < PREFILTER_MIN_HANGUL
    for cs in sorted(seen):
        print(f"  {name:8s} {cs:7s} Korean pages {seen[cs]:5d}  lost {lost[cs]}  fewest Hangul found {low[cs]}")


def reader_speed(paths: list[str], prefilter: bool) -> tuple[int, float]:
    t = cpu_seconds()
    n = sum(1 for p in paths for _ in read_shard(p, InputConfig(paths=[p], prefilter_korean=prefilter)))
    return n, cpu_seconds() - t


def pipeline_cpu(corpus: Path, out: Path, prefilter: bool) -> tuple[float, float, dict]:
    """CPU seconds of `pipeline run` (start-up included), wall seconds, summary.json."""
    conf = yaml.safe_load((ROOT / "configs/ko-web.yaml").read_text())
    for key in ("dedup", "mix", "tokenize", "report"):
        conf.pop(key, None)
    conf["input"] = {**conf["input"], "paths": [str(corpus / "*.warc.gz")], "prefilter_korean": prefilter}
    run = out / f"run-{corpus.name}-{'on' if prefilter else 'off'}"
    conf["output"] = str(run)
    path = out / f"job-{corpus.name}-{'on' if prefilter else 'off'}.yaml"
    path.write_text(yaml.safe_dump(conf, allow_unicode=True))
    before, t = children_cpu_seconds(), time.time()
    subprocess.run([sys.executable, "-m", "pipeline.cli", "run", str(path), "--backend", "local", "--restart"],
                   cwd=ROOT, check=True, capture_output=True)
    cpu = children_cpu_seconds() - before
    return cpu, time.time() - t, json.loads((run / "summary.json").read_text())


def index_bytes(corpus: Path, pages: list[dict], out: Path) -> None:
    """Bytes read per Korean page: every WARC file whole, or the index (filtered scan) + the Korean ranges."""
    import fsspec
    import pyarrow as pa
    import pyarrow.parquet as pq
    from fsspec.implementations.local import LocalFileSystem
    from warcio.archiveiterator import ArchiveIterator

    from pipeline.read import shard_paths

    class Counting(LocalFileSystem):
        protocol = "countfile"
        read = 0

        @classmethod
        def _strip_protocol(cls, path):
            return super()._strip_protocol(str(path).removeprefix("countfile://"))

        def cat_file(self, path, start=None, end=None, **kw):
            data = super().cat_file(path, start=start, end=end, **kw)
            Counting.read += len(data)
            return data

        def _open(self, path, mode="rb", **kw):
            fh = super()._open(path, mode=mode, **kw)
            raw_read = fh.read

            def read(*a):
                data = raw_read(*a)
                Counting.read += len(data)
                return data

            fh.read = read
            return fh

    fsspec.register_implementation("countfile", Counting, clobber=True)
    lang_code = {"ko": "kor", "en": "eng", "ja": "jpn", "zh": "zho", "ru": "rus", "de": "deu", "fr": "fra"}
    by_url = {p["url"]: p["lang"] for p in pages}
    rows = []
    for warc in sorted(corpus.glob("*.warc.gz")):
        with open(warc, "rb") as fh:
            it = ArchiveIterator(fh)
            for rec in it:
                if rec.rec_type == "response":
                    url = rec.rec_headers.get_header("WARC-Target-URI")
                    rec.content_stream().read()
                    lang = by_url[url]
                    rows.append({"url": url, "content_languages": lang_code.get(lang, lang + "x")
                                 + (",eng" if lang != "en" else ""), "content_mime_detected": "text/html",
                                 "warc_filename": warc.name, "warc_record_offset": it.get_record_offset(),
                                 "warc_record_length": it.get_record_length()})
    rows.sort(key=lambda r: r["url"])  # CC sorts its index by SURT: the hits are spread over every WARC file
    index = out / "index" / "crawl=BENCH" / "subset=warc"
    index.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), index / "part-00000.parquet", row_group_size=2000)
    n_ko = sum(1 for r in rows if r["content_languages"].startswith("kor"))

    Counting.read = 0
    for warc in sorted(corpus.glob("*.warc.gz")):
        for _ in read_shard(f"countfile://{warc}", InputConfig(paths=["x"])):
            pass
    whole = Counting.read
    Counting.read = 0
    cfg = InputConfig(paths=[f"countfile://{index.parent.parent}"], format="cc_index",
                      cc_index={"warc_prefix": f"countfile://{corpus}/", "records_per_shard": 2000})
    shards = shard_paths(cfg)
    planned = Counting.read
    got = sum(1 for s in shards for r in read_shard(s, cfg) if r.drop_reason is None)
    indexed = Counting.read
    print(f"  {len(rows)} records, {n_ko} Korean; index {sum(f.stat().st_size for f in index.iterdir())} bytes")
    print(f"  whole files: {whole:,} bytes read, {whole / n_ko:,.0f} per Korean page")
    ranges = sum(r["warc_record_length"] for r in rows if r["content_languages"].startswith("kor"))
    print(f"  cc_index:    {indexed:,} bytes read ({planned:,} planning the shards, {indexed - planned - ranges:,} "
          f"the shards' index rows, {ranges:,} the Korean records' ranges), {indexed / n_ko:,.0f} per Korean page "
          f"({got} pages read): {whole / indexed:.0f}x fewer bytes")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", type=int, default=10_000)
    ap.add_argument("--korean-share", type=float, default=0.01)
    ap.add_argument("--shards", type=int, default=10)
    ap.add_argument("--devset", default="/tmp/ko-devset", help="python data/make_devset.py --out DIR")
    ap.add_argument("--out", default="/tmp/ko-prefilter-bench")
    ap.add_argument("--skip-run", action="store_true", help="leave out `pipeline run` (section 3)")
    ap.add_argument("--json", help="also write section 3's CPU ms per foreign page to this file (bench/scale/cc_cost.py)")
    args = ap.parse_args()
    sys.path[:0] = [str(ROOT / "data"), str(ROOT / "tests")]  # sample_text, warcgen: modules of scripts, not packages
    devset = Path(args.devset)
    if not (devset / "manifest.jsonl").exists():
        print(f"no dev set at {devset} (python data/make_devset.py --out {devset}); using tests/fixtures/devset")
        devset = ROOT / "tests/fixtures/devset"

    print(f"1. recall (threshold: {PREFILTER_MIN_HANGUL} Hangul syllables)")
    recall("sample", ROOT / "data/sample", lambda d: d.get("lang") == "ko")
    recall("devset", devset, lambda d: not d["register"].startswith("foreign"))

    out = Path(args.out)
    corpus = out / "corpus"
    pages = build_corpus(corpus, args.records, args.korean_share, args.shards,
                         korean_pages(ROOT / "data/sample", devset))
    n = len(pages)
    size = sum(len(p["body"]) for p in pages)
    print(f"\ncorpus: {n} pages, {sum(p['lang'] == 'ko' for p in pages)} Korean, {size / n / 1000:.0f} KB per page, "
          f"{sum(p['charset'] != 'utf-8' and p['lang'] != 'ko' for p in pages)} foreign pages in a legacy charset")
    payloads = [p["body"] for p in pages]
    t = cpu_seconds()
    passed = sum(hangul_evidence(b, PREFILTER_MIN_HANGUL) >= PREFILTER_MIN_HANGUL for b in payloads)
    dt = cpu_seconds() - t
    ko_passed = sum(hangul_evidence(p["body"], PREFILTER_MIN_HANGUL) >= PREFILTER_MIN_HANGUL
                    for p in pages if p["lang"] == "ko")
    print(f"\n2. hangul_evidence alone: {n / dt:,.0f} records/s on one core ({size / dt / 1e6:,.0f} MB/s); "
          f"{passed} pass ({ko_passed} of the Korean, {passed - ko_passed} foreign: legacy charsets)")
    shards = [str(p) for p in sorted(corpus.glob("*.warc.gz"))]
    for prefilter in (False, True):
        k, dt = reader_speed(shards, prefilter)
        print(f"   WARC reader, prefilter {'on ' if prefilter else 'off'}: {k / dt:,.0f} records/s on one core")

    if not args.skip_run:
        # The same Korean pages alone: what the run costs without the 99%, so that the foreign pages' own
        # cost can be told apart from the start-up (Python, imports, models) and the Korean pages' steps.
        from warcgen import write_warc

        ko_only = out / "corpus-ko"
        ko_only.mkdir(parents=True, exist_ok=True)
        write_warc(ko_only / "ko-00000.warc.gz", [p for p in pages if p["lang"] == "ko"])
        n_foreign = sum(p["lang"] != "ko" for p in pages)
        print("\n3. pipeline run (ko-web.yaml minus dedup/mix/tokenize/report, --backend local)")
        res = {}
        for prefilter in (False, True):
            cpu, wall, s = pipeline_cpu(corpus, out, prefilter)
            base, _, _ = pipeline_cpu(ko_only, out, prefilter)
            stages = sum(s["stage_seconds"].get(k, 0) for k in ("extract", "line_dedup", "steps"))
            res[prefilter] = (cpu, stages, (cpu - base) / n_foreign)
            print(f"   prefilter {'on ' if prefilter else 'off'}: {cpu:5.1f} CPU s ({cpu / n * 1000:.2f} ms/record), "
                  f"extract + line dedup + steps {stages:5.1f} s ({stages / n * 1000:.2f} ms/record), "
                  f"{res[prefilter][2] * 1000:.2f} CPU ms per foreign page over the Korean pages alone "
                  f"({base:.1f} CPU s); kept {s['documents_kept']}, "
                  f"read_no_hangul {s['documents_dropped'].get('read_no_hangul', 0)}")
        if args.json:
            Path(args.json).write_text(json.dumps({"foreign_ms_off": round(res[False][2] * 1000, 4),
                                                   "foreign_ms_on": round(res[True][2] * 1000, 4)}))
        print("   with the pre-filter: " + ", ".join(f"{res[False][i] / res[True][i]:.1f}x fewer {what}" for i, what in
                                                  enumerate(("CPU seconds in all", "extract + line dedup + steps seconds",
                                                             "CPU seconds per foreign page"))))

    print("\n4. bytes read per Korean page")
    index_bytes(corpus, pages, out)


if __name__ == "__main__":
    main()
