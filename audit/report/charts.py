"""Vector charts for the report: matplotlib figures saved as SVG and embedded as data: URIs.

Charts are drawn with the object API (``Figure`` + the SVG canvas), never pyplot, so rendering
keeps no global state. Text is drawn as paths with a font that has Chinese glyphs (found through
fontconfig), so a chart looks the same in the PDF and in any browser. The SVG carries no date
and fixed element ids: the same data gives the same bytes.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
from functools import lru_cache
from io import StringIO
from typing import Any, Sequence

# Severity and status colours, shared with templates/report.css.
INK = "#1f2933"
GRID = "#d5dae1"
BLUE = "#1f4e79"
LIGHT_BLUE = "#8fb3d9"
RED = "#b42318"
AMBER = "#b54708"
CJK_FAMILIES = ("Noto Sans CJK SC", "Source Han Sans SC", "Noto Sans SC", "WenQuanYi Zen Hei")
WIDTH_IN = 6.3  # the text width of an A4 page with the report's margins
DATA_URI_PREFIX = "data:image/svg+xml;base64,"


@lru_cache(maxsize=1)
def _fonts() -> list[str]:
    """Font families for chart text: a CJK family when fontconfig has one, then DejaVu Sans."""
    from matplotlib import font_manager

    known = {f.name for f in font_manager.fontManager.ttflist}
    families = []
    for family in CJK_FAMILIES:
        if family not in known and shutil.which("fc-match"):
            # NOTE: matplotlib's font cache predates fonts installed after it was built;
            # fontconfig knows where the file is, so register it directly.
            found = subprocess.run(["fc-match", "-f", "%{family}|%{file}", family],
                                   capture_output=True, text=True, check=False).stdout
            name, _, path = found.partition("|")
            if family in name.split(",") and path:
                font_manager.fontManager.addfont(path)
                known = {f.name for f in font_manager.fontManager.ttflist}
        if family in known:
            families.append(family)
            break
    return [*families, "DejaVu Sans"]


def _rc() -> dict[str, Any]:
    return {
        "font.family": _fonts(),
        "font.size": 8,
        "axes.titlesize": 9,
        "axes.labelsize": 8,
        "axes.edgecolor": GRID,
        "axes.labelcolor": INK,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "xtick.color": INK,
        "ytick.color": INK,
        "text.color": INK,
        "legend.frameon": False,
        "legend.fontsize": 7.5,
        "svg.fonttype": "path",
        "svg.hashsalt": "platform-audit-report",
        "axes.unicode_minus": False,
    }


def label(text: Any) -> str:
    """Chart text from data: a ``$`` would start matplotlib's math mode, so it is escaped."""
    return str(text).replace("$", r"\$")


def _figure(height_in: float = 2.6):
    from matplotlib.figure import Figure

    return Figure(figsize=(WIDTH_IN, height_in), layout="constrained")


def _to_data_uri(fig) -> str:
    from matplotlib.backends.backend_svg import FigureCanvasSVG

    FigureCanvasSVG(fig)
    buffer = StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    return DATA_URI_PREFIX + base64.b64encode(buffer.getvalue().encode("utf-8")).decode("ascii")


def _draw(fn, *args, height_in: float = 2.6, **kwargs) -> str:
    import matplotlib

    with matplotlib.rc_context(_rc()):
        fig = _figure(height_in)
        fn(fig, *args, **kwargs)
        return _to_data_uri(fig)


def _grid(ax, axis: str = "y") -> None:
    ax.grid(axis=axis, color=GRID, linewidth=0.6)
    ax.set_axisbelow(True)


def _thousands(ax, axis: str = "y", integer: bool = False) -> None:
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_formatter(FuncFormatter(lambda x, _pos: f"{x:,.0f}"))
    if integer:  # counts: no tick at 2.5 labelled "2"
        target.set_major_locator(MaxNLocator(integer=True))


