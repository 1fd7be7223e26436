"""The one rule for a family head's name (domain/names.py), as registration, the RT head's corrections,
the import and the questionnaire use it: real names and titles pass, markup and digits are refused,
each with its reason."""
from __future__ import annotations

import pytest

from chat.i18n import Translator
from domain.family_import import check_fields
from domain.names import check_name

ID = Translator("id")


@pytest.mark.parametrize("typed, stored", [
    ("Budi & Ani", "Budi & Ani"),
    ("Hasan, S.Pd.", "Hasan, S.Pd."),
    ("Ni Made O'Neil-Putri", "Ni Made O'Neil-Putri"),
    ("Dr. Ir. H. Joko Santoso, M.Si.", "Dr. Ir. H. Joko Santoso, M.Si."),
    ("Siti Nur’aini", "Siti Nur’aini"),  # the phone's typographic apostrophe
    ("  I   Gusti  Ayu  ", "I Gusti Ayu"),
    ("Hj. Sitti Rahmah", "Hj. Sitti Rahmah"),
    ("Tjokorda Gde Raka", "Tjokorda Gde Raka"),
    ("Nguyễn Văn An", "Nguyễn Văn An"),
])
def test_real_names_and_titles_are_accepted(typed, stored):
    check = check_name(typed)
    assert check.ok and check.name == stored


@pytest.mark.parametrize("typed, problem", [
    ("", "name-empty"),
    ("   ", "name-empty"),
    ("W", "name-too-short"),
    ("x" * 121, "name-too-long"),
    ("Budi 2", "name-digits"),
    ("6472010101209999", "name-digits"),
    ("Budi <b>Ani</b>", "name-markup"),
    ("Budi https://t.me/x", "name-markup"),
    ("www.judi-online", "name-markup"),
    ("promo.com", "name-markup"),
    ("*Budi*", "name-formatting"),
    ("Budi__Ani", "name-formatting"),
    ("`Budi`", "name-formatting"),
    ("Budi @ani", "name-symbol"),
    ("Budi 😀", "name-symbol"),
    ("Budi #1", "name-digits"),
    ("Budi\u0000Ani", "name-control"),
    ("Budi\u200bAni", "name-control"),
    ("- Budi", "name-start"),
    ("& Ani", "name-start"),
])
def test_what_is_wrong_is_named(typed, problem):
    check = check_name(typed)
    assert not check.ok and check.name is None and check.problem == problem


def test_every_reason_is_a_sentence_in_the_catalog_that_says_what_is_wrong():
    texts = {key: ID(key) for key in ("name-digits", "name-markup", "name-formatting", "name-symbol", "name-too-long")}
    assert "angka" in texts["name-digits"] and "tautan" in texts["name-markup"] and "*" in texts["name-formatting"]
    assert "&amp;" in texts["name-symbol"] and "120" in texts["name-too-long"]
    assert not any("belum bisa dipakai" in text for text in texts.values())


def test_the_import_applies_the_same_rule():
    fields, problems = check_fields("Hasan, S.Pd.", "6472010101209999", 3, "Jl. Mawar 1")
    assert fields is not None and fields.head_name == "Hasan, S.Pd." and problems == []
    _, problems = check_fields("Budi 2", "6472010101209999", 3, None)
    assert problems == [("name-digits", "Budi 2")]
    _, problems = check_fields("", "6472010101209999", 3, None)
    assert problems == [("import-bad-name", "")]


def test_the_questionnaire_checks_a_new_head_name_by_the_same_rule():
    from types import SimpleNamespace

    from domain.questionnaire import _new_name_problem

    draft = SimpleNamespace(family=SimpleNamespace(head_name="Budi 2 Santoso"))  # listed before the rule
    assert _new_name_problem(draft, "Budi 2 Santoso") is None  # keeping the family's name is no change
    assert _new_name_problem(draft, "Budi & Ani, S.Pd.") is None
    assert _new_name_problem(draft, "Budi <i>") == "name-markup"
    assert _new_name_problem(draft, "Budi 3") == "name-digits"
