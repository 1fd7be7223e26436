"""The questionnaire engine on a small form: order, skip logic, checks, languages, back, resume."""
from __future__ import annotations

import copy
import datetime as dt
import json
import xml.etree.ElementTree as ET

import pytest
from form_sheets import YES_NO, choice, end_group, q

from forms import Attachment, Form, Location, Message, Questionnaire

SURVEY = [
    q("hidden", "needs_photo", default="0"),
    q("begin group", "family", "Keterangan keluarga", "Family details", pintu_audience="rt_head resident"),
    q("text", "head_name", "Nama kepala keluarga", "Name of the head", required="yes",
      required_message__id="Nama kepala keluarga wajib diisi.", required_message__en="The name is required."),
    q("integer", "members", "Jumlah anggota keluarga", "Family members", required="yes",
      hint__id="Termasuk kepala keluarga.", hint__en="The head included.",
      constraint=". >= 1 and . <= 30", constraint_message__id="Antara 1 dan 30.",
      constraint_message__en="Between 1 and 30."),
    end_group(),
    q("integer", "children", "Jumlah anak", "Children", relevant="${members} > 1",
      constraint=". < ${members}", constraint_message__id="Harus kurang dari jumlah anggota.",
      pintu_audience="resident"),
    q("calculate", "adults", calculation="${members} - coalesce(${children}, 0)"),
    q("note", "adults_note", "Dewasa: ${adults}", "Adults: ${adults}", pintu_audience="resident"),
    q("select_one lighting", "lighting", "Sumber penerangan", "Lighting", required="yes", pintu_audience="resident"),
    q("begin group", "pln", "Listrik PLN", "PLN electricity", relevant="${lighting} = 'pln'",
      pintu_audience="resident"),
    q("select_one power", "power", "Daya terpasang", "Installed power", required="yes"),
    q("decimal", "bill", "Tagihan bulan lalu (ribu Rp)", "Last bill (thousand Rp)"),
    end_group(),
    q("select_multiple aid", "aid", "Bantuan setahun terakhir", "Assistance last year", required="yes",
      constraint="not(selected(., 'none') and count-selected(.) > 1)", pintu_audience="resident"),
    q("select_one yn", "has_car", "Punya mobil?", "Owns a car?", pintu_audience="resident"),
    q("begin group", "visit", "Kunjungan", "Visit", pintu_audience="enumerator"),
    q("date", "visit_date", "Tanggal kunjungan", "Date of the visit", required="yes", constraint=". <= today()",
      constraint_message__id="Tidak boleh setelah hari ini.", constraint_message__en="Not after today."),
    q("geopoint", "geotag", "Lokasi rumah", "House location", required="yes"),
    q("image", "house_photo", "Foto rumah", "House photo", required="yes", relevant="${needs_photo} = 1",
      parameters="max-pixels=1024"),
    q("integer", "visits", "Kunjungan ke-", "Visit number", default="1"),
    q("text", "remarks", "Catatan petugas", "Remarks"),
    end_group(),
]
CHOICES = [
    choice("lighting", "pln", "Listrik PLN", "PLN electricity"),
    choice("lighting", "solar", "Tenaga surya", "Solar"),
    choice("lighting", "none", "Bukan listrik", "Not electric"),
    choice("power", "450", "450 VA", "450 VA"), choice("power", "900", "900 VA", "900 VA"),
    choice("aid", "pkh", "PKH", "PKH"), choice("aid", "bpnt", "BPNT/Sembako", "BPNT/Sembako"),
    choice("aid", "none", "Tidak ada", "None"),
    *YES_NO,
]
RESIDENT_ANSWERS = {"head_name": "Siti Aminah", "members": "4", "children": "2", "adults_note": None,
                    "lighting": "Listrik PLN", "power": "2", "bill": "125,5", "aid": "1, 2", "has_car": "tidak"}


@pytest.fixture
def engine(engine_for) -> Questionnaire:
    return engine_for(SURVEY, CHOICES)


