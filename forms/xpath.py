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
- ``mod`` truncates towards zero as XPath 1.0 (and Java) do;
- ``position(node)`` also takes a node (its index among its same-named siblings);
- a path may continue after a function call (``instance('towns')/root/item``), as XPath 1.0 allows.

Added ODK functions (https://docs.getodk.org/form-operators-functions/): ``if``, ``selected``,
``count-selected``, ``selected-at``, ``jr:choice-name``, ``regex``, ``coalesce``, ``today``, ``now``,
``int``, ``substr``, ``ends-with``, ``boolean-from-string``, ``decimal-date-time``, ``date``,
``date-time``, ``decimal-time``, ``format-date``, ``format-date-time``; over the form's other instances
``instance``, ``current``, ``pulldata``, ``once``; math ``abs``, ``sqrt``, ``pow``, ``exp``, ``exp10``,
``log``, ``log10``, ``sin``… ``atan2``, ``pi``, ``min``, ``max``; ``count-non-empty``, ``join``,
``uuid``, ``random``, ``randomize``, ``digest``, ``base64-decode``, ``checklist``,
``weighted-checklist``, ``indexed-repeat``, ``distance``, ``area``, ``version``. XPath 1.0 already gives
``concat``, ``string-length``, ``number``, ``count``, ``sum``, ``contains``, ``starts-with``, ``not``…

``today()`` and ``now()`` read the context's ``current_dt``, which the engine sets from the injected
clock (elementpath itself would fall back to the wall clock, so a context is always given one).
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import math
import random
import re
import secrets
import uuid
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
    instances: Any = None        # instance id -> node tree (the form's choice lists and attachments)
    current_node: Any = None     # current(): the question's node, also inside a choice filter
    random_seed: str = ""        # randomize() without a seed: the same order all through a questionnaire


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
OdkParser.unregister("position")  # replaced by ODK's position(), which also takes a node


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
    try:
        return (_EPOCH + dt.timedelta(days=math.floor(days))).isoformat()
    except OverflowError:  # beyond year 9999
        return ""


# --------------------------------------------------------------------------------------------------
# ODK functions over the form's other instances and its context (instance, current, pulldata, once)

# XPath 1.0 lets a path continue after a function call (FilterExpr '/' RelativeLocationPath:
# ``instance('towns')/root/item``); elementpath's XPath 1 parser only accepts steps there.
OdkParser.PATH_STEP_LABELS = (*XPath1Parser.PATH_STEP_LABELS, "function")


def _instance_root(context: Any, key: str) -> Any:
    instances = getattr(context, "instances", None) or {}
    if key not in instances:
        raise MissingContextError(f"the form has no instance '{key}' (a choice list or an attached file)")
    return instances[key]


@method(function("instance", nargs=1))
def evaluate__instance(self: Any, context: Any = None) -> list[Any]:
    """instance('id'): the document of a secondary instance (a choice list, a CSV/XML attachment)."""
    return [_instance_root(context, _string(self, context, 0))]


@method(function("current", nargs=0))
def evaluate__current(self: Any, context: Any = None) -> list[Any]:
    """The node of the question being evaluated, also inside a choice filter's predicate."""
    node = getattr(context, "current_node", None) if context is not None else None
    return [node if node is not None else context.item] if context is not None else []


@method(function("pulldata", nargs=4))
def evaluate__pulldata(self: Any, context: Any = None) -> str:
    """pulldata('file', 'column', 'key column', key): the column of the first row whose key matches."""
    root = _instance_root(context, _string(self, context, 0))
    wanted, key_column, key = (_string(self, context, i) for i in (1, 2, 3))
    for item in _children(_children(root)[0]) if _children(root) else ():
        cells = {child.name: child.string_value for child in _children(item)}
        if cells.get(key_column) == key:
            return cells.get(wanted, "")
    return ""


def _children(node: Any) -> list[Any]:
    return [child for child in getattr(node, "children", []) or [] if child.node_kind == "element"]


@method(function("once", nargs=1))
def evaluate__once(self: Any, context: Any = None) -> Any:
    """once(x): the node's value if it already has one, else x (the engine keeps the first result)."""
    item = context.item if context is not None else None
    if isinstance(item, XPathNode) and item.node_kind == "element" and item.string_value:
        return item.string_value
    return self[0].evaluate(copy(context))


# --------------------------------------------------------------------------------------------------
# ODK's number, string, select and geo functions (https://docs.getodk.org/form-operators-functions/)

def _unary(name: str, operation: Callable[[float], float]) -> None:
    def evaluate(self: Any, context: Any = None) -> float:
        number = _number(self, context, 0)
        try:
            return operation(number)
        except (ValueError, OverflowError):
            return math.nan
    evaluate.__name__ = f"evaluate__{name.replace('-', '_')}"
    method(function(name, nargs=1))(evaluate)


for _name, _operation in {
        "abs": abs, "sqrt": math.sqrt, "exp": math.exp, "exp10": lambda x: 10 ** x, "log": math.log,
        "log10": math.log10, "sin": math.sin, "cos": math.cos, "tan": math.tan, "asin": math.asin,
        "acos": math.acos, "atan": math.atan}.items():
    _unary(_name, _operation)


@method(function("pow", nargs=2))
def evaluate__pow(self: Any, context: Any = None) -> float:
    try:
        result = _number(self, context, 0) ** _number(self, context, 1)
    except (ValueError, OverflowError, ZeroDivisionError):
        return math.nan
    return result if isinstance(result, float) else math.nan  # a negative number's root is complex


@method(function("atan2", nargs=2))
def evaluate__atan2(self: Any, context: Any = None) -> float:
    return math.atan2(_number(self, context, 0), _number(self, context, 1))


@method(function("pi", nargs=0))
def evaluate__pi(self: Any, context: Any = None) -> float:
    return math.pi


def _all_values(self: Any, context: Any) -> list[Any]:
    """Every argument's items: nodes of a node-set (their strings) and plain values, in order."""
    values: list[Any] = []
    for operand in self:
        values += _atoms(operand, context)
    return values


def _extreme(self: Any, context: Any, pick: Callable[[list[float]], float]) -> float:
    numbers = [to_number(v) for v in _all_values(self, context)]
    if not numbers or any(math.isnan(n) for n in numbers):
        return math.nan
    return pick(numbers)


@method(function("min", nargs=(1, None)))
def evaluate__min(self: Any, context: Any = None) -> float:
    """min(nodeset) or min(a, b, …): NaN if any value is not a number or there is none (ODK)."""
    return _extreme(self, context, min)


@method(function("max", nargs=(1, None)))
def evaluate__max(self: Any, context: Any = None) -> float:
    return _extreme(self, context, max)


@method(function("count-non-empty", nargs=1))
def evaluate__count_non_empty(self: Any, context: Any = None) -> int:
    return sum(1 for value in _atoms(self[0], context) if to_string(value) != "")


@method(function("join", nargs=(1, None)))
def evaluate__join(self: Any, context: Any = None) -> str:
    """join(separator, nodeset or values…)."""
    separator = _string(self, context, 0)
    values: list[Any] = []
    for operand in self[1:]:
        values += _atoms(operand, context)
    return separator.join(to_string(v) for v in values)


@method(function("uuid", nargs=(0, 1)))
def evaluate__uuid(self: Any, context: Any = None) -> str:
    """A random UUID, or uuid(n): n random letters and digits."""
    if len(self) == 0:
        return str(uuid.uuid4())
    length = _number(self, context, 0)
    alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
    if math.isnan(length) or math.isinf(length):
        return ""
    return "".join(secrets.choice(alphabet) for _ in range(min(max(int(length), 0), _UUID_MAX)))


_UUID_MAX = 1024  # an answer is a chat message's worth of text, not a megabyte


@method(function("random", nargs=0))
def evaluate__random(self: Any, context: Any = None) -> float:
    return secrets.randbelow(10 ** 15) / 10 ** 15


@method(function("randomize", nargs=(1, 2)))
def evaluate__randomize(self: Any, context: Any = None) -> list[Any]:
    """randomize(nodeset[, seed]): the nodes shuffled, the same order for the same seed."""
    nodes = list(self[0].evaluate(copy(context)) or [])
    seed: Any = _number(self, context, 1) if len(self) > 1 else None
    if seed is None or math.isnan(seed):
        # ODK shuffles once when the form opens; a chat shows the list again at every step, so the
        # order comes from the questionnaire (its instance id), never from the wall clock
        seed = getattr(context, "random_seed", "") or None
    random.Random(seed).shuffle(nodes)
    return nodes


@method(function("digest", nargs=(2, 3)))
def evaluate__digest(self: Any, context: Any = None) -> str:
    """digest(text, 'SHA-256'[, 'hex' | 'base64']): MD5, SHA-1, SHA-256, SHA-384 or SHA-512."""
    algorithm = _string(self, context, 1).replace("-", "").lower()
    if algorithm not in ("md5", "sha1", "sha256", "sha384", "sha512"):
        raise self.error("FOAR0002", f"digest(): unknown algorithm {_string(self, context, 1)!r}")
    digest = hashlib.new(algorithm, _string(self, context, 0).encode()).digest()
    encoding = _string(self, context, 2).lower() if len(self) > 2 else "base64"
    return digest.hex() if encoding == "hex" else base64.b64encode(digest).decode()


@method(function("base64-decode", nargs=1))
def evaluate__base64_decode(self: Any, context: Any = None) -> str:
    try:
        return base64.b64decode(_string(self, context, 0), validate=True).decode("utf-8", "replace")
    except (ValueError, binascii.Error):
        return ""


@method(function("checklist", nargs=(3, None)))
def evaluate__checklist(self: Any, context: Any = None) -> bool:
    """checklist(min, max, answers…): how many are true lies between min and max (-1: no bound)."""
    low, high = _number(self, context, 0), _number(self, context, 1)
    count = 0
    for operand in self[2:]:
        count += sum(1 for value in _atoms(operand, context) if _is_true(value))
    return (low < 0 or count >= low) and (high < 0 or count <= high)


@method(function("weighted-checklist", nargs=(4, None)))
def evaluate__weighted_checklist(self: Any, context: Any = None) -> bool:
    """weighted-checklist(min, max, answer, weight, …): the sum of the weights of true answers."""
    low, high = _number(self, context, 0), _number(self, context, 1)
    pairs = list(self[2:])
    total = 0.0
    for answer, weight in zip(pairs[0::2], pairs[1::2]):
        if any(_is_true(v) for v in _atoms(answer, context)):
            total += sum(to_number(w) for w in _atoms(weight, context))
    return (low < 0 or total >= low) and (high < 0 or total <= high)


def _is_true(value: Any) -> bool:
    return value is True or to_string(value).strip() in ("true", "1", "yes")


@method(function("position", nargs=(0, 1)))
def evaluate__position(self: Any, context: Any = None) -> int:
    """position() in a predicate; position(node): the node's 1-based index among its same-named siblings."""
    if len(self) == 0:
        if context is None:
            raise self.missing_context()
        return context.position
    nodes = self[0].evaluate(copy(context))
    node = nodes[0] if isinstance(nodes, list) and nodes else nodes
    if not isinstance(node, XPathNode) or node.parent is None:
        return 1
    same = [n for n in _children(node.parent) if n.name == node.name]
    return same.index(node) + 1 if node in same else 1


@method(function("indexed-repeat", nargs=(3, None)))
def evaluate__indexed_repeat(self: Any, context: Any = None) -> Any:
    """indexed-repeat(value, repeat, index[, repeat2, index2…]): value in the index-th repeat."""
    candidates = [n for n in (self[0].evaluate(copy(context)) or []) if isinstance(n, XPathNode)]
    for level in range(1, len(self) - 1, 2):
        repeats = [n for n in (self[level].evaluate(copy(context)) or []) if isinstance(n, XPathNode)]
        index = int(_number(self, context, level + 1) or 0) if not math.isnan(_number(self, context, level + 1)) else 0
        if not 1 <= index <= len(repeats):
            return ""
        chosen = repeats[index - 1]
        candidates = [n for n in candidates if n is chosen or _is_inside(n, chosen)]
    return candidates[0].string_value if candidates else ""


def _is_inside(node: Any, ancestor: Any) -> bool:
    parent = node.parent
    while parent is not None:
        if parent is ancestor:
            return True
        parent = parent.parent
    return False


_DATE_FORMATS = {"%Y": "%Y", "%y": "%y", "%m": "%m", "%n": "%-m", "%b": "%b", "%d": "%d", "%e": "%-d",
                 "%a": "%a", "%H": "%H", "%h": "%-H", "%M": "%M", "%S": "%S", "%3": "%f"}


def _parse_instant(text: str) -> dt.datetime | None:
    days = date_days(text)
    if days is None:
        return None
    match = _DATE.fullmatch(text)
    assert match is not None
    return dt.datetime(int(match[1]), int(match[2]), int(match[3]), int(match[4] or 0), int(match[5] or 0),
                       int(match[6] or 0))


def _formatted(self: Any, context: Any) -> str:
    text = _string(self, context, 0)
    instant = _parse_instant(text)
    if instant is None:
        number = to_number(text)
        if math.isnan(number) or math.isinf(number):
            return ""
        try:
            instant = dt.datetime(1970, 1, 1) + dt.timedelta(days=number)
        except OverflowError:  # beyond year 9999
            return ""
    pattern = _string(self, context, 1)
    out = []
    index = 0
    while index < len(pattern):
        code = pattern[index:index + 2]
        if code in _DATE_FORMATS:
            part = instant.strftime(_DATE_FORMATS[code].replace("%-", "%"))
            if _DATE_FORMATS[code].startswith("%-"):
                part = part.lstrip("0") or "0"
            if code == "%3":
                part = part[:3]
            out.append(part)
            index += 2
        else:
            out.append(pattern[index])
            index += 1
    return "".join(out)


@method(function("format-date", nargs=2))
def evaluate__format_date(self: Any, context: Any = None) -> str:
    """format-date(date, '%d/%m/%Y'): ODK's codes %Y %y %m %n %b %d %e %a."""
    return _formatted(self, context)


@method(function("format-date-time", nargs=2))
def evaluate__format_date_time(self: Any, context: Any = None) -> str:
    return _formatted(self, context)


@method(function("date-time", nargs=1))
def evaluate__date_time(self: Any, context: Any = None) -> str:
    """A date-time from days since 1970 (or an ISO text), as ODK writes it (UTC)."""
    text = _string(self, context, 0)
    days = to_number(text)
    if math.isnan(days) or math.isinf(days):
        return ""
    try:
        return (dt.datetime(1970, 1, 1) + dt.timedelta(days=days)).isoformat(timespec="milliseconds")
    except OverflowError:  # beyond year 9999
        return ""


@method(function("decimal-time", nargs=1))
def evaluate__decimal_time(self: Any, context: Any = None) -> float:
    """The part of the day of a time (12:00 -> 0.5)."""
    match = re.fullmatch(r"\s*(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?.*", _string(self, context, 0))
    if not match or int(match[1]) > 23 or int(match[2]) > 59 or int(match[3] or 0) > 59:
        return math.nan
    return (int(match[1]) * 3600 + int(match[2]) * 60 + int(match[3] or 0)) / 86400


def _geo_points(self: Any, context: Any) -> list[tuple[float, float]]:
    """The points of a geoshape/geotrace text ("lat lon alt acc; …") or of several geopoints."""
    texts: list[str] = []
    for operand in self:
        texts += [to_string(v) for v in _atoms(operand, context)]
    points = []
    for part in ";".join(texts).split(";"):
        numbers = part.split()
        if len(numbers) >= 2:
            try:
                points.append((float(numbers[0]), float(numbers[1])))
            except ValueError:
                return []
    return points


_EARTH_RADIUS = 6_378_100.0  # metres, the radius JavaRosa uses


@method(function("distance", nargs=(1, None)))
def evaluate__distance(self: Any, context: Any = None) -> float:
    """The length in metres of a geotrace/geoshape, or between geopoints (great-circle, as ODK)."""
    points = _geo_points(self, context)
    if len(points) < 2:
        return math.nan
    return sum(_haversine(a, b) for a, b in zip(points, points[1:]))


def _haversine(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * _EARTH_RADIUS * math.asin(math.sqrt(h))


@method(function("area", nargs=1))
def evaluate__area(self: Any, context: Any = None) -> float:
    """The area in square metres of a geoshape (on the sphere, as ODK computes it)."""
    points = _geo_points(self, context)
    if len(points) < 3:
        return 0.0
    total = 0.0
    for (lat1, lon1), (lat2, lon2) in zip(points, points[1:] + points[:1]):
        total += math.radians(lon2 - lon1) * (2 + math.sin(math.radians(lat1)) + math.sin(math.radians(lat2)))
    return abs(total * _EARTH_RADIUS ** 2 / 2)


@method(function("version", nargs=0))
def evaluate__version(self: Any, context: Any = None) -> str:
    return str(getattr(context, "form_version", "") or "")


# Pintu's NIK checks (forms/nik.py; docs/forms.md: NIK checks). Not ODK functions: a form that uses
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
        except (ArithmeticError, ValueError, TypeError) as error:  # a value no function expected
            raise ExpressionError(f"{self.source.strip()}: {type(error).__name__}: {error}") from None

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
                 choice_label: Callable[[str, str], str] | None = None,
                 instances: Any = None) -> OdkContext:
    """A context over an instance (a node tree from :func:`node_tree`) focused on ``item``;
    ``instances``: the secondary instances by id that instance('id') and pulldata() read."""
    context = OdkContext(root, item=item, current_dt=now)
    context.choice_label = choice_label
    context.instances = instances or {}
    return context


def node_tree(document: Any) -> Any:
    """elementpath's node tree of an ElementTree; built once per evaluation round and reused."""
    return XPathContext(document).root


def iter_elements(root: Any) -> Iterable[Any]:
    """The element nodes of a node tree, in document order."""
    return (node for node in root.iter_descendants() if node.node_kind == "element")
