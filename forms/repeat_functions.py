"""ODK's functions over repeats, registered on forms.xpath's OdkParser (imported by forms.xpath).

- ``position(node)``: the 1-based position of ``node`` among its siblings of the same name, so
  ``position(..)`` inside a repeat is the number of the instance (member 1, 2, ...); ``position()``
  without an argument keeps XPath's meaning (the position in the context, inside a predicate);
- ``indexed-repeat(path, repeat, n)``: the value of ``path`` in the n-th instance of ``repeat``;
- ``max(nodes)`` / ``min(nodes)``: the largest / smallest number among the nodes. Blank nodes are
  left out (an irrelevant member's answer counts as blank); NaN when nothing is a number.

Each is registered only when the parser does not have it yet, so a more complete version added to
forms.xpath (ODK's whole function library) takes precedence without a clash.
"""
from __future__ import annotations

import math
from copy import copy
from typing import Any

from elementpath.xpath_nodes import XPathNode

from forms.xpath import OdkParser, to_number, to_string

method = OdkParser.method
function = OdkParser.function


def _nodes(self: Any, context: Any, index: int) -> list[Any]:
    return [n for n in self[index].select(copy(context)) if isinstance(n, XPathNode)]


if "position" in OdkParser.symbol_table and OdkParser.symbol_table["position"].nargs == 0:
    OdkParser.unregister("position")

    @method(function("position", nargs=(0, 1)))
    def evaluate__position(self: Any, context: Any = None) -> int:
        if context is None:
            raise self.missing_context()
        if len(self) == 0:
            return int(context.position)
        nodes = _nodes(self, context, 0)
        if not nodes or nodes[0].parent is None:
            return 1
        node = nodes[0]
        same = [c for c in node.parent if isinstance(c, XPathNode) and c.node_kind == "element"
                and c.name == node.name]
        return next(i for i, c in enumerate(same, start=1) if c is node)


if "indexed-repeat" not in OdkParser.symbol_table:
    @method(function("indexed-repeat", nargs=3))
    def evaluate__indexed_repeat(self: Any, context: Any = None) -> str:
        """indexed-repeat(/data/roster/name, /data/roster, 2): the name of the second member."""
        instances = _nodes(self, context, 1)
        number = to_number(to_string(self.get_argument(copy(context), index=2)))
        if math.isnan(number) or not 1 <= int(number) <= len(instances):
            return ""
        target = instances[int(number) - 1]
        for node in _nodes(self, context, 0):
            parent = node
            while parent is not None and parent is not target:
                parent = parent.parent
            if parent is target:
                return node.compat_string_value
        return ""


def _numbers(self: Any, context: Any) -> list[float]:
    values = [n.compat_string_value if isinstance(n, XPathNode) else to_string(n)
              for n in self[0].select(copy(context))]
    return [to_number(v) for v in values if v.strip()]


if "max" not in OdkParser.symbol_table:
    @method(function("max", nargs=1))
    def evaluate__max(self: Any, context: Any = None) -> float:
        numbers = _numbers(self, context)
        return math.nan if not numbers or any(math.isnan(x) for x in numbers) else max(numbers)

if "min" not in OdkParser.symbol_table:
    @method(function("min", nargs=1))
    def evaluate__min(self: Any, context: Any = None) -> float:
        numbers = _numbers(self, context)
        return math.nan if not numbers or any(math.isnan(x) for x in numbers) else min(numbers)


if "current" not in OdkParser.symbol_table:
    @method(function("current", nargs=0))
    def evaluate__current(self: Any, context: Any = None) -> list[Any]:
        """The node whose expression this is (the engine sets ``current_item``), also inside a predicate:
        ``current()/../age`` is the age of the member being asked."""
        if context is None:
            raise self.missing_context()
        item = getattr(context, "current_item", None)  # not "or": an empty element node is falsy
        return [context.item if item is None else item]

    # current() may start a path (current()/../age), as a step does in XPath 1.0's FilterExpr '/' path.
    OdkParser.PATH_STEP_SYMBOLS = {*OdkParser.PATH_STEP_SYMBOLS, "current"}
