"""The ranking chart: Chinese unit names really render with the shipped font (no missing-glyph warning,
which pytest's filterwarnings=error would also turn into a failure), the bottom of the class is marked
in red, a long class is cut in the middle, and a character no font has is drawn as □ without a crash."""

from __future__ import annotations

import io
import warnings

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from services.scoring import chart as ranking_chart
from tests.support.results_factory import county, unit

RED = (0xD6, 0x27, 0x28)
# Names with level-2 GB 2312 hanzi (亳 鄱 婺 濮 郴 儋), as county place names often have.
RARE_NAMES = ["亳州路街道", "鄱阳湖乡", "婺源镇", "濮阳乡", "郴江镇", "儋耳镇"]


def _pixels(png: bytes, colour: tuple[int, int, int]) -> int:
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    return int((pixels == np.array(colour)).all(axis=-1).sum())


def _glyph_warnings(caught: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in caught if "Glyph" in str(w.message)]


def test_chinese_unit_names_render_with_the_shipped_font() -> None:
    units = [unit(i + 1, name, f"{90 - i}", i + 1, size=len(RARE_NAMES), bottom=i >= 3)
             for i, name in enumerate(RARE_NAMES)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        chart = ranking_chart.render(2027, "乡镇", units, "zh")
    assert _glyph_warnings(caught) == [] and chart.missing == frozenset()
    assert chart.png.startswith(b"\x89PNG") and (chart.shown, chart.omitted) == (6, 0)
    assert ranking_chart.FONT_FAMILY == "Noto Sans SC"
    assert ranking_chart.FONT_PATH.stat().st_size < 3_000_000
    assert (ranking_chart.FONT_PATH.parent / "OFL.txt").read_text().count("SIL OPEN FONT LICENSE") >= 1


def test_without_the_cjk_font_the_same_names_would_be_missing_glyphs() -> None:
    """The check above means something: drawn with matplotlib's default font alone, Chinese warns."""
    fig = Figure()
    FigureCanvasAgg(fig)
    fig.text(0.1, 0.5, "城关镇", fontfamily="DejaVu Sans")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.canvas.draw()
    assert _glyph_warnings(caught)


def test_the_bottom_of_the_class_is_red_and_english_labels_render() -> None:
    townships = county(townships=8).by_class()["乡镇"]
    chart = ranking_chart.render(2027, "乡镇", townships, "en")
    assert _pixels(chart.png, RED) > 500
    nobody_bottom = [unit(i + 1, f"第{i + 1}镇", f"{90 - i}", i + 1) for i in range(4)]
    assert _pixels(ranking_chart.render(2027, "乡镇", nobody_bottom, "zh").png, RED) == 0


def test_a_long_class_keeps_its_top_and_bottom() -> None:
    villages = county(townships=0, villages=60).by_class()["村"]
    chart = ranking_chart.render(2027, "村", villages, "zh")
    assert (chart.shown, chart.omitted) == (40, 20)
    height = Image.open(io.BytesIO(chart.png)).height
    assert height < 2500  # stays within what Telegram accepts for a photo


def test_a_character_no_font_has_is_drawn_as_a_box_and_reported(caplog) -> None:
    units = [unit(1, "䶮山村", "88", 1, size=2, code="V9"), unit(2, "红星村", "70", 2, size=2, bottom=True)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        chart = ranking_chart.render(2027, "村", units, "zh")
    assert chart.missing == frozenset({"䶮"}) and _glyph_warnings(caught) == []
    assert chart.png.startswith(b"\x89PNG")
    assert "V9" in caplog.text and "䶮" in caplog.text
    assert ranking_chart.drawable("䶮山村") == ("□山村", {"䶮"})
