"""Helpers for tests: run a simulator in a background thread and act as users through it.

    with running_simulator(rate_limits=False) as sim:
        bot_id = sim.register_bot(TOKEN, "pintu_bot")
        # point the bot at sim.url (PTB: base_url=f"{sim.url}/bot", base_file_url=f"{sim.url}/file/bot")
        sim.send_text(bot_id, 1001, "/start")
        reply = sim.wait_for_message(bot_id, 1001, lambda m: "Welcome" in (m["text"] or ""))

The server runs on its own event loop in its own thread, so the bot under test may run on the test's
loop. Blocking helpers would stall that loop; async tests use ``sim.async_client()`` instead, whose
methods are the same but awaitable.
"""

from __future__ import annotations

import asyncio
import inspect
import socket
import struct
import threading
import time
import zlib
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import httpx
from aiohttp import web

from .config import SimulatorConfig
from .server import create_app, make_runner

Predicate = Callable[[dict], Any]
_HTTP_SLACK = 10.0  # seconds a request may take beyond the long-poll wait it asked for


class SimulatorError(RuntimeError):
    """The user-side API refused a call (``description`` says why)."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(f"{status}: {description}")
        self.status = status
        self.description = description


class FakeClock:
    """A monotonic clock moved by hand; pass it as ``clock=`` so rate-limit tests never sleep."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.now += seconds