def fill(engine: Questionnaire, state: dict, answers: dict, audience: str) -> dict:
    """Answer every step ``audience`` is offered from ``answers``; fail on any refusal."""
    while (step := engine.next_question(state, audience)) is not None:
        result = engine.answer(state, step.name, answers.get(step.name), audience=audience)
        assert result.ok, (step.name, result.error)
        state = result.state
    return state


def answered(engine: Questionnaire, state: dict, audience: str, *pairs: tuple[str, object]) -> dict:
    for name, raw in pairs:
        result = engine.answer(state, name, raw, audience=audience)
        assert result.ok, (name, result.error)
        state = result.state
    return state


def steps(engine: Questionnaire, state: dict, answers: dict, audience: str) -> list[str]:
    names = []
    while (step := engine.next_question(state, audience)) is not None:
        names.append(step.name)
        state = engine.answer(state, step.name, answers.get(step.name), audience=audience).state
    return names


# -- order, audiences, groups ---------------------------------------------------------------------------

def test_the_resident_is_asked_their_part_in_form_order(engine: Questionnaire) -> None:
    state = engine.start()
    assert steps(engine, state, RESIDENT_ANSWERS, "resident") == [
        "head_name", "members", "children", "adults_note", "lighting", "power", "bill", "aid", "has_car"]


def test_the_enumerator_completes_what_the_resident_left(engine: Questionnaire) -> None:
    state = fill(engine, engine.start(), RESIDENT_ANSWERS, "resident")
    visit = {"visit_date": "23-11-2026", "geotag": Location(-0.55, 117.2), "visits": "1", "remarks": ""}
    assert steps(engine, state, visit, "enumerator") == ["visit_date", "geotag", "visits", "remarks"]


def test_an_rt_head_fills_only_the_identification(engine: Questionnaire) -> None:
    state = engine.start()
    assert steps(engine, state, RESIDENT_ANSWERS, "rt_head") == ["head_name", "members"]


def test_nobody_answers_what_is_not_theirs(engine: Questionnaire) -> None:
    result = engine.answer(engine.start(), "visit_date", "23-11-2026", audience="resident")
    assert not result.ok and result.error == Message("form-not-allowed")
    assert engine.answer(engine.start(), "lighting", "1", audience="rt_head").error == Message("form-not-allowed")
    assert engine.answer(engine.start(), "lighting", "1", audience="enumerator").ok


def test_names_that_are_not_steps_are_refused(engine: Questionnaire) -> None:
    for name in ("adults", "family", "needs_photo", "nonexistent"):
        assert engine.answer(engine.start(), name, "1", audience="enumerator").error == Message("form-not-relevant")


def test_steps_know_their_group_and_progress(engine: Questionnaire) -> None:
    state = answered(engine, engine.start(), "resident", ("head_name", "Siti"))
    step = engine.next_question(state, "resident", "en")
    # 6 so far: children and the PLN group are not relevant until members and lighting say so
    assert (step.name, step.groups, step.progress) == ("members", ("Family details",), (1, 6))


# -- skip logic and dropped answers ---------------------------------------------------------------------

def test_a_single_person_family_is_not_asked_about_children(engine: Questionnaire) -> None:
    state = answered(engine, engine.start(), "resident", ("head_name", "Siti"), ("members", "1"))
    assert engine.next_question(state, "resident").name == "adults_note"
    assert engine.next_question(state, "resident").label == "Dewasa: 1"


def test_a_whole_group_is_skipped_when_irrelevant(engine: Questionnaire) -> None:
    answers = RESIDENT_ANSWERS | {"lighting": "Tenaga surya"}
    names = steps(engine, engine.start(), answers, "resident")
    assert "power" not in names and "bill" not in names and names[-2:] == ["aid", "has_car"]


