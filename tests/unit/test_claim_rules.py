"""The rules of family claims that need no database (domain/claims.py): how a typed head's name is
compared with the listed one, and the keyed digest the KK rate limit keeps instead of the number."""
from __future__ import annotations

import pytest

from domain.claims import kk_digest, same_name


@pytest.mark.parametrize("typed, listed", [
    ("Wati Susanti", "Wati Susanti"),
    ("wati susanti", "WATI SUSANTI"),
    ("  Wati   Susanti ", "Wati Susanti"),
    ("M. Yusuf", "M Yusuf"),
    ("Siti Nuraini", "Siti Nur'aini"),
    ("M.Yusuf", "M Yusuf"),
    ("Ni Made Ayu", "Ni Made Ayu"),
    ("Andrés", "Andres"),
])
def test_names_that_match(typed, listed):
    assert same_name(typed, listed)


@pytest.mark.parametrize("typed, listed", [
    ("Wati", "Wati Susanti"),
    ("Wati Susanto", "Wati Susanti"),
    ("Susanti Wati", "Wati Susanti"),
    ("", ""),
    ("...", "..."),
])
def test_names_that_do_not(typed, listed):
    assert not same_name(typed, listed)


def test_the_kk_digest_is_keyed_and_stable_and_hides_the_number():
    kk = "6472010101209999"
    assert kk_digest("secret", kk) == kk_digest("secret", kk)
    assert kk_digest("secret", kk) != kk_digest("other", kk)
    assert kk_digest("secret", kk) != kk_digest("secret", "6472010101208888")
    assert kk not in kk_digest("secret", kk) and len(kk_digest("secret", kk)) == 64
