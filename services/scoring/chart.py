"""The ranking of one class as a PNG bar chart: one horizontal bar per unit in rank order, the total at
the end of each bar, the bottom of the class (排名后三位, flagged for leadership review) in red and
vetoed units (一票否决 / survey veto) hatched, with a legend. matplotlib's Agg canvas, no pyplot (no
global figure state, safe in a server).

The font is a subset of Noto Sans SC (SIL OFL 1.1, ``config/fonts/``; made by scripts/subset_font.py:
GB 2312's 6,763 hanzi, ASCII, CJK punctuation, fullwidth forms and the catalogues' text), registered
with matplotlib at import. A character of a unit name that neither it nor DejaVu Sans (matplotlib's
own fallback) has would make matplotlib warn "Glyph … missing" and draw an empty box. We look
every label up in the fonts' character maps first: such a character is drawn as □ on purpose, logged
with the unit's code, and listed in ``Chart.missing`` — no warning, no crash. (Under pytest's
``filterwarnings = error`` a glyph matplotlib could not draw would fail the test, so the chart tests
prove that the names really render.)
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path

import matplotlib
from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ft2font import FT2Font
from matplotlib.patches import Patch

from config.i18n import t
from services.scoring.formula import display
from services.scoring.results import UnitResult
from services.scoring.text import rows

log = logging.getLogger(__name__)

FONT_PATH = Path(__file__).resolve().parents[2] / "config" / "fonts" / "NotoSansSC-Regular-subset.ttf"
font_manager.fontManager.addfont(str(FONT_PATH))
FONT_FAMILY = font_manager.FontProperties(fname=str(FONT_PATH)).get_name()  # "Noto Sans SC"
FALLBACK_FAMILY = "DejaVu Sans"  # ships with matplotlib
PLACEHOLDER = "□"
BOTTOM_COLOUR, VETO_COLOUR, OTHER_COLOUR = "#d62728", "#7f7f7f", "#1f77b4"


@dataclass(frozen=True)
class Chart:
    png: bytes
    missing: frozenset[str]  # characters of unit names no font has (drawn as □)
    shown: int  # units drawn
    omitted: int  # units left out in the middle of a long class


@cache
def _charmap() -> frozenset[int]:
    fallback = font_manager.findfont(font_manager.FontProperties(family=FALLBACK_FAMILY), fallback_to_default=True)
    codes: set[int] = set()
    for path in (str(FONT_PATH), fallback):
        codes |= set(FT2Font(path).get_charmap())
    return frozenset(codes)


def drawable(text: str) -> tuple[str, set[str]]:
    """``text`` with every character no font has replaced by □, and those characters."""
    known = _charmap()
    missing = {c for c in text if ord(c) not in known and not c.isspace()}
    return "".join(PLACEHOLDER if c in missing else c for c in text), missing


def render(year: int, unit_class: str, units: list[UnitResult], lang: str) -> Chart:
    """The PNG of one class's ranking, labels in ``lang`` (unit names as they are)."""
    shown = rows(units)
    labels: list[str] = []
    missing: set[str] = set()
    for row in shown:
        if isinstance(row, int):
            labels.append(t("chart.omitted", lang, count=row))
            continue
        label, lost = drawable(f"{row.rank}. {row.unit_name}")
        if lost:
            log.warning("chart: unit %s has characters no font draws: %s", row.unit_code, "".join(sorted(lost)))
            missing |= lost
        labels.append(label)
    title, lost = drawable(t("chart.title", lang, year=year, unit_class=unit_class))
    missing |= lost

    height = 1.6 + 0.34 * max(len(shown), 1)
    with matplotlib.rc_context({"font.family": [FONT_FAMILY, FALLBACK_FAMILY], "font.size": 10,
                                "axes.unicode_minus": False}):
        fig = Figure(figsize=(8.5, height), dpi=110, layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        positions = list(range(len(shown)))[::-1]  # rank 1 at the top
        top = max((u.total for u in shown if not isinstance(u, int)), default=Decimal(0))
        for y, row in zip(positions, shown, strict=True):
            if isinstance(row, int):
                continue
            colour = BOTTOM_COLOUR if row.bottom else OTHER_COLOUR
            ax.barh(y, float(row.total), color=colour, hatch="//" if row.vetoed else None,
                    edgecolor=VETO_COLOUR if row.vetoed else colour)
            ax.text(float(row.total) + float(top or 1) * 0.01, y, display(row.total), va="center", fontsize=9)
        ax.set_yticks(positions, labels)
        ax.set_xlim(0, float(top or 1) * 1.15)
        ax.set_ylim(-0.6, len(shown) - 0.4)
        ax.set_xlabel(t("chart.axis", lang))
        ax.set_title(title)
        ax.spines[["top", "right"]].set_visible(False)
        drawn = [u for u in shown if not isinstance(u, int)]
        handles = [Patch(color=OTHER_COLOUR, label=t("chart.legend_other", lang))]
        if any(u.bottom for u in drawn):
            handles.append(Patch(color=BOTTOM_COLOUR, label=t("chart.legend_bottom", lang)))
        if any(u.vetoed for u in drawn):
            handles.append(Patch(facecolor="white", edgecolor=VETO_COLOUR, hatch="//",
                                 label=t("chart.legend_vetoed", lang)))
        fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), fontsize=9, frameon=False)
        out = io.BytesIO()
        fig.savefig(out, format="png")
    omitted = sum(r for r in shown if isinstance(r, int))
    return Chart(png=out.getvalue(), missing=frozenset(missing), shown=len(shown) - (1 if omitted else 0),
                 omitted=omitted)