def test_answers_that_become_irrelevant_are_dropped_from_the_record_but_come_back(engine: Questionnaire) -> None:
    state = fill(engine, engine.start(), RESIDENT_ANSWERS, "resident")
    assert engine.record(state)["power"] == "900"
    solar = answered(engine, state, "resident", ("lighting", "solar"))
    record = engine.record(solar)
    assert "power" not in record and "bill" not in record and record["lighting"] == "solar"
    instance = ET.fromstring(engine.submission_xml(solar))
    assert instance.find("pln") is None and instance.find("lighting").text == "solar"
    assert solar["values"]["power"] == "900"  # kept in the state, as ODK keeps it while editing
    pln_again = answered(engine, solar, "resident", ("lighting", "pln"))
    assert engine.record(pln_again)["power"] == "900"
    assert engine.next_question(pln_again, "resident") is None


def test_an_irrelevant_question_cannot_be_answered(engine: Questionnaire) -> None:
    state = answered(engine, engine.start(), "resident", ("lighting", "solar"))
    assert engine.answer(state, "power", "450", audience="resident").error == Message("form-not-relevant")


def test_the_photo_is_asked_only_when_the_bot_preloaded_the_flag(engine: Questionnaire) -> None:
    visit = {"visit_date": "2026-11-23", "geotag": "-0.55 117.2", "house_photo": Attachment("file-1")}
    flagged = fill(engine, engine.start(preload={"needs_photo": True}), RESIDENT_ANSWERS, "resident")
    assert "house_photo" in steps(engine, flagged, visit, "enumerator")
    plain = fill(engine, engine.start(preload={"needs_photo": "0"}), RESIDENT_ANSWERS, "resident")
    assert "house_photo" not in steps(engine, plain, visit, "enumerator")


def test_preloaded_answers_count_as_given_and_are_not_undone(engine: Questionnaire) -> None:
    state = engine.start(preload={"head_name": "Siti Aminah"})
    assert engine.next_question(state, "resident").name == "members"
    assert engine.back(state, "enumerator").error == Message("form-nothing-to-go-back")
    with pytest.raises(ValueError):
        engine.start(preload={"adults": "3"})
    with pytest.raises(ValueError):
        engine.start(preload={"members": "banyak"})
    with pytest.raises(KeyError):
        engine.start(preload={"nope": "1"})


# -- calculations ------------------------------------------------------------------------------------------

def test_calculations_follow_the_answers_and_show_in_labels(engine: Questionnaire) -> None:
    state = answered(engine, engine.start(), "resident", ("head_name", "Siti"), ("members", "5"), ("children", "3"))
    assert engine.record(state)["adults"] == "2"
    assert engine.next_question(state, "resident", "en").label == "Adults: 2"
    fewer = answered(engine, state, "resident", ("members", "1"))  # children now irrelevant: counts as blank
    assert engine.record(fewer)["adults"] == "1" and "children" not in engine.record(fewer)


# -- required and constraints ------------------------------------------------------------------------------

def test_required_uses_the_forms_message_in_the_users_language(engine: Questionnaire) -> None:
    state = engine.start()
    assert engine.answer(state, "head_name", "  ", audience="resident").error == Message(
        text="Nama kepala keluarga wajib diisi.")
    assert engine.answer(state, "head_name", "", audience="resident", language="en").error == Message(
        text="The name is required.")


def test_required_without_a_message_falls_back_to_the_catalog(engine: Questionnaire) -> None:
    assert engine.answer(engine.start(), "lighting", None, audience="resident").error == Message("form-required")


def test_an_optional_question_can_be_skipped(engine: Questionnaire) -> None:
    state = fill(engine, engine.start(), RESIDENT_ANSWERS | {"has_car": ""}, "resident")
    assert "has_car" in state["history"] and "has_car" not in engine.record(state)


@pytest.mark.parametrize("language, message", [("id", "Antara 1 dan 30."), ("en", "Between 1 and 30.")])
def test_constraint_messages_per_language(engine: Questionnaire, language: str, message: str) -> None:
    result = engine.answer(engine.start(), "members", "31", audience="resident", language=language)
    assert not result.ok and result.error == Message(text=message)


