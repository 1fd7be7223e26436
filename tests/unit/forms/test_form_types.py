"""The other question types real forms use: what each takes, what it stores (as ODK stores it, so the
submission's values have their XForms types), how the review shows it, and what `form check` says."""
from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET

import pytest
from form_sheets import choice, q

from forms import Attachment, Location, Message, check_form
from forms.parsing import measure_points, parse_answer

WITA = dt.timezone(dt.timedelta(hours=8))
NOW = dt.datetime(2026, 11, 23, 10, 0, tzinfo=WITA)
RANGE = {"start": "0", "end": "10", "step": "2"}
FRUIT = [choice("fruit", "rice", "Beras", "Rice"), choice("fruit", "oil", "Minyak", "Oil"),
         choice("fruit", "sugar", "Gula", "Sugar")]
# The lexical forms of ODK's types (XForms spec / ODK XForms spec: time, dateTime, geotrace, geoshape).
ODK_TIME = re.compile(r"\d{2}:\d{2}:\d{2}\.\d{3}(Z|[+-]\d{2}:\d{2})")
ODK_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T" + ODK_TIME.pattern)
ODK_GEOPOINT = r"-?\d+(\.\d+)? -?\d+(\.\d+)? -?\d+(\.\d+)? \d+(\.\d+)?"
ODK_TRACE = re.compile(f"{ODK_GEOPOINT}(;{ODK_GEOPOINT})+")


def parse(kind: str, raw, **extra):
    return parse_answer(kind, raw, extra.pop("choices", ()), now=NOW, **extra)


@pytest.mark.parametrize("raw, stored", [
    ("14:30", "14:30:00.000+08:00"), ("14.30", "14:30:00.000+08:00"), (" 8:05 ", "08:05:00.000+08:00"),
    ("23:59:30", "23:59:30.000+08:00"), (dt.datetime(2026, 11, 23, 1, 15, tzinfo=dt.UTC), "09:15:00.000+08:00"),
])
def test_a_time_is_stored_with_the_areas_offset(raw, stored: str) -> None:
    assert parse("time", raw) == stored and ODK_TIME.fullmatch(stored)


@pytest.mark.parametrize("raw", ["25:00", "14:60", "jam dua", "1430"])
def test_a_wrong_time_says_so(raw: str) -> None:
    assert parse("time", raw) == Message("form-not-a-time", {"value": raw})


@pytest.mark.parametrize("raw, stored", [
    ("17-08-2026 14:30", "2026-08-17T14:30:00.000+08:00"), ("2026-08-17 14.30", "2026-08-17T14:30:00.000+08:00"),
    ("17/08/2026 jam 09.00", "2026-08-17T09:00:00.000+08:00"), ("17-08-2026, 9:00", "2026-08-17T09:00:00.000+08:00"),
    (dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC), "2026-11-23T10:00:00.000+08:00"),
])
def test_a_datetime_is_read_in_the_areas_zone(raw, stored: str) -> None:
    assert parse("datetime", raw) == stored and ODK_DATETIME.fullmatch(stored)


def test_a_wrong_datetime_says_so() -> None:
    assert parse("datetime", "17-08-2026").key == "form-not-a-datetime"
    assert parse("datetime", "31-02-2026 10:00").key == "form-not-a-datetime"


def test_a_range_takes_the_numbers_on_its_steps() -> None:
    assert parse("range", "4", parameters=RANGE) == "4"
    assert parse("range", "4,0", parameters=RANGE) == "4"
    assert parse("range", "5", parameters=RANGE) == Message("form-not-on-step", {"value": "5", "low": "0", "high": "10", "step": "2"})
    assert parse("range", "12", parameters=RANGE).key == "form-not-in-range"
    assert parse("range", "empat", parameters=RANGE).key == "form-not-a-number"
    assert parse("range", "2,5", parameters={"start": "0", "end": "5", "step": "0.5"}) == "2.5"
    assert parse("range", "3", parameters={"start": "5", "end": "1"}) == "3"  # a reversed range (ODK allows it)


def test_a_ranking_orders_every_choice_once() -> None:
    choices = tuple(__import__("forms").Choice(c["name"], {"id": c[f"label::Indonesian (id)"]}) for c in FRUIT)
    assert parse("rank", ["sugar", "rice", "oil"], choices=choices) == "sugar rice oil"
    assert parse("rank", "3 1 2", choices=choices) == "sugar rice oil"
    assert parse("rank", "3 1", choices=choices).key == "form-not-a-ranking"
    assert parse("rank", "3 3 1", choices=choices).key == "form-not-a-ranking"


