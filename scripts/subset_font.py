"""Make the CJK font the charts use: a subset of Noto Sans SC (SIL OFL 1.1) in config/fonts/.

Dev-time only (fonttools is a dev extra; nothing runs this in production). The full font comes from
the npm registry package ``@expo-google-fonts/noto-sans-sc`` (a TTF per weight; its LICENSE_FONT is the
OFL, copied to config/fonts/OFL.txt)::

    cd /tmp && npm pack @expo-google-fonts/noto-sans-sc && tar xzf expo-google-fonts-noto-sans-sc-*.tgz
    .venv/bin/python scripts/subset_font.py /tmp/package/400Regular/NotoSansSC_400Regular.ttf

What is kept: every character of GB 2312 (levels 1 and 2: the 6,763 hanzi of county, township,
village and enterprise names, plus its symbol rows), ASCII and Latin-1, general punctuation, CJK
symbols and punctuation, fullwidth forms, and every character of the project's Chinese message
catalogues and the shipped rules file. Hinting and layout features are dropped (charts are rendered
at a fixed size by FreeType, which does not need them). A unit name with a character outside the
subset still renders: that character shows as an empty box, and matplotlib warns (see
services/scoring/chart.py).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fontTools import subset

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "config" / "fonts" / "NotoSansSC-Regular-subset.ttf"


def gb2312() -> set[str]:
    """Every character GB 2312 encodes (symbol rows 0xA1–0xA9, hanzi rows 0xB0–0xF7)."""
    out: set[str] = set()
    for row in range(0xA1, 0xF8):
        for cell in range(0xA1, 0xFF):
            try:
                out.add(bytes([row, cell]).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    return out


def ranges() -> set[str]:
    spans = [(0x20, 0x7E), (0xA0, 0xFF), (0x2000, 0x206F), (0x2190, 0x21FF), (0x2460, 0x24FF),
             (0x25A0, 0x25FF), (0x3000, 0x303F), (0xFF00, 0xFFEF)]
    return {chr(c) for lo, hi in spans for c in range(lo, hi + 1)}


def catalogue_text() -> set[str]:
    out: set[str] = set()
    for path in [*ROOT.glob("config/locales/zh/LC_MESSAGES/*.po"), ROOT / "config" / "assessment_rules.toml"]:
        out |= set(path.read_text(encoding="utf-8"))
    return {c for c in out if ord(c) >= 0x20}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("source", type=Path, help="NotoSansSC_400Regular.ttf (the full font)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    chars = gb2312() | ranges() | catalogue_text()
    options = subset.Options()
    options.hinting = False
    options.layout_features = []
    options.name_IDs = ["*"]  # keep the copyright and licence records
    options.notdef_outline = True
    font = subset.load_font(str(args.source), options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(ord(c) for c in chars))
    subsetter.subset(font)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    subset.save_font(font, str(args.out), options)
    kept = len(font.getBestCmap())
    print(f"{args.out}: {kept} characters, {args.out.stat().st_size / 1e6:.2f} MB", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
