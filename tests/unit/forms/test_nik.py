"""NIK checks: the rules Dukcapil numbers follow, and a form that asks for them on a person's answers."""
from __future__ import annotations

import datetime as dt

import pytest
from form_sheets import choice, q

from forms import Message, Questionnaire
from forms.nik import Nik, NikProblem, birth_matches, digits_of, read_nik, sex_matches

TODAY = dt.date(2026, 11, 23)
# Palaran, Samarinda (64.72.01); born 5 June 1985 (45 = 5 + 40: a woman); serial 0003
SITI = "6472014506850003"
# Tebet, Jakarta Selatan (31.74.01); born 12 August 1990: a man
BUDI = "3174011208900001"


def test_a_woman_s_nik_says_where_it_was_issued_and_when_she_was_born() -> None:
    assert read_nik(SITI, TODAY) == Nik(digits=SITI, district_code="64.72.01", female=True, birth_day=5,
                                        birth_month=6, birth_year_2=85)


def test_a_man_s_nik_as_typed_with_spaces_and_dots() -> None:
    found = read_nik("3174 0112 0890 0001", TODAY)
    assert isinstance(found, Nik) and not found.female and found.born_on(dt.date(1990, 8, 12))
    assert digits_of("31.74.01-120890-0001") == BUDI


@pytest.mark.parametrize(("text", "problem"), [
    ("647201450685000", NikProblem.FORMAT),          # 15 digits
    ("64720145068500031", NikProblem.FORMAT),        # 17 digits
    ("6472O14506850003", NikProblem.FORMAT),         # a letter O for a zero
    ("9972014506850003", NikProblem.DISTRICT),       # no province 99
    ("6472994506850003", NikProblem.DISTRICT),       # Samarinda has no kecamatan 99
    ("6400014506850003", NikProblem.DISTRICT),       # 00 is never a regency
    ("6472013206850003", NikProblem.BIRTH_DATE),     # day 32 (a man) does not exist
    ("6472017206850003", NikProblem.BIRTH_DATE),     # day 72 - 40 = 32 (a woman) neither
    ("6472014513850003", NikProblem.BIRTH_DATE),     # month 13
    ("6472012902850003", NikProblem.BIRTH_DATE),     # 29 February 1985 was no day
    ("6472014506850000", NikProblem.SERIAL),
])
def test_numbers_that_cannot_be_a_nik_are_refused_with_their_reason(text: str, problem: NikProblem) -> None:
    assert read_nik(text, TODAY) is problem


def test_sex_and_date_of_birth_are_checked_against_a_valid_nik_only() -> None:
    assert sex_matches(SITI, female=True, today=TODAY) and not sex_matches(SITI, female=False, today=TODAY)
    assert birth_matches(SITI, dt.date(1985, 6, 5), TODAY)
    assert not birth_matches(SITI, dt.date(1985, 6, 6), TODAY)
    assert not birth_matches(SITI, dt.date(1995, 6, 5), TODAY)
    # an invalid NIK is its own question's problem: the sex and birth answers are not refused for it
    assert sex_matches("123", female=False, today=TODAY) and birth_matches("123", dt.date(2000, 1, 1), TODAY)


# -- in a form -------------------------------------------------------------------------------------------

SURVEY = [
    q("text", "nik", "NIK", "NIK", required="yes", constraint="nik-valid(.)"),
    q("select_one sex", "sex", "Jenis kelamin", "Sex", required="yes",
      constraint="nik-sex-matches(${nik}, . = '2')",
      constraint_message__id="Jenis kelamin tidak cocok dengan NIK.",
      constraint_message__en="The sex does not match the NIK."),
    q("date", "dob", "Tanggal lahir", "Date of birth", required="yes",
      constraint="nik-birth-matches(${nik}, .)",
      constraint_message__id="Tanggal lahir tidak cocok dengan NIK.",
      constraint_message__en="The date of birth does not match the NIK."),
]
CHOICES = [choice("sex", "1", "Laki-laki", "Male"), choice("sex", "2", "Perempuan", "Female")]


@pytest.fixture
def engine(engine_for) -> Questionnaire:
    return engine_for(SURVEY, CHOICES)


def test_a_wrong_nik_is_asked_again_with_the_rule_it_breaks(engine: Questionnaire) -> None:
    state = engine.start()
    assert engine.answer(state, "nik", "6472994506850003", audience="enumerator").error == Message("nik-district")
    assert engine.answer(state, "nik", "64720145", audience="enumerator").error == Message("nik-format")
    assert engine.answer(state, "nik", "6472014506850000", audience="enumerator").error == Message("nik-serial")
    assert engine.answer(state, "nik", SITI, audience="enumerator").ok


def test_sex_and_birth_that_contradict_the_nik_are_asked_again_with_the_reason(engine: Questionnaire) -> None:
    state = engine.answer(engine.start(), "nik", SITI, audience="enumerator").state
    refused = engine.answer(state, "sex", "1", audience="enumerator")
    assert refused.error == Message(text="Jenis kelamin tidak cocok dengan NIK.")
    state = engine.answer(state, "sex", "2", audience="enumerator").state
    assert engine.answer(state, "dob", "06-06-1985", audience="enumerator", ).error == \
        Message(text="Tanggal lahir tidak cocok dengan NIK.")
    done = engine.answer(state, "dob", "05-06-1985", audience="enumerator")
    assert done.ok and engine.next_question(done.state, "enumerator") is None


# -- the built-in form's roster --------------------------------------------------------------------------

def test_the_built_in_roster_checks_each_member_s_nik(clock) -> None:
    from forms import Form
    from forms.default import DEFAULT_FORM

    engine = Questionnaire(Form.load(DEFAULT_FORM), clock)
    state = engine.answer(engine.start(), "members", "2", audience="enumerator").state
    assert engine.answer(state, "member_nik[1]", "6472994506850003", audience="enumerator").error == \
        Message("nik-district")
    state = engine.answer(state, "member_nik[1]", SITI, audience="enumerator").state
    twice = engine.answer(state, "member_nik[2]", SITI, audience="enumerator")
    assert twice.error.text == "NIK ini sudah dipakai anggota lain keluarga ini."
    assert engine.answer(state, "member_nik[2]", BUDI, audience="enumerator").ok
    assert "tidak cocok dengan NIK" in engine.answer(state, "sex[1]", "male", audience="enumerator").error.text
    assert engine.answer(state, "sex[1]", "female", audience="enumerator").ok
    assert "NIK" in engine.answer(state, "birth_date[1]", "06-06-1985", audience="enumerator").error.text
    assert engine.answer(state, "birth_date[1]", "05-06-1985", audience="enumerator").ok