class _UserCalls:
    """The user-side API, shared by the blocking and the async client.

    Each method returns ``self._request(...)``: a value for the blocking client, an awaitable for the
    async one.
    """

    def _request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict | None = None,
        files: dict | None = None,
        data: dict | None = None,
        timeout: float | None = None,
        pick: Callable[[Any], Any] | None = None,
    ) -> Any:
        raise NotImplementedError

    def register_bot(self, token: str, username: str, first_name: str | None = None) -> Any:
        """Host a bot; returns its numeric id (the user-side ``{bot}``)."""
        body = {"token": token, "username": username, "first_name": first_name}
        return self._request("POST", "/sim/bots", json=_compact(body), pick=lambda bot: bot["id"])

    def create_user(
        self,
        user_id: int,
        first_name: str,
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
    ) -> Any:
        """Create or update a user (unknown users are otherwise created on first use as "User <id>")."""
        body = {
            "id": user_id,
            "first_name": first_name,
            "last_name": last_name,
            "username": username,
            "language_code": language_code,
        }
        return self._request("POST", "/sim/users", json=_compact(body))

    def create_group(
        self,
        bot_id: int,
        chat_id: int,
        title: str,
        *,
        type: str = "group",
        username: str | None = None,
    ) -> Any:
        """Put the bot in a group (negative ``chat_id``); users then post there with ``chat_id=``."""
        body = {"id": chat_id, "type": type, "title": title, "username": username}
        return self._request("POST", f"/sim/{bot_id}/chats", json=_compact(body))

    def send_text(
        self,
        bot_id: int,
        user_id: int,
        text: str,
        *,
        chat_id: int | None = None,
        reply_to_message_id: int | None = None,
    ) -> Any:
        """The user writes ``text`` (``/commands`` get entities); returns the Message."""
        body = {"text": text, "chat_id": chat_id, "reply_to_message_id": reply_to_message_id}
        return self._request("POST", f"/sim/{bot_id}/users/{user_id}/messages", json=_compact(body))

    def press(
        self, bot_id: int, user_id: int, message_id: int, data: str, force: bool = False, *, chat_id: int | None = None
    ) -> Any:
        """Press the inline button with ``data`` (``force`` forges a press); returns the callback_query_id."""
        body = {"message_id": message_id, "data": data, "force": force, "chat_id": chat_id}
        path = f"/sim/{bot_id}/users/{user_id}/callback"
        return self._request("POST", path, json=_compact(body), pick=lambda r: r["callback_query_id"])

    def share_location(
        self,
        bot_id: int,
        user_id: int,
        latitude: float,
        longitude: float,
        *,
        horizontal_accuracy: float | None = None,
        live_period: int | None = None,
        chat_id: int | None = None,
    ) -> Any:
        """The user shares a location; returns the Message."""
        body = {
            "latitude": latitude,
            "longitude": longitude,
            "horizontal_accuracy": horizontal_accuracy,
            "live_period": live_period,
            "chat_id": chat_id,
        }
        return self._request("POST", f"/sim/{bot_id}/users/{user_id}/location", json=_compact(body))

    def move_live_location(
        self,
        bot_id: int,
        user_id: int,
        message_id: int,
        latitude: float,
        longitude: float,
        *,
        horizontal_accuracy: float | None = None,
        chat_id: int | None = None,
    ) -> Any:
        """A new point of the user's live location ``message_id`` (the bot gets an edited_message)."""
        body = {"message_id": message_id, "latitude": latitude, "longitude": longitude,
                "horizontal_accuracy": horizontal_accuracy, "chat_id": chat_id}
        return self._request("POST", f"/sim/{bot_id}/users/{user_id}/live_location", json=_compact(body))

    def send_sticker(self, bot_id: int, user_id: int, emoji: str | None = None, *, chat_id: int | None = None) -> Any:
        """The user sends a sticker; returns the Message."""
        body = {"emoji": emoji, "chat_id": chat_id}
        return self._request("POST", f"/sim/{bot_id}/users/{user_id}/sticker", json=_compact(body))

    def send_voice(self, bot_id: int, user_id: int, data: bytes, duration: int = 1, *, chat_id: int | None = None) -> Any:
        """The user sends a voice note (``data`` is the audio); returns the Message."""
        fields = _compact({"duration": duration, "chat_id": chat_id})
        path = f"/sim/{bot_id}/users/{user_id}/voice"
        return self._request("POST", path, files={"file": ("voice.ogg", data, "audio/ogg")}, data=_as_form(fields))

    def send_audio(self, bot_id: int, user_id: int, data: bytes, filename: str = "rekaman.mp3", duration: int = 1,
                   *, mime_type: str = "audio/mpeg", title: str | None = None, chat_id: int | None = None) -> Any:
        """The user sends an audio file (Telegram's music player kind); returns the Message with its audio."""
        fields = _compact({"duration": duration, "title": title, "chat_id": chat_id})
        path = f"/sim/{bot_id}/users/{user_id}/audio"
        return self._request("POST", path, files={"file": (filename, data, mime_type)}, data=_as_form(fields))

    def send_video(self, bot_id: int, user_id: int, data: bytes, filename: str = "video.mp4", duration: int = 1,
                   *, width: int = 640, height: int = 360, chat_id: int | None = None) -> Any:
        """The user sends a video; returns the Message with its video."""
        fields = _compact({"duration": duration, "width": width, "height": height, "chat_id": chat_id})
        path = f"/sim/{bot_id}/users/{user_id}/video"
        return self._request("POST", path, files={"file": (filename, data, "video/mp4")}, data=_as_form(fields))

    def share_contact(
        self,
        bot_id: int,
        user_id: int,
        phone_number: str,
        *,
        first_name: str | None = None,
        last_name: str | None = None,
    ) -> Any:
        """The user shares their own contact (as a request_contact button does); returns the Message."""
        body = {"phone_number": phone_number, "first_name": first_name, "last_name": last_name}
        return self._request("POST", f"/sim/{bot_id}/users/{user_id}/contact", json=_compact(body))

    def send_photo(
        self,
        bot_id: int,
        user_id: int,
        data: bytes,
        filename: str = "photo.png",
        *,
        caption: str | None = None,
        chat_id: int | None = None,
    ) -> Any:
        """The user sends an image (PNG, JPEG, GIF or WebP); returns the Message with its sizes."""
        fields = _compact({"caption": caption, "chat_id": chat_id})
        path = f"/sim/{bot_id}/users/{user_id}/photo"
        return self._request("POST", path, files={"file": (filename, data)}, data=_as_form(fields))

    def send_document(
        self,
        bot_id: int,
        user_id: int,
        data: bytes,
        filename: str,
        *,
        mime_type: str | None = None,
        caption: str | None = None,
        chat_id: int | None = None,
    ) -> Any:
        """The user sends a file; returns the Message with its document."""
        fields = _compact({"caption": caption, "chat_id": chat_id})
        upload = (filename, data, mime_type) if mime_type else (filename, data)
        path = f"/sim/{bot_id}/users/{user_id}/document"
        return self._request("POST", path, files={"file": upload}, data=_as_form(fields))

    def block(self, bot_id: int, user_id: int) -> Any:
        """The user blocks the bot (its sends then fail with 403)."""
        return self._request("POST", f"/sim/{bot_id}/users/{user_id}/block")

    def unblock(self, bot_id: int, user_id: int) -> Any:
        """The user unblocks the bot."""
        return self._request("POST", f"/sim/{bot_id}/users/{user_id}/unblock")

    def poll_messages(self, bot_id: int, chat_id: int, *, after: int = 0, wait: float = 0) -> Any:
        """``{"revision", "messages", "keyboard"}``: messages changed after revision ``after``,
        waiting up to ``wait`` seconds for a change."""
        params = {"after": after, "wait": wait}
        path = f"/sim/{bot_id}/chats/{chat_id}/messages"
        return self._request("GET", path, params=params, timeout=wait + _HTTP_SLACK)

    def messages(self, bot_id: int, chat_id: int) -> Any:
        """Every message of the chat, oldest first, as it is now (deleted ones carry ``deleted``)."""
        path = f"/sim/{bot_id}/chats/{chat_id}/messages"
        return self._request("GET", path, pick=lambda r: r["messages"])

    def keyboard(self, bot_id: int, chat_id: int) -> Any:
        """The reply keyboard the user currently sees (None when there is none)."""
        path = f"/sim/{bot_id}/chats/{chat_id}/messages"
        return self._request("GET", path, params={"after": 2**62}, pick=lambda r: r["keyboard"])

    def callback_answer(self, bot_id: int, callback_query_id: str) -> Any:
        """``{"callback_query_id", "message_id", "data", "answered", "text", "show_alert", "url"}``."""
        return self._request("GET", f"/sim/{bot_id}/callbacks/{callback_query_id}")

    def stats(self, bot_id: int) -> Any:
        """``{"methods", "new_messages", "errors", "too_many_requests"}``."""
        return self._request("GET", f"/sim/{bot_id}/stats")

    def commands(self, bot_id: int, chat_id: int = 0, language_code: str = "") -> Any:
        """The command menu a user sees in their private chat."""
        params = {"chat_id": chat_id, "language_code": language_code}
        return self._request("GET", f"/sim/{bot_id}/commands", params=params)

    def set_personas(self, bot_id: int, personas: list[dict]) -> Any:
        """Choose the panes of the chat page: ``[{"user_id", "title", "start"?}]``."""
        return self._request("POST", "/sim/personas", json={"bot": bot_id, "personas": personas})

    def inject_fault(
        self,
        bot: int | str,
        method: str | None = "sendMessage",
        kind: str = "500",
        count: int = 1,
        skip: int = 0,
        chat_id: int | str | None = None,
        seconds: float | None = None,
    ) -> Any:
        """Make the bot's next ``count`` calls of ``method`` misbehave (after letting ``skip`` through).

        ``bot`` is the bot's id or token; ``method`` is case-insensitive (None: every method but
        getUpdates); ``chat_id`` narrows it to calls for that chat. ``kind``: ``"500"``/``"502"``
        answer an error without performing the call, ``"429"`` a flood wait of ``seconds`` (default 1),
        ``"hang"`` waits ``seconds`` then performs, ``"hang-after"`` performs then answers ``seconds``
        late. Returns the fault (``id``, ``fired``, ``remaining``, …)."""
        body = {"method": method, "kind": str(kind), "count": count, "skip": skip, "chat_id": chat_id,
                "seconds": seconds}
        return self._request("POST", f"/sim/{bot}/faults", json=_compact(body))

    def faults(self, bot: int | str) -> Any:
        """Every fault set since the last clear, with its counters (``fired``, ``skipped``, ``abandoned``)."""
        return self._request("GET", f"/sim/{bot}/faults", pick=lambda r: r["faults"])

    def faults_fired(self, bot: int | str) -> Any:
        """How many calls faults have hit since the last clear."""
        return self._request("GET", f"/sim/{bot}/faults", pick=lambda r: r["fired"])

    def clear_faults(self, bot: int | str) -> Any:
        """Disarm every fault of the bot (and reset the counts)."""
        return self._request("DELETE", f"/sim/{bot}/faults")

    def bot_call(self, token: str, method: str, **params: Any) -> Any:
        """Call the Bot API as a bot would (JSON body); returns the whole answer, errors included."""
        return self._request("POST", f"/bot{token}/{method}", json=params, pick=_raw)


