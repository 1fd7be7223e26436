"""What forms written for ODK use, run in the chat: metadata, aliases, cascading and file choices,
instance() and pulldata() over attachments, once(), loops and the same name in two groups."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from form_sheets import YES_NO, choice, end_group, q
from test_form_xpath import string

from forms import Form, Questionnaire, check_form

DEVICE = {"deviceid": "pintu-bot:42", "username": "rina", "phonenumber": "+628123"}


def answer_all(engine: Questionnaire, state: dict, answers: dict) -> dict:
    while (step := engine.next_question(state, "enumerator")) is not None:
        result = engine.answer(state, step.name, answers.get(step.name), audience="enumerator")
        assert result.ok, (step.name, result.error)
        state = result.state
    return state


# -- metadata ---------------------------------------------------------------------------------------

METADATA = [{"type": t, "name": t} for t in ("start", "end", "today", "deviceid", "username", "phonenumber",
                                              "simserial", "subscriberid", "email", "audit")]


def test_metadata_is_filled_by_pintu_and_never_asked(engine_for, clock) -> None:
    engine = engine_for([*METADATA, q("integer", "members", "Anggota", "Members")])
    state = engine.start(zone="Asia/Makassar", device=DEVICE)
    assert engine.next_question(state, "enumerator").name == "members"
    clock.advance(dt.timedelta(minutes=7))
    state = engine.answer(state, "members", "4", audience="enumerator").state
    record = engine.record(state)
    assert record["start"] == "2026-11-23T10:00:00.000+08:00" and record["today"] == "2026-11-23"
    assert record["end"] == "2026-11-23T10:07:00.000+08:00"   # the last answer's time
    assert (record["deviceid"], record["username"], record["phonenumber"]) == ("pintu-bot:42", "rina", "+628123")
    assert not {"simserial", "subscriberid", "email", "audit"} & set(record)  # unknown device fields: blank
    assert "<deviceid>pintu-bot:42</deviceid>" in engine.submission_xml(state)


def test_metadata_can_be_read_by_expressions(engine_for) -> None:
    engine = engine_for([{"type": "username", "name": "who"},
                         q("note", "hello", "Halo ${who}", "Hello ${who}")])
    state = engine.start(device={"username": "agus"})
    assert engine.next_question(state, "enumerator").label == "Halo agus"


# -- aliases ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("alias, kind", [("gps", "geopoint"), ("string", "text"), ("int", "integer"),
                                         ("photo", "image"), ("phone number", "text")])
def test_pyxform_aliases_work_by_their_bind_type(xlsform, alias: str, kind: str) -> None:
    form = Form.load(xlsform([q(alias, "x", "X", "X")]))
    assert form.field("x").kind == kind


def test_the_phone_number_alias_keeps_pyxforms_digits_only_constraint(engine_for) -> None:
    engine = engine_for([q("phone number", "hp", "Nomor HP", "Phone")])
    assert not engine.answer(engine.start(), "hp", "08-12", audience="enumerator").ok
    assert engine.answer(engine.start(), "hp", "0812", audience="enumerator").ok


# -- cascading choices --------------------------------------------------------------------------------

PLACES = [choice("prov", "kaltim", "Kalimantan Timur", "East Kalimantan"),
          choice("prov", "bali", "Bali", "Bali"),
          {**choice("kota", "smd", "Samarinda", "Samarinda"), "prov": "kaltim"},
          {**choice("kota", "bpn", "Balikpapan", "Balikpapan"), "prov": "kaltim"},
          {**choice("kota", "dps", "Denpasar", "Denpasar"), "prov": "bali"}]
CASCADE = [q("select_one prov", "prov", "Provinsi", "Province"),
           q("select_one kota", "kota", "Kota", "City", choice_filter="prov = ${prov}")]


def test_a_choice_filter_offers_only_the_choices_it_keeps(engine_for) -> None:
    engine = engine_for(CASCADE, PLACES)
    state = engine.answer(engine.start(), "prov", "Kalimantan Timur", audience="enumerator").state
    step = engine.next_question(state, "enumerator")
    assert step.choices == (("smd", "Samarinda"), ("bpn", "Balikpapan"))
    assert engine.answer(state, "kota", "dps", audience="enumerator").error.key == "form-not-a-choice"
    assert engine.answer(state, "kota", "2", audience="enumerator").state["values"]["kota"] == "bpn"


def test_a_choice_filter_may_use_current(engine_for) -> None:
    engine = engine_for([CASCADE[0], q("select_one kota", "kota", "Kota", "City",
                                       choice_filter="prov = current()/../prov")], PLACES)
    state = engine.answer(engine.start(), "prov", "bali", audience="enumerator").state
    assert engine.next_question(state, "enumerator").choices == (("dps", "Denpasar"),)


# -- choices and lookups from the form's CSV attachments ---------------------------------------------

def write_csv(folder: Path, name: str, text: str) -> None:
    (folder / name).write_text(text, encoding="utf-8")


def test_select_one_from_file_reads_the_csv_next_to_the_form(xlsform, clock) -> None:
    path = xlsform([q("select_one prov", "prov", "Provinsi", "Province"),
                    q("select_one_from_file kota.csv", "kota", "Kota", "City", choice_filter="prov = ${prov}")],
                   PLACES[:2])
    write_csv(path.parent, "kota.csv", "name,label,prov\nsmd,Samarinda,kaltim\ndps,Denpasar,bali\n")
    engine = Questionnaire(Form.load(path), clock)
    state = engine.answer(engine.start(), "prov", "bali", audience="enumerator").state
    assert engine.next_question(state, "enumerator").choices == (("dps", "Denpasar"),)


def test_select_multiple_from_file_without_a_filter(xlsform, clock) -> None:
    path = xlsform([q("select_multiple_from_file aid.csv", "aid", "Bantuan", "Aid")])
    write_csv(path.parent, "aid.csv", "name,label\npkh,PKH\nbpnt,BPNT\n")
    engine = Questionnaire(Form.load(path), clock)
    state = engine.answer(engine.start(), "aid", "PKH, BPNT", audience="enumerator").state
    assert engine.record(state)["aid"] == "pkh bpnt"


def test_pulldata_and_instance_lookups_read_the_attachment(xlsform, clock) -> None:
    path = xlsform([q("csv-external", "prices"),
                    q("text", "item", "Barang", "Item"),
                    q("calculate", "price", calculation="pulldata('prices', 'price', 'item', ${item})"),
                    q("calculate", "unit", calculation="instance('prices')/root/item[item = ${item}]/unit")])
    write_csv(path.parent, "prices.csv", "item,price,unit\nberas,14000,kg\nminyak,18000,liter\n")
    engine = Questionnaire(Form.load(path), clock)
    record = engine.record(engine.answer(engine.start(), "item", "minyak", audience="enumerator").state)
    assert (record["price"], record["unit"]) == ("18000", "liter")


def test_a_missing_attachment_is_explained_at_the_row_that_needs_it(xlsform) -> None:
    path = xlsform([q("text", "x", "X", "X"), q("select_one_from_file desa.csv", "desa", "Desa", "Village")])
    [problem] = [p for p in check_form(path) if p.is_error]
    assert problem.row == 3 and "'desa.csv'" in problem.message and "next to the form" in problem.message


def test_last_saved_is_blank_as_on_a_first_form(engine_for) -> None:
    engine = engine_for([q("text", "village", "Desa", "Village", default="${last-saved#village}")])
    assert engine.record(answer_all(engine, engine.start(), {"village": "Rawa Makmur"}))["village"] == "Rawa Makmur"


def test_select_one_external_takes_its_choices_from_the_external_choices_sheet(xlsform, clock) -> None:
    from openpyxl import load_workbook
    path = xlsform([q("select_one yn", "ok", "Setuju?", "Agree?"),
                    q("select_one_external desa", "desa", "Desa", "Village", choice_filter="ok = ${ok}")], YES_NO)
    book = load_workbook(path)
    sheet = book.create_sheet("external_choices")
    for row in (("list_name", "name", "label", "ok"), ("desa", "rm", "Rawa Makmur", "yes"),
                ("desa", "bj", "Bukuan", "no")):
        sheet.append(row)
    book.save(path)
    engine = Questionnaire(Form.load(path), clock)
    state = engine.answer(engine.start(), "ok", "yes", audience="enumerator").state
    assert engine.next_question(state, "enumerator").choices == (("rm", "Rawa Makmur"),)


# -- once() --------------------------------------------------------------------------------------------

def test_once_keeps_the_first_value(engine_for, clock) -> None:
    engine = engine_for([q("text", "a", "A", "A"), q("text", "b", "B", "B"),
                         q("calculate", "first_seen", calculation="once(${a})")])
    state = engine.answer(engine.start(), "a", "pertama", audience="enumerator").state
    state = engine.answer(state, "a", "kedua", audience="enumerator").state
    assert engine.record(state)["first_seen"] == "pertama"


# -- the same name in two groups; loops ----------------------------------------------------------------

def test_the_same_name_in_two_groups_works_as_in_odk(engine_for) -> None:
    engine = engine_for([q("begin group", "head", "Kepala", "Head"), q("text", "name", "Nama", "Name"), end_group(),
                         q("begin group", "spouse", "Pasangan", "Spouse"), q("text", "name", "Nama", "Name"),
                         end_group()])
    names = []
    state = engine.start()
    while (step := engine.next_question(state, "enumerator")) is not None:
        names.append((step.name, step.groups))
        state = engine.answer(state, step.name, f"orang {len(names)}", audience="enumerator").state
    assert names == [("head/name", ("Kepala",)), ("spouse/name", ("Pasangan",))]
    assert engine.record(state) == {"head/name": "orang 1", "spouse/name": "orang 2"}
    assert "<head><name>orang 1</name></head><spouse><name>orang 2</name></spouse>" in engine.submission_xml(state)


def test_a_loop_over_a_list_asks_its_questions_for_each_choice(engine_for) -> None:
    engine = engine_for([q("begin loop over yn", "each", "Tiap", "Each"),
                         q("integer", "count", "Berapa %(label)s?", "How many %(label)s?"),
                         {"type": "end loop"}], YES_NO)
    labels = []
    state = engine.start()
    while (step := engine.next_question(state, "enumerator")) is not None:
        labels.append(step.label)
        state = engine.answer(state, step.name, "1", audience="enumerator").state
    assert labels == ["Berapa Ya?", "Berapa Tidak?"]


# -- ODK's XPath functions -------------------------------------------------------------------------------

@pytest.mark.parametrize("expression, expected", [
    ("sqrt(16)", "4"), ("pow(2, 10)", "1024"), ("abs(-3)", "3"), ("round(exp(0), 0)", "1"),
    ("log10(1000)", "3"), ("round(pi(), 2)", "3.14"), ("round(atan2(1, 1) * 4, 2)", "3.14"),
    ("min(3, 1, 2)", "1"), ("max(/data/a, /data/b)", "7"), ("min(/data/a, /data/empty)", ""),
    ("count-non-empty(/data/*)", "2"), ("join(', ', /data/a, /data/b)", "2, 7"),
    ("format-date('2026-08-17', '%d/%m/%Y')", "17/08/2026"), ("format-date('2026-08-07', '%e %b')", "7 Aug"),
    ("digest('abc', 'SHA-256', 'hex')", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
    ("base64-decode('UGludHU=')", "Pintu"), ("string-length(uuid(8))", "8"), ("string-length(uuid())", "36"),
    ("checklist(1, 2, 'yes', 'no', 'yes')", "true"), ("weighted-checklist(3, -1, 'yes', 2, 'no', 5, 'yes', 1)", "true"),
    ("decimal-time('12:00:00')", "0.5"), ("date-time(0.5)", "1970-01-01T12:00:00.000"),
    ("round(distance('0 0 0 0; 0 1 0 0'), 0)", "111319"), ("area('0 0 0 0; 0 1 0 0; 1 1 0 0; 1 0 0 0') > 12000000000", "true"),
])
def test_odk_functions(expression: str, expected: str) -> None:
    assert string(expression, {"a": "2", "b": "7", "empty": ""}) == expected


def test_position_and_indexed_repeat() -> None:
    assert string("position(/data/p[2])", {}) == "1"  # no such node: 1 of none
    assert string("indexed-repeat(/data/a, /data/a, 1)", {"a": "x"}) == "x"
    assert string("indexed-repeat(/data/a, /data/a, 2)", {"a": "x"}) == ""


# -- what still cannot run is named, with a suggestion -----------------------------------------------------

def test_an_unknown_instance_is_explained_with_its_row(xlsform) -> None:
    path = xlsform([q("text", "x", "X", "X"), q("calculate", "y", calculation="instance('hargaa')/root/item[1]/name")])
    [problem] = [p for p in check_form(path) if p.is_error]
    assert problem.row == 3 and "instance('hargaa')" in problem.message and "csv-external" in problem.message


def test_a_repeat_within_a_repeat_is_named_with_its_row(xlsform) -> None:
    path = xlsform([q("begin repeat", "people", "Anggota", "Members"), q("begin repeat", "jobs", "Kerja", "Jobs"),
                    q("text", "who", "Nama", "Name"), {"type": "end repeat"}, {"type": "end repeat"}])
    [problem] = [p for p in check_form(path) if p.is_error]
    assert problem.row == 3 and "inside the repeat" in problem.message


def test_device_data_the_chat_cannot_record_is_a_warning_not_silence(xlsform) -> None:
    path = xlsform([{"type": "start-geopoint", "name": "where"}, q("text", "x", "X", "X")])
    [warning] = check_form(path)
    assert not warning.is_error and warning.row == 2 and "geopoint question" in warning.message
    assert Form.load(path).field("where").kind == "metadata"


def test_randomized_choices_keep_one_order_through_a_questionnaire(engine_for) -> None:
    rows = [choice("c", str(n), f"Pilihan {n}", f"Choice {n}") for n in range(1, 9)]
    engine = engine_for([q("select_one c", "pick", "Pilih", "Pick", parameters="randomize=true")], rows)
    state = engine.start()
    first = engine.next_question(state, "enumerator").choices
    assert engine.next_question(state, "enumerator").choices == first
    assert sorted(first) == sorted((c["name"], c["label::Indonesian (id)"]) for c in rows)


# -- dynamic defaults, triggers and last-saved ---------------------------------------------------------------

def test_a_dynamic_default_is_set_when_the_questionnaire_starts(engine_for) -> None:
    engine = engine_for([q("date", "visit", "Tanggal", "Date", default="today()"), q("text", "x", "X", "X")])
    state = engine.start(zone="Asia/Makassar")
    step = engine.next_question(state, "enumerator")
    assert (step.name, step.value) == ("visit", "2026-11-23")   # shown as the current answer, still asked


def test_last_saved_reads_the_last_record_when_pintu_gives_one(engine_for) -> None:
    engine = engine_for([q("text", "village", "Desa", "Village", default="${last-saved#village}"),
                         q("calculate", "before", calculation="${last-saved#village}")])
    state = engine.start(last_saved={"village": "Rawa Makmur"})
    assert engine.next_question(state, "enumerator").value == "Rawa Makmur"
    assert engine.record(state)["before"] == "Rawa Makmur"
    assert engine.next_question(engine.start(), "enumerator").value is None


def test_the_trigger_column_recalculates_when_its_question_is_answered(engine_for, clock) -> None:
    engine = engine_for([q("integer", "members", "Anggota", "Members"),
                         q("text", "counted", "Dicatat", "Noted", calculation="concat('n=', ${members})",
                           trigger="${members}")])
    state = engine.answer(engine.start(), "members", "4", audience="enumerator").state
    assert state["values"]["counted"] == "n=4"
    state = engine.answer(state, "members", "5", audience="enumerator").state
    assert state["values"]["counted"] == "n=5"


def test_a_choice_the_filter_no_longer_offers_must_be_answered_again(engine_for) -> None:
    engine = engine_for(CASCADE, PLACES)
    state = engine.answer(engine.start(), "prov", "kaltim", audience="enumerator").state
    state = engine.answer(state, "kota", "smd", audience="enumerator").state
    assert engine.is_complete(state)
    state = engine.answer(state, "prov", "bali", audience="enumerator").state   # from the review
    assert engine.missing(state) == ["kota"] and not engine.is_complete(state)


def test_a_geojson_attachment_gives_its_features_as_choices(xlsform, clock) -> None:
    import json
    path = xlsform([q("select_one_from_file houses.geojson", "house", "Rumah", "House"),
                    q("calculate", "where", calculation="instance('houses')/root/item[id = ${house}]/geometry")])
    (path.parent / "houses.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": "r1", "properties": {"title": "Rumah Pak Budi"},
         "geometry": {"type": "Point", "coordinates": [117.1536, -0.5021]}},
        {"type": "Feature", "id": "r2", "properties": {"title": "Rumah Bu Siti"},
         "geometry": {"type": "Point", "coordinates": [117.16, -0.51]}}]}), encoding="utf-8")
    engine = Questionnaire(Form.load(path), clock)
    state = engine.start()
    assert engine.next_question(state, "enumerator").choices == (("r1", "Rumah Pak Budi"), ("r2", "Rumah Bu Siti"))
    state = engine.answer(state, "house", "Rumah Bu Siti", audience="enumerator").state
    assert engine.record(state)["where"] == "-0.51 117.16 0 0"


@pytest.mark.parametrize("expression", [
    "date-time(99999999999)", "format-date(99999999999, '%Y')", "date(99999999999)", "pow(-8, 0.5)",
    "pow(10, 1000)", "decimal-time('99:99')", "sqrt(-1)", "log(0)", "uuid(-5)", "substr('abc', 1e20)",
])
def test_odd_values_give_a_blank_not_a_crash(expression: str) -> None:
    assert string(expression) == ""


def test_uuid_of_a_huge_length_stays_a_message_long() -> None:
    assert string("string-length(uuid(99999))") == "1024"
