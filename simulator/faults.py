"""Faults on demand: make a bot's next calls fail or hang the way Telegram's servers sometimes do.

Tests set them through the user side (``POST /sim/{bot}/faults``) to exercise a bot's retry logic:

- ``500`` / ``502``: answer ``Internal Server Error`` / ``Bad Gateway`` without performing the call;
- ``429``: answer ``Too Many Requests: retry after N`` (``parameters.retry_after``) without performing it;
- ``hang``: wait ``seconds``, then perform the call and answer (a client that gives up and hangs up
  first has the call dropped, as a request lost on the way);
- ``hang-after``: perform the call at once (it is visible to users), then wait ``seconds`` before
  answering — the client that times out cannot know the call went through.

Only bot-side HTTP calls are affected (not the user side, not calls carried in webhook replies).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from .errors import ApiError, too_many_requests

ANY_METHOD = "*"
# kind -> (HTTP status, description) for the kinds that answer at once without performing the call.
ERRORS = {"500": (500, "Internal Server Error"), "502": (502, "Bad Gateway"), "429": (429, "")}
HANGS = ("hang", "hang-after")
KINDS = (*ERRORS, *HANGS)

_ids = itertools.count(1)


class FaultError(ValueError):
    """A fault that cannot be set (unknown method or kind, bad numbers)."""


@dataclass
class Fault:
    """One armed fault: fires on the ``count`` matching calls that follow the first ``skip``."""

    method: str  # lower-case Bot API method name, or "*" (every method but getUpdates)
    kind: str
    count: int = 1
    skip: int = 0
    chat_id: int | str | None = None
    seconds: float = 0.0
    id: int = field(default_factory=lambda: next(_ids))
    skipped: int = 0  # matching calls let through before firing
    fired: int = 0
    abandoned: int = 0  # ``hang`` calls whose client hung up before the wait ended (not performed)

    @classmethod
    def create(
        cls,
        method: str | None,
        kind: str,
        count: int = 1,
        skip: int = 0,
        chat_id: int | str | None = None,
        seconds: float | None = None,
    ) -> Fault:
        """Validate a fault as the user side describes it."""
        from .calls import METHODS  # here: calls imports the world, which holds the faults
        name = (method or ANY_METHOD).strip().lower()
        if name != ANY_METHOD and name not in METHODS:
            raise FaultError(f"unknown Bot API method {method!r}")
        kind = str(kind).lower()
        if kind not in KINDS:
            raise FaultError(f"unknown fault kind {kind!r}; one of {', '.join(KINDS)}")
        if count < 1 or skip < 0:
            raise FaultError("count must be at least 1 and skip at least 0")
        if seconds is None:
            if kind in HANGS:
                raise FaultError(f"a {kind!r} fault needs seconds")
            seconds = 1.0 if kind == "429" else 0.0
        if seconds < 0 or (kind == "429" and seconds < 1):
            raise FaultError("seconds must not be negative (at least 1 for 429)")
        return cls(name, kind, count, skip, chat_id, float(seconds))

    @property
    def exhausted(self) -> bool:
        """Whether the fault has fired ``count`` times."""
        return self.fired >= self.count

    def matches(self, method: str, chat_id: int | str | None) -> bool:
        """Whether a call of ``method`` (lower case) to ``chat_id`` is one this fault watches."""
        if self.exhausted:
            return False
        if self.method == ANY_METHOD:
            if method == "getupdates":
                return False
        elif self.method != method:
            return False
        if self.chat_id is None:
            return True
        return chat_id is not None and str(chat_id).strip().lower() == str(self.chat_id).strip().lower()

    def error(self) -> ApiError:
        """The answer of an error kind."""
        if self.kind == "429":
            return too_many_requests(int(self.seconds))
        return ApiError(*ERRORS[self.kind])

    def to_view(self) -> dict:
        """What the user side sees of the fault."""
        from .calls import METHODS
        return {
            "id": self.id,
            "method": METHODS[self.method][0] if self.method in METHODS else self.method,
            "kind": self.kind,
            "count": self.count,
            "skip": self.skip,
            "chat_id": self.chat_id,
            "seconds": self.seconds,
            "skipped": self.skipped,
            "fired": self.fired,
            "abandoned": self.abandoned,
            "remaining": self.count - self.fired,
        }


class Faults:
    """A bot's armed faults, in the order they were set, and the ones that ran out."""

    def __init__(self) -> None:
        self.armed: list[Fault] = []
        self.spent: list[Fault] = []

    def add(self, fault: Fault) -> Fault:
        """Arm a fault."""
        self.armed.append(fault)
        return fault

    def clear(self) -> None:
        """Disarm and forget every fault."""
        self.armed.clear()
        self.spent.clear()

    def take(self, method: str, chat_id: int | str | None) -> Fault | None:
        """The fault a call fires, if any.

        Every armed fault still skipping counts the call as skipped; the first one past its ``skip`` fires.
        """
        chosen = None
        for fault in self.armed:
            if not fault.matches(method, chat_id):
                continue
            if fault.skipped < fault.skip:
                fault.skipped += 1
            elif chosen is None:
                chosen = fault
                fault.fired += 1
        if chosen is not None and chosen.exhausted:
            self.armed.remove(chosen)
            self.spent.append(chosen)
        return chosen

    def to_view(self) -> dict:
        """``{"fired": total, "faults": [...]}``, armed ones first."""
        faults = self.armed + self.spent
        return {"fired": sum(f.fired for f in faults), "faults": [f.to_view() for f in faults]}