# Money on an axis, by language: thousands, millions, billions in English; in Chinese the
# units a reader counts in, 万 (10^4) and 亿 (10^8).
MONEY_STEPS = {"en": ((1e9, "B"), (1e6, "M"), (1e3, "k")), "zh": ((1e8, "亿"), (1e4, "万"))}


def _compact(ax, axis: str = "x", lang: str = "en") -> None:
    """Money on an axis: 2,500,000 -> 2.5M, 40,000 -> 40k; in Chinese 250万, 1.2亿 (labels
    that do not collide)."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    steps = MONEY_STEPS.get(lang, MONEY_STEPS["en"])

    def fmt(x, _pos):
        for size, suffix in steps:
            if abs(x) >= size:
                return f"{x / size:,.1f}".rstrip("0").rstrip(".") + suffix
        return f"{x:,.0f}"

    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_locator(MaxNLocator(nbins=6))
    target.set_major_formatter(FuncFormatter(fmt))


def _legend_above(ax, handles=None, labels=None) -> None:
    """The legend in one row above the plot, where it cannot hide a line."""
    if handles is None:
        handles, labels = ax.get_legend_handles_labels()
    ax.legend(handles, labels, loc="lower left", bbox_to_anchor=(0, 1.01), ncols=len(handles),
              borderaxespad=0.2, handlelength=1.6)


def _percent(ax, axis: str = "x", decimals: int = 0) -> None:
    from matplotlib.ticker import PercentFormatter

    (ax.xaxis if axis == "x" else ax.yaxis).set_major_formatter(PercentFormatter(1.0, decimals))


# --- the charts ---------------------------------------------------------------------------------

def leverage_histogram(buckets: Sequence[dict], texts: dict[str, str]) -> str:
    """Accounts per leverage bucket; buckets above the retail cap in red."""
    def draw(fig):
        ax = fig.subplots()
        names = [label(b["label"]) for b in buckets]
        counts = [b["accounts"] for b in buckets]
        colours = [RED if b.get("over_cap") else BLUE for b in buckets]
        bars = ax.bar(names, counts, color=colours, width=0.7)
        ax.bar_label(bars, labels=[f"{c:,}" for c in counts], padding=2, fontsize=7.5)
        ax.set_ylabel(label(texts["y"]))
        ax.set_xlabel(label(texts["x"]))
        ax.margins(y=0.15)
        _thousands(ax, integer=True)
        _grid(ax)
    return _draw(draw, height_in=2.3)


def fall_curve(curve: dict[str, list], texts: dict[str, str]) -> str:
    """Accounts in margin call and wiped out as a uniform price fall deepens."""
    def draw(fig):
        ax = fig.subplots()
        if "in_call" in curve:
            ax.step(curve["fall"], curve["in_call"], where="post", color=AMBER, linewidth=1.6,
                    label=label(texts["in_call"]))
        ax.step(curve["fall"], curve["wiped_out"], where="post", color=RED, linewidth=1.6,
                label=label(texts["wiped_out"]))
        ax.set_xlabel(label(texts["x"]))
        ax.set_ylabel(label(texts["y"]))
        ax.set_xlim(0, curve["fall"][-1])
        ax.set_ylim(bottom=0)
        _percent(ax, "x")
        _thousands(ax, integer=True)
        _grid(ax, "both")
        _legend_above(ax)
    return _draw(draw, height_in=2.2)


def scenario_shortfall(scenarios: Sequence[dict], texts: dict[str, str]) -> str:
    """Static and spiral shortfall per scenario, as horizontal bars (largest at the top)."""
    def draw(fig):
        import numpy as np

        ax = fig.subplots()
        rows = list(reversed(scenarios))
        y = np.arange(len(rows))
        static = [_num(s.get("shortfall")) for s in rows]
        spiral = [_num(s.get("spiral_shortfall")) for s in rows]
        # NOTE: the verdict's loss (the multi-day path) between the static loss and the
        # one-instant sensitivity; a file without it keeps the two bars it had.
        headline = [s.get("headline") if s.get("engine") == "path" else None for s in rows]
        if "path" in texts and any(h is not None for h in headline):
            ax.barh(y + 0.27, static, height=0.26, color=LIGHT_BLUE, label=label(texts["static"]))
            ax.barh(y, [_num(h) for h in headline], height=0.26, color=BLUE,
                    label=label(texts["path"]))
            ax.barh(y - 0.27, spiral, height=0.26, color=RED, label=label(texts["spiral"]))
        else:
            ax.barh(y + 0.2, static, height=0.38, color=LIGHT_BLUE, label=label(texts["static"]))
            ax.barh(y - 0.2, spiral, height=0.38, color=RED, label=label(texts["spiral"]))
        ax.set_yticks(y, [label(name) for name in _names(rows)])
        ax.set_xlabel(label(texts["x"]))
        _compact(ax, "x", texts.get("lang", "en"))
        _grid(ax, "x")
        _legend_above(ax)
    return _draw(draw, height_in=min(5.0, max(1.8, 0.3 * len(scenarios) + 0.8)))


def spiral_rounds(rounds: Sequence[dict], texts: dict[str, str]) -> str:
    """Accounts liquidated per round (bars) and the cumulative loss (line)."""
    def draw(fig):
        ax = fig.subplots()
        x = [r.get("round") for r in rounds]
        ax.bar(x, [_num(r.get("accounts_liquidated")) for r in rounds], color=LIGHT_BLUE,
               width=0.5, label=label(texts["accounts"]))
        ax.set_xlabel(label(texts["x"]))
        ax.set_ylabel(label(texts["accounts"]))
        ax.set_xticks(x)
        _thousands(ax, integer=True)
        _grid(ax)
        loss = _money_on_right_axis(ax, x, [_num(r.get("cumulative_loss")) for r in rounds], "o",
                                    texts["loss"], texts.get("lang", "en"))
        # NOTE: after the twin axis has plotted (it rescales x): one round stays a bar.
        pad = max(0.75, 2.5 - 0.25 * len(x))
        ax.set_xlim(min(x) - pad, max(x) + pad)
        _legend_of_both_axes(ax, loss)
    return _draw(draw)


def stress_path(days: Sequence[dict], capital: float | None, texts: dict[str, str]) -> str:
    """The multi-day path: the book's price index by day (left axis) and the platform's
    shortfall at each close (right axis, money), with net capital as a dashed line."""
    def draw(fig):
        ax = fig.subplots()
        x = [d.get("day") for d in days]
        ax.plot(x, [_num(d.get("index")) for d in days], color=BLUE, marker="o", markersize=3,
                linewidth=1.6, label=label(texts["index"]))
        ax.set_xlabel(label(texts["x"]))
        ax.set_ylabel(label(texts["index"]))
        ax.set_ylim(0, 1.05)
        ax.set_xticks(x)
        _percent(ax, "y")
        _grid(ax)
        loss = _money_on_right_axis(ax, x, [_num(d.get("shortfall")) for d in days], "s",
                                    texts["shortfall"], texts.get("lang", "en"))
        if capital is not None and _num(capital) > 0:
            loss.axhline(_num(capital), color=RED, linestyle="--", linewidth=0.9,
                         label=label(texts["capital"]))
            top = max(_num(capital), *(_num(d.get("shortfall")) for d in days))
            loss.set_ylim(0, top * 1.1)
        _legend_of_both_axes(ax, loss)
    return _draw(draw, height_in=2.4)


def cost_frontier(frontier: dict, texts: dict[str, str]) -> str:
    """The cost of risk control: shortfall (y) against interest forgone a year (x; debt removed
    when no rate is disclosed), one line per scenario from today's book through the leverage
    caps (solid) and the concentration limits (dashed), each point labelled by its level."""
    colours = (RED, BLUE, AMBER, LIGHT_BLUE, INK)
    priced = frontier.get("rate") is not None

    def draw(fig):
        ax = fig.subplots()
        for i, scenario in enumerate(frontier["scenarios"]):
            colour = colours[i % len(colours)]
            for lever, style, marker in (("leverage_cap", "-", "o"),
                                         ("concentration_limit", "--", "s")):
                rows = [r for r in frontier["rows"] if r.get("lever") == lever]
                if not rows:
                    continue
                x = [0.0] + [_num(r.get("interest_forgone" if priced else "debt_removed"))
                             for r in rows]
                y = [_num(scenario.get("shortfall"))] + [_num(r["scenarios"][i].get("shortfall"))
                                                         for r in rows]
                name = f"{_short(scenario.get('title') or scenario.get('name'), 28)}\n" \
                       f"{texts[lever]}"
                ax.plot(x, y, style, color=colour, marker=marker, markersize=3, linewidth=1.3,
                        label=label(name))
                for r, xi, yi in zip(rows, x[1:], y[1:]):
                    ax.annotate(label(_level(r)), (xi, yi), textcoords="offset points",
                                xytext=(3, 3), fontsize=6.5, color=colour)
        ax.set_xlabel(label(texts["x"] if priced else texts["x_debt"]))
        ax.set_ylabel(label(texts["y"]))
        ax.set_xlim(left=0)
        ax.set_ylim(bottom=0)
        _compact(ax, "x", texts.get("lang", "en"))
        _compact(ax, "y", texts.get("lang", "en"))
        _grid(ax, "both")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncols=2, fontsize=6.5,
                  handlelength=2.2)
    return _draw(draw, height_in=3.4)


def _level(row: dict) -> str:
    level = _num(row.get("level"))
    if row.get("lever") == "concentration_limit":
        return f"{level:.0%}"
    return f"{level:g}x"


def _money_on_right_axis(ax, x, values, marker: str, text: str, lang: str = "en"):
    """A red money line on a second y axis at the right, starting at zero."""
    loss = ax.twinx()
    loss.spines["right"].set_visible(True)
    loss.plot(x, values, color=RED, marker=marker, markersize=3, linewidth=1.6, label=label(text))
    loss.set_ylabel(label(text))
    loss.set_ylim(bottom=0)
    _compact(loss, "y", lang)
    return loss


def _legend_of_both_axes(ax, twin) -> None:
    handles, labels = ax.get_legend_handles_labels()
    more_handles, more_labels = twin.get_legend_handles_labels()
    _legend_above(ax, handles + more_handles, labels + more_labels)


def _num(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    return number if number == number else 0.0


def _names(scenarios: Sequence[dict], limit: int = 34) -> list[str]:
    """Chart names of scenarios: short where that tells them apart, the whole title wrapped
    where two short names would read the same (the largest name's 5 and 10 limit-downs)."""
    titles = [str(s.get("title") or s.get("name")) for s in scenarios]
    short = [_short(t, limit) for t in titles]
    return [name if short.count(name) == 1 else "\n".join(_wrap(title, limit))
            for name, title in zip(short, titles)]


def _short(text: Any, limit: int = 34) -> str:
    """A scenario's name for a chart: its title up to the first colon (the episode, before the
    figures the table gives), wrapped onto lines of ``limit`` columns, never cut mid-word with
    an ellipsis. A CJK character counts two columns."""
    text = str(text).strip()
    for colon in ("：", ": "):
        head = text.split(colon, 1)[0].strip()
        if head and head != text:
            text = head
            break
    return "\n".join(_wrap(text, limit))


def _wrap(text: str, columns: int) -> list[str]:
    import textwrap
    import unicodedata

    def width(s: str) -> int:
        return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)

    if width(text) == len(text):
        return textwrap.wrap(text, columns) or [text]
    # NOTE: Chinese has no spaces to break at: break between characters, keeping a run of
    # Latin letters or digits (a year, a percentage, "A股") whole.
    import re

    lines, line = [], ""
    for token in re.findall(r"[A-Za-z0-9.,%+\-/]+|\s+|.", text):
        if line and width(line + token) > columns:
            lines.append(line.rstrip())
            line = token.lstrip()
        else:
            line += token
    if line.strip():
        lines.append(line.rstrip())
    return lines
