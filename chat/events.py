"""Plain incoming events and outgoing actions: the only language handlers speak.

The transports in bot/ translate Telegram updates (from python-telegram-bot or aiogram) into
:class:`Incoming` and execute the returned actions (so does the outbox dispatcher); handlers never see
a Telegram object.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from chat.fit import fit_html
from chat.keyboard import Keyboard, Markup


@dataclass(frozen=True)
class Sender:
    telegram_id: int
    first_name: str = ""
    language_code: str | None = None


@dataclass(frozen=True)
class Location:
    latitude: float
    longitude: float
    horizontal_accuracy: float | None = None
    live_period: int | None = None


# Telegram lets a bot download (getFile) files of at most 20 MB; larger ones are never fetched.
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024

ATTACHMENT_KINDS = ("photo", "document", "sticker", "voice", "video", "audio", "other")


@dataclass(frozen=True)
class Attachment:
    """A file (or sticker, voice note…) that came with a message, reduced to plain values.

    ``kind`` is one of :data:`ATTACHMENT_KINDS`. For a photo (its largest size), a document, a voice
    note, an audio file or a video of at most :data:`MAX_DOWNLOAD_BYTES` the transport gives a
    ``fetch`` that downloads the bytes into ``content`` when a step asks (:func:`fetched`); when it could
    not, ``content`` is None and ``error`` says why: "too-large" (over 20 MB, or Telegram's "file is
    too big"), "download-failed" (network, timeout, any refusal). Stickers are never downloaded
    (``content`` and ``error`` both None). Nothing here is trusted: names and MIME types are what the
    sender's app claims; domain/photos.py decodes the bytes to know what they are.
    """

    kind: str
    file_id: str
    file_unique_id: str | None = None
    file_name: str | None = None
    mime_type: str | None = None
    file_size: int | None = None
    content: bytes | None = field(default=None, repr=False)
    error: str | None = None
    # Set by the transport: downloads the file when a step asks for it (see :func:`fetched`), so a file
    # sent where none is expected is never downloaded. Returns this attachment with content or error.
    fetch: Callable[[], Attachment] | None = field(default=None, repr=False, compare=False)


def fetched(attachment: Attachment) -> Attachment:
    """The attachment with its bytes in ``content`` (or ``error`` saying why not), downloaded now if the
    transport left that for later. Call it only in a step that asks for a file (from a handler thread)."""
    if attachment.content is not None or attachment.error is not None or attachment.fetch is None:
        return attachment
    return attachment.fetch()


@dataclass(frozen=True)
class Incoming:
    """One update, reduced to what the flows need."""

    sender: Sender
    chat_id: int
    text: str | None = None  # plain text, or a command such as "/start abc"
    callback_id: str | None = None
    callback_data: str | None = None
    message_id: int | None = None  # the message a pressed button belongs to
    location: Location | None = None
    contact_phone: str | None = None
    photo_file_id: str | None = None  # the largest size of a photo (kept for existing flows)
    attachment: Attachment | None = None  # a photo, document, sticker, voice note… (see Attachment)
    # An edited_message carrying a live location: a new point of a location already shared.
    is_live_update: bool = False
    chat_type: str = "private"
    # Telegram's update_id (increasing per bot): lets the handlers drop a redelivered or late update
    # when several workers share the database. None when unknown (tests, the CLI): never dropped.
    update_id: int | None = None

    @property
    def command(self) -> str | None:
        """The command without slash or @botname, lower-cased; None for plain text."""
        if not self.text or not self.text.startswith("/"):
            return None
        head = self.text.split(maxsplit=1)[0][1:]
        return head.split("@", 1)[0].lower() or None

    @property
    def addressee(self) -> str | None:
        """The bot a command names ("/janji@PintuBot" -> "PintuBot"), None when it names none."""
        if not self.command:
            return None
        _, at, name = self.text.split(maxsplit=1)[0].partition("@")
        return name or None if at else None

    @property
    def command_args(self) -> str:
        if not self.command:
            return ""
        parts = self.text.split(maxsplit=1) if self.text else []
        return parts[1].strip() if len(parts) > 1 else ""

    @property
    def is_callback(self) -> bool:
        return self.callback_id is not None


@dataclass(frozen=True)
class SendMessage:
    chat_id: int
    text: str  # HTML parse mode; every dynamic part is escaped by the renderer
    markup: Markup = None

    def __post_init__(self) -> None:
        # Whoever composes it (a step, a notification, the outbox), Telegram must accept it (chat/fit.py).
        object.__setattr__(self, "text", fit_html(self.text))


@dataclass(frozen=True)
class EditMessage:
    """Replace a message's text and inline keyboard in place: no new message, no notification."""

    chat_id: int
    message_id: int
    text: str
    markup: Keyboard | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "text", fit_html(self.text))


@dataclass(frozen=True)
class AnswerCallback:
    callback_id: str
    text: str | None = None
    show_alert: bool = False


@dataclass(frozen=True)
class SendDocument:
    """Send a file (sendDocument, uploaded as multipart): an export. ``caption`` is HTML like a message."""

    chat_id: int
    filename: str
    content: bytes = field(repr=False)
    caption: str | None = None


@dataclass(frozen=True)
class SendPhoto:
    """Send a picture Pintu drew (sendPhoto, uploaded as multipart): the day's route. ``caption`` is HTML."""

    chat_id: int
    filename: str
    content: bytes = field(repr=False)
    caption: str | None = None


@dataclass(frozen=True)
class SetChatMenu:
    """Give one private chat its own command menu (setMyCommands with a chat scope): the commands of
    the user's role. ``menus`` maps a language code ("" for everyone else) to (command, description)."""

    chat_id: int
    menus: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]


Action = SendMessage | EditMessage | AnswerCallback | SendDocument | SendPhoto | SetChatMenu


@dataclass
class Reply:
    """What a handler returns: the actions, in order."""

    actions: list[Action] = field(default_factory=list)

    def add(self, action: Action) -> "Reply":
        self.actions.append(action)
        return self