def test_a_message_missing_in_english_is_shown_in_indonesian(engine: Questionnaire) -> None:
    state = answered(engine, engine.start(), "resident", ("members", "3"))
    result = engine.answer(state, "children", "3", audience="resident", language="en")
    assert result.error == Message(text="Harus kurang dari jumlah anggota.")


def test_a_constraint_without_a_message_falls_back_to_the_catalog(engine: Questionnaire) -> None:
    result = engine.answer(engine.start(), "aid", "pkh, tidak ada", audience="resident")
    assert result.error == Message("form-constraint-failed")
    assert engine.answer(engine.start(), "aid", "tidak ada", audience="resident").ok


def test_type_errors_come_before_constraints(engine: Questionnaire) -> None:
    result = engine.answer(engine.start(), "members", "empat", audience="resident")
    assert result.error == Message("form-not-a-number", {"value": "empat"})


def test_a_date_after_today_is_refused_by_the_injected_clock(engine: Questionnaire, clock) -> None:
    state = engine.start(zone="Asia/Makassar")
    assert engine.answer(state, "visit_date", "24-11-2026", audience="enumerator").error == Message(
        text="Tidak boleh setelah hari ini.")
    assert engine.answer(state, "visit_date", "23-11-2026", audience="enumerator").ok
    clock.advance(dt.timedelta(days=1))
    assert engine.answer(state, "visit_date", "24-11-2026", audience="enumerator").ok


def test_a_refused_answer_leaves_the_state_as_it_was(engine: Questionnaire) -> None:
    state = engine.start()
    before = copy.deepcopy(state)
    engine.answer(state, "members", "99", audience="resident")
    engine.answer(state, "members", "4", audience="resident")
    assert state == before


# -- languages, notes, defaults ----------------------------------------------------------------------------

def test_labels_hints_and_choices_in_both_languages(engine: Questionnaire) -> None:
    state = answered(engine, engine.start(), "resident", ("head_name", "Siti"))
    indonesian, english = (engine.next_question(state, "resident", lang) for lang in ("id", "en"))
    assert (indonesian.label, indonesian.hint, indonesian.groups) == (
        "Jumlah anggota keluarga", "Termasuk kepala keluarga.", ("Keterangan keluarga",))
    assert (english.label, english.hint) == ("Family members", "The head included.")
    lighting = engine.next_question(answered(engine, state, "resident", ("members", "1"), ("adults_note", None)),
                                    "resident", "en")
    assert lighting.choices == (("pln", "PLN electricity"), ("solar", "Solar"), ("none", "Not electric"))


def test_a_language_the_form_lacks_falls_back_to_indonesian(engine: Questionnaire) -> None:
    assert engine.next_question(engine.start(), "resident", "jv").label == "Nama kepala keluarga"


def test_notes_are_display_only_steps(engine: Questionnaire) -> None:
    state = answered(engine, engine.start(), "resident", ("head_name", "Siti"), ("members", "1"))
    note = engine.next_question(state, "resident")
    assert note.display_only and not note.required
    after = engine.answer(state, note.name, None, audience="resident")
    assert after.ok and engine.next_question(after.state, "resident").name == "lighting"


def test_a_default_is_offered_as_the_current_value(engine: Questionnaire) -> None:
    state = fill(engine, engine.start(), RESIDENT_ANSWERS, "resident")
    state = answered(engine, state, "enumerator", ("visit_date", "23-11-2026"), ("geotag", "-0.5 117.1"))
    step = engine.next_question(state, "enumerator")
    assert (step.name, step.value) == ("visits", "1")


# -- back, review, resume ----------------------------------------------------------------------------------

def test_back_asks_the_last_question_again_showing_the_answer(engine: Questionnaire) -> None:
    state = answered(engine, engine.start(), "resident", ("head_name", "Siti"), ("members", "4"))
    back = engine.back(state, "resident")
    assert back.ok
    step = engine.next_question(back.state, "resident")
    assert (step.name, step.value, step.display) == ("members", "4", "4")
    again = engine.back(engine.back(back.state, "resident").state, "resident")
    assert not again.ok and again.error == Message("form-nothing-to-go-back")


