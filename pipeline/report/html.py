"""Render the report's figures (from `pipeline.report.data.collect`) into one self-contained HTML page.

`render(figures) -> str` fills `templates/report.html` with a nav bar and one section per part of the issue
(funnel, drops, distributions, dedup, PII, mix, tokens, run). Every piece of text from the run -- snippets,
URLs, ids, reasons, error messages, config values -- goes through `esc` (html.escape); only HTML built here is
marked `Raw`. URLs are shown as text, never as links. The page also carries a Content-Security-Policy that
forbids scripts, so even a missed escape could not run code. Plots come from `pipeline.report.plots`.
"""

from __future__ import annotations

import html
from pathlib import Path
from string import Template

from pipeline.report import plots

TEMPLATE = Path(__file__).parent / "templates" / "report.html"
SECTIONS = (("funnel", "Funnel"), ("drops", "Drop reasons"), ("distributions", "Distributions"),
            ("dedup", "Dedup"), ("decontamination", "Decontamination"), ("pii", "PII"), ("mix", "Mix"),
            ("tokens", "Tokens"), ("run", "Run"))
MAX_LISTED = 50  # input shards and tokens shards listed one per row before "and N more"
ERROR_CHARS = 500


class Raw(str):
    """HTML built by this module (already escaped); everything else is text and gets escaped."""


def esc(value) -> str:
    if isinstance(value, Raw):
        return value
    return html.escape("" if value is None else str(value), quote=True)


