"""ODK XPath on elementpath: its XPath 1.0 parser, plus the functions and comparison rules of ODK forms.

Nothing here parses expressions by hand. :class:`OdkParser` is a subclass of elementpath's
``XPath1Parser`` with its own symbol table (elementpath's extension mechanism): new function tokens are
registered on it, and the few XPath 1.0 tokens whose behaviour ODK changes are replaced *in this
parser's table only*, so elementpath's own parsers are left untouched.

Why XPath 1.0 and not 2.0: ODK (JavaRosa) evaluates XPath 1.0 over an untyped instance, where an empty
answer compared with a number is simply false and ``if(c, a, b)`` is a function; in XPath 2.0 ``if`` is a
keyword and an empty string in arithmetic is an error.

What ODK changes, and so what is replaced here:

- comparisons follow XPath 1.0 (a node compared with a number compares numbers, ``'' > 2`` is false,
  not an error) and, as in JavaRosa, ISO dates compare as days since 1970-01-01 so ``. <= today()``
  works;
- ``round(x, digits)`` takes an optional number of digits and rounds halves away from zero;
- ``mod`` truncates towards zero as XPath 1.0 (and Java) do.

Added ODK functions: ``if``, ``selected``, ``count-selected``, ``selected-at``, ``jr:choice-name``,
``regex``, ``coalesce``, ``today``, ``now``, ``int``, ``substr``, ``ends-with``,
``boolean-from-string``, ``decimal-date-time``, ``date``. XPath 1.0 already gives ``concat``,
``string-length``, ``number``, ``count``, ``position``, ``contains``, ``starts-with``, ``not``, ...

``today()`` and ``now()`` read the context's ``current_dt``, which the engine sets from the injected
clock (elementpath itself would fall back to the wall clock, so a context is always given one).
"""
from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Iterable
from copy import copy
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from elementpath import XPath1Parser, XPathContext
from elementpath.exceptions import ElementPathError, MissingContextError
from elementpath.xpath_nodes import XPathNode

from forms import nik

JR_NAMESPACE = "http://openrosa.org/javarosa"

_NUMBER = re.compile(r"\s*[+-]?(\d+(\.\d*)?|\.\d+)\s*")
_DATE = re.compile(r"\s*(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?([+-]\d{2}:?\d{2}|Z)?)?\s*")
_EPOCH = dt.date(1970, 1, 1)


class OdkParser(XPath1Parser):
    """XPath 1.0 as ODK forms use it (see the module docstring)."""

    DEFAULT_NAMESPACES = {**XPath1Parser.DEFAULT_NAMESPACES, "jr": JR_NAMESPACE}
    # function() records signatures in this class-level dict: give the subclass its own copy so that
    # registering ODK functions never changes what elementpath's XPath1Parser knows.
    function_signatures = dict(XPath1Parser.function_signatures)


class OdkContext(XPathContext):
    """The dynamic context, plus what ODK functions need from the engine (copied along with it)."""

    choice_label: Callable[[str, str], str] | None = None


# --------------------------------------------------------------------------------------------------
# value conversions (XPath 1.0 rules, with JavaRosa's date extension)

