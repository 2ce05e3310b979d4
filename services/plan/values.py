"""Values in a target's measure: reading what a cadre typed, and showing values back.

A cadre types the cumulative value reached so far, on a phone, in whatever form comes to hand:
``350``, ``1,234.5``, ``１２，３４５．６``, ``1.2万``, ``3亿5000万``, ``一万二千``, ``两千三百``,
``350万元``, ``12个``. The rule from the customer: "a report of 350万 on a target measured in 万元
means 350; on a target measured in 元 or 个 it means 3,500,000". So

* a number with a typed magnitude (万 or 亿 anywhere in it) is a count of base units, and is
  divided by the measure's own magnitude: ``350万`` on 万元 is 350, on 个 is 3,500,000;
* a number followed by the measure's base word is a count of base units too: ``3500000元`` on
  万元 is 350;
* a number followed by the measure itself, or with no magnitude and no word at all, is already in
  the measure: ``350`` and ``350万元`` on 万元 are both 350.

千/百/十 are digits of a number (``3千`` = 3000, ``三百五十`` = 350), not magnitudes: ``3千`` on 万元
is 3000 万元, like ``3000``.

Chinese numerals (lower case 一二三, 两, 〇/零, and the financial capitals 壹贰叁 … 拾佰仟萬億) are
evaluated here exactly, in Decimal, together with Arabic digits; colloquial forms such as
``一万二`` (12,000) and ``3亿5`` (350,000,000) are understood. ``cn2an`` is not used for the
arithmetic: it returns floats for fractions and its smart mode drops a minus sign ("负5" → 5.0);
the tests cross-check this evaluator against ``cn2an`` on plain Chinese integers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from babel.numbers import format_decimal

from config.i18n import normalise_language
from services.core.errors import DomainError

MAX_PLACES = 4
MAX_VALUE = Decimal(10) ** 15  # the plan's own limit: exact through NUMERIC(20, 4) and Excel's 15 digits
_QUANTUM = Decimal(1).scaleb(-MAX_PLACES)

_LOCALES = {"zh": "zh_CN", "en": "en"}
_PATTERN = "#,##0.####"

# Magnitude prefixes a measure may carry: 万元, 亿元, 百万元, 千万元, 万亿元.
_MEASURE_PREFIX = re.compile(r"^([十百千]?万亿|[十百千]?[万亿])")
_PREFIX_VALUE = {"十": Decimal(10), "百": Decimal(100), "千": Decimal(1000),
                 "万": Decimal(10_000), "亿": Decimal(100_000_000)}
_NO_SPACE_BEFORE = {"%", "‰"}
_ECHO_MAX = 40  # the input is echoed in error messages, cut to this many characters

# Words that are clearly a measure: a trailing one that is not the target's own is a mismatch,
# anything else trailing is just "not a number".
KNOWN_MEASURES = frozenset({
    "元", "块", "角", "分", "个", "家", "户", "人", "名", "位", "头", "只", "匹",
    "羽", "亩", "公顷", "平方米", "平方公里", "立方米", "吨", "公斤", "千克", "克", "斤",
    "担", "公里", "千米", "米", "厘米", "起", "件", "项", "次", "例", "宗", "辆",
    "台", "套", "座", "间", "栋", "所", "处", "张", "份", "条", "批", "棵", "株",
    "片", "箱", "度", "千瓦", "千瓦时", "兆瓦", "瓦", "天", "日", "小时", "月", "年",
    "%", "‰", "百分点", "km", "kg", "t", "m", "mw", "kw", "kwh",
})

_SPACES = " \t\u00a0\u2009\u202f\u2007\u3000"
_DIGITS = {
    "零": 0, "〇": 0, "一": 1, "壹": 1, "二": 2, "贰": 2, "貳": 2, "两": 2, "兩": 2, "三": 3, "叁": 3, "參": 3,
    "四": 4, "肆": 4, "五": 5, "伍": 5, "六": 6, "陆": 6, "陸": 6, "七": 7, "柒": 7, "八": 8, "捌": 8,
    "九": 9, "玖": 9,
}
_SMALL = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
_BIG = {"万": 10_000, "萬": 10_000, "亿": 100_000_000, "億": 100_000_000}
_POINT = "点點"
_MINUS = ("-", "−", "负", "負")
# An Arabic number: grouped by thousands (, ' or a space) or plain, with an optional fraction.
_LITERAL = re.compile(r"(?:\d{1,3}(?:[,'\u00a0\u2009\u202f\u2007 ]\d{3})+|\d+)(?:\.\d+)?|\.\d+")
_SEPARATORS = re.compile(r"[,'\u00a0\u2009\u202f\u2007 ]")


class ValueParseError(DomainError):
    """The text is not a value in the measure; ``key`` is a message id, ``params`` fill it.

    Keys and their params (all carry ``text``, the input as typed, stripped and cut to 40 characters,
    and ``measure``):
    ``value.empty``, ``value.not_a_number``, ``value.negative``,
    ``value.too_many_decimals`` (+ ``places``: 4), ``value.too_large`` (+ ``max``: "1,000,000,000,000,000"),
    ``value.unit_mismatch`` (+ ``unit``: the word typed, e.g. "亩").
    """

    key = "value.not_a_number"


@dataclass(frozen=True)
class ParsedValue:
    value: Decimal  # in the target's measure, at most 4 decimals, no trailing zeros, no exponent
    text: str  # how it was understood, e.g. "350 万元", "3,500,000 个"


def _halfwidth(text: str) -> str:
    out = []
    for ch in text:
        code = ord(ch)
        if 0xFF01 <= code <= 0xFF5E:
            ch = chr(code - 0xFEE0)
        elif ch == "\u3000":
            ch = " "
        out.append(ch)
    return "".join(out)


def _clean_measure(measure: str) -> str:
    return _halfwidth(measure or "").strip()


def measure_magnitude(measure: str) -> tuple[Decimal, str]:
    """The magnitude a measure carries and its base word: 万元 → (10000, "元"), 个 → (1, "个").

    Only 万/亿 (optionally preceded by 十/百/千, or 万亿) count as a magnitude, so 千克, 千瓦 and 百分点
    are plain measures. A measure that is only a magnitude (``万``) has an empty base word.
    """
    word = _clean_measure(measure)
    m = _MEASURE_PREFIX.match(word)
    if not m:
        return Decimal(1), word
    magnitude = Decimal(1)
    for ch in m[1]:
        magnitude *= _PREFIX_VALUE[ch]
    return magnitude, word[m.end():]


def plain_number(value: Decimal) -> str:
    """``3,500,000`` / ``1.5``: comma grouping, no trailing zeros, no exponent, locale-neutral."""
    return f"{_normal(value):,f}"


def _with_measure(number: str, measure: str) -> str:
    measure = _clean_measure(measure)
    if not measure:
        return number
    return f"{number}{measure}" if measure in _NO_SPACE_BEFORE else f"{number} {measure}"


def format_value(value: Decimal, measure: str, lang: str) -> str:
    """A value for display in ``lang``: ``3,500,000 个``, ``1.5 万元``, ``5%`` (at most 4 decimals)."""
    locale = _LOCALES[normalise_language(lang)]
    return _with_measure(format_decimal(_normal(value), format=_PATTERN, locale=locale), measure)


def _normal(value: Decimal) -> Decimal:
    if value == 0:
        return Decimal(0)
    value = value.normalize()
    if value.as_tuple().exponent > 0:  # type: ignore[operator]
        value = value.quantize(Decimal(1))
    return value


@dataclass
class _Token:
    kind: str  # "lit" (Arabic number), "digit" (Chinese digit), "small", "big", "frac"
    value: Decimal
    start: int
    end: int
    single: bool = False  # a one-character number (for the colloquial 一万二 / 3亿5)


def _tokenize(text: str) -> tuple[list[_Token], int]:
    """Number tokens from the start of ``text``; returns them and where the non-number rest begins."""
    tokens: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in _SPACES:
            i += 1
            continue
        if ch.isascii() and (ch.isdigit() or ch == "."):
            m = _LITERAL.match(text, i)
            if not m:
                break
            raw = _SEPARATORS.sub("", m[0])
            tokens.append(_Token("lit", Decimal(raw), i, m.end(), single=len(m[0]) == 1))
            i = m.end()
        elif ch in _DIGITS:
            tokens.append(_Token("digit", Decimal(_DIGITS[ch]), i, i + 1, single=True))
            i += 1
        elif ch in _SMALL:
            tokens.append(_Token("small", Decimal(_SMALL[ch]), i, i + 1))
            i += 1
        elif ch in _BIG:
            tokens.append(_Token("big", Decimal(_BIG[ch]), i, i + 1))
            i += 1
        elif ch in _POINT:
            j = i + 1
            if j < n and text[j].isascii() and text[j].isdigit():
                while j < n and text[j].isascii() and text[j].isdigit():
                    j += 1
            else:
                while j < n and text[j] in _DIGITS and text[j] not in "两兩":
                    j += 1
            if j == i + 1:
                break
            digits = "".join(str(_DIGITS[c]) if c in _DIGITS else c for c in text[i + 1:j])
            tokens.append(_Token("frac", Decimal("0." + digits), i, j))
            i = j
        else:
            break
    while i > 0 and text[i - 1] in _SPACES:
        i -= 1
    return tokens, i


class _Bad(Exception):
    pass


def _evaluate(tokens: list[_Token]) -> tuple[Decimal, bool]:
    """The number the tokens spell, and whether it carries a magnitude (万/亿).

    Sections as in Chinese numerals: small units (十百千, falling) build a section below 万; 万 closes
    the part below 亿 (once per 亿); 亿 (once) closes everything before it, so 万亿 = 1e12. A lone digit
    right after a unit, at the end, is the next lower place (一万二 = 12000, 两千三 = 2300, 3亿5 = 3.5亿);
    after 零 it is a plain digit (一千零五 = 1005). A fraction 点… ends the integer before it.
    """
    if not tokens:
        raise _Bad
    below_yi = Decimal(0)  # closed by 万, waiting for 亿
    yi = Decimal(0)  # closed by 亿
    section = Decimal(0)  # built from small units since the last big unit
    num: Decimal | None = None
    zero_word = False  # the pending number is a 零, which the next digit may replace
    last_small: Decimal | None = None
    wan_seen = yi_seen = False
    prev: _Token | None = None
    for idx, tok in enumerate(tokens):
        if tok.kind in ("lit", "digit"):
            replaces_zero = zero_word and tok.kind == "digit"  # 一千零五
            if (num is not None and not replaces_zero) or (prev is not None and prev.kind == "frac"):
                raise _Bad
            if last_small is not None and tok.value >= last_small:
                raise _Bad  # 二十67, 两百427: a number after a unit is below that unit
            num, zero_word = tok.value, tok.kind == "digit" and tok.value == 0
            if (idx == len(tokens) - 1 and tok.single and prev is not None and prev.kind in ("small", "big")
                    and prev.end == tok.start):
                num = tok.value * prev.value / 10
        elif tok.kind == "frac":
            if prev is None or prev.kind not in ("lit", "digit", "small") or (prev.kind == "lit" and num != int(num)):
                raise _Bad
            num, section, last_small, zero_word = section + (num or 0) + tok.value, Decimal(0), None, False
        elif tok.kind == "small":
            if last_small is not None and tok.value >= last_small:
                raise _Bad
            if num is None or zero_word:
                if tok.value != 10:
                    raise _Bad  # only 十 may stand without a digit (十五 = 15, 一百十 = 110, 一千零十 = 1010)
                num = Decimal(1)
            elif not 0 < num < 10:
                raise _Bad  # one digit before 十百千 (1.5千 is fine, 34百 and 0百 are not)
            section += num * tok.value
            num, zero_word, last_small = None, False, tok.value
        else:  # big
            part = section + (num or 0)
            if tok.value == 10_000:
                if wan_seen or part == 0:
                    raise _Bad
                below_yi += part * tok.value
                wan_seen = True
            else:
                if yi_seen or part + below_yi == 0:
                    raise _Bad
                yi = (below_yi + part) * tok.value
                below_yi, yi_seen, wan_seen = Decimal(0), True, False
            section, num, zero_word, last_small = Decimal(0), None, False, None
        prev = tok
    if zero_word and len(tokens) > 1:
        raise _Bad  # a trailing 零 (一百零) is not a number
    return yi + below_yi + section + (num or 0), wan_seen or yi_seen


def _unit_word(text: str, tokens: list[_Token], rest_at: int) -> str:
    """The measure word that follows the number, with the unit characters glued to it if that makes
    a known measure (5千克 → 千克, 50万亩 → 万亩)."""
    word = text[rest_at:].strip()
    start = rest_at
    for tok in reversed(tokens):
        if tok.kind not in ("small", "big") or tok.end != start:
            break
        start = tok.start
        candidate = text[start:].strip()
        if measure_magnitude(candidate)[1].casefold() in KNOWN_MEASURES or candidate.casefold() in KNOWN_MEASURES:
            word = candidate
    return word


def parse_value(text: str, measure: str) -> ParsedValue:
    """Read a value typed by a cadre, in the target's ``measure``; raises ValueParseError."""
    original = (text or "").strip()
    if len(original) > _ECHO_MAX:
        original = original[: _ECHO_MAX - 1] + "…"
    params: dict[str, object] = {"text": original, "measure": _clean_measure(measure)}

    def fail(key: str, **more: object) -> ValueParseError:
        return ValueParseError(key, **params, **more)

    s = _halfwidth(text or "").strip(_SPACES + "\r\n")
    s = re.sub(r"(?<=\d)。(?=\d)", ".", s).rstrip("。").strip(_SPACES)
    if not s:
        raise fail("value.empty")
    negative = s.startswith(_MINUS)
    if negative or s.startswith("+"):
        s = s[1:].lstrip(_SPACES)

    measure_word = _clean_measure(measure)
    magnitude, base = measure_magnitude(measure_word)
    suffix = None  # "measure" or "base": which word the number was followed by
    folded = s.casefold()
    for word, kind in sorted(((measure_word, "measure"), (base, "base")), key=lambda wk: -len(wk[0])):
        if word and folded.endswith(word.casefold()) and s[: len(s) - len(word)].strip(_SPACES):
            s, suffix = s[: len(s) - len(word)].rstrip(_SPACES), kind
            break

    tokens, rest_at = _tokenize(s)
    if rest_at < len(s):
        if suffix is None and tokens:
            word = _unit_word(s, tokens, rest_at)
            if word.casefold() in KNOWN_MEASURES or measure_magnitude(word)[1].casefold() in KNOWN_MEASURES:
                raise fail("value.unit_mismatch", unit=word)
        raise fail("value.not_a_number")
    try:
        number, typed_magnitude = _evaluate(tokens)
    except (_Bad, InvalidOperation):
        raise fail("value.not_a_number") from None
    if negative and number != 0:
        raise fail("value.negative")

    if suffix == "base" or (suffix is None and typed_magnitude):
        number = number / magnitude
    if number >= MAX_VALUE:
        raise fail("value.too_large", max=plain_number(MAX_VALUE))
    if number != number.quantize(_QUANTUM, rounding=ROUND_HALF_UP):
        raise fail("value.too_many_decimals", places=MAX_PLACES)
    value = _normal(number)
    return ParsedValue(value=value, text=_with_measure(plain_number(value), measure_word))
