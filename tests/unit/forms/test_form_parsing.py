"""What people type, and what the questionnaire stores (or says back): one type at a time."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from forms import Attachment, Choice, Location, Message
from forms.parsing import is_blank, parse_answer

ROOFS = (Choice("concrete", {"id": "Beton", "en": "Concrete"}),
         Choice("clay_tile", {"id": "Genteng", "en": "Roof tiles"}),
         Choice("zinc", {"id": "Seng", "en": "Metal sheet"}))
AID = (Choice("pkh", {"id": "PKH", "en": "PKH"}), Choice("bpnt", {"id": "BPNT/Sembako", "en": "BPNT"}),
       Choice("none", {"id": "Tidak ada", "en": "None"}))


def refused(kind: str, raw, choices=()) -> str:
    result = parse_answer(kind, raw, choices)
    assert isinstance(result, Message), f"{raw!r} was taken as {result!r}"
    return result.key


@pytest.mark.parametrize("raw, stored", [
    ("4", "4"), (" 12 ", "12"), ("-3", "-3"), ("1.500", "1500"), ("2.000.000", "2000000"),
    ("1 500", "1500"), (7, "7"), (3.0, "3"), (Decimal("10"), "10"),
])
def test_integers(raw, stored: str) -> None:
    assert parse_answer("integer", raw) == stored


@pytest.mark.parametrize("raw, key", [
    ("empat", "form-not-a-number"), ("4a", "form-not-a-number"), ("", "form-not-a-number"),
    ("1,5", "form-not-an-integer"), ("2.5", "form-not-an-integer"), (2.5, "form-not-an-integer"),
    ("99999999999", "form-number-too-large"), ("inf", "form-not-a-number"), (float("nan"), "form-not-a-number"),
])
def test_integers_refused(raw, key: str) -> None:
    assert refused("integer", raw) == key


def test_a_refusal_says_what_was_typed() -> None:
    assert parse_answer("integer", " empat ") == Message("form-not-a-number", {"value": "empat"})


@pytest.mark.parametrize("raw, stored", [
    ("12,5", "12.5"), ("12.5", "12.5"), ("1.234,5", "1234.5"), ("1,234.5", "1234.5"), ("-0,25", "-0.25"),
    ("7", "7"), ("2.000.000", "2000000"), (Decimal("3.50"), "3.5"), (0.1, "0.1"), ("12,50", "12.5"),
])
def test_decimals_with_an_indonesian_comma(raw, stored: str) -> None:
    assert parse_answer("decimal", raw) == stored


@pytest.mark.parametrize("raw", ["dua belas", "12,5,3", "1e5", "NaN", "12.5.3,1,1", "--1"])
def test_decimals_refused(raw) -> None:
    assert refused("decimal", raw) == "form-not-a-number"


@pytest.mark.parametrize("raw, stored", [
    ("17-08-1990", "1990-08-17"), ("17/08/1990", "1990-08-17"), ("7.8.1990", "1990-08-07"),
    ("1990-08-17", "1990-08-17"), (dt.date(1990, 8, 17), "1990-08-17"),
    (dt.datetime(1990, 8, 17, 9, 30), "1990-08-17"), ("29-02-2024", "2024-02-29"),
])
def test_dates_day_first_or_iso(raw, stored: str) -> None:
    assert parse_answer("date", raw) == stored


@pytest.mark.parametrize("raw", ["31-02-2024", "29-02-2023", "17 Agustus 1990", "1990/08/17", "08-17", "kemarin"])
def test_dates_refused(raw) -> None:
    assert refused("date", raw) == "form-not-a-date"


@pytest.mark.parametrize("raw, stored", [
    ("zinc", "zinc"), ("ZINC", "zinc"), ("Seng", "zinc"), ("  seng ", "zinc"), ("Metal sheet", "zinc"),
    ("3", "zinc"), ("1", "concrete"), ("roof tiles", "clay_tile"),
])
def test_select_one_by_name_label_or_number(raw, stored: str) -> None:
    assert parse_answer("select_one", raw, ROOFS) == stored


def test_a_choice_named_like_a_number_wins_over_the_position() -> None:
    power = (Choice("900", {"id": "900 VA"}), Choice("1", {"id": "satu"}), Choice("450", {"id": "450 VA"}))
    assert parse_answer("select_one", "1", power) == "1"
    assert parse_answer("select_one", "3", power) == "450"


@pytest.mark.parametrize("raw", ["4", "0", "ijuk", "Seng Beton"])
def test_select_one_refused(raw) -> None:
    assert parse_answer("select_one", raw, ROOFS) == Message("form-not-a-choice", {"value": raw, "count": 3})


@pytest.mark.parametrize("raw, stored", [
    ("pkh, bpnt", "pkh bpnt"), ("bpnt;pkh", "pkh bpnt"), ("1 2", "pkh bpnt"), ("Tidak ada", "none"),
    (["BPNT/Sembako", "1"], "pkh bpnt"), ("pkh, PKH, 1", "pkh"), ("2,3", "bpnt none"),
])
def test_select_multiple_by_several(raw, stored: str) -> None:
    assert parse_answer("select_multiple", raw, AID) == stored


@pytest.mark.parametrize("raw", ["pkh, blt", "9", ", ,"])
def test_select_multiple_refused(raw) -> None:
    assert refused("select_multiple", raw, AID) == "form-not-a-choice"


@pytest.mark.parametrize("raw, stored", [
    (Location(-0.5021, 117.1536), "-0.5021 117.1536 0 0"),
    (Location(-0.5, 117.15, 12.5, 8), "-0.5 117.15 12.5 8"),
    ({"latitude": -0.5, "longitude": 117.15}, "-0.5 117.15 0 0"),
    ("-0.5021 117.1536", "-0.5021 117.1536 0 0"), ("-0.5021, 117.1536", "-0.5021 117.1536 0 0"),
    ("-0,5021 117,1536", "-0.5021 117.1536 0 0"), ("-0.5;117.1", "-0.5 117.1 0 0"),
    ((-0.5, 117.1, 20, 5), "-0.5 117.1 20 5"),
])
def test_geopoints(raw, stored: str) -> None:
    assert parse_answer("geopoint", raw) == stored


@pytest.mark.parametrize("raw", ["di depan masjid", "95 117", "-0.5 190", "-0.5", "1 2 3 4 5",
                                 Location(-0.5, 117.15, 12.5, -8), "-0.5 117.1 0 -3"])
def test_geopoints_refused(raw) -> None:
    assert refused("geopoint", raw) == "form-not-a-location"


def test_an_image_is_an_attachment_never_typed_text() -> None:
    assert parse_answer("image", Attachment("AgACAgUAAxkBAAI")) == "AgACAgUAAxkBAAI"
    assert parse_answer("image", {"ref": "file-1"}) == "file-1"
    assert refused("image", "foto rumah") == "form-send-a-photo"


def test_text_is_kept_as_typed_without_outer_spaces() -> None:
    assert parse_answer("text", "  Jl. Pramuka No. 5\nRT 01 ") == "Jl. Pramuka No. 5\nRT 01"


def test_text_loses_only_what_xml_cannot_carry() -> None:
    assert parse_answer("text", "Siti\x00 Aminah\x0b ✓") == "Siti Aminah ✓"


@pytest.mark.parametrize("raw, blank", [(None, True), ("", True), ("   ", True), ([], True), ("0", False), (0, False)])
def test_what_counts_as_no_answer(raw, blank: bool) -> None:
    assert is_blank(raw) is blank
