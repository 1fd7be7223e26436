"""The expression layer: elementpath's XPath 1.0 with ODK's functions and comparison rules."""
from __future__ import annotations

import datetime as dt
import math
import xml.etree.ElementTree as ET

import pytest
from elementpath import XPath1Parser, XPathContext
from form_sheets import NOW
from hypothesis import given, settings
from hypothesis import strategies as st

from forms.xpath import ExpressionError, compile_expression, make_context, node_tree

NAMES = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8)
INTS = st.integers(min_value=-10**9, max_value=10**9)


def evaluate(expression: str, values: dict[str, str] | None = None, item: str | None = None,
             now: dt.datetime = NOW, labels: dict[str, str] | None = None):
    """Evaluate over <data> with one child per value; ``item`` is what '.' means."""
    root = ET.Element("data")
    for name, value in (values or {}).items():
        ET.SubElement(root, name).text = value
    tree = node_tree(ET.ElementTree(root))
    nodes = {n.value.tag: n for n in tree.iter_descendants() if n.node_kind == "element"}
    context = make_context(tree, nodes[item] if item else tree, now,
                           lambda path, value: (labels or {}).get(value, ""))
    return compile_expression(expression).value(context)


def string(expression: str, values: dict[str, str] | None = None, **kwargs) -> str:
    from forms.xpath import to_string
    return to_string(evaluate(expression, values, **kwargs))


# -- XPath 1.0 comparisons as ODK has them --------------------------------------------------------

@pytest.mark.parametrize("expression, expected", [
    ("/data/a = 1", True),          # a node equal to a number compares numbers (elementpath alone: false)
    ("/data/a = '1'", True),
    ("/data/a > 0.5", True),
    ("/data/empty > 2", False),     # an empty answer is not an error: NaN compares false
    ("/data/empty < 2", False),
    ("/data/empty = ''", True),
    ("/data/missing = ''", False),  # an empty node-set equals nothing
    ("/data/text = 'ya'", True),
    ("/data/text != 'tidak'", True),
    ("true() = /data/a", True),     # a boolean compares with the node-set's boolean
    ("false() = /data/missing", True),
])
def test_comparisons_follow_xpath_1(expression: str, expected: bool) -> None:
    assert evaluate(expression, {"a": "1", "empty": "", "text": "ya"}) is expected


def test_elementpaths_own_parser_is_left_as_it_was() -> None:
    root = ET.fromstring("<data><a>1</a></data>")
    assert XPath1Parser().parse("/data/a = 1").evaluate(XPathContext(root)) is False


def test_dates_compare_as_days_like_javarosa() -> None:
    values = {"born": "1990-08-17", "future": "2027-01-01"}
    assert evaluate("/data/born <= today()", values) is True
    assert evaluate("/data/future <= today()", values) is False
    assert evaluate("/data/born < '1990-08-18'", values) is True
    assert evaluate("/data/born = '1990-08-17'", values) is True


def test_the_dot_is_the_current_answer() -> None:
    assert evaluate(". >= 1 and . <= 30", {"members": "4"}, item="members") is True
    assert evaluate(". >= 1 and . <= 30", {"members": "31"}, item="members") is False


# -- ODK functions ------------------------------------------------------------------------------------

@pytest.mark.parametrize("expression, expected", [
    ("selected(/data/aid, 'pkh')", True),
    ("selected(/data/aid, 'blt')", False),
    ("count-selected(/data/aid)", 2),
    ("selected-at(/data/aid, 1)", "bpnt"),
    ("selected-at(/data/aid, 5)", ""),
    ("if(/data/n > 3, 'besar', 'kecil')", "besar"),
    ("if(/data/n < 3, 'besar', 'kecil')", "kecil"),
    ("coalesce(/data/empty, 'cadangan')", "cadangan"),
    ("coalesce(/data/n, 'cadangan')", "4"),
    ("concat('KK-', /data/n)", "KK-4"),
    ("string-length(/data/name)", 11),
    ("regex(/data/nik, '[0-9]{16}')", True),
    ("regex(/data/name, '[0-9]+')", False),
    ("int(7.9)", -0.0 + 7),
    ("int(-7.9)", -7),
    ("round(2.5)", 3),
    ("round(-2.5)", -3),
    ("round(3.14159, 2)", 3.14),
    ("number('12.5')", 12.5),
    ("substr('Samarinda', 0, 4)", "Sama"),
    ("ends-with('Samarinda', 'inda')", True),
    ("boolean-from-string('true')", True),
    ("decimal-date-time('1970-01-11')", 10),
    ("date(10)", "1970-01-11"),
    ("position()", 1),
])
def test_odk_functions(expression: str, expected) -> None:
    values = {"aid": "pkh bpnt", "n": "4", "empty": "", "name": "Siti Aminah", "nik": "6472010101209999"}
    assert evaluate(expression, values) == expected


