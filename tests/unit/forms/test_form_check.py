"""check_form: a usable form passes; a broken one is explained sheet by sheet, row by row."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from form_sheets import YES_NO, choice, end_group, q
from openpyxl import load_workbook
from pyxform.xls2xform import convert

from domain.clock import FakeClock
from forms import Attachment, Form, FormError, Location, Problem, Questionnaire, check_form
from forms.default import DEFAULT_FORM
from forms.default.build_default import main as build_default
from tests.factories import roster_answers

GOOD = [q("integer", "members", "Jumlah anggota", "Members", required="yes")]


def errors(path: Path) -> list[Problem]:
    return [p for p in check_form(path) if p.is_error]


# -- the default form -----------------------------------------------------------------------------------

def test_the_default_form_passes_check_form_without_warnings() -> None:
    assert check_form(DEFAULT_FORM) == []


def test_the_default_form_converts_with_pyxform() -> None:
    result = convert(str(DEFAULT_FORM))
    assert result.warnings == [] and "<h:html" in result.xform


def test_the_checked_in_default_form_is_what_the_script_builds(tmp_path: Path) -> None:
    rebuilt = tmp_path / "rebuilt.xlsx"
    build_default([str(rebuilt)])

    def cells(path: Path) -> dict[str, list[tuple]]:
        book = load_workbook(path, read_only=True)
        return {sheet.title: [tuple(row) for row in sheet.iter_rows(values_only=True)] for sheet in book}
    assert cells(rebuilt) == cells(DEFAULT_FORM), "run: python -m forms.default.build_default"


def test_the_default_form_is_bilingual_with_indonesian_first() -> None:
    form = Form.load(DEFAULT_FORM)
    assert form.default_language == "id" and form.languages == ("en", "id")
    for item in form.fields:
        if item.kind not in ("calculate", "hidden"):
            assert set(item.labels) == {"id", "en"}, item.name
        for each in item.choices:
            assert set(each.labels) == {"id", "en"}, (item.name, each.name)


def test_the_default_form_from_self_report_to_visit() -> None:
    engine = Questionnaire(Form.load(DEFAULT_FORM), FakeClock(dt.datetime(2026, 11, 23, 2, tzinfo=dt.timezone.utc)))
    state = engine.start(zone="Asia/Makassar", preload={"needs_photo": "1"})
    resident = {"head_name": "Siti Aminah", "members": "4", "tenure": "milik sendiri", "floor_area": "36",
                "floor": "keramik", "wall": "tembok", "roof": "seng", "water": "air isi ulang",
                "lighting": "Listrik PLN dengan meteran", "power": "900", "cooking": "Elpiji 3 kg",
                "toilet": "1", "aid": "PKH, BPNT/Program Sembako"}
    asked = []
    while (step := engine.next_question(state, "resident")) is not None:
        asked.append(step.name)
        result = engine.answer(state, step.name, resident.get(step.name, "tidak"), audience="resident")
        assert result.ok, (step.name, result.error)
        state = result.state
    assert asked[:3] == ["head_name", "members", "tenure"] and "power" in asked and "geotag" not in asked
    assert engine.answer(state, "aid", "pkh, tidak ada", audience="resident").error.text == (
        "'Tidak ada' tidak bisa dipilih bersama bantuan lain.")
    assert engine.record(state)["asset_count"] == "0"
    visit = {"visit_date": "23-11-2026", "geotag": Location(-0.5021, 117.1536), "house_photo": Attachment("f"),
             **roster_answers(["Siti Aminah", "Budi", "Ani", "Dewi"]), "roster_summary": ""}
    while (step := engine.next_question(state, "enumerator")) is not None:
        state = engine.answer(state, step.name, visit[step.name], audience="enumerator").state
    assert engine.is_complete(state)
    record = engine.record(state)
    assert (record["power"], record["aid"], record["geotag"]) == ("900", "pkh bpnt", "-0.5021 117.1536 0 0")


def test_installed_power_is_asked_only_with_pln_electricity() -> None:
    engine = Questionnaire(Form.load(DEFAULT_FORM), FakeClock(dt.datetime(2026, 11, 23, 2, tzinfo=dt.timezone.utc)))
    state = engine.answer(engine.start(), "lighting", "Bukan listrik", audience="resident").state
    assert engine.answer(state, "power", "900", audience="resident").error.key == "form-not-relevant"


# -- broken forms -------------------------------------------------------------------------------------

def test_a_broken_expression_is_reported_with_its_row(xlsform) -> None:
    path = xlsform([*GOOD, q("integer", "children", "Anak", "Children", constraint=". < (${members}")])
    [problem] = errors(path)
    assert (problem.sheet, problem.row) == ("survey", 3)
    assert "constraint" in problem.message and "row 3" in str(problem)


def test_an_unknown_function_is_reported_with_its_row(xlsform) -> None:
    path = xlsform([*GOOD, q("calculate", "x", calculation="frobnicate('a', 'b')")])
    [problem] = errors(path)
    assert problem.row == 3 and "frobnicate" in problem.message and "calculation" in problem.message


def test_a_missing_attachment_is_named_with_the_row_that_reads_it(xlsform) -> None:
    path = xlsform([*GOOD, q("calculate", "x", calculation="pulldata('prices', 'price', 'item', 'rice')")])
    [problem] = errors(path)
    assert problem.row == 3 and "'prices.csv'" in problem.message and "next to the form" in problem.message


def test_a_reference_to_a_missing_question_is_pyxforms_error_with_its_row(xlsform) -> None:
    path = xlsform([*GOOD, q("integer", "children", "Anak", "Children", relevant="${membres} > 1")])
    [problem] = errors(path)
    assert (problem.sheet, problem.row) == ("survey", 3) and "membres" in problem.message


@pytest.mark.parametrize("rows, row, words", [
    ([*GOOD, q("osm", "building", "Bangunan", "Building")], 3, "'osm'"),
    ([*GOOD, q("begin repeat", "people", "Anggota", "Members"), q("begin repeat", "jobs", "Kerja", "Jobs"),
      q("text", "who", "Nama", "Name"), {"type": "end repeat"}, {"type": "end repeat"}], 4, "inside the repeat"),
    ([*GOOD, q("select_one_from_file places.csv", "place", "Tempat", "Place")], 3, "file"),
])
def test_types_the_chat_cannot_ask_are_refused_by_row(xlsform, rows, row: int, words: str) -> None:
    found = errors(xlsform(rows))
    assert found and found[0].row == row and words in found[0].message


def test_an_unknown_type_gets_its_row_even_when_pyxform_gives_none(xlsform) -> None:
    [problem] = errors(xlsform([*GOOD, q("integr", "x", "X", "X")]))
    assert problem.row == 3 and "integr" in problem.message


def test_a_question_without_label_gets_its_row(xlsform) -> None:
    [problem] = errors(xlsform([*GOOD, {"type": "integer", "name": "x"}]))
    assert problem.row == 3 and "'x'" in problem.message


@pytest.mark.parametrize("rows, choices, row, words", [
    ([*GOOD, q("select_one yn", "car", "Mobil", "Car")], [choice("other", "a", "A", "A")], 3, "yn"),
    ([*GOOD, q("integer", "members", "Lagi", "Again")], [], 3, "unique"),
    ([q("begin group", "g", "G", "G"), *GOOD], [], 2, "end_group"),
    ([*GOOD, q("integer", "x", "X", "X", pintu_audience="visitor")], [], 3, "visitor"),
])
def test_malformed_rows_are_explained(xlsform, rows, choices, row: int, words: str) -> None:
    found = errors(xlsform(rows, choices))
    assert found and found[0].row == row and words in found[0].message, found


def test_a_missing_translation_is_a_warning_not_an_error(xlsform) -> None:
    problems = check_form(xlsform([*GOOD, q("text", "x", "Nama", "")]))
    assert problems and not any(p.is_error for p in problems)
    assert any(p.row == 3 and "'en'" in p.message for p in problems)


def test_a_file_that_is_not_a_form(tmp_path: Path) -> None:
    junk = tmp_path / "junk.xlsx"
    junk.write_bytes(b"not a spreadsheet")
    [problem] = check_form(junk)
    assert problem.is_error and problem.row is None
    assert check_form(tmp_path / "notes.txt")[0].is_error


def test_loading_a_broken_form_raises_with_the_problems(xlsform) -> None:
    with pytest.raises(FormError) as raised:
        Form.load(xlsform([*GOOD, q("osm", "building", "Bangunan", "Building")]))
    assert raised.value.problems[0].row == 3 and "row 3" in str(raised.value)


def test_loading_is_cached_until_the_file_changes(xlsform) -> None:
    path = xlsform(GOOD)
    form = Form.load(path)
    assert Form.load(path) is form and form.load_seconds > 0
    xlsform([*GOOD, q("text", "x", "X", "X")]).replace(path)
    assert Form.load(path) is not form and "x" in Form.load(path).by_name
