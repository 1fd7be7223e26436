"""Invite tokens: signed, expiring, short enough for a Telegram deep link, and impossible to forge."""
from __future__ import annotations

import datetime as dt
import re
import secrets

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import ExpiredInvite, InvalidInvite
from bot.config import Settings
from domain.invites import InviteKind, make_invite, new_secret, read_invite, secret_problem

SECRET = "test-secret"
NOW = dt.datetime(2026, 11, 23, 0, 0, tzinfo=dt.timezone.utc)
LATER = NOW + dt.timedelta(days=7)
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
DEEP_LINK = re.compile(r"[A-Za-z0-9_-]{1,64}")


@pytest.mark.parametrize("kind", list(InviteKind))
def test_round_trip(kind):
    token = make_invite(SECRET, kind, 4242, LATER)
    invite = read_invite(SECRET, token, NOW)
    assert invite.kind is kind and invite.target_id == 4242
    assert invite.expires_at == LATER


def test_fits_a_deep_link():
    for kind in InviteKind:
        token = make_invite(SECRET, kind, 2**32 - 1, LATER)
        assert DEEP_LINK.fullmatch(token), token
        # It also fits in callback data after the consent prefix ("cs:y:").
        assert len(("cs:y:" + token).encode()) <= 64


def test_tampering_with_any_character_is_refused():
    token = make_invite(SECRET, InviteKind.RT_HEAD, 7, LATER)
    for index, original in enumerate(token):
        for replacement in ALPHABET:
            if replacement == original:
                continue
            forged = token[:index] + replacement + token[index + 1:]
            with pytest.raises(InvalidInvite):
                read_invite(SECRET, forged, NOW)


def test_other_alphabets_and_padding_are_refused():
    token = make_invite(SECRET, InviteKind.ENUMERATOR, 3, LATER)
    for index in range(len(token)):
        for replacement in "+/=.~ é":
            forged = token[:index] + replacement + token[index + 1:]
            with pytest.raises(InvalidInvite):
                read_invite(SECRET, forged, NOW)


def test_wrong_secret_is_refused():
    token = make_invite(SECRET, InviteKind.RESIDENT, 1, LATER)
    with pytest.raises(InvalidInvite):
        read_invite("another-secret", token, NOW)


@pytest.mark.parametrize("token", ["", "abc", "x" * 34, "x" * 64, " " * 34])
def test_malformed_tokens_are_refused(token):
    with pytest.raises(InvalidInvite):
        read_invite(SECRET, token, NOW)


def test_shortened_or_extended_tokens_are_refused():
    token = make_invite(SECRET, InviteKind.RT_HEAD, 7, LATER)
    for forged in (token[:-1], token[1:], token + "A", "A" + token):
        with pytest.raises(InvalidInvite):
            read_invite(SECRET, forged, NOW)


def test_expired():
    token = make_invite(SECRET, InviteKind.RT_HEAD, 7, LATER)
    assert read_invite(SECRET, token, LATER - dt.timedelta(seconds=1))
    with pytest.raises(ExpiredInvite):
        read_invite(SECRET, token, LATER)
    with pytest.raises(ExpiredInvite):
        read_invite(SECRET, token, LATER + dt.timedelta(days=30))


def test_expired_is_still_an_invalid_invite_for_callers_that_only_care_about_validity():
    assert issubclass(ExpiredInvite, InvalidInvite)


def test_nonces_are_distinct():
    tokens = [make_invite(SECRET, InviteKind.RT_HEAD, 7, LATER) for _ in range(500)]
    assert len(set(tokens)) == len(tokens)
    nonces = {read_invite(SECRET, t, NOW).nonce for t in tokens}
    assert len(nonces) == len(tokens)


@settings(max_examples=300)
@given(st.text(max_size=80))
def test_property_random_strings_never_verify(text):
    with pytest.raises(InvalidInvite):
        read_invite(SECRET, text, NOW)


@settings(max_examples=300)
@given(st.text(alphabet=ALPHABET, min_size=34, max_size=34))
def test_property_random_tokens_of_the_right_shape_never_verify(text):
    with pytest.raises(InvalidInvite):
        read_invite(SECRET, text, NOW)


def test_the_nonce_has_64_random_bits_and_the_token_still_fits_a_deep_link():
    nonces = [read_invite(SECRET, make_invite(SECRET, InviteKind.SUPERVISOR, 1, LATER), NOW).nonce for _ in range(2000)]
    assert len(set(nonces)) == len(nonces)
    # Both halves of a signed 64-bit range are used: more than 63 bits vary (31 did before).
    assert min(nonces) < -(2**62) and max(nonces) > 2**62
    assert all(-(2**63) <= n < 2**63 for n in nonces)  # fits the BIGINT of redeemed_invites
    token = make_invite(SECRET, InviteKind.SUPERVISOR, 2**32 - 1, LATER)
    assert len(token) == 39 and len(("cs:y:" + token).encode()) <= 64


@pytest.mark.parametrize("weak", [
    "",
    "s",
    "x" * 32,                      # 32 characters, but one character repeated
    "k" * 43,                      # the length of a good one, not random
    "correct horse battery staple and more words",  # a passphrase, not random bytes
    "0123456789abcdef" * 3,        # 24 bytes of hex
    "4CM2Y1PkdRpYxi-1KW3D6XvfwFUM",  # base64url of 21 bytes
])
def test_a_weak_invite_secret_is_refused(weak):
    assert secret_problem(weak) is not None


def test_a_made_secret_is_accepted_and_the_bot_refuses_to_start_with_a_weak_one():
    assert all(secret_problem(new_secret()) is None for _ in range(2000))
    assert all(secret_problem(secrets.token_hex(32)) is None for _ in range(2000))  # whatever digits it misses
    assert secret_problem("ab" * 32) is not None  # 64 hex digits, but two of them
    settings = Settings(bot_token="1:a", invite_secret="one-character-secrets-are-out")
    with pytest.raises(SystemExit, match="pintu secret new"):
        settings.require_bot()
    Settings(bot_token="1:a", invite_secret=new_secret()).require_bot()
