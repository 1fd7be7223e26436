"""Repeat groups with what ODK forms use besides: choice filters, metadata, setvalue, once(), the same
name in two places (wt-corpus and the roster work together)."""
from __future__ import annotations

from form_sheets import YES_NO, choice, q

from forms import Questionnaire

ENUMERATOR = "enumerator"
PLACES = [choice("prov", "kaltim", "Kalimantan Timur", "East Kalimantan"),
          choice("prov", "bali", "Bali", "Bali"),
          {**choice("kota", "smd", "Samarinda", "Samarinda"), "prov": "kaltim"},
          {**choice("kota", "bpn", "Balikpapan", "Balikpapan"), "prov": "kaltim"},
          {**choice("kota", "dps", "Denpasar", "Denpasar"), "prov": "bali"}]


def answer(engine: Questionnaire, state: dict, key: str, raw: str) -> dict:
    result = engine.answer(state, key, raw, audience=ENUMERATOR)
    assert result.ok, (key, raw, result.error)
    return result.state


def test_a_choice_filter_inside_a_repeat_reads_its_own_instance(engine_for) -> None:
    engine = engine_for([
        q("integer", "members", "Jumlah", "Members"),
        q("begin repeat", "roster", "Anggota", "Member", repeat_count="${members}"),
        q("select_one prov", "prov", "Provinsi lahir", "Born in province", required="yes"),
        q("select_one kota", "kota", "Kota lahir", "Born in city", required="yes", choice_filter="prov = ${prov}"),
        {"type": "end repeat"}], PLACES)
    state = answer(engine, engine.start(), "members", "2")
    state = answer(engine, state, "prov[1]", "bali")
    state = answer(engine, state, "prov[2]", "kaltim")
    assert engine.choices(state, "kota[1]") == engine.form.field("kota").choices[2:]
    step = engine.next_question(state, ENUMERATOR)
    assert step.name == "kota[1]" and step.choices == (("dps", "Denpasar"),)
    assert not engine.answer(state, "kota[1]", "smd", audience=ENUMERATOR).ok
    state = answer(engine, state, "kota[1]", "1")       # numbered as the buttons: the filtered choices
    state = answer(engine, state, "kota[2]", "2")
    assert (state["values"]["kota[1]"], state["values"]["kota[2]"]) == ("dps", "bpn")
    assert engine.is_complete(state)
    # a member's province changed after the city: that city is no longer offered, so asked again
    state = answer(engine, state, "prov[2]", "bali")
    assert not engine.is_complete(state)


def test_the_same_name_in_a_group_and_in_a_repeat_is_kept_apart(engine_for) -> None:
    engine = engine_for([
        q("begin group", "head", "Kepala", "Head"), q("text", "name", "Nama kepala", "Head's name"),
        {"type": "end group"},
        q("begin repeat", "kids", "Anak", "Child"), q("text", "name", "Nama anak", "Child's name", required="yes"),
        {"type": "end repeat"},
        q("calculate", "first_kid", calculation="indexed-repeat(/data/kids/name, /data/kids, 1)")])
    assert {f.name for f in engine.form.fields} >= {"head/name", "kids/name", "kids"}
    state = answer(engine, engine.start(), "head/name", "Siti")
    step = engine.next_question(state, ENUMERATOR)
    assert step.name == "kids/name[1]"
    state = answer(engine, state, "kids/name[1]", "Ani")
    assert engine.next_question(state, ENUMERATOR).name == "kids[+]"
    state = answer(engine, state, "kids[+]", "yes")
    state = answer(engine, state, "kids/name[2]", "Budi")
    state = answer(engine, state, "kids[+]", "no")
    record = engine.record(state)
    assert record["head/name"] == "Siti" and record["first_kid"] == "Ani"
    assert [member["kids/name"] for member in record["kids"]] == ["Ani", "Budi"]


def test_metadata_and_once_work_beside_a_roster(engine_for) -> None:
    engine = engine_for([
        {"type": "start", "name": "started"}, {"type": "deviceid", "name": "device"},
        q("begin repeat", "pets", "Hewan", "Pet"),
        q("select_one yn", "has", "Punya?", "Has?", required="yes"),
        q("calculate", "first_seen", calculation="once(${has})"),
        {"type": "end repeat"}], YES_NO)
    state = engine.start(device={"deviceid": "pintu-bot:1"})
    assert state["values"]["device"] == "pintu-bot:1" and state["values"]["started"]
    state = answer(engine, state, "has[1]", "yes")
    assert state["values"]["first_seen[1]"] == "yes"
    state = answer(engine, state, "has[1]", "no")
    assert state["values"]["first_seen[1]"] == "yes"  # once(): the first value is kept


def test_a_trigger_inside_a_repeat_sets_the_field_of_its_own_instance(engine_for) -> None:
    engine = engine_for([
        q("integer", "members", "Jumlah", "Members"),
        q("begin repeat", "roster", "Anggota", "Member", repeat_count="${members}"),
        q("text", "member_name", "Nama", "Name", required="yes"),
        q("calculate", "named_at", calculation="concat('set ', ${member_name})", trigger="${member_name}"),
        {"type": "end repeat"}])
    state = answer(engine, engine.start(), "members", "2")
    state = answer(engine, state, "member_name[2]", "Budi")
    assert state["values"].get("named_at[2]") == "set Budi" and not state["values"].get("named_at[1]")
