"""Signing in to the web dashboard from the chat: one-time links, sessions, their CSRF tokens.

``/dasbor`` in the chat asks :func:`issue_link` for a link: ``{PINTU_WEB_URL}/masuk/{token}``. The token is
``base64url(nonce(16) + expiry(4))`` followed by a truncated HMAC-SHA256 under the deployment's invite
secret (domain-separated from invites), so a forged or altered token is refused before the database is
asked. It is good for :data:`LINK_TTL` and once: the database keeps only its SHA-256 digest, marked used
by the first redemption. Redeeming starts a session of :data:`SESSION_TTL` whose random token goes into
an HttpOnly, SameSite=Strict cookie and, again, only as a digest into the database; logging out or the
expiry ends it.

Who may sign in: the roles with the DASHBOARD action in domain/access.py (supervisor, coordinator, admin).
The session carries no role of its own: every request reads the user again, so a role taken back in the
chat (`pintu role revoke`) closes the dashboard at the next click.
"""
from __future__ import annotations

import base64
import datetime as dt
import enum
import hashlib
import hmac
import secrets
import struct

from domain import access
from domain.model import User, WebSession
from domain.ports import UnitOfWork

LINK_TTL = dt.timedelta(minutes=10)
SESSION_TTL = dt.timedelta(hours=8)
_LINK_LAYOUT = struct.Struct(">16sI")  # nonce, expiry (unix seconds)
_MAC_BYTES = 16
_LINK_CONTEXT = b"pintu-web-link\x00"
_CSRF_CONTEXT = b"pintu-web-csrf\x00"


class LinkProblem(enum.Enum):
    """Why a sign-in link opens nothing; each has its own page (web/templates/link_refused.html)."""

    FORGED = "forged"  # not a token we signed (typed by hand, cut short, altered)
    EXPIRED = "expired"  # older than LINK_TTL
    USED = "used"  # opened once already
    NOT_ALLOWED = "not-allowed"  # the user's role no longer allows the dashboard


class LinkRefused(Exception):
    def __init__(self, problem: LinkProblem, language: str | None = None) -> None:
        super().__init__(problem.value)
        self.problem = problem
        self.language = language  # the user's, when the link was ours: the refusal page speaks it


def may_sign_in(user: User | None) -> bool:
    """The dashboard's roles: access.DASHBOARD (supervisors, coordinators, admins)."""
    return access.can(None, user, access.DASHBOARD)  # type: ignore[arg-type]  # no target: the role only


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, payload: bytes) -> bytes:
    return hmac.new(secret.encode(), _LINK_CONTEXT + payload, hashlib.sha256).digest()[:_MAC_BYTES]


def issue_link(uow: UnitOfWork, secret: str, user: User, now: dt.datetime) -> str:
    """A new one-time sign-in token for ``user`` (the caller commits)."""
    if not may_sign_in(user):
        raise LinkRefused(LinkProblem.NOT_ALLOWED, user.language if user else None)
    expires_at = now + LINK_TTL
    payload = _LINK_LAYOUT.pack(secrets.token_bytes(16), int(expires_at.timestamp()))
    token = _b64(payload + _mac(secret, payload))
    uow.web.add_link(digest(token), user.id, now, expires_at)
    return token


def _signed_expiry(secret: str, token: str) -> dt.datetime:
    try:
        raw = _unb64(token)
    except (ValueError, TypeError):
        raise LinkRefused(LinkProblem.FORGED) from None
    payload, mac = raw[:_LINK_LAYOUT.size], raw[_LINK_LAYOUT.size:]
    if len(raw) != _LINK_LAYOUT.size + _MAC_BYTES or not hmac.compare_digest(mac, _mac(secret, payload)):
        raise LinkRefused(LinkProblem.FORGED)
    _, expiry = _LINK_LAYOUT.unpack(payload)
    return dt.datetime.fromtimestamp(expiry, dt.timezone.utc)


def check_link(uow: UnitOfWork, secret: str, token: str, now: dt.datetime) -> User:
    """The user a sign-in token would sign in, without using it; :class:`LinkRefused` says why not."""
    if len(token) > 128:
        raise LinkRefused(LinkProblem.FORGED)
    expires_at = _signed_expiry(secret, token)
    link = uow.web.link(digest(token))
    if link is None:
        raise LinkRefused(LinkProblem.FORGED)  # signed with our secret yet never issued
    user = uow.users.get(link.user_id)
    language = user.language if user is not None else None
    if link.used_at is not None:
        raise LinkRefused(LinkProblem.USED, language)
    if now >= expires_at or now >= link.expires_at:
        raise LinkRefused(LinkProblem.EXPIRED, language)
    if not may_sign_in(user):
        raise LinkRefused(LinkProblem.NOT_ALLOWED, language)
    assert user is not None
    return user


def redeem_link(uow: UnitOfWork, secret: str, token: str, now: dt.datetime) -> tuple[str, User]:
    """Use a sign-in token to open a session: the session's token (for the cookie) and its user.
    Raises :class:`LinkRefused` saying why not; the caller commits either way (a used link stays used)."""
    user = check_link(uow, secret, token, now)
    if not uow.web.use_link(digest(token), now):
        raise LinkRefused(LinkProblem.USED, user.language)  # another tab was first
    session_token = secrets.token_urlsafe(32)
    uow.web.add_session(digest(session_token), user.id, user.language or "id", now, now + SESSION_TTL)
    return session_token, user


def live_session(uow: UnitOfWork, session_token: str, now: dt.datetime) -> tuple[WebSession, User] | None:
    """The session of a cookie and its user, when it is open, unexpired and the user still may sign in."""
    if not session_token or len(session_token) > 128:
        return None
    found = uow.web.session_of(digest(session_token))
    if found is None or found.ended_at is not None or now >= found.expires_at:
        return None
    user = uow.users.get(found.user_id)
    if not may_sign_in(user):
        return None
    assert user is not None
    return found, user


def end_session(uow: UnitOfWork, session_token: str, now: dt.datetime) -> None:
    uow.web.end_session(digest(session_token), now)


def csrf_token(secret: str, session_token: str) -> str:
    """The CSRF token of a session: derived from its (HttpOnly) cookie, so nothing more is stored and a
    page of another site, which can read neither, cannot make one."""
    return _b64(hmac.new(secret.encode(), _CSRF_CONTEXT + session_token.encode(), hashlib.sha256).digest()[:18])


def csrf_ok(secret: str, session_token: str, presented: str) -> bool:
    return bool(presented) and hmac.compare_digest(presented, csrf_token(secret, session_token))
