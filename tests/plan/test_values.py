"""Reading values typed by cadres in the target's measure, and showing them back."""

from __future__ import annotations

import warnings
from decimal import Decimal

import cn2an
import pytest

from services.core.errors import DomainError
from services.plan.values import ParsedValue, ValueParseError, format_value, measure_magnitude, parse_value

D = Decimal

# (typed, measure, expected value in the measure or an error key)
CASES: list[tuple[str, str, Decimal | str]] = [
    # plain numbers, separators, decimal points
    ("350", "万元", D(350)),
    ("0", "个", D(0)),
    ("  42  ", "个", D(42)),
    ("1,234.5", "个", D("1234.5")),
    ("1 234", "个", D(1234)),
    ("1\u2009234\u2009567", "个", D(1234567)),
    ("1\u00a0234", "个", D(1234)),
    ("1'234", "个", D(1234)),
    ("1，234", "个", D(1234)),
    ("１２，３４５．６", "个", D("12345.6")),
    ("１２３", "个", D(123)),
    ("1。5", "亩", D("1.5")),
    ("350。", "个", D(350)),
    (".5", "亩", D("0.5")),
    ("+7", "个", D(7)),
    ("12.3400", "亩", D("12.34")),
    ("0.0001", "万元", D("0.0001")),
    # magnitudes: the typed one multiplies into base units, the measure's divides
    ("350万", "万元", D(350)),
    ("350万", "元", D(3_500_000)),
    ("350万", "个", D(3_500_000)),
    ("3500000元", "万元", D(350)),
    ("350万元", "万元", D(350)),
    ("350 万元", "万元", D(350)),
    ("350万元", "元", D(3_500_000)),
    ("5 万 元", "元", D(50_000)),
    ("1.2万", "万元", D("1.2")),
    ("1.2万", "个", D(12_000)),
    ("１.２万", "个", D(12_000)),
    ("3亿5000万", "元", D(350_000_000)),
    ("3亿5000万", "万元", D(35_000)),
    ("3亿", "亿元", D(3)),
    ("1.5亿", "万元", D(15_000)),
    ("3亿5", "元", D(350_000_000)),
    ("1万2千", "个", D(12_000)),
    ("1.5千万", "元", D(15_000_000)),
    ("3千", "万元", D(3000)),  # 千 is part of the number, not a magnitude: like 3000
    ("50亩", "万亩", D("0.005")),
    ("5万亩", "亩", D(50_000)),
    ("5万头", "万头", D(5)),
    ("2万吨", "万吨", D(2)),
    ("1万亿", "元", D(1_000_000_000_000)),
    # Chinese numerals
    ("一万二千", "个", D(12_000)),
    ("一万二千", "万元", D("1.2")),  # has 万: base units, like 1.2万
    ("两千三百", "个", D(2300)),
    ("两千", "个", D(2000)),
    ("三百五十", "个", D(350)),
    ("三百五", "个", D(350)),
    ("一万二", "个", D(12_000)),
    ("十五", "个", D(15)),
    ("二十", "个", D(20)),
    ("一百十", "个", D(110)),
    ("一千零五", "个", D(1005)),
    ("一千零十", "个", D(1010)),
    ("十二点五万", "元", D(125_000)),
    ("一百二十三点四五", "亩", D("123.45")),
    ("三千万元", "万元", D(3000)),
    ("零", "个", D(0)),
    ("壹仟贰佰叁拾肆", "元", D(1234)),
    ("两", "个", D(2)),
    # measure words
    ("12个", "个", D(12)),
    ("12 个", "个", D(12)),
    ("50亩", "亩", D(50)),
    ("5%", "%", D(5)),
    ("5 ％", "%", D(5)),
    ("5", "%", D(5)),
    ("3KM", "km", D(3)),
    ("5千克", "千克", D(5)),
    ("100", "百分点", D(100)),
    # refusals
    ("", "个", "value.empty"),
    ("   ", "个", "value.empty"),
    ("\u3000", "个", "value.empty"),
    ("abc", "个", "value.not_a_number"),
    ("12abc", "个", "value.not_a_number"),
    ("万", "个", "value.not_a_number"),
    ("个", "个", "value.not_a_number"),
    ("万元", "万元", "value.not_a_number"),
    ("1,23", "个", "value.not_a_number"),
    ("12 34", "个", "value.not_a_number"),
    ("1.2.3", "个", "value.not_a_number"),
    ("一二三", "个", "value.not_a_number"),
    ("一百零", "个", "value.not_a_number"),
    ("三百五千", "个", "value.not_a_number"),
    ("1万2万", "个", "value.not_a_number"),
    ("二十67", "个", "value.not_a_number"),
    ("34百", "个", "value.not_a_number"),
    ("零27", "个", "value.not_a_number"),
    ("约350", "个", "value.not_a_number"),
    ("-3", "个", "value.negative"),
    ("－3", "个", "value.negative"),
    ("−3.5", "亩", "value.negative"),
    ("负5", "个", "value.negative"),
    ("-350万", "万元", "value.negative"),
    ("0.00005", "万元", "value.too_many_decimals"),
    ("1.23456", "亩", "value.too_many_decimals"),
    ("0.5元", "万元", "value.too_many_decimals"),
    ("1元", "亿元", "value.too_many_decimals"),
    ("10000000000000000", "个", "value.too_large"),
    ("99999999999999999999999999999999", "个", "value.too_large"),
    ("12个", "亩", "value.unit_mismatch"),
    ("5亩", "万元", "value.unit_mismatch"),
    ("350万元", "个", "value.unit_mismatch"),
    ("50%", "个", "value.unit_mismatch"),
    ("5千克", "吨", "value.unit_mismatch"),
]


