"""How Pintu proves who it is to the registry (``PINTU_REGISTRY_AUTH``).

=================  ===========================================================================
scheme             what is sent
=================  ===========================================================================
bearer (default)   ``Authorization: Bearer <PINTU_REGISTRY_TOKEN>`` (the reference registry)
token              ``Authorization: Token <PINTU_REGISTRY_TOKEN>`` (KoboToolbox's API token)
basic              HTTP Basic with PINTU_REGISTRY_USER / PINTU_REGISTRY_PASSWORD (Kobo, Central)
digest             HTTP Digest, answering the server's challenge (KoboToolbox's OpenRosa API)
central            an ODK Central web user: ``POST /v1/sessions`` {email, password} gives a
                   session token (24 h); it is renewed before it expires and once on a 401
central-app-user   an ODK Central App User: the token goes in the URL, ``/v1/key/{token}/…``
none               nothing
=================  ===========================================================================

With no credential set, no Authorization header is sent at all (an empty ``Bearer `` is not a
valid header, and a registry that needs one answers 401: a setting to fix, reported as such).
Credentials are never logged.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import threading
from collections.abc import AsyncGenerator, Callable, Generator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

LOGIN_PAUSE = dt.timedelta(seconds=10)  # after a refused login, the next one waits this long
SCHEMES = ("bearer", "token", "basic", "digest", "central", "central-app-user", "none")


@dataclass(frozen=True)
class Credentials:
    scheme: str = "bearer"
    token: str = ""
    user: str = ""
    password: str = ""

    def __post_init__(self) -> None:
        if self.scheme not in SCHEMES:
            raise ValueError(f"PINTU_REGISTRY_AUTH must be one of {', '.join(SCHEMES)}, not {self.scheme!r}")

    def __repr__(self) -> str:  # never print a secret
        return f"Credentials(scheme={self.scheme!r}, user={self.user!r})"

    def problem(self) -> str | None:
        """What is missing for this scheme, in a sentence for the operator; None when complete."""
        if self.scheme in ("bearer", "token", "central-app-user") and not self.token:
            return f"PINTU_REGISTRY_AUTH={self.scheme} needs PINTU_REGISTRY_TOKEN"
        if self.scheme in ("basic", "digest", "central") and not (self.user and self.password):
            return f"PINTU_REGISTRY_AUTH={self.scheme} needs PINTU_REGISTRY_USER and PINTU_REGISTRY_PASSWORD"
        return None


class HeaderAuth(httpx.Auth):
    """A fixed ``Authorization: <scheme> <token>`` header."""

    def __init__(self, scheme: str, token: str) -> None:
        self._header = f"{scheme} {token}"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._header
        yield request


class CentralSessionAuth(httpx.Auth):
    """An ODK Central web user's session (``POST /v1/sessions``), shared by every request of a worker.

    The token is asked for before the first request, again ``renew_before`` ahead of its
    ``expiresAt`` (Central's sessions last 24 h), and once more when Central answers 401 anyway (the
    session was revoked, Central restarted, clocks differ). A 401 right after a fresh login is the
    server's answer: it is returned, and the worker reports the password as a setting to fix.
    """

    requires_response_body = True

    def __init__(self, server: str, email: str, password: str, now: Callable[[], dt.datetime],
                 renew_before: dt.timedelta = dt.timedelta(hours=1), timeout: float = 30.0) -> None:
        self.sessions_url = server.rstrip("/") + "/v1/sessions"
        self._email, self._password = email, password
        self._now = now
        self._renew_before = renew_before
        self._token: str | None = None
        self._expires: dt.datetime | None = None
        self._lock = threading.Lock()
        self._alock: Any = None  # an asyncio.Lock, made in the event loop that first needs it
        self._timeout = timeout
        self._refused_at: dt.datetime | None = None  # the last failed login: not tried again for a while
        self.logins = 0  # sessions opened (tests and the status line)

    def _current(self) -> str | None:
        with self._lock:
            if self._token and self._expires and self._now() < self._expires - self._renew_before:
                return self._token
            return None

    def _login_request(self) -> httpx.Request:
        return httpx.Request("POST", self.sessions_url, json={"email": self._email, "password": self._password})

    def _keep(self, response: httpx.Response) -> str | None:
        """The session token of a login's answer; None when Central refused the email or password. A
        server error is raised: Central is away (an outage to probe), not refusing us."""
        if response.status_code >= 500:
            raise httpx.HTTPStatusError(f"Central's login answered {response.status_code}",
                                        request=response.request, response=response)
        if response.status_code != 200:
            self._refused_at = self._now()
            return None
        try:
            data = response.json()
            token, expires = str(data["token"]), dt.datetime.fromisoformat(str(data["expiresAt"]).replace("Z", "+00:00"))
        except (ValueError, KeyError, TypeError):
            return None
        with self._lock:
            self._token, self._expires = token, expires
            self.logins += 1
        return token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """The synchronous flow (``pintu form publish``): one request at a time."""
        token, fresh = self._current(), False
        if token is None:
            token, fresh = self._keep((yield self._login_request())), True
        if token is None:  # no session: Central's 401 to the request tells the operator
            yield request
            return
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401 and not fresh:
            self._forget(token)
            renewed = self._keep((yield self._login_request()))
            if renewed is not None:
                request.headers["Authorization"] = f"Bearer {renewed}"
                yield request

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        """The worker's flow: its concurrent sends wait for one login instead of each opening a session."""
        token, fresh = self._current(), False
        if token is None:
            token, fresh = await self._login_once(None), True
        if token is None:
            yield request
            return
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401 and not fresh:
            renewed = await self._login_once(token)
            if renewed is not None:
                request.headers["Authorization"] = f"Bearer {renewed}"
                yield request

    async def _login_once(self, stale: str | None) -> str | None:
        """A new session, unless another request opened one since ``stale`` failed (single flight)."""
        if self._alock is None:
            self._alock = asyncio.Lock()
        async with self._alock:
            if stale is not None:
                self._forget(stale)
            current = self._current()
            if current is not None:
                return current
            if self._refused_at is not None and self._now() - self._refused_at < LOGIN_PAUSE:
                return None  # a wrong password is not tried once per waiting request (Central may lock it)
            # Transport errors propagate: the send fails as "unreachable", never as a wrong password.
            async with httpx.AsyncClient(timeout=self._timeout, follow_redirects=False) as client:
                response = await client.send(self._login_request())
            return self._keep(response)

    def _forget(self, token: str) -> None:
        with self._lock:
            if self._token == token:  # not already renewed by a concurrent request
                self._token = None