def to_number(value: Any) -> float:
    """XPath 1.0 ``number()``, except that an ISO date or date-time is its days since 1970 (JavaRosa)."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float, Decimal)):
        return float(value)
    text = value.compat_string_value if isinstance(value, XPathNode) else str(value)
    if _NUMBER.fullmatch(text):
        return float(text)
    days = date_days(text)
    return math.nan if days is None else days


def date_days(text: str) -> float | None:
    """Days since 1970-01-01 of an ISO date or date-time (fractional for a time), or None."""
    match = _DATE.fullmatch(text)
    if not match:
        return None
    try:
        day = dt.date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None
    days = float((day - _EPOCH).days)
    if match[4] is not None:
        days += (int(match[4]) * 3600 + int(match[5]) * 60 + int(match[6] or 0)) / 86400
    return days


def to_string(value: Any) -> str:
    """The string an ODK instance would store for a value (NaN and infinities become empty)."""
    if isinstance(value, list):
        return to_string(value[0]) if value else ""
    if isinstance(value, XPathNode):
        return value.compat_string_value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return ""  # JavaRosa would show "NaN"; an empty answer is what a person expects
        return str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            return ""
        text = format(value, "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    return "" if value is None else str(value)


def _atoms(token: Any, context: Any) -> list[Any]:
    """The items an operand selects, nodes turned into their strings (XPath 1.0 atomisation)."""
    result = token.evaluate(copy(context))
    items = result if isinstance(result, list) else [result]
    return [x.compat_string_value if isinstance(x, XPathNode) else x for x in items if x is not None]


# --------------------------------------------------------------------------------------------------
# comparisons: XPath 1.0 semantics (elementpath's XPath1Parser follows XPath 2.0's general comparison,
# where a node equal to the number 1 is false and an empty node compared with a number is an error)

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b, "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b, "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
}


def _pair_holds(symbol: str, left: Any, right: Any) -> bool:
    """One comparison of two atoms: numbers if either is one (or for order), otherwise strings."""
    numeric = symbol not in ("=", "!=") or any(
        isinstance(x, (int, float, Decimal)) and not isinstance(x, bool) for x in (left, right))
    if numeric:
        return _COMPARE[symbol](to_number(left), to_number(right))
    return _COMPARE[symbol](to_string(left), to_string(right))


def _evaluate_comparison(self: Any, context: Any = None) -> bool:
    """XPath 1.0 comparison: booleans win, otherwise true if any pair of atoms compares true."""
    left, right = _atoms(self[0], context), _atoms(self[1], context)
    if any(len(side) == 1 and isinstance(side[0], bool) for side in (left, right)):
        return _COMPARE[self.symbol](_truth(left), _truth(right))
    return any(_pair_holds(self.symbol, a, b) for a in left for b in right)


def _truth(atoms: list[Any]) -> bool:
    """boolean() of an operand already atomised: a lone boolean is itself, anything selected is true."""
    if len(atoms) == 1 and isinstance(atoms[0], bool):
        return atoms[0]
    return bool(atoms)


for _symbol in _COMPARE:
    _base = OdkParser.symbol_table[_symbol]
    OdkParser.symbol_table[_symbol] = type(_base.__name__, (_base,), {
        "evaluate": _evaluate_comparison, "__module__": __name__})


def _evaluate_mod(self: Any, context: Any = None) -> float:
    """XPath 1.0 ``mod`` truncates like Java's % (-1 mod 2 = -1); elementpath's follows Python's floats."""
    left, right = (_atoms(operand, context) for operand in (self[0], self[1]))
    dividend = to_number(left[0]) if left else math.nan
    divisor = to_number(right[0]) if right else math.nan
    if divisor == 0 or math.isnan(divisor) or math.isinf(dividend):
        return math.nan
    return math.fmod(dividend, divisor)


_mod = OdkParser.symbol_table["mod"]
OdkParser.symbol_table["mod"] = type(_mod.__name__, (_mod,), {"evaluate": _evaluate_mod, "__module__": __name__})


# --------------------------------------------------------------------------------------------------
# ODK functions

method = OdkParser.method
function = OdkParser.function
OdkParser.unregister("round")  # replaced by ODK's round(x, digits)


def _string(self: Any, context: Any, index: int) -> str:
    """The string value of argument ``index`` (XPath 1.0: first node of a node-set, '' if none)."""
    return to_string(self.get_argument(copy(context), index=index))


def _number(self: Any, context: Any, index: int) -> float:
    return to_number(_string(self, context, index))


def _now(context: Any) -> dt.datetime:
    if context is None:
        raise MissingContextError("today() and now() need the engine's clock")
    return context.current_dt


@method(function("if", nargs=3))
def evaluate__if(self: Any, context: Any = None) -> Any:
    """ODK's if(condition, then, else): only the branch taken is evaluated."""
    condition = self.boolean_value(self[0].evaluate(copy(context)))
    return self[1 if condition else 2].evaluate(copy(context))