def test_acknowledge_and_barcode() -> None:
    assert parse("acknowledge", True) == "OK" and parse("acknowledge", "ya") == "OK"
    assert parse("acknowledge", "tidak") == Message("form-press-ok")
    assert parse("barcode", " 8991002101234 ") == "8991002101234"


@pytest.mark.parametrize("kind, key", [("audio", "form-send-audio"), ("video", "form-send-video"),
                                       ("file", "form-send-file")])
def test_media_are_taken_from_an_attachment_only(kind: str, key: str) -> None:
    assert parse(kind, Attachment("5f3a.ogg")) == "5f3a.ogg"
    assert parse(kind, "a typed name") == Message(key)


def test_a_trace_is_points_separated_by_semicolons() -> None:
    stored = parse("geotrace", [Location(-0.5, 117.1, 0, 5), Location(-0.501, 117.101, 0, 4)])
    assert stored == "-0.5 117.1 0 5;-0.501 117.101 0 4" and ODK_TRACE.fullmatch(stored)
    assert parse("geotrace", "-0.5 117.1; -0.501 117.101") == "-0.5 117.1 0 0;-0.501 117.101 0 0"
    assert parse("geotrace", [Location(-0.5, 117.1)]) == Message("form-trace-too-short", {"count": 1})
    assert parse("geotrace", [Location(-0.5, 117.1), Location(-0.5, 117.1)]).key == "form-trace-too-short"


def test_a_shape_is_closed_and_must_not_cross_itself() -> None:
    square = [Location(0, 0), Location(0, 0.001), Location(0.001, 0.001), Location(0.001, 0)]
    stored = parse("geoshape", square)
    assert stored.split(";")[0] == stored.split(";")[-1] and len(stored.split(";")) == 5
    assert parse("geoshape", [*square, square[0]]) == stored  # already closed: not closed twice
    bow_tie = [Location(0, 0), Location(0.001, 0.001), Location(0, 0.001), Location(0.001, 0)]
    assert parse("geoshape", bow_tie) == Message("form-shape-crosses")
    assert parse("geoshape", square[:2]).key == "form-shape-too-small"
    assert parse("geoshape", [Location(0, 0), Location(0, 1), Location(0, 2)]).key == "form-shape-too-small"
    count, perimeter, area = measure_points(stored)
    assert count == 4 and 440 < perimeter < 450 and 12_000 < area < 12_500  # about 111 m a side


SURVEY = [
    q("time", "start_time", "Jam mulai", "Start time", required="yes"),
    q("dateTime", "visited_at", "Waktu kunjungan", "Visited at"),
    q("range", "rooms", "Jumlah kamar", "Rooms", parameters="start=1 end=5 step=1"),
    q("rank fruit", "priority", "Urutan kebutuhan", "Needs in order"),
    q("acknowledge", "agree", "Saya setuju", "I agree"),
    q("barcode", "kk_code", "Kode KK", "KK code"),
    q("audio", "statement", "Pernyataan", "Statement"),
    q("video", "tour", "Video rumah", "House video"),
    q("file", "letter", "Surat", "Letter"),
    q("geotrace", "road", "Jalan", "Road"),
    q("geoshape", "plot", "Lahan", "Plot"),
]
ANSWERS = {
    "start_time": "9.15", "visited_at": "23-11-2026 09:30", "rooms": "3", "priority": "2 3 1", "agree": True,
    "kk_code": "6472012345678901", "statement": Attachment("a1.ogg"), "tour": Attachment("v1.mp4"),
    "letter": Attachment("f1.pdf"), "road": [Location(-0.5, 117.1), Location(-0.5005, 117.1005)],
    "plot": [Location(-0.5, 117.1), Location(-0.5, 117.1003), Location(-0.5003, 117.1003)],
}