class SimulatorHandle(_UserCalls):
    """A running simulator, driven with blocking calls. ``url`` is the API root."""

    def __init__(self, url: str, config: SimulatorConfig) -> None:
        self.url = url
        self.config = config
        # trust_env=False: a proxy configured in the environment must not see loopback traffic.
        self._http = httpx.Client(base_url=url, timeout=_HTTP_SLACK, trust_env=False)

    def close(self) -> None:
        """Release the HTTP client."""
        self._http.close()

    def async_client(self) -> AsyncSimulatorClient:
        """The same calls as coroutines, for tests whose bot runs on the test's event loop."""
        return AsyncSimulatorClient(self.url)

    def _request(self, method: str, path: str, *, pick: Callable | None = None, **kwargs: Any) -> Any:
        timeout = kwargs.pop("timeout", None) or _HTTP_SLACK
        return _decode(self._http.request(method, path, timeout=timeout, **kwargs), pick)

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 5.0, interval: float = 0.02) -> Any:
        """Call ``predicate`` until it returns something truthy, and return that; TimeoutError after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() >= deadline:
                raise TimeoutError(f"condition not met within {timeout} s")
            time.sleep(interval)

    def wait_for_message(
        self, bot_id: int, chat_id: int, predicate: Predicate | None = None, *, newer_than: int = 0, timeout: float = 5.0
    ) -> dict:
        """The first live message matching ``predicate`` (default: any bot message) whose id is above
        ``newer_than``, waiting for it with the chat long poll; edits count as changes."""
        deadline = time.monotonic() + timeout
        revision = 0
        while True:
            result = self.poll_messages(bot_id, chat_id, after=revision, wait=max(0.0, deadline - time.monotonic()))
            found = _first_match(result["messages"], predicate, newer_than)
            if found is not None:
                return found
            if time.monotonic() >= deadline:
                raise TimeoutError(_no_match(chat_id, timeout, self.messages(bot_id, chat_id)))
            revision = result["revision"]


class AsyncSimulatorClient(_UserCalls):
    """The user-side API as coroutines: ``async with sim.async_client() as client: await client.send_text(…)``."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._http = httpx.AsyncClient(base_url=url, timeout=_HTTP_SLACK, trust_env=False)

    async def __aenter__(self) -> AsyncSimulatorClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Release the HTTP client."""
        await self._http.aclose()

    async def _request(self, method: str, path: str, *, pick: Callable | None = None, **kwargs: Any) -> Any:
        timeout = kwargs.pop("timeout", None) or _HTTP_SLACK
        return _decode(await self._http.request(method, path, timeout=timeout, **kwargs), pick)

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 5.0, interval: float = 0.02) -> Any:
        """Like :meth:`SimulatorHandle.wait_for`; ``predicate`` may also be a coroutine function."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = predicate()
            if inspect.isawaitable(value):
                value = await value
            if value:
                return value
            if loop.time() >= deadline:
                raise TimeoutError(f"condition not met within {timeout} s")
            await asyncio.sleep(interval)

    async def wait_for_message(
        self, bot_id: int, chat_id: int, predicate: Predicate | None = None, *, newer_than: int = 0, timeout: float = 5.0
    ) -> dict:
        """Like :meth:`SimulatorHandle.wait_for_message`, without blocking the event loop."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        revision = 0
        while True:
            wait = max(0.0, deadline - loop.time())
            result = await self.poll_messages(bot_id, chat_id, after=revision, wait=wait)
            found = _first_match(result["messages"], predicate, newer_than)
            if found is not None:
                return found
            if loop.time() >= deadline:
                raise TimeoutError(_no_match(chat_id, timeout, await self.messages(bot_id, chat_id)))
            revision = result["revision"]


def _first_match(messages: list[dict], predicate: Predicate | None, newer_than: int) -> dict | None:
    for message in messages:
        if message["deleted"] or message["message_id"] <= newer_than:
            continue
        if predicate(message) if predicate else message["from_bot"]:
            return message
    return None


def _no_match(chat_id: int, timeout: float, messages: list[dict]) -> str:
    shown = [(m["message_id"], "bot" if m["from_bot"] else "user", m["text"]) for m in messages[-10:]]
    return f"no matching message in chat {chat_id} within {timeout} s; last messages: {shown}"


def _decode(response: httpx.Response, pick: Callable | None) -> Any:
    body = response.json()
    if pick is _raw:
        return body
    if not body.get("ok"):
        raise SimulatorError(response.status_code, body.get("description", response.text))
    return pick(body["result"]) if pick else body["result"]


def _raw(body: Any) -> Any:
    return body


def _compact(values: dict) -> dict:
    """Drop the options left at None."""
    return {k: v for k, v in values.items() if v is not None}


def _as_form(values: dict) -> dict:
    return {k: str(v) for k, v in values.items()}


class _ServerThread:
    """An aiohttp application served on 127.0.0.1 from a thread with its own event loop."""

    def __init__(self, app: web.Application) -> None:
        self._app = app
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="bot-api-simulator", daemon=True)
        self._runner: web.AppRunner | None = None

    def start(self) -> str:
        """Start serving on a free port; returns the root URL."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self._thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self._serve(sock), self._loop).result(timeout=10)
        except BaseException:
            sock.close()
            self.stop()
            raise
        return f"http://127.0.0.1:{sock.getsockname()[1]}"

    async def _serve(self, sock: socket.socket) -> None:
        self._runner = make_runner(self._app)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()

    def stop(self) -> None:
        """Stop serving (long polls end at once) and end the thread."""
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()


@contextmanager
def running_simulator(**config: Any) -> Iterator[SimulatorHandle]:
    """Run a simulator for the duration of a ``with`` block.

    Keywords are :class:`~simulator.config.SimulatorConfig` fields, e.g. ``rate_limits=False`` or
    ``clock=FakeClock()``.
    """
    settings = SimulatorConfig.from_kwargs(**config)
    server = _ServerThread(create_app(settings))
    url = server.start()
    handle = SimulatorHandle(url, settings)
    try:
        yield handle
    finally:
        handle.close()
        server.stop()


def make_png(width: int, height: int, rgb: tuple[int, int, int] = (200, 60, 40)) -> bytes:
    """A valid single-colour PNG of the given size (for photo tests; Pillow not needed)."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    row = b"\x00" + bytes(rgb) * width  # filter byte 0, then RGB pixels
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )
