"""Repeats in the engine: a household roster asked member by member, counted or "add another?"."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from form_sheets import choice, q

from forms import Message, Questionnaire

ENUMERATOR = "enumerator"
ROSTER = [
    q("integer", "members", "Jumlah anggota", "Members", required="yes", constraint=". >= 1 and . <= 12",
      constraint_message__id="Antara 1 dan 12.", constraint_message__en="Between 1 and 12."),
    q("begin repeat", "roster", "Anggota keluarga", "Family member", repeat_count="${members}"),
    q("text", "member_name", "Nama anggota", "Member's name", required="yes"),
    q("select_one relation", "relation", "Hubungan dengan kepala keluarga ${member_name}", "Relationship of ${member_name}",
      required="yes", constraint="if(position(..) = 1, . = 'head', . != 'head')",
      constraint_message__id="Anggota pertama adalah kepala keluarga.", constraint_message__en="The first is the head."),
    q("integer", "age", "Umur", "Age", required="yes", constraint=". >= 0 and . <= 120"),
    q("select_one yn", "works", "Bekerja?", "Works?", required="yes", relevant="${age} >= 10"),
    q("calculate", "number", calculation="position(..)"),
    q("calculate", "older", calculation="count(${roster}[age > current()/../age])"),
    {"type": "end repeat"},
    q("calculate", "people", calculation="count(${roster})"),
    q("calculate", "total_age", calculation="sum(${age})"),
    q("calculate", "oldest", calculation="max(${age})"),
    q("calculate", "youngest", calculation="min(${age})"),
    q("calculate", "second_name", calculation="indexed-repeat(${member_name}, ${roster}, 2)"),
    q("calculate", "workers", calculation="count(${roster}[works = 'yes'])"),
    q("note", "summary", "Tertua ${oldest}, termuda ${youngest}", "Oldest ${oldest}, youngest ${youngest}"),
]
CHOICES = [choice("relation", "head", "Kepala keluarga", "Head"), choice("relation", "spouse", "Istri/suami", "Spouse"),
           choice("relation", "child", "Anak", "Child"), choice("yn", "yes", "Ya", "Yes"), choice("yn", "no", "Tidak", "No")]
PETS = [
    q("begin repeat", "pets", "Hewan", "Pet"),
    q("text", "pet", "Nama hewan", "Pet's name", required="yes"),
    {"type": "end repeat"},
    q("text", "after", "Catatan", "Remarks"),
]
MEMBERS = [("Siti", "head", "40", "yes"), ("Budi", "spouse", "42", "yes"), ("Ani", "child", "7", None)]


@pytest.fixture
def roster(engine_for) -> Questionnaire:
    return engine_for(ROSTER, CHOICES)


def answer(engine: Questionnaire, state: dict, key: str, raw: str) -> dict:
    result = engine.answer(state, key, raw, audience=ENUMERATOR)
    assert result.ok, (key, raw, result.error)
    return result.state


def fill(engine: Questionnaire, state: dict, members=MEMBERS) -> dict:
    """Answer whatever comes next from the members' rows, as an enumerator at the door would."""
    while (step := engine.next_question(state, ENUMERATOR)) is not None:
        if step.kind == "note":
            state = answer(engine, state, step.name, "")
            continue
        name, index = step.name.split("[")[0], step.position
        row = dict(zip(("member_name", "relation", "age", "works"), members[index - 1]))
        state = answer(engine, state, step.name, row[name])
    return state


def filled(engine: Questionnaire, count: int = 3) -> dict:
    state = answer(engine, engine.start(), "members", str(count))
    return fill(engine, state)


def test_the_count_sets_how_many_members_are_asked_in_order(roster) -> None:
    state = answer(roster, roster.start(), "members", "3")
    asked = []
    while (step := roster.next_question(state, ENUMERATOR)) is not None and step.kind != "note":
        asked.append(step.name)
        row = dict(zip(("member_name", "relation", "age", "works"), MEMBERS[step.position - 1]))
        state = answer(roster, state, step.name, row[step.name.split("[")[0]])
    assert asked == ["member_name[1]", "relation[1]", "age[1]", "works[1]",
                     "member_name[2]", "relation[2]", "age[2]", "works[2]",
                     "member_name[3]", "relation[3]", "age[3]"]  # Ani is 7: not asked whether she works


def test_steps_name_the_member_and_labels_refer_to_that_member(roster) -> None:
    state = answer(roster, answer(roster, roster.start(), "members", "2"), "member_name[1]", "Siti")
    step = roster.next_question(state, ENUMERATOR, "en")
    assert (step.name, step.position, step.repeat) == ("relation[1]", 1, "roster")
    assert step.label == "Relationship of Siti" and step.groups == ("Family member 1",)


def test_constraints_refer_to_the_member_position(roster) -> None:
    state = answer(roster, answer(roster, roster.start(), "members", "2"), "member_name[1]", "Siti")
    refused = roster.answer(state, "relation[1]", "Anak", audience=ENUMERATOR, language="en")
    assert not refused.ok and refused.error.text == "The first is the head."
    state = fill(roster, state)
    assert not roster.answer(state, "relation[2]", "Kepala keluarga", audience=ENUMERATOR).ok


def test_calculations_over_the_roster(roster) -> None:
    record = roster.record(filled(roster))
    assert record["people"] == "3" and record["total_age"] == "89"
    assert (record["oldest"], record["youngest"], record["second_name"], record["workers"]) == ("42", "7", "Budi", "2")
    assert [m["number"] for m in record["roster"]] == ["1", "2", "3"]
    assert [m["older"] for m in record["roster"]] == ["1", "0", "2"]  # current(): the member's own age


def test_the_record_carries_the_roster_as_a_list_of_members(roster) -> None:
    record = roster.record(filled(roster))
    assert record["roster"][2] == {"member_name": "Ani", "relation": "child", "age": "7", "number": "3", "older": "2"}
    assert record["members"] == "3" and "member_name" not in record


def test_review_shows_the_roster_member_by_member(roster) -> None:
    items = roster.review(filled(roster), "id")
    groups = [i.groups for i in items if i.repeat]
    assert groups[0] == ("Anggota keluarga 1",) and groups[-1] == ("Anggota keluarga 3",)
    assert [(i.name, i.display) for i in items if i.position == 2][:2] == [("member_name[2]", "Budi"),
                                                                            ("relation[2]", "Istri/suami")]


def test_any_members_answer_can_be_changed_from_the_review(roster) -> None:
    state = filled(roster)
    assert "age[3]" in roster.editable(state, ENUMERATOR)
    state = roster.reopen(state, "age[3]", ENUMERATOR).state
    assert roster.next_question(state, ENUMERATOR).name == "age[3]"
    state = answer(roster, state, "age[3]", "15")
    assert roster.next_question(state, ENUMERATOR).name == "works[3]"  # now old enough to be asked


def test_removing_a_member_moves_the_later_ones_up_and_lowers_the_count(roster) -> None:
    state = filled(roster)
    result = roster.remove_instance(state, "roster", 2, audience=ENUMERATOR)
    assert result.ok
    record = roster.record(result.state)
    assert record["members"] == "2" and [m["member_name"] for m in record["roster"]] == ["Siti", "Ani"]
    assert "age[3]" not in result.state["values"] and result.state["values"]["age[2]"] == "7"
    assert roster.is_complete(result.state)


def test_removing_the_only_member_is_refused_by_the_counts_constraint(roster) -> None:
    state = answer(roster, roster.start(), "members", "1")
    result = roster.remove_instance(state, "roster", 1, audience=ENUMERATOR, language="en")
    assert not result.ok and result.error.text == "Between 1 and 12."


def test_adding_a_member_asks_the_new_members_questions(roster) -> None:
    state = filled(roster)
    result = roster.add_instance(state, "roster", audience=ENUMERATOR)
    assert result.ok and result.state["values"]["members"] == "4"
    assert roster.next_question(result.state, ENUMERATOR).name == "member_name[4]"
    assert not roster.is_complete(result.state)


def test_back_crosses_from_one_member_to_the_previous(roster) -> None:
    state = answer(roster, roster.start(), "members", "2")
    state = fill(roster, state, MEMBERS[:1] + [("Budi", "spouse", "42", "yes")])
    state = roster.reopen(state, "member_name[2]", ENUMERATOR).state
    state = answer(roster, state, "member_name[2]", "Budi")
    back = roster.back(state, ENUMERATOR).state
    assert roster.next_question(back, ENUMERATOR).name == "member_name[2]"
    state = answer(roster, answer(roster, roster.start(), "members", "2"), "member_name[1]", "Siti")
    for key, raw in (("relation[1]", "1"), ("age[1]", "40"), ("works[1]", "yes"), ("member_name[2]", "Budi")):
        state = answer(roster, state, key, raw)
    state = roster.back(roster.back(state, ENUMERATOR).state, ENUMERATOR).state
    assert roster.next_question(state, ENUMERATOR).name == "works[1]"


def test_state_survives_a_json_round_trip_mid_roster(roster) -> None:
    state = answer(roster, roster.start(), "members", "5")
    state = fill(roster, state, MEMBERS + [("Dewi", "child", "12", "no")] * 2)
    state = roster.reopen(state, "age[4]", ENUMERATOR).state
    saved = json.loads(json.dumps(state))
    assert roster.next_question(saved, ENUMERATOR).name == "age[4]"


def test_a_state_saved_before_repeats_existed_still_loads(roster) -> None:
    old = {"form": "test_form", "version": "1", "zone": "Asia/Makassar", "instance_id": "uuid:1",
           "values": {"members": "2"}, "history": ["members"], "by": {"members": "resident"}}
    assert roster.next_question(old, ENUMERATOR).name == "member_name[1]"


def test_lowering_the_count_keeps_later_answers_but_drops_them_from_the_record(roster) -> None:
    state = answer(roster, filled(roster), "members", "2")
    assert [m["member_name"] for m in roster.record(state)["roster"]] == ["Siti", "Budi"]
    assert state["values"]["member_name[3]"] == "Ani"
    assert roster.record(answer(roster, state, "members", "3"))["roster"][2]["member_name"] == "Ani"


def test_the_submission_has_one_element_per_member_and_no_template(roster) -> None:
    root = ET.fromstring(roster.submission_xml(filled(roster)))
    members = root.findall("roster")
    assert [m.findtext("member_name") for m in members] == ["Siti", "Budi", "Ani"]
    assert members[2].find("works") is None  # irrelevant for a child of 7
    assert not [e for e in root.iter() if any(a.endswith('template') for a in e.attrib)]


def test_an_uncounted_repeat_asks_whether_to_add_another(engine_for) -> None:
    engine = engine_for(PETS)
    state = answer(engine, engine.start(), "pet[1]", "Mimi")
    step = engine.next_question(state, ENUMERATOR, "en")
    assert (step.name, step.kind, step.label, step.position) == ("pets[+]", "repeat_add", "Pet", 1)
    state = answer(engine, state, "pets[+]", "ya")
    assert engine.next_question(state, ENUMERATOR).name == "pet[2]"
    state = answer(engine, answer(engine, state, "pet[2]", "Belang"), "pets[+]", "tidak")
    assert engine.next_question(state, ENUMERATOR).name == "after"
    assert engine.record(state)["pets"] == [{"pet": "Mimi"}, {"pet": "Belang"}]
    removed = engine.remove_instance(state, "pets", 1, audience=ENUMERATOR).state
    assert engine.record(json.loads(json.dumps(removed)))["pets"] == [{"pet": "Belang"}]
    assert engine.back(state, ENUMERATOR).state["history"][-1] == "pet[2]"  # "no" undone: asked again


def test_the_default_forms_roster_asks_each_member_in_both_languages(clock) -> None:
    from forms import Form
    from forms.default import DEFAULT_FORM

    engine = Questionnaire(Form.load(DEFAULT_FORM), clock)
    state = answer(engine, answer(engine, engine.start(), "head_name", "Wati Lestari"), "members", "2")
    state["values"]["member_name[1]"] = "Wati Lestari"  # as the bot starts the head's row: shown, still asked
    step = engine.next_question(state, ENUMERATOR, "en")
    assert (step.name, step.value, step.groups) == ("member_name[1]", "Wati Lestari", ("Family member 1",))
    state = answer(engine, state, "member_name[1]", "Wati Lestari")
    assert engine.next_question(state, ENUMERATOR, "id").label == "NIK Wati Lestari"
    refused = engine.answer(state, "member_nik[1]", "12345", audience=ENUMERATOR, language="id")
    assert refused.error == Message("nik-format")  # the rule it breaks (forms/nik.py), not a generic refusal
    assert engine.answer(state, "member_nik[1]", "", audience=ENUMERATOR).ok  # no NIK yet: skipped
    assert engine.answer(state, "relation[1]", "Anak", audience=ENUMERATOR, language="en").error.text == (
        "The first member is the head of the family, and only the first.")
    names = {f.name for f in engine.form.repeats["roster"]}
    assert {"member_name", "member_nik", "relation", "sex", "birth_date", "marital", "education", "works",
            "disability"} <= names