def test_every_type_is_asked_stored_as_odk_does_and_shown_readably(engine_for) -> None:
    engine = engine_for(SURVEY, FRUIT)
    state = engine.start(zone="Asia/Makassar")
    kinds = []
    while (step := engine.next_question(state, "enumerator", "en")) is not None:
        kinds.append(step.kind)
        result = engine.answer(state, step.name, ANSWERS[step.name], audience="enumerator")
        assert result.ok, (step.name, result.error)
        state = result.state
    assert kinds == ["time", "datetime", "range", "rank", "acknowledge", "barcode", "audio", "video", "file",
                     "geotrace", "geoshape"]
    record = engine.record(state)
    assert record["start_time"] == "09:15:00.000+08:00"
    assert record["visited_at"] == "2026-11-23T09:30:00.000+08:00"
    assert record["priority"] == "oil sugar rice" and record["agree"] == "OK" and record["rooms"] == "3"
    assert ODK_TRACE.fullmatch(record["road"]) and record["plot"].endswith("-0.5 117.1 0 0")
    shown = {item.name: item.display for item in engine.review(state, "en")}
    assert shown["start_time"] == "9:15\u202fAM" or shown["start_time"].startswith("9:15")
    assert shown["visited_at"].startswith("November 23, 2026")
    assert shown["priority"] == "1. Minyak, 2. Gula, 3. Beras" or shown["priority"] == "1. Oil, 2. Sugar, 3. Rice"
    assert {item.name: item.display for item in engine.review(state, "id")}["start_time"] == "09.15"
    xml = ET.fromstring(engine.submission_xml(state))
    assert xml.findtext("start_time") == "09:15:00.000+08:00" and xml.findtext("letter") == "f1.pdf"
    _values_have_their_xforms_types(engine.form, xml)


def _values_have_their_xforms_types(form, instance: ET.Element) -> None:
    """Each value of the submission read as the type its bind gives it (XML Schema's time, dateTime,
    int; ODK's geotrace/geoshape as geopoints separated by ";"), as a server validating it would."""
    from elementpath.datatypes import DateTime, Time

    readers = {"time": Time.fromstring, "datetime": DateTime.fromstring, "range": int,
               "geotrace": lambda v: ODK_TRACE.fullmatch(v) or _fail(v),
               "geoshape": lambda v: (ODK_TRACE.fullmatch(v) and v.split(";")[0] == v.split(";")[-1]) or _fail(v)}
    for item in form.fields:
        if item.kind in readers:
            readers[item.kind](instance.findtext(item.name))


def _fail(value: str):
    raise AssertionError(f"not an ODK value: {value!r}")


def test_a_range_answer_is_refused_with_its_limits(engine_for) -> None:
    engine = engine_for(SURVEY, FRUIT)
    state = engine.start(zone="Asia/Makassar", preload={"start_time": "08:00"})
    result = engine.answer(state, "rooms", "9", audience="enumerator")
    assert not result.ok and result.error == Message("form-not-in-range", {"value": "9", "low": "1", "high": "5", "step": "1"})


def test_form_check_names_parameters_the_chat_does_not_use(xlsform) -> None:
    path = xlsform([
        q("integer", "members", "Jumlah", "Members"),
        q("range", "rooms", "Kamar", "Rooms", parameters="start=1 end=5 tick_interval=2"),
        q("geotrace", "road", "Jalan", "Road", parameters="incremental=true"),
        q("audio", "statement", "Pernyataan", "Statement", parameters="quality=voice-only"),
        q("range", "floors", "Lantai", "Floors", parameters="start=1 end=4 step=2"),
    ])
    problems = check_form(path)
    assert not any(p.is_error for p in problems)  # the form works; the author learns what the chat ignores
    by_row = {p.row: p for p in problems}
    assert by_row[3].sheet == "survey" and "'tick_interval'" in by_row[3].message and "remove it" in by_row[3].message
    assert "incremental" in by_row[4].message and "done" in by_row[4].message
    assert "'quality'" in by_row[5].message
    assert "does not end on a step" in by_row[6].message


@pytest.mark.parametrize("parameters, words", [("start=1 end=5 step=0", "step"), ("start=a end=5", "'start'"),
                                               ("start=3 end=3", "differ")])
def test_form_check_refuses_a_range_that_cannot_work(xlsform, parameters: str, words: str) -> None:
    [problem] = [p for p in check_form(xlsform([q("range", "rooms", "Kamar", "Rooms", parameters=parameters)]))
                 if p.is_error]
    assert problem.row == 2 and words in problem.message


def test_form_check_refuses_an_unknown_parameter_with_the_accepted_ones(xlsform) -> None:
    [problem] = check_form(xlsform([q("range", "rooms", "Kamar", "Rooms", parameters="strat=1 end=5")]))
    assert problem.is_error and problem.row == 2 and "'strat'" in problem.message and "start" in problem.message