def app_user_url(url: str, token: str) -> str:
    """``…/v1/projects/1/submission`` as ``…/v1/key/{token}/projects/1/submission`` (Central's App User)."""
    parts = urlsplit(url)
    path = parts.path
    if "/v1/key/" in path or not token:
        return url
    if "/v1/" not in path:
        raise ValueError("PINTU_REGISTRY_AUTH=central-app-user needs a Central URL with /v1/ in it")
    head, tail = path.split("/v1/", 1)
    return urlunsplit(parts._replace(path=f"{head}/v1/key/{token}/{tail}"))


def server_root(url: str) -> str:
    """The server part of a Central URL (what comes before ``/v1/``)."""
    parts = urlsplit(url)
    head = parts.path.split("/v1/", 1)[0] if "/v1/" in parts.path else parts.path.rstrip("/")
    return urlunsplit(parts._replace(path=head, query="", fragment=""))


def make_auth(credentials: Credentials, url: str, now: Callable[[], dt.datetime]) -> httpx.Auth | None:
    """The httpx auth for ``credentials`` (None: no Authorization header)."""
    scheme = credentials.scheme
    if scheme in ("none", "central-app-user"):
        return None
    if scheme in ("bearer", "token"):
        return HeaderAuth(scheme.capitalize(), credentials.token) if credentials.token else None
    if not (credentials.user and credentials.password):
        return None
    if scheme == "basic":
        return httpx.BasicAuth(credentials.user, credentials.password)
    if scheme == "digest":
        return httpx.DigestAuth(credentials.user, credentials.password)
    return CentralSessionAuth(server_root(url), credentials.user, credentials.password, now)
