"""How a flow declares itself: the commands and button prefixes it owns, and its states.

Each module of handlers/flows/ ends with one :class:`Flow`. The router (handlers/app.py) builds its
tables from these declarations alone: a command goes to the flow that owns it, a press to the flow that
owns its prefix, and any other input to the state the conversation is in. A step moves the conversation
with ``ctx.go(State.X, …)`` or ``ctx.go_home()``; the router then *enters* the target state (runs its
``enter``), so a flow leads into another without importing it.

What each state accepts is declared (:class:`Accepts`); input it does not accept gets the state's own
answer (``on_other``) or the router's general one ("use the buttons", "we were not asking for a photo").
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Flag, auto

from handlers.context import Context
from handlers.states import State

Step = Callable[[Context], None]


class Accepts(Flag):
    """The kinds of input a state reads; commands are always read by the router."""

    NOTHING = 0
    BUTTON = auto()  # a press on one of the flow's buttons
    TEXT = auto()  # typed text
    LOCATION = auto()  # a shared location (and a live location's later points)
    MEDIA = auto()  # a photo, a document, a sticker, a voice note…


@dataclass(frozen=True)
class StateSpec:
    """One state of a flow.

    ``enter`` shows the state's screen when a step goes there (it reads what it needs from
    ``ctx.data``); ``on_text`` reads typed text and ``on_input`` a location or attachment;
    ``on_other`` answers input the state does not accept (default: the router's hint); ``presses``
    are button prefixes whose presses are input to this state (capture's "is this location right?").
    """

    state: State  # or a member of another str Enum named "flow.step" (a test's own flow)
    accepts: Accepts
    enter: Step | None = None
    on_text: Step | None = None
    on_input: Step | None = None
    on_other: Step | None = None
    presses: frozenset[str] = frozenset()  # button prefixes read as input by on_input (no flow owns them)
    # Whether a photo's or document's bytes should be downloaded for this state's step now (a photo
    # question, the list import). None: never — a file nobody asked for is not fetched (see
    # PintuHandlers.expects_file); the step still sees the attachment's kind, name and size.
    wants_file: Callable[[Context], bool] | None = None
    doc: str = ""  # what the state waits for, in a few words (pintu flows prints it)

    def __post_init__(self) -> None:
        if (Accepts.TEXT in self.accepts) != (self.on_text is not None):
            raise ValueError(f"{self.state}: a state accepts typed text exactly when it has on_text")
        wants_input = bool(self.accepts & (Accepts.LOCATION | Accepts.MEDIA))
        if wants_input != (self.on_input is not None):
            raise ValueError(f"{self.state}: a state accepts locations/files exactly when it has on_input")


@dataclass(frozen=True)
class Flow:
    """A conversation flow as data.

    ``homes`` maps a kind of user (domain.access.home_kind) to the step that shows their home screen.
    Where each step may lead is read from the module's own ``ctx.go`` calls (handlers/flowgraph.py).
    """

    name: str
    doc: str
    commands: Mapping[str, Step] = field(default_factory=dict)
    buttons: Mapping[str, Step] = field(default_factory=dict)
    states: tuple[StateSpec, ...] = ()
    homes: Mapping[str, Step] = field(default_factory=dict)
    before_consent: frozenset[str] = frozenset()  # commands and prefixes open before the privacy notice is agreed
    group_commands: Mapping[str, Step] = field(default_factory=dict)  # read in group chats (nothing else is)
    # A live location's later points while the conversation is in a state that does not read locations
    # (Telegram sends one every few seconds, as edits): one flow may take them, silently.
    live_locations: Step | None = None

    def __post_init__(self) -> None:
        for spec in self.states:
            owner = spec.state.value.partition(".")[0]
            if owner != self.name:
                raise ValueError(f"flow {self.name} declares {spec.state.value}, which belongs to {owner}")


def use_buttons(ctx: Context) -> None:
    """``on_other`` of a state that waits for a press: typed text or a file gets this hint."""
    ctx.send(ctx.t("use-buttons"))