def test_today_and_now_come_from_the_given_clock_not_the_wall() -> None:
    assert evaluate("today()") == "2026-11-23"
    assert evaluate("now()") == "2026-11-23T10:00:00.000+08:00"
    late_evening = dt.datetime(2026, 11, 23, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=9)))
    assert evaluate("today()", now=late_evening) == "2026-11-23"


def test_choice_name_asks_the_engine_for_the_label() -> None:
    assert evaluate("jr:choice-name(/data/roof, ' /data/roof ')", {"roof": "zinc"},
                    labels={"zinc": "Seng"}) == "Seng"


def test_calculated_numbers_are_written_as_odk_writes_them() -> None:
    assert string("/data/n * 2", {"n": "4"}) == "8"
    assert string("/data/n div 8", {"n": "4"}) == "0.5"
    assert string("/data/empty * 2", {"empty": ""}) == ""  # NaN is left empty, not "NaN"
    assert string("1 div 0") == ""
    assert string("/data/n > 3", {"n": "4"}) == "true"


@pytest.mark.parametrize("expression", [
    "foo(1)", "pulldata('x', 'y')", ". > (1", "round(1, 2, 3)", "instance('x')/root/item[",
    "if(1, 2)",
])
def test_what_cannot_be_evaluated_is_refused_when_compiled(expression: str) -> None:
    with pytest.raises(ExpressionError):
        compile_expression(expression)


# -- properties -----------------------------------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(a=INTS, b=INTS)
def test_arithmetic_on_answers_agrees_with_python(a: int, b: int) -> None:
    values = {"a": str(a), "b": str(b)}
    assert evaluate("/data/a + /data/b", values) == a + b
    assert evaluate("/data/a - /data/b", values) == a - b
    assert evaluate("/data/a * /data/b", values) == float(a) * float(b)
    if b:
        assert evaluate("/data/a div /data/b", values) == pytest.approx(a / b)
        assert evaluate("/data/a mod /data/b", values) == math.fmod(a, b)  # XPath mod truncates, like C


@settings(max_examples=60, deadline=None)
@given(a=INTS, b=INTS)
def test_comparisons_agree_with_python(a: int, b: int) -> None:
    values = {"a": str(a), "b": str(b)}
    for symbol, expected in (("<", a < b), ("<=", a <= b), (">", a > b), (">=", a >= b),
                             ("=", a == b), ("!=", a != b)):
        assert evaluate(f"/data/a {symbol} /data/b", values) is expected
        assert evaluate(f"/data/a {symbol} {b}", values) is expected
        assert evaluate(f"{a} {symbol} {b}".replace("--", "- -")) is expected


@settings(max_examples=60, deadline=None)
@given(text=st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=40),
       other=st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=40))
def test_string_length_and_concat_on_any_text(text: str, other: str) -> None:
    values = {"t": text, "u": other}
    # XML normalises line ends; what a person types is kept otherwise
    assert evaluate("string-length(/data/t)", values) == len(text.replace("\r", "\n"))
    assert evaluate("concat(/data/t, '|', /data/u)", values) == (text + "|" + other).replace("\r", "\n")


@settings(max_examples=60, deadline=None)
@given(chosen=st.lists(NAMES, unique=True, max_size=6), probe=NAMES)
def test_select_multiple_functions_agree_with_a_list(chosen: list[str], probe: str) -> None:
    values = {"s": " ".join(chosen)}
    assert evaluate("count-selected(/data/s)", values) == len(chosen)
    assert evaluate(f"selected(/data/s, '{probe}')", values) is (probe in chosen)
    for index, name in enumerate(chosen):
        assert evaluate(f"selected-at(/data/s, {index})", values) == name