@pytest.mark.parametrize(("typed", "measure", "expected"), CASES)
def test_parse_value_table(typed: str, measure: str, expected: Decimal | str) -> None:
    if isinstance(expected, Decimal):
        parsed = parse_value(typed, measure)
        assert parsed.value == expected
        assert parsed.value.as_tuple().exponent <= 0  # type: ignore[operator]
        assert -parsed.value.as_tuple().exponent <= 4  # type: ignore[operator]
    else:
        with pytest.raises(ValueParseError) as info:
            parse_value(typed, measure)
        assert info.value.key == expected
        assert info.value.params["measure"] == measure.strip()
        assert info.value.params["text"] == typed.strip()


def test_the_table_is_big_enough() -> None:
    assert len(CASES) >= 40


@pytest.mark.parametrize(
    ("typed", "measure", "text"),
    [
        ("350万", "万元", "350 万元"),
        ("350万", "个", "3,500,000 个"),
        ("3500000元", "万元", "350 万元"),
        ("12.5000", "亩", "12.5 亩"),
        ("１２，３４５．６", "个", "12,345.6 个"),
        ("5", "%", "5%"),
        ("0", "个", "0 个"),
        ("1万亿", "元", "1,000,000,000,000 元"),
        ("0.0001", "万元", "0.0001 万元"),
        ("7", "", "7"),
    ],
)
def test_the_echo_says_how_the_value_was_understood(typed: str, measure: str, text: str) -> None:
    parsed = parse_value(typed, measure)
    assert parsed == ParsedValue(value=parsed.value, text=text)
    assert "E" not in str(parsed.value)


def test_errors_carry_placeholders_and_are_domain_errors() -> None:
    with pytest.raises(ValueParseError) as info:
        parse_value(" 12个 ", "亩")
    err = info.value
    assert isinstance(err, DomainError)
    assert err.key == "value.unit_mismatch"
    assert err.params == {"text": "12个", "measure": "亩", "unit": "个"}
    with pytest.raises(ValueParseError) as info:
        parse_value("50万亩", "万元")
    assert info.value.params["unit"] == "万亩"
    with pytest.raises(ValueParseError) as info:
        parse_value("0.00005", "万元")
    assert info.value.params["places"] == 4
    with pytest.raises(ValueParseError) as info:
        parse_value("1" * 200, "个")
    assert len(str(info.value.params["text"])) <= 40
    assert info.value.key == "value.too_large"


def test_minus_zero_is_zero() -> None:
    assert parse_value("-0", "个").value == 0
    assert str(parse_value("-0", "个").value) == "0"


@pytest.mark.parametrize(
    ("measure", "magnitude", "base"),
    [
        ("万元", D(10_000), "元"),
        ("亿元", D(100_000_000), "元"),
        ("元", D(1), "元"),
        ("万头", D(10_000), "头"),
        ("万亩", D(10_000), "亩"),
        ("万吨", D(10_000), "吨"),
        ("千万元", D(10_000_000), "元"),
        ("万亿元", D(10) ** 12, "元"),
        ("个", D(1), "个"),
        ("%", D(1), "%"),
        ("公里", D(1), "公里"),
        ("千克", D(1), "千克"),
        ("百分点", D(1), "百分点"),
        (" 万元 ", D(10_000), "元"),
        ("", D(1), ""),
    ],
)
def test_measure_magnitude(measure: str, magnitude: Decimal, base: str) -> None:
    assert measure_magnitude(measure) == (magnitude, base)


@pytest.mark.parametrize(
    "typed",
    [
        "一万二千", "两千三百", "三百五十", "一千零五", "十五", "二十", "一百二十三", "三千万",
        "一亿零五百万", "九千九百九十九万", "一万零一", "十一万三", "两百万", "一亿二千三百四十五万六千七百八十九",
    ],
)
def test_chinese_numerals_agree_with_cn2an(typed: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = cn2an.cn2an(typed, "normal")
    assert parse_value(typed, "个").value == Decimal(reference)


@pytest.mark.parametrize(
    ("value", "measure", "lang", "text"),
    [
        (D(3_500_000), "个", "zh", "3,500,000 个"),
        (D(3_500_000), "个", "en", "3,500,000 个"),
        (D("1.5"), "万元", "zh", "1.5 万元"),
        (D("1.5"), "万元", "en", "1.5 万元"),
        (D("1.5000"), "万元", "en", "1.5 万元"),
        (D("3.5E+6"), "元", "zh", "3,500,000 元"),
        (D("0.0001"), "万元", "zh", "0.0001 万元"),
        (D("12.34567"), "亩", "en", "12.3457 亩"),
        (D(0), "个", "en", "0 个"),
        (D("-2.5"), "亩", "zh", "-2.5 亩"),
        (D(5), "%", "en", "5%"),
        (D(1234), "", "zh", "1,234"),
        (D(1234), "个", "en-US", "1,234 个"),
        (D(1234), "个", "fr", "1,234 个"),
    ],
)
def test_format_value(value: Decimal, measure: str, lang: str, text: str) -> None:
    assert format_value(value, measure, lang) == text


def test_parse_then_format_round_trips() -> None:
    parsed = parse_value("350万", "个")
    assert format_value(parsed.value, "个", "zh") == parsed.text
    assert parse_value(parsed.text, "个").value == parsed.value
