"""Plots of the data-quality report, drawn with matplotlib (Agg) from the figures in `report.json`.

Each function takes part of the figures dict built by `pipeline.report.data.collect` and returns a PNG as a
`data:image/png;base64,...` URI for an `<img>` tag (so `report.html` is one file that opens offline), or
None when there is nothing to draw. Figures are drawn on `matplotlib.figure.Figure` objects, never pyplot,
so no global state or GUI backend is touched. Plot text is kept to ASCII labels (reasons, step and column
names); when a Korean font (Debian `fonts-nanum`) is installed it is added as a fallback for source names.
"""

from __future__ import annotations

import base64
import io
import logging
import warnings

import numpy as np
from matplotlib import font_manager
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.ticker import FuncFormatter, NullFormatter

KEPT_COLOR, DROPPED_COLOR, LINE_COLOR = "#2b7bba", "#d9534f", "#222222"
DPI = 100
_FONTS: list[str] | None = None


def _font_family() -> list[str]:
    """DejaVu Sans (bundled with matplotlib), then a Korean font if one is installed."""
    global _FONTS
    if _FONTS is None:
        installed = {f.name for f in font_manager.fontManager.ttflist}
        korean = [name for name in ("NanumGothic", "Noto Sans CJK KR", "NanumBarunGothic") if name in installed]
        _FONTS = ["DejaVu Sans", *korean[:1]]
    return _FONTS


def _figure(width: float = 7.0, height: float = 3.2, ncols: int = 1) -> tuple[Figure, list]:
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    for ax in axes:
        ax.grid(axis="y", alpha=0.3)
        ax.spines[["top", "right"]].set_visible(False)
    return fig, list(axes)


def _plain_log(axis) -> None:
    """Log scale with plain tick labels (100, 1000) and no labels on minor ticks, which would overlap."""
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.10g}"))
    axis.set_minor_formatter(NullFormatter())


def _byte_unit(largest: float) -> tuple[float, str]:
    for scale, unit in ((1e12, "TB"), (1e9, "GB"), (1e6, "MB"), (1e3, "kB")):
        if largest >= scale:
            return scale, unit
    return 1.0, "bytes"


def _encode(fig: Figure) -> str:
    buf = io.BytesIO()
    # Without a Korean font, a Hangul source name would warn once per glyph; the label still renders as boxes.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
        for text in fig.findobj(Text):
            text.set_fontfamily(_font_family())
        fig.savefig(buf, format="png", dpi=DPI)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def funnel(stages: list[dict]) -> str | None:
    """Documents and bytes after each stage as horizontal bars, first stage on top (names stay readable)."""
    if not stages:
        return None
    names = [str(s.get("stage", "")) for s in stages]
    fig, (ax_docs, ax_bytes) = _figure(10.0, 0.9 + 0.28 * len(names), ncols=2)
    y = np.arange(len(names))[::-1]
    byte_counts = [s.get("bytes") or 0 for s in stages]
    scale, unit = _byte_unit(max(byte_counts))
    ax_docs.barh(y, [s.get("documents") or 0 for s in stages], color=KEPT_COLOR)
    ax_docs.set_title("Documents after each stage")
    ax_docs.set_yticks(y, names)
    ax_bytes.barh(y, [b / scale for b in byte_counts], color="#5cb85c")
    ax_bytes.set_title(f"Text after each stage ({unit})")
    ax_bytes.set_yticks(y, [""] * len(names))
    for ax in (ax_docs, ax_bytes):
        ax.grid(axis="x", alpha=0.3)
        ax.grid(axis="y", visible=False)
    return _encode(fig)


def drop_reasons(drops: list[dict]) -> str | None:
    if not drops:
        return None
    fig, (ax,) = _figure(7.0, 0.6 + 0.32 * len(drops))
    y = np.arange(len(drops))[::-1]
    ax.barh(y, [d["count"] for d in drops], color=DROPPED_COLOR)
    ax.set_yticks(y, [d["reason"] for d in drops])
    ax.set_xlabel("documents dropped")
    ax.grid(axis="x", alpha=0.3)
    return _encode(fig)


def distribution(dist: dict) -> str | None:
    """Kept and dropped histograms overlaid on shared bins, thresholds as solid lines, cutoffs dashed."""
    if not dist.get("bins"):
        return None
    bins = np.asarray(dist["bins"])
    fig, (ax,) = _figure(6.4, 3.0)
    for key, color, label in (("kept", KEPT_COLOR, "kept"), ("dropped", DROPPED_COLOR, "dropped")):
        counts = np.asarray(dist[key])
        if counts.sum():
            ax.stairs(counts, bins, fill=True, alpha=0.45, color=color, label=f"{label} (n={dist[key + '_n']:,})")
    for t in dist.get("thresholds", []):
        ax.axvline(t["value"], color=LINE_COLOR, lw=1.6, label=f"{t['step']}.{t['key']} = {t['value']:g}")
    for c in dist.get("cutoffs", []):
        ax.axvline(c["value"], color="#8e44ad", lw=1.2, ls="--", label=f"cutoff {c['name']} = {c['value']:g}")
    if dist.get("log_x"):
        ax.set_xscale("log")
        _plain_log(ax.xaxis)
    ax.set_title(dist["title"])
    ax.set_ylabel("documents (sample)")
    ax.legend(fontsize=8, frameon=False)
    return _encode(fig)


def bar_chart(labels: list[str], values: list[float], title: str, xlabel: str = "", log: bool = False) -> str | None:
    if not labels:
        return None
    fig, (ax,) = _figure(6.4, 3.0)
    x = np.arange(len(labels))
    ax.bar(x, values, color=KEPT_COLOR)
    ax.set_xticks(x, labels, rotation=30 if len(labels) > 4 else 0, ha="right" if len(labels) > 4 else "center")
    if log:
        ax.set_yscale("log")
        _plain_log(ax.yaxis)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    return _encode(fig)


def mix_shares(sources: list[dict]) -> str | None:
    """Target share next to the actual document and token shares, one group of bars per source."""
    if not sources:
        return None
    fig, (ax,) = _figure(6.4, 3.0)
    x = np.arange(len(sources))
    width = 0.27
    series = (("target_share", "target", "#999999"), ("documents_share", "documents", KEPT_COLOR),
              ("tokens_share", "tokens", "#5cb85c"))
    for i, (key, label, color) in enumerate(series):
        ax.bar(x + (i - 1) * width, [s.get(key) or 0 for s in sources], width, label=label, color=color)
    ax.set_xticks(x, [str(s.get("name", "")) for s in sources])
    ax.set_ylabel("share")
    ax.set_title("Mix: target vs actual share per source")
    ax.legend(fontsize=8, frameon=False)
    return _encode(fig)


def loss_curve(rows: list[dict]) -> str | None:
    if not rows:
        return None
    fig, (ax,) = _figure(6.4, 3.0)
    for key, color in (("train_loss", KEPT_COLOR), ("val_loss", DROPPED_COLOR)):
        points = [(r["step"], r[key]) for r in rows if r.get(key) is not None]
        if points:
            ax.plot(*zip(*points), color=color, label=key, marker="." if len(points) < 30 else None)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title("Training loss")
    ax.legend(fontsize=8, frameon=False)
    return _encode(fig)
