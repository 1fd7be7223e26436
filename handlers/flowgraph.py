"""The state graph of the flows, read from their declarations and their own ``ctx.go`` calls.

Each entry point a flow declares (a command, a button prefix, a state's input step or entry, a home)
leads to the states its function (or the functions of the same module it calls) names in
``ctx.go(State.X, …)``, ``ctx.stay(State.X, …)`` or ``ctx.state = State.X`` (a screen shown in place),
or home with ``ctx.go_home()``; resting in IDLE after a screen is not a move. ``pintu flows`` prints the graph as Mermaid, and the tests use it to check
that every state can be reached.
"""
from __future__ import annotations

import ast
import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from types import ModuleType

from handlers.flow import Flow
from handlers.states import State

HOME = "home"


@dataclass(frozen=True)
class Edge:
    source: str  # "/janji", "button ap", a state's value, or "home (resident)"
    target: str  # a state's value, or HOME
    how: str = ""  # "text", "input", "enter", ...


def edges(flow: Flow) -> list[Edge]:
    """Every move a flow's entry points can make, deduplicated, in declaration order."""
    found: list[Edge] = []
    for names, step in _by_step(flow.commands).items():
        found += [Edge(" ".join(f"/{n}" for n in names), target) for target in targets(step)]
    for prefixes, step in _by_step(flow.buttons).items():
        found += [Edge("button " + " ".join(prefixes), target) for target in targets(step)]
    for kind, step in flow.homes.items():
        found += [Edge(f"home ({kind})", target) for target in targets(step)]
    for spec in flow.states:
        for how, step in (("enter", spec.enter), ("text", spec.on_text), ("input", spec.on_input)):
            if step is not None:
                found += [Edge(spec.state.value, target, how) for target in targets(step) if target != spec.state.value]
    return list(dict.fromkeys(found))


def targets(step: Callable) -> list[str]:
    """The states (and HOME) a step can lead to, following calls to functions of its own module."""
    module = inspect.getmodule(step)
    if module is None:
        return []
    calls, moves = _module_graph(module)
    seen, stack, result = set(), [step.__name__], []
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        result += moves.get(name, [])
        stack += calls.get(name, [])
    return list(dict.fromkeys(result))


@lru_cache(maxsize=None)
def _module_graph(module: ModuleType) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Per function of the module: the module's functions it calls, and the states it moves to."""
    tree = ast.parse(inspect.getsource(module))
    functions = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    calls: dict[str, list[str]] = {}
    moves: dict[str, list[str]] = {}
    for name, node in functions.items():
        for inner in ast.walk(node):
            if isinstance(inner, ast.Name) and inner.id in functions and inner.id != name:
                calls.setdefault(name, []).append(inner.id)
            target = None
            if isinstance(inner, ast.Call) and isinstance(inner.func, ast.Attribute):
                target = _move_target(inner, module)
            elif isinstance(inner, ast.Assign) and any(isinstance(t, ast.Attribute) and t.attr == "state"
                                                       for t in inner.targets):
                state = _state_named(inner.value, module)
                target = state.value if state is not None and state is not State.IDLE else None
            if target is not None:
                moves.setdefault(name, []).append(target)
    return calls, moves


def _move_target(call: ast.Call, module: ModuleType) -> str | None:
    method = call.func.attr  # type: ignore[union-attr]
    if method == "go_home":
        return HOME
    if method not in ("go", "stay") or not call.args:
        return None
    state = _state_named(call.args[0], module)
    if state is None or (method == "stay" and state is State.IDLE):
        return None
    return state.value


def _state_named(node: ast.expr, module: ModuleType) -> State | None:
    """``State.X`` or a module constant bound to a State."""
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "State":
        return State.__members__.get(node.attr)
    if isinstance(node, ast.Name):
        value = getattr(module, node.id, None)
        return value if isinstance(value, State) else None
    return None


def _by_step(table: dict[str, Callable]) -> dict[tuple[str, ...], Callable]:
    grouped: dict[Callable, list[str]] = {}
    for name, step in table.items():
        grouped.setdefault(step, []).append(name)
    return {tuple(names): step for step, names in grouped.items()}


def mermaid(flows: Iterable[Flow]) -> str:
    """The state graph of every flow as one Mermaid flowchart, a subgraph per flow."""
    lines = ["flowchart LR", f'  {HOME}(["home / idle"])']
    for flow in flows:
        lines.append(f'  subgraph {flow.name}["{flow.name}: {_label(flow.doc)}"]')
        for spec in flow.states:
            lines.append(f'    {_node(spec.state.value)}["{spec.state.name}<br/><i>{_label(spec.doc)}</i>"]')
        lines.append("  end")
        for edge in edges(flow):
            source = edge.source if edge.source in State._value2member_map_ else None
            if source is None:
                entry = _node(f"{flow.name}:{edge.source}")
                lines.append(f'  {entry}>"{_label(edge.source)}"]')
                source_node = entry
            else:
                source_node = _node(source)
            label = f"|{edge.how}|" if edge.how else ""
            lines.append(f"  {source_node} -->{label} {_node(edge.target)}")
    return "\n".join(dict.fromkeys(lines))


def _node(name: str) -> str:
    if name in (HOME, State.IDLE.value):
        return HOME
    return "".join(c if c.isalnum() else "_" for c in name)


def _label(text: str) -> str:
    """Text inside a quoted Mermaid label: its own quotes would end it."""
    return text.replace('"', "#quot;")
