"""Numbers grouped from tiny synthetic readings: digits 20 px tall, 12 px wide, on lines 40 px apart;
and the value rule of numbers.value."""
import math

import numpy as np
import pytest

from handwriting.engine.numbers import NUMBER_GAP, group, value
from handwriting.engine.reading import Box, Digit, Separator

HEIGHT, WIDTH = 20, 12


def digit(d, x, line=0, probability=0.99):
    return Digit(d, probability, (), Box(x, 40 * line, WIDTH, HEIGHT), line, np.zeros((28, 28), np.uint8))


def row(text, x=0, gap=4, line=0):
    """Digits side by side from x, `gap` px apart; a space in `text` is a gap of 3 digit heights."""
    digits = []
    for c in text:
        if c == " ":
            x += 3 * HEIGHT
            continue
        digits.append(digit(int(c), x, line))
        x += WIDTH + gap
    return digits


def between(digits, i, kind):
    """A separator in the gap after digit i: a point on the baseline, a minus at mid-height before it."""
    d = digits[i].box
    if kind == "-":
        return Separator("-", Box(d.x - 10, d.y + 9, 8, 2))
    return Separator(kind, Box(d.x + WIDTH + 1, d.y + 16, 3, 4 if kind == "." else 7))


def texts(digits, separators=(), hidden=()):
    return [n.text for n in group(tuple(digits), separators, hidden)]


def test_digits_close_together_are_one_number():
    assert texts(row("1250")) == ["1250"]


def test_a_wide_gap_parts_two_numbers():
    assert texts(row("735 426")) == ["735", "426"]


def test_the_gap_that_parts_numbers_is_relative_to_the_digit_height():
    just_under, just_over = (round(NUMBER_GAP * HEIGHT * f) for f in (0.9, 1.1))
    assert texts(row("12", gap=just_under)) == ["12"]
    assert texts(row("12", gap=just_over)) == ["1", "2"]


def test_each_line_is_grouped_apart():
    numbers = group(tuple(row("12") + row("34", line=1)), ())
    assert [(n.text, n.line) for n in numbers] == [("12", 0), ("34", 1)]


def test_separators_are_written_where_they_stand():
    digits = row("1250")
    assert texts(digits, [between(digits, 1, ".")]) == ["12.50"]
    assert texts(digits, [between(digits, 0, ",")]) == ["1,250"]
    assert texts(digits, [between(digits, 0, "-")]) == ["-1250"]


def test_a_point_outside_a_number_and_a_minus_inside_one_are_left_out():
    digits = row("12")
    after = Separator(".", Box(digits[1].box.x + WIDTH + 1, 16, 3, 4))
    assert texts(digits, [after, between(digits, 1, "-")]) == ["12"]


def test_a_separator_read_as_a_digit_stays_that_digit():
    digits = row("10")
    assert texts(digits, [Separator(".", digits[1].box)]) == ["10"]


def test_a_minus_belongs_to_the_number_after_it():
    digits = row("7 42")
    assert texts(digits, [between(digits, 1, "-")]) == ["7", "-42"]


def test_hidden_digits_leave_a_question_mark_and_no_value():
    numbers = group(tuple(row("6789")), (), hidden=[0])
    assert [(n.text, n.value) for n in numbers] == [("?789", None)]


def test_a_number_knows_its_digits_box_line_and_confidence():
    digits = row("12 3")
    digits[1] = Digit(2, 0.5, (), digits[1].box, 0, digits[1].crop)
    first, second = group(tuple(digits), ())
    assert first.digits == (0, 1) and second.digits == (2,)
    assert first.box == Box(0, 0, 2 * WIDTH + 4, HEIGHT)
    assert first.confidence == pytest.approx(0.99 * 0.5) and second.confidence == pytest.approx(0.99)


@pytest.mark.parametrize("text, expected", [
    ("42", 42), ("007", 7), ("-42", -42), ("-0", 0),
    ("12.50", 12.5), ("3,5", 3.5), ("0,32", 0.32), ("-6,35", -6.35),
    ("1.000", 1000), ("1,000", 1000), ("12.345.678", 12345678), ("-1,234", -1234),
    ("1.234,56", 1234.56), ("1,234.56", 1234.56), ("12345.6", 12345.6), ("1.000,5", 1000.5),
])
def test_value_follows_the_documented_rule(text, expected):
    got = value(text)
    assert got == expected and type(got) is type(expected)


@pytest.mark.parametrize("text", ["1.2.3", "1,23,456", "1.234,5,6", "1?5", "", "-", "12.", ".5",
                                  "1234567890123456"])
def test_texts_without_a_defined_value(text):
    assert value(text) is None


def test_negative_zero_is_zero():
    assert math.copysign(1.0, value("-0,0")) == 1.0