@method(function("selected", nargs=2))
def evaluate__selected(self: Any, context: Any = None) -> bool:
    """True if the space-separated answer of a select_multiple contains the choice name."""
    return _string(self, context, 1).strip() in _string(self, context, 0).split()


@method(function("count-selected", nargs=1))
def evaluate__count_selected(self: Any, context: Any = None) -> int:
    return len(_string(self, context, 0).split())


@method(function("selected-at", nargs=2))
def evaluate__selected_at(self: Any, context: Any = None) -> str:
    """The choice name at a 0-based position of a select_multiple answer, '' beyond the end."""
    names, index = _string(self, context, 0).split(), _number(self, context, 1)
    if math.isnan(index) or not 0 <= int(index) < len(names):
        return ""
    return names[int(index)]


@method(function("choice-name", prefix="jr", nargs=2))
def evaluate__choice_name(self: Any, context: Any = None) -> str:
    """jr:choice-name(value, 'path'): the label of a choice of the question at path."""
    value, path = _string(self, context, 0), _string(self, context, 1).strip()
    label = getattr(context, "choice_label", None)
    if label is None:
        raise MissingContextError("jr:choice-name needs the form's choices")
    return label(path, value)


@method(function("regex", nargs=2))
def evaluate__regex(self: Any, context: Any = None) -> bool:
    """True if the whole string matches the pattern (ODK: an exact and complete match)."""
    return _compiled(_string(self, context, 1)).fullmatch(_string(self, context, 0)) is not None


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


@method(function("coalesce", nargs=2))
def evaluate__coalesce(self: Any, context: Any = None) -> str:
    return _string(self, context, 0) or _string(self, context, 1)


@method(function("today", nargs=0))
def evaluate__today(self: Any, context: Any = None) -> str:
    """Today's date in the questionnaire's time zone, from the injected clock."""
    return _now(context).date().isoformat()


@method(function("now", nargs=0))
def evaluate__now(self: Any, context: Any = None) -> str:
    """The current instant as ODK writes it: 2026-11-22T18:00:00.000+08:00."""
    return _now(context).isoformat(timespec="milliseconds")


@method(function("int", nargs=1))
def evaluate__int(self: Any, context: Any = None) -> float:
    """Truncation towards zero (NaN stays NaN, as in ODK)."""
    number = _number(self, context, 0)
    return number if math.isnan(number) or math.isinf(number) else float(math.trunc(number))


@method(function("round", nargs=(1, 2)))
def evaluate__round(self: Any, context: Any = None) -> float:
    """round(x) or round(x, digits); halves go away from zero as in ODK."""
    number = _number(self, context, 0)
    digits = _number(self, context, 1) if len(self) > 1 else 0.0
    if math.isnan(number) or math.isinf(number) or math.isnan(digits):
        return number if not math.isnan(digits) else math.nan
    try:
        exponent = Decimal(1).scaleb(-int(digits))
        return float(Decimal(repr(number)).quantize(exponent, rounding=ROUND_HALF_UP))
    except InvalidOperation:
        return number


@method(function("substr", nargs=(2, 3)))
def evaluate__substr(self: Any, context: Any = None) -> str:
    """ODK's substr(string, start, end): 0-based start, exclusive end."""
    text = _string(self, context, 0)
    start = _number(self, context, 1)
    end = _number(self, context, 2) if len(self) > 2 else float(len(text))
    if math.isnan(start) or math.isnan(end):
        return ""
    return text[max(int(start), 0):max(int(end), 0)]


@method(function("ends-with", nargs=2))
def evaluate__ends_with(self: Any, context: Any = None) -> bool:
    return _string(self, context, 0).endswith(_string(self, context, 1))


@method(function("boolean-from-string", nargs=1))
def evaluate__boolean_from_string(self: Any, context: Any = None) -> bool:
    return _string(self, context, 0).strip() in ("true", "1")


