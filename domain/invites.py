"""Signed, expiring invite tokens that fit in a Telegram deep link.

A deep link's start parameter allows at most 64 characters of ``A-Z a-z 0-9 _ -``. A token is
``base64url(kind, target, expiry, nonce) + base64url(HMAC-SHA256 truncated to 96 bits)``: 39
characters, so it also fits in callback data next to a short prefix. Single-use is enforced by the
caller (the nonce is recorded when an invite is redeemed): the nonce has 64 random bits, so two
invites of one kind share one (and the second is refused as used) with odds of about n²/2⁶⁵ — one in
a hundred million after 60 000 invites, where 31 bits gave even odds.

The secret must be at least 32 random bytes (:func:`secret_problem`): the HMAC of one public resident
link lets anyone test guesses offline, and a guessed secret signs supervisor invites.
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

# kind, target id, expiry (unix seconds), nonce: 64 random bits, signed so it fits a BIGINT column.
_LAYOUT = struct.Struct(">BIIq")
_MAC_BYTES = 12
NONCE_BITS = 64
SECRET_BYTES = 32


class InviteKind(enum.IntEnum):
    RT_HEAD = 1  # target: SLS (RT) area id; single use
    ENUMERATOR = 2  # target: enumerator id; single use
    RESIDENT = 3  # target: SLS (RT) area id; shared in the neighbourhood group, many uses
    SUPERVISOR = 4  # target: any area id (the supervisor's scope); single use
    COORDINATOR = 5  # target: any area id (a kecamatan or kelurahan coordinator's scope); single use
    FKP_SEAT = 6  # target: a seat at a public-consultation forum (fkp_participants.id); single use

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
    nonce = secrets.randbits(NONCE_BITS) - 2 ** (NONCE_BITS - 1)
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


def new_secret() -> str:
    """A fresh invite secret: 32 random bytes, base64url (43 characters)."""
    return secrets.token_urlsafe(SECRET_BYTES)


def secret_problem(secret: str) -> str | None:
    """Why ``secret`` cannot sign invites, or None when it can.

    Accepted: at least 32 bytes written as base64url (43+ characters, what :func:`new_secret` makes) or
    as hex (64+ digits), that do not repeat a few characters. We cannot measure randomness; we refuse
    what is plainly not random and too short to resist an offline search.
    """
    if not secret:
        return "not set"
    if len(_secret_bytes(secret)) < SECRET_BYTES:
        return f"shorter than {SECRET_BYTES} bytes (43 base64url characters or 64 hex digits)"
    # 64 random hex digits miss one of the 16 digits about a quarter of the time: judge each alphabet
    # by what random text in it shows (43+ random base64url characters almost never have fewer than 20).
    if len(set(secret)) < (10 if _is_hex(secret) else 16):
        return "too few different characters to be random"
    return None


def _is_hex(secret: str) -> bool:
    return len(secret) % 2 == 0 and all(c in "0123456789abcdefABCDEF" for c in secret)


def _secret_bytes(secret: str) -> bytes:
    if _is_hex(secret):
        return bytes.fromhex(secret)
    if all(c.isascii() and (c.isalnum() or c in "-_") for c in secret.rstrip("=")):
        try:
            return _unb64(secret.rstrip("="))
        except ValueError:  # binascii.Error: a length no base64 has
            return b""
    return b""  # other characters: a passphrase, not random bytes