def test_the_resident_cannot_go_back_over_the_enumerators_answer(engine: Questionnaire) -> None:
    state = fill(engine, engine.start(), RESIDENT_ANSWERS, "resident")
    state = answered(engine, state, "enumerator", ("visit_date", "23-11-2026"))
    assert engine.back(state, "resident").error == Message("form-nothing-to-go-back")
    assert engine.back(state, "enumerator").ok


def test_back_skips_steps_that_became_irrelevant(engine: Questionnaire) -> None:
    state = fill(engine, engine.start(), RESIDENT_ANSWERS, "resident")
    state = answered(engine, state, "resident", ("power", "450"), ("members", "1"))  # children now irrelevant
    state = engine.back(state, "resident").state  # undoes members
    state = engine.back(state, "resident").state  # undoes power
    assert engine.next_question(state, "resident").name == "members"
    assert "power" not in state["history"]


def test_review_shows_answers_as_people_read_them(engine: Questionnaire) -> None:
    state = fill(engine, engine.start(), RESIDENT_ANSWERS, "resident")
    state = answered(engine, state, "enumerator", ("visit_date", "23-11-2026"))
    shown = {item.name: (item.label, item.display) for item in engine.review(state, "id")}
    assert shown["lighting"] == ("Sumber penerangan", "Listrik PLN")
    assert shown["aid"] == ("Bantuan setahun terakhir", "PKH, BPNT/Sembako")
    assert shown["bill"][1] == "125,5"
    assert shown["visit_date"][1] == "23 November 2026"
    assert "adults_note" not in shown and "adults" not in shown
    english = {item.name: item.display for item in engine.review(state, "en")}
    assert english["bill"] == "125.5" and english["visit_date"] == "November 23, 2026"
    assert english["has_car"] == "No"


def test_resume_from_json_after_a_restart(engine: Questionnaire, clock) -> None:
    state = answered(engine, engine.start(zone="Asia/Makassar"), "resident", ("head_name", "Siti"), ("members", "4"))
    saved = json.dumps(state)
    restarted = Questionnaire(Form.load(engine.form.source), clock)
    resumed = json.loads(saved)
    assert restarted.next_question(resumed, "resident") == engine.next_question(state, "resident")
    assert fill(restarted, resumed, RESIDENT_ANSWERS, "resident")["values"] == fill(
        engine, state, RESIDENT_ANSWERS, "resident")["values"]


def test_completion_needs_every_relevant_step(engine: Questionnaire) -> None:
    state = fill(engine, engine.start(preload={"needs_photo": "1"}), RESIDENT_ANSWERS, "resident")
    assert not engine.is_complete(state)
    assert engine.missing(state) == ["visit_date", "geotag", "house_photo", "visits", "remarks"]
    done = fill(engine, state, {"visit_date": "2026-11-23", "geotag": Location(-0.55, 117.2),
                                "house_photo": Attachment("f1"), "visits": "1"}, "enumerator")
    assert engine.is_complete(done)
    xml = ET.fromstring(engine.submission_xml(done))
    assert xml.find("meta/instanceID").text == done["instance_id"]
    assert xml.find("visit/house_photo").text == "f1"


def test_an_answer_broken_by_a_later_edit_makes_the_form_incomplete(engine: Questionnaire) -> None:
    state = fill(engine, engine.start(), RESIDENT_ANSWERS, "resident")
    state = fill(engine, state, {"visit_date": "2026-11-23", "geotag": "-0.5 117.1"}, "enumerator")
    assert engine.is_complete(state)
    smaller = answered(engine, state, "resident", ("members", "2"))  # 2 children no longer < 2 members
    assert engine.missing(smaller) == ["children"]


def test_a_state_of_another_form_is_refused(engine: Questionnaire) -> None:
    with pytest.raises(ValueError):
        engine.next_question({**engine.start(), "form": "other"}, "resident")