@method(function("decimal-date-time", nargs=1))
def evaluate__decimal_date_time(self: Any, context: Any = None) -> float:
    """Days since 1970-01-01 of a date or date-time (the way to do arithmetic on dates)."""
    days = date_days(_string(self, context, 0))
    return math.nan if days is None else days


@method(function("date", nargs=1))
def evaluate__date(self: Any, context: Any = None) -> str:
    """A date from an ISO string or from a number of days since 1970-01-01; '' if neither."""
    text = _string(self, context, 0)
    days = to_number(text)
    if math.isnan(days) or math.isinf(days):
        return ""
    return (_EPOCH + dt.timedelta(days=math.floor(days))).isoformat()


# Pintu's NIK checks (forms/nik.py; README, Forms: NIK checks). Not ODK functions: a form that uses
# them runs in Pintu only, which `pintu form check` says.

@method(function("nik-valid", nargs=1))
def evaluate__nik_valid(self: Any, context: Any = None) -> bool:
    """True if the text is a NIK as Dukcapil issues it (16 digits, a real kecamatan, a birth date)."""
    return nik.nik_problem(_string(self, context, 0), _now(context).date()) is None


@method(function("nik-sex-matches", nargs=2))
def evaluate__nik_sex_matches(self: Any, context: Any = None) -> bool:
    """nik-sex-matches(nik, is_female): False only if the NIK is valid and says the other sex."""
    female = self.boolean_value(self[1].evaluate(copy(context)))
    return nik.sex_matches(_string(self, context, 0), bool(female), _now(context).date())


@method(function("nik-birth-matches", nargs=2))
def evaluate__nik_birth_matches(self: Any, context: Any = None) -> bool:
    """nik-birth-matches(nik, date): False only if the NIK is valid and gives another date of birth."""
    days = date_days(_string(self, context, 1))
    birth = None if days is None else _EPOCH + dt.timedelta(days=math.floor(days))
    return nik.birth_matches(_string(self, context, 0), birth, _now(context).date())


# --------------------------------------------------------------------------------------------------
# the compiled expression the engine uses

class ExpressionError(ValueError):
    """An expression elementpath cannot parse (syntax, unknown function, wrong argument count)."""


@dataclass(frozen=True, slots=True, eq=False)
class Expression:
    """An XPath expression parsed once, evaluated against many instances."""

    source: str
    token: Any

    def value(self, context: OdkContext) -> Any:
        try:
            return self.token.evaluate(context)
        except ElementPathError as error:  # a form bug met at run time: say which expression
            raise ExpressionError(f"{self.source.strip()}: {error}") from None

    def boolean(self, context: OdkContext) -> bool:
        result = self.value(context)
        try:
            return bool(self.token.boolean_value(result))
        except ElementPathError as error:
            raise ExpressionError(f"{self.source.strip()}: {error}") from None

    def string(self, context: OdkContext) -> str:
        return to_string(self.value(context))


from forms import repeat_functions as _repeat_functions  # noqa: E402,F401 - position(..), indexed-repeat, max, min

_PARSER = OdkParser()


def compile_expression(source: str) -> Expression:
    """Parse an XForm expression; raises ExpressionError with elementpath's explanation."""
    try:
        return Expression(source, _PARSER.parse(source))
    except (ElementPathError, SyntaxError, ValueError, TypeError) as error:
        raise ExpressionError(str(error)) from None


def make_context(root: Any, item: Any, now: dt.datetime,
                 choice_label: Callable[[str, str], str] | None = None) -> OdkContext:
    """A context over an instance (a node tree from :func:`node_tree`) focused on ``item``."""
    context = OdkContext(root, item=item, current_dt=now)
    context.choice_label = choice_label
    return context


def node_tree(document: Any) -> Any:
    """elementpath's node tree of an ElementTree; built once per evaluation round and reused."""
    return XPathContext(document).root


def iter_elements(root: Any) -> Iterable[Any]:
    """The element nodes of a node tree, in document order."""
    return (node for node in root.iter_descendants() if node.node_kind == "element")
