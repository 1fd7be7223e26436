"""Signed, expiring invite tokens that fit in a Telegram deep link.

A deep link's start parameter allows at most 64 characters of ``A-Z a-z 0-9 _ -``. A token is
``base64url(kind, target, expiry, nonce) + base64url(HMAC-SHA256 truncated to 96 bits)``: 34
characters, so it also fits in callback data next to a short prefix. Single-use is enforced by the
caller (the nonce is recorded when an invite is redeemed).
"""
from __future__ import annotations

import base64
import datetime as dt
import enum
import hashlib
import hmac
import struct
import secrets
from dataclasses import dataclass

from domain.errors import ExpiredInvite, InvalidInvite

_LAYOUT = struct.Struct(">BIIi")  # kind, target id, expiry (unix seconds), nonce
_MAC_BYTES = 12


class InviteKind(enum.IntEnum):
    RT_HEAD = 1  # target: SLS (RT) area id; single use
    ENUMERATOR = 2  # target: enumerator id; single use
    RESIDENT = 3  # target: SLS (RT) area id; shared in the neighbourhood group, many uses
    SUPERVISOR = 4  # target: any area id (the supervisor's scope); single use
    COORDINATOR = 5  # target: any area id (a kecamatan or kelurahan coordinator's scope); single use

    @property
    def single_use(self) -> bool:
        return self is not InviteKind.RESIDENT


@dataclass(frozen=True)
class Invite:
    kind: InviteKind
    target_id: int
    expires_at: dt.datetime
    nonce: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, body: bytes) -> bytes:
    return hmac.new(secret.encode(), b"pintu-invite:" + body, hashlib.sha256).digest()[:_MAC_BYTES]


def make_invite(secret: str, kind: InviteKind, target_id: int, expires_at: dt.datetime) -> str:
    """Sign an invite; the nonce makes every token distinct even for the same target."""
    nonce = secrets.randbits(31)
    body = _LAYOUT.pack(int(kind), target_id, int(expires_at.timestamp()), nonce)
    return _b64(body) + _b64(_mac(secret, body))


def read_invite(secret: str, token: str, now: dt.datetime) -> Invite:
    """Verify signature and expiry; raise InvalidInvite or ExpiredInvite."""
    body_len = len(_b64(b"\0" * _LAYOUT.size))
    if len(token) != body_len + len(_b64(b"\0" * _MAC_BYTES)):
        raise InvalidInvite("wrong length")
    try:
        body, mac = _unb64(token[:body_len]), _unb64(token[body_len:])
    except (ValueError, TypeError) as exc:
        raise InvalidInvite("not base64") from exc
    # Base64 decoding is lenient (the last character carries unused bits, "+" reads as "-", stray
    # characters are skipped), so a token with a changed character could still verify: only the one
    # canonical spelling of the body and signature is accepted.
    if _b64(body) + _b64(mac) != token:
        raise InvalidInvite("not canonical")
    if not hmac.compare_digest(mac, _mac(secret, body)):
        raise InvalidInvite("bad signature")
    kind, target, expiry, nonce = _LAYOUT.unpack(body)
    try:
        invite_kind = InviteKind(kind)
    except ValueError as exc:
        raise InvalidInvite("unknown kind") from exc
    expires_at = dt.datetime.fromtimestamp(expiry, dt.timezone.utc)
    if now >= expires_at:
        raise ExpiredInvite("expired")
    return Invite(invite_kind, target, expires_at, nonce)
