"""The Bot API as the rest of Pintu sees it: a client port, the ways Telegram refuses, and one policy
for what each refusal means.

The transports (bot/) implement :class:`ApiClient` once per framework and translate the framework's
exceptions into :class:`TelegramRefused`; the outbox dispatcher (scheduling/) sends through the same
port. What a refusal means is decided once, by :func:`verdict`: the direct replies
(chat/delivery.py) and the dispatcher only differ in what they can do about it (wait in place, or put
the row back in the queue).
"""
from __future__ import annotations

import abc
import logging
from dataclasses import dataclass
from enum import Enum, StrEnum

from chat.events import Action, AnswerCallback, EditMessage, SendDocument, SendMessage, SendPhoto, SetChatMenu

log = logging.getLogger(__name__)

class Refusal(StrEnum):
    """How Telegram refused a request, independent of the framework's exception types."""

    BLOCKED = "blocked"  # 403: the user blocked the bot
    RETRY_AFTER = "retry_after"  # 429: too many requests; wait retry_after seconds
    NOT_MODIFIED = "not_modified"  # 400: an edit that changes nothing
    MESSAGE_GONE = "not_found"  # 400: the message to edit was deleted or is too old to edit
    CHAT_NOT_FOUND = "chat_not_found"  # 400: the account is gone, or never talked to the bot
    BAD_REQUEST = "bad_request"  # 400 of any other kind: this request will never succeed as it is
    NETWORK = "network"  # no answer, a timeout, a 5xx: the same request may succeed later


class TelegramRefused(Exception):
    """Telegram refused a request (or did not answer); ``kind`` says how."""

    def __init__(self, kind: Refusal | str, description: str = "", retry_after: float = 0.0) -> None:
        self.kind = Refusal(kind)
        super().__init__(f"{self.kind.value}: {description}")
        self.description = description
        self.retry_after = retry_after


class Verdict(Enum):
    """What a refusal means for the message that was refused."""

    WAIT_AND_RETRY = "wait"  # our pace, not the message: wait retry_after, then the same request again
    RETRY_LATER = "later"  # a passing failure: try again after a backoff
    DONE = "done"  # nothing to do: the screen already shows what the edit would show
    SEND_AS_NEW = "new"  # the edited message is gone: show the same screen as a new message
    RECIPIENT_BLOCKED = "blocked"  # never deliverable while blocked; the user is marked so
    UNDELIVERABLE = "undeliverable"  # nobody to deliver to
    FAILED = "failed"  # the request itself is wrong: retrying cannot help


def verdict(refused: TelegramRefused, action: Action | None = None) -> Verdict:
    """The one refusal policy of the bot; ``action`` is the refused request (an edit is judged apart)."""
    kind = refused.kind
    editing = isinstance(action, EditMessage)
    if kind is Refusal.RETRY_AFTER:
        return Verdict.WAIT_AND_RETRY
    if kind is Refusal.BLOCKED:
        return Verdict.RECIPIENT_BLOCKED
    if kind is Refusal.NOT_MODIFIED:
        return Verdict.DONE if editing else Verdict.FAILED
    if kind is Refusal.MESSAGE_GONE:
        return Verdict.SEND_AS_NEW if editing else Verdict.UNDELIVERABLE
    if kind is Refusal.CHAT_NOT_FOUND:
        return Verdict.UNDELIVERABLE
    if kind is Refusal.BAD_REQUEST:
        return Verdict.FAILED
    return Verdict.RETRY_LATER


@dataclass(frozen=True)
class Sent:
    message_id: int | None


class ApiClient(abc.ABC):
    """The few Bot API calls the bot makes, implemented once per framework."""

    @abc.abstractmethod
    async def send_message(self, action: SendMessage) -> Sent: ...

    @abc.abstractmethod
    async def edit_message(self, action: EditMessage) -> None: ...

    @abc.abstractmethod
    async def answer_callback(self, action: AnswerCallback) -> None: ...

    async def send_document(self, action: SendDocument) -> Sent:
        """sendDocument (an export); clients that never send files need not implement it."""
        raise NotImplementedError(f"{type(self).__name__} cannot send documents")

    async def send_photo(self, action: SendPhoto) -> Sent:
        """sendPhoto (a picture Pintu drew); clients that never send pictures need not implement it."""
        raise NotImplementedError(f"{type(self).__name__} cannot send photos")

    async def set_chat_menu(self, action: SetChatMenu) -> None:
        """setMyCommands with the chat's scope, once per language of the action; clients that never
        change menus need not implement it."""
        raise NotImplementedError(f"{type(self).__name__} cannot set command menus")