def num(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"
    return str(value)


def size(n) -> str:
    if n is None:
        return "–"
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1000
    return str(n)


def pct(share) -> str:
    return "–" if share is None else f"{100 * share:.2f}%"


def table(headers: list[str], rows: list[list], numeric: set[int] = frozenset()) -> Raw:
    def cell(tag, i, v):
        return f'<{tag} class="num">{esc(v)}</{tag}>' if i in numeric else f"<{tag}>{esc(v)}</{tag}>"

    head = "".join(cell("th", i, h) for i, h in enumerate(headers))
    body = "".join("<tr>" + "".join(cell("td", i, v) for i, v in enumerate(row)) + "</tr>" for row in rows)
    return Raw(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")


def scalars(d: dict) -> str:
    """Key/value table of the scalar entries of a dict (nested lists and dicts are shown elsewhere)."""
    rows = [[k, num(v)] for k, v in d.items() if not isinstance(v, (dict, list))]
    return table(["figure", "value"], rows, {1}) if rows else Raw("")


def img(uri: str | None, alt: str) -> str:
    return f'<img class="plot" src="{esc(uri)}" alt="{esc(alt)}">' if uri else ""


def snippet(text: str, kind: str, meta: str) -> str:
    return f'<div class="meta">{esc(meta)}</div><div class="snippet {kind}">{esc(text)}</div>'


def not_run(what: str) -> Raw:
    return Raw(f'<p class="notrun">{esc(what)}: not run (no output in this run directory).</p>')


def no_documents(what: str) -> str:
    """The line shown where a stage ran on no documents (its output says "note": "no documents")."""
    return f'<p class="note">{esc(what)}</p>'


def _funnel(f: dict) -> str:
    rows = [[s.get("stage"), num(s.get("documents")), size(s.get("bytes"))] for s in f["funnel"]]
    return img(plots.funnel(f["funnel"]), "funnel") + table(["stage", "documents after", "bytes after"], rows, {1, 2})


def _drops(f: dict) -> str:
    drops = f["drops"]
    if not drops:
        return "<p>No documents were dropped.</p>"
    rows = [[d["reason"], d["step"] or "–", num(d["count"]), pct(d["share_of_input"]), pct(d["share_of_dropped"])]
            for d in drops]
    out = [img(plots.drop_reasons(drops), "drop reasons"),
           table(["reason", "step", "documents", "share of input", "share of dropped"], rows, {2, 3, 4}),
           _rules(f.get("rules")), "<h3>Examples of dropped documents</h3>"]
    for d in drops:
        out.append(f"<details open><summary>{esc(d['reason'])} ({num(d['count'])})</summary>")
        for ex in d["examples"]:
            meta = f"id {ex['id']} · {ex['url'] or 'no url'} · {num(ex.get('text_chars'))} chars"
            if ex.get("duplicate_of"):
                meta += f" · duplicate of {ex['duplicate_of']}"
            out.append(snippet(ex["snippet"] or "(no snippet)", "dropped", meta))
        if not d["examples"]:
            out.append('<p class="note">No example in rejected/.</p>')
        out.append("</details>")
    near = [t for t in f["near_threshold"] if t["examples"]]
    if near:
        out.append("<h3>Kept documents just inside each threshold</h3>")
        for t in near:
            sign = "≥" if t["kind"] == "min" else "≤"
            out.append(f"<details open><summary>{esc(t['step'])}.{esc(t['key'])}: {esc(t['column'])} "
                       f"{sign} {esc(num(t['value']))}</summary>")
            for ex in t["examples"]:
                out.append(snippet(ex["snippet"], "kept", f"id {ex['id']} · {t['column']} = {num(ex['score'])}"))
            out.append("</details>")
    return "".join(out)


def _rules(rules: list[dict] | None) -> str:
    """The per-rule table of a run scored in full (execution.score_all); "" for any other run."""
    if not rules:
        return ""
    rows = [[r["reason"], r["step"] or "–", num(r["any"]), num(r["only"]), num(r["first"])] for r in rules]
    note = ('<p class="note">Scored in full (execution.score_all): every rule ran on every document, so a document '
            "counts for every rule that would drop it. <em>only it</em>: no other rule would drop it (what the rule "
            "alone removes); <em>as first rule</em>: the drop reason above. What each rule costs on labelled "
            "documents: <code>pipeline audit RUN_DIR --labels FILE</code>.</p>")
    return Raw("<h3>Every rule that would drop each document</h3>" + note
               + table(["rule", "step", "would drop", "only it", "as first rule"], rows, {2, 3, 4}))


def _distributions(f: dict) -> str:
    dists = f["distributions"]
    if not dists:
        return "<p>No score columns in documents/ or rejected/.</p>"
    s = f["sample"]
    if not f["documents_kept"]:
        dists_note = no_documents("No documents were kept: the distributions show the dropped documents only.")
    else:
        dists_note = ""
    note = dists_note + (f'<p class="note">Sampled: {num(s["kept_rows"])} kept and {num(s["dropped_rows"])} dropped documents '
            f'(first rows of each file, at most {num(s["max_rows_per_side"])} per side). A score is missing for '
            "documents dropped before the step that computes it. Lengths of kept documents come from their text; "
            "of dropped ones from text_chars, and eojeol_count where a step wrote it.</p>")
    figs = "".join(f"<div>{img(plots.distribution(d), d['title'])}</div>" for d in dists)
    rows = []
    for d in dists:
        kq, dq = d["kept_quantiles"] or {}, d["dropped_quantiles"] or {}
        marks = "; ".join([f"{t['step']}.{t['key']}={num(t['value'])}" for t in d["thresholds"]]
                          + [f"cutoff {c['name']}={num(c['value'])}" for c in d["cutoffs"]])
        rows.append([d["column"], num(d["kept_n"]), num(kq.get("p10")), num(kq.get("p50")), num(kq.get("p90")),
                     num(d["dropped_n"]), num(dq.get("p50")), marks or "–"])
    headers = ["score", "kept n", "kept p10", "kept p50", "kept p90", "dropped n", "dropped p50", "thresholds"]
    return note + f'<div class="grid">{figs}</div>' + table(headers, rows, {1, 2, 3, 4, 5, 6})


def _dedup(d: dict) -> str:
    out = [no_documents("No documents reached dedup.") if d.get("note") == "no documents" else "", scalars(d)]
    hist = d.get("cluster_size_histogram") or {}
    if hist:
        sizes = sorted(hist, key=lambda k: int(k))
        out.append(img(plots.bar_chart([str(k) for k in sizes], [hist[k] for k in sizes], "Cluster sizes",
                                       "documents in cluster", log=True), "cluster sizes"))
    for c in d.get("largest_clusters") or []:
        out.append(f"<h3>Cluster of {esc(num(c.get('size')))} kept as {esc(c.get('kept_id'))}</h3>")
        for m in c.get("members") or []:
            out.append(snippet(m.get("snippet") or "", "dropped", f"id {m.get('id')} · {m.get('url') or 'no url'}"))
    return "".join(out)


def _pii(p: dict) -> str:
    if not p:
        return "<p>PII masking ran and found nothing to mask.</p>"
    items = sorted(p.items(), key=lambda kv: -kv[1])
    return (img(plots.bar_chart([k for k, _ in items], [v for _, v in items], "PII masked, by type"), "pii")
            + table(["type", "count"], [[k, num(v)] for k, v in items], {1}))


def _decontamination(d: dict) -> str:
    rows = [[name, num(n)] for name, n in sorted(d["matches"].items())]
    return (table(["benchmark", "documents matched"], rows, {1})
            + f"<p>{num(d['chars_removed'])} characters removed around matches; {num(d['pieces_dropped'])} pieces "
              f"too short to keep; documents dropped whole are under the drop reason "
              f"<code>benchmark_contamination</code>.</p>")


def _mix(m: dict) -> str:
    sources = m.get("sources") or []
    rows = [[s.get("name"), pct(s.get("target_share")), num(s.get("documents")), pct(s.get("documents_share")),
             num(s.get("tokens")), pct(s.get("tokens_share")), num(s.get("max_repeats"))] for s in sources]
    headers = ["source", "target share", "documents", "document share", "tokens", "token share", "max copies"]
    if any(s.get("note") for s in sources):  # an empty source: say why it has no share
        headers.append("note")
        for row, s in zip(rows, sources):
            row.append(s.get("note") or "")
    if m.get("note") == "no documents":
        head = no_documents("The mix is empty: no source had documents.")
    else:
        head = img(plots.mix_shares(sources), "mix")
    return head + table(headers, rows, {1, 2, 3, 4, 5, 6}) + scalars(m)


def _tokens(t: dict) -> str:
    out = []
    if any((part or {}).get("note") == "no documents" for part in (t.get("tokenizer"), t.get("manifest"))):
        out.append(no_documents("No documents to tokenize: no tokenizer was trained and no token shards written."))
    if t.get("tokenizer"):
        out += ["<h3>Tokenizer</h3>", scalars(t["tokenizer"])]
    manifest = t.get("manifest") or {}
    shards = manifest.get("shards") or []
    if manifest:
        # The manifest's own totals when it has them (a packed tail shard may carry 0 documents).
        totals = {k: manifest[k] if k in manifest else sum(s.get(k) or 0 for s in shards)
                  for k in ("documents", "tokens", "sequences")}
        out += ["<h3>Token shards</h3>", scalars({**manifest, "shards": len(shards), **totals})]
        splits = manifest.get("splits") or {}
        if isinstance(splits, dict) and splits:
            keys = [k for k in ("documents", "tokens", "sequences", "tokens_dropped") if any(k in v for v in splits.values())]
            out.append(table(["split", *keys], [[name, *[num(v.get(k)) for k in keys]] for name, v in splits.items()],
                             set(range(1, len(keys) + 1))))
        labels = [Path(str(s.get("path") or s.get("file") or i)).name for i, s in enumerate(shards)]
        out.append(img(plots.bar_chart(labels[:MAX_LISTED], [s.get("tokens") or 0 for s in shards[:MAX_LISTED]],
                                       "Tokens per shard"), "tokens per shard"))
        rows = [[label, s.get("split"), num(s.get("documents")), num(s.get("tokens")), num(s.get("sequences"))]
                for label, s in zip(labels, shards[:MAX_LISTED])]
        if rows:
            out.append(table(["shard", "split", "documents", "tokens", "sequences"], rows, {2, 3, 4}))
    if t.get("loss"):
        out += ["<h3>Training loss</h3>", img(plots.loss_curve(t["loss"]), "training loss")]
    else:
        out.append(not_run("Training (train/loss.csv)"))
    return "".join(out)


def _run(r: dict) -> str:
    failed = r["shards_failed"]
    head = {"config": r["config_path"], "started": r["started"], "finished": r["finished"],
            "shards": r["shards_total"], "shards failed": len(failed), "documents/s": r["documents_per_second"]}
    out = [scalars(head)]
    if r["stage_seconds"]:
        names = list(r["stage_seconds"])
        out += ["<h3>Time per stage</h3>",
                img(plots.bar_chart(names, [r["stage_seconds"][n] or 0 for n in names], "Seconds per stage"), "time"),
                table(["stage", "seconds"], [[n, num(r["stage_seconds"][n])] for n in names], {1})]
    if r["steps"]:
        rows = []
        for name, s in r["steps"].items():
            s = s or {}
            rate = (s.get("documents_in") or 0) / s["seconds"] if s.get("seconds") else None
            rows.append([name, num(s.get("documents_in")), num(s.get("documents_out")), num(s.get("seconds")), num(rate)])
        out += ["<h3>Steps</h3>", table(["step", "documents in", "documents out", "seconds", "documents/s"], rows, {1, 2, 3, 4})]
    out.append(f"<h3>Failed shards ({len(failed)})</h3>")
    if failed:
        rows = [[s.get("shard"), Raw(f'<span class="error">{esc(str(s.get("error", ""))[:ERROR_CHARS])}</span>'),
                 num(s.get("partial")), num(s.get("documents_read"))] for s in failed]
        out.append(table(["shard", "error", "partial", "documents read"], rows, {3}))
    inputs = r["inputs"]
    more = f"<li>… and {len(inputs) - MAX_LISTED:,} more</li>" if len(inputs) > MAX_LISTED else ""
    out.append(f"<h3>Input shards ({len(inputs):,})</h3><ul>"
               + "".join(f"<li><code>{esc(p)}</code></li>" for p in inputs[:MAX_LISTED]) + more + "</ul>")
    if r["versions"]:
        out += ["<h3>Package versions</h3>", table(["package", "version"], [[k, v] for k, v in r["versions"].items()])]
    out.append(f"<h3>Config as run</h3><pre>{esc(r['config_yaml'] or '(not recorded)')}</pre>")
    return "".join(out)


def render(f: dict) -> str:
    body = {
        "funnel": _funnel(f), "drops": _drops(f), "distributions": _distributions(f),
        "dedup": _dedup(f["dedup"]) if f["dedup"] else not_run("Dedup (dedup/stats.json)"),
        "decontamination": _decontamination(f["decontamination"]) if f.get("decontamination") else None,
        "pii": _pii(f["pii"]) if f["pii"] is not None else not_run("PII masking (pii_* counters)"),
        "mix": _mix(f["mix"]) if f["mix"] else not_run("Mixing (mix/manifest.json)"),
        "tokens": _tokens(f["tokens"]) if f["tokens"] else not_run("Tokenizer and tokens (tokenizer/, tokens/)"),
        "run": _run(f["run"]),
    }
    shown = [(key, title) for key, title in SECTIONS if body[key] is not None]  # optional steps: only when run
    sections = "\n".join(f'<section id="{key}"><h2>{esc(title)}</h2>{body[key]}</section>' for key, title in shown)
    nav = "".join(f'<a href="#{key}">{esc(title)}</a>' for key, title in shown)
    kept_share = f["documents_kept"] / f["documents_in"] if f["documents_in"] else None
    cards = [("documents in", num(f["documents_in"])), ("kept", num(f["documents_kept"])),
             ("dropped", num(f["documents_dropped_total"])), ("kept share", pct(kept_share)),
             ("bytes in", size(f["bytes_in"])), ("bytes kept", size(f["bytes_kept"]))]
    header = (f"<h1>Data-quality report</h1><div class=\"muted\">{esc(f['run_dir'])} · "
              f"{esc(f['run']['started'] or '')} → {esc(f['run']['finished'] or '')}</div><div class=\"cards\">"
              + "".join(f'<div class="card"><div class="v">{esc(v)}</div><div class="k">{esc(k)}</div></div>'
                        for k, v in cards) + "</div>")
    page = Template(TEMPLATE.read_text(encoding="utf-8"))
    return page.substitute(title=esc(f"ko-curate report: {Path(f['run_dir']).name}"), nav=nav, header=header,
                           sections=sections)
