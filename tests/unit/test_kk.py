"""The family card number (Nomor KK) check: what a resident types, and what they are told."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.kk import PROVINCE_CODES, check_kk

VALID = "6472010101209999"  # Palaran, Samarinda; issued 01-01-20; serial 9999


def test_a_valid_number_is_accepted_as_is():
    check = check_kk(VALID)
    assert check.ok and check.number == VALID and check.problem is None


@pytest.mark.parametrize("typed", [
    "6472 0101 0120 9999",
    "6472.0101.0120.9999",
    "6472-0101-0120-9999",
    "  6472010101209999\n",
    "64 72 01 01 01 20 99 99",
])
def test_spaces_dots_and_dashes_are_tolerated(typed):
    check = check_kk(typed)
    assert check.ok and check.number == VALID


@pytest.mark.parametrize("typed", ["6472O10101209999", "abcd", "6472010101209999a", "KK 6472010101209999", "+6472010101209999"])
def test_letters_or_other_signs_are_not_digits(typed):
    assert check_kk(typed).problem == "kk-not-digits"


@pytest.mark.parametrize("typed", ["", "   ", None])
def test_nothing_typed_is_not_a_number(typed):
    check = check_kk(typed)
    assert not check.ok and check.number is None


@pytest.mark.parametrize("typed", ["647201010120999", "64720101012099991", "1234", "6"])
def test_wrong_length(typed):
    assert check_kk(typed).problem == "kk-wrong-length"


@pytest.mark.parametrize("province", ["00", "10", "20", "37", "99", "54"])
def test_bad_province_code(province):
    assert check_kk(province + VALID[2:]).problem == "kk-bad-region"


def test_every_listed_province_code_passes():
    for code in PROVINCE_CODES:
        assert check_kk(f"{code:02d}" + VALID[2:]).ok


@pytest.mark.parametrize("ddmmyy", ["000120", "320120", "011320", "010020", "300220", "310420"])
def test_bad_issue_date(ddmmyy):
    assert check_kk(VALID[:6] + ddmmyy + VALID[12:]).problem == "kk-bad-date"


@pytest.mark.parametrize("ddmmyy", ["290224", "311299", "010100"])
def test_good_issue_dates(ddmmyy):
    assert check_kk(VALID[:6] + ddmmyy + VALID[12:]).ok


def test_serial_0000_is_refused():
    assert check_kk(VALID[:12] + "0000").problem == "kk-bad-serial"
    assert check_kk(VALID[:12] + "0001").ok


def test_full_width_digits_are_read_as_digits():
    # Phone keyboards for some languages type full-width digits; they mean the same number.
    full_width = "".join(chr(0xFF10 + int(c)) for c in VALID)
    assert check_kk(full_width).number == VALID


@pytest.mark.parametrize("typed", ["6²72010101209999", "647201010120999²", "⁶⁴72010101209999", "①472010101209999"])
def test_digit_like_symbols_are_refused_without_crashing(typed):
    # "²" counts as a digit for str.isdigit() yet int() refuses it; it must be a clear "not digits".
    assert check_kk(typed).problem == "kk-not-digits"


@given(st.text(max_size=40))
def test_property_any_text_gets_an_answer_and_accepted_numbers_are_16_ascii_digits(text):
    check = check_kk(text)
    assert check.ok == (check.number is not None)
    if check.ok:
        assert len(check.number) == 16 and check.number.isascii() and check.number.isdigit()
    else:
        assert check.problem in {"kk-not-digits", "kk-wrong-length", "kk-bad-region", "kk-bad-date", "kk-bad-serial"}


@pytest.mark.parametrize("nik", ["6472014508909999", "6472017112850001", "3171046405920003"])
def test_a_womans_nik_is_recognised_as_a_nik(nik):
    """A woman's NIK has the KK's layout, with 40 added to the birth day: named as a NIK, not a bad date."""
    assert check_kk(nik).problem == "kk-looks-like-nik"


def test_the_kk_messages_speak_plainly_and_say_a_kk_is_not_a_nik():
    from chat.i18n import Translator

    for language in ("id", "en"):
        t = Translator(language)
        texts = [t(key) for key in ("kk-not-digits", "kk-wrong-length", "kk-bad-region", "kk-bad-date",
                                    "kk-bad-serial", "kk-looks-like-nik")]
        assert not any("HHBBTT" in text or "DDMMYY" in text for text in texts)
        assert "16" in t("kk-wrong-length") and "64" in t("kk-bad-region") and "010120" in t("kk-bad-date")
        assert "NIK" in t("kk-looks-like-nik") and "NIK" in t("ask-kk", name="Wati")
