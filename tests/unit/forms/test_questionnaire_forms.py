"""The forms the chat questionnaire runs: the default first-visit form covers what a first visit asks,
passes ``pintu form check``; a form file edited into errors is reported by row and never replaces
the last good version; the engine's messages are in both catalogs."""
from __future__ import annotations

import os
import string
from pathlib import Path

import pytest
from form_sheets import ID, EN, choice, end_group, q, write_xlsform

from bot.cli import main as pintu
from forms import MESSAGE_KEYS, Form, FormError
from forms.default import DEFAULT_FORM
from forms.source import FormSource
from chat.i18n import Translator, read_catalog
from handlers.flows.questionnaire import ENGINE_KEYS


@pytest.fixture(scope="module")
def default_form() -> Form:
    return Form.load(DEFAULT_FORM)


def test_the_default_form_covers_the_first_visit(default_form: Form) -> None:
    kinds = {f.name: f.kind for f in default_form.fields}
    assert kinds["members"] == "integer" and kinds["floor_area"] == "integer"
    for name in ("tenure", "floor", "wall", "roof", "water", "lighting", "power", "cooking", "toilet"):
        assert kinds[name] == "select_one", name
    aid = default_form.field("aid")
    assert aid.kind == "select_multiple" and {"pkh", "bpnt", "blt", "none"} <= {c.name for c in aid.choices}
    assets = [f for f in default_form.fields if f.name.startswith("asset_") and f.kind == "select_one"]
    assert len(assets) >= 6 and all({c.name for c in f.choices} == {"yes", "no"} for f in assets)
    assert default_form.field("geotag").kind == "geopoint"
    photo = default_form.field("house_photo")
    assert photo.kind == "image" and "needs_photo" in photo.relevant.source
    assert "lighting" in default_form.field("power").relevant.source  # VA only for PLN electricity
    assert default_form.languages == ("en", "id") and not [w for w in default_form.warnings if "label" in w.message]


def test_who_fills_which_part_of_the_default_form(default_form: Form) -> None:
    audience = {f.name: f.audience for f in default_form.fields}
    assert audience["head_name"] == audience["members"] == frozenset({"rt_head", "resident"})
    assert all(audience[n] == frozenset({"resident"}) for n in ("tenure", "toilet", "aid", "asset_car"))
    assert all(audience[n] == frozenset({"enumerator"}) for n in ("visit_date", "geotag", "house_photo"))


def test_pintu_form_check_passes_the_default_form_and_fails_a_broken_one(tmp_path: Path, capsys) -> None:
    assert pintu(["form", "check", str(DEFAULT_FORM)]) == 0
    assert "ok" in capsys.readouterr().out
    broken = write_xlsform(tmp_path / "broken.xlsx", [
        q("integer", "age", "Umur", "Age", constraint=". >= 0"),
        q("select_one yn", "ok", "Setuju?", "Agree?", relevant="${nothing} = 'y'"),
    ], [choice("yn", "y", "Ya", "Yes")])
    assert pintu(["form", "check", str(broken)]) == 1
    out = capsys.readouterr().out
    assert "error: sheet 'survey', row 3" in out and "nothing" in out


def _touch_later(path: Path) -> None:
    """Make sure the file's modification time moves on (some file systems keep whole seconds)."""
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))


def _good(path: Path, version: str) -> Path:
    return write_xlsform(path, [q("integer", "age", "Umur", "Age"), q("text", "name", "Nama", "Name")], (),
                         {"form_id": "f", "version": version, "default_language": ID})


def test_a_broken_edit_keeps_the_last_good_form_running(tmp_path: Path) -> None:
    path = _good(tmp_path / "form.xlsx", "1")
    source = FormSource(path)
    assert source.current().version == "1" and source.current() is source.current()

    write_xlsform(path, [q("integer", "age", "Umur", "Age"), q("begin group", "g", "G", "G")], ())
    _touch_later(path)
    assert source.current().version == "1", "the old form keeps running"
    assert any(p.is_error for p in source.problems)

    _good(path, "2")
    _touch_later(path)
    assert source.current().version == "2" and not any(p.is_error for p in source.problems)


def test_a_form_that_never_compiled_cannot_run(tmp_path: Path) -> None:
    path = write_xlsform(tmp_path / "bad.xlsx", [q("integer", "age", "Umur", "Age", relevant="${nope} > 1")])
    with pytest.raises(FormError) as raised:
        FormSource(path).current()
    assert raised.value.problems[0].row == 2
    with pytest.raises(FormError):
        FormSource(tmp_path / "missing.xlsx").current()
    assert FormSource(None).current().form_id == "pintu_regsosek_first_visit"


def test_the_engines_messages_are_in_both_catalogs_with_the_engines_arguments() -> None:
    assert set(ENGINE_KEYS) == set(MESSAGE_KEYS)
    arguments = {"form-not-a-number": {"value"}, "form-not-an-integer": {"value"}, "form-number-too-large": {"value"},
                 "form-not-a-date": {"value"}, "form-not-a-choice": {"value", "count"},
                 "form-not-a-location": {"value"}, "form-not-a-time": {"value"}, "form-not-a-datetime": {"value"},
                 "form-not-in-range": {"value", "low", "high"}, "form-not-on-step": {"value", "low", "high", "step"},
                 "form-not-a-ranking": {"count"}, "form-trace-too-short": {"count"},
                 "form-shape-too-small": {"count"}, "form-text-too-long": {"length", "max"}}
    for language in ("id", "en"):
        catalog = read_catalog(language)
        for key in MESSAGE_KEYS:
            fields = {f for _, f, _, _ in string.Formatter().parse(catalog[key].string) if f}
            assert fields == arguments.get(key, set()), (language, key)
            assert Translator(language)(key, **{f: "<3>" for f in fields}).strip()


def test_groups_and_languages_reach_the_questionnaire(tmp_path: Path) -> None:
    path = write_xlsform(tmp_path / "f.xlsx", [
        q("begin group", "house", "Rumah", "House", pintu_audience="resident"),
        q("integer", "rooms", "Jumlah kamar", "Rooms", constraint=". > 0", constraint_message__id="Minimal 1.",
          constraint_message__en="At least 1."),
        end_group(),
    ])
    form = Form.load(path)
    assert form.field("rooms").audience == frozenset({"resident"})
    assert form.field("rooms").constraint_messages == {"id": "Minimal 1.", "en": "At least 1."}
    assert EN and form.field("rooms").labels["en"] == "Rooms"
