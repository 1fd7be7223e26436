"""A form written for ODK, in the chat: cascading choices on buttons, metadata filled by Pintu."""
from __future__ import annotations

import datetime as dt

from bench.forms_corpus import CORPUS
from tests.factories import make_place, resident_of
from tests.integration.test_questionnaire import Chat, handlers_for, record_of
from tests.unit.forms.form_sheets import choice, q, write_xlsform

PLACES = [choice("prov", "kaltim", "Kalimantan Timur", "East Kalimantan"),
          choice("prov", "bali", "Bali", "Bali"),
          {**choice("kota", "smd", "Samarinda", "Samarinda"), "prov": "kaltim"},
          {**choice("kota", "dps", "Denpasar", "Denpasar"), "prov": "bali"},
          {**choice("kota", "bdg", "Badung", "Badung"), "prov": "bali"}]


def test_cascading_choices_on_buttons_and_metadata_in_the_record(uow_factory, fake_clock, tmp_path):
    path = write_xlsform(tmp_path / "odk.xlsx", [
        {"type": "start", "name": "start"}, {"type": "deviceid", "name": "device"},
        {"type": "username", "name": "officer"}, {"type": "simserial", "name": "sim"},
        q("select_one prov", "prov", "Provinsi", "Province"),
        q("select_one kota", "kota", "Kota", "City", choice_filter="prov = ${prov}"),
    ], PLACES)
    now = fake_clock.now()
    place = make_place(uow_factory, now, enumerators=1, families=1, enumerator_users=True)
    family_id = place.family_ids[0]
    resident_of(uow_factory, place, family_id, now)
    with uow_factory() as uow:
        enumerator = uow.enumerators.get(place.enumerator_ids[0])
        officer = uow.users.get(enumerator.user_id)
    ppl = Chat(handlers_for(uow_factory, fake_clock, tmp_path, form_path=str(path)), officer.telegram_id)
    ppl.say(f"/kunjungan {family_id}")
    ppl.choose("bali", ["kaltim", "bali"])
    assert "Kota" in ppl.screen and "Denpasar" in str(ppl.messages[ppl.question()][1])
    assert "Samarinda" not in str(ppl.messages[ppl.question()][1])   # only Bali's cities are offered
    ppl.choose("bdg", ["dps", "bdg"])                                # the 2nd button of the filtered list
    values = record_of(uow_factory, family_id).answers["values"]
    assert (values["prov"], values["kota"]) == ("bali", "bdg")
    assert (values["device"], values["officer"], values["sim"]) == ("pintu-bot", enumerator.name, "")
    assert dt.datetime.fromisoformat(values["start"]) == now.replace(microsecond=now.microsecond // 1000 * 1000)


def test_a_real_kobo_form_from_the_corpus_is_filled_and_submitted_in_the_chat(uow_factory, fake_clock, tmp_path):
    """onadata's tutorial form (formhub/KoBoToolbox; tests/forms_corpus/SOURCES.md), unchanged: metadata,
    a group, notes, choices, a multiple choice, numbers, a date, the location and a photo."""
    import shutil

    from domain.clock import FakeClock
    from forms import Form, Questionnaire
    from simulator.testing import make_png
    from chat.events import Attachment, Location

    path = tmp_path / "tutorial.xls"
    shutil.copyfile(CORPUS / "onadata" / "tutorial.xls", path)
    form = Form.load(path)
    engine = Questionnaire(form, FakeClock(fake_clock.now()))
    now = fake_clock.now()
    place = make_place(uow_factory, now, enumerators=1, families=1, enumerator_users=True)
    family_id = place.family_ids[0]
    resident_of(uow_factory, place, family_id, now)
    with uow_factory() as uow:
        officer = uow.users.get(uow.enumerators.get(place.enumerator_ids[0]).user_id)
    ppl = Chat(handlers_for(uow_factory, fake_clock, tmp_path, form_path=str(path)), officer.telegram_id)
    ppl.say(f"/kunjungan {family_id}")
    typed = {"integer": "3", "decimal": "1,5", "date": "23-11-2026", "text": "Siti Aminah"}
    asked = []
    while (step := engine.next_question(record_of(uow_factory, family_id).answers, "enumerator")) is not None:
        assert len(asked) < 40, asked
        asked.append(step.kind)
        index = next(i for i, f in enumerate(form.fields) if f.name == step.name)
        if step.kind == "select_one":
            ppl.press(f"qa:{index}:1", ppl.question())
        elif step.kind == "select_multiple":
            ppl.press(f"qa:{index}:t1", ppl.question())
            ppl.press(f"qn:done:{index}", ppl.question())
        elif step.kind == "note":
            ppl.press(f"qn:next:{index}", ppl.question())
        elif step.kind == "geopoint":
            ppl.handle(ppl.event(location=Location(-0.5021, 117.1536, 8.0)))
        elif step.kind == "image":
            ppl.handle(ppl.event(attachment=Attachment(kind="photo", file_id="p1", content=make_png(64, 48))))
        else:
            ppl.say(typed[step.kind])
    assert {"select_one", "select_multiple", "note", "integer", "decimal", "date", "geopoint", "image"} <= set(asked)
    assert "Kirim data" in ppl.screen
    ppl.press("qn:submit")
    if "qn:consent" in ppl.buttons():
        ppl.press("qn:consent")
    record = record_of(uow_factory, family_id)
    assert record.status == "completed"
    answers = record.answers   # the form's metadata, filled by Pintu: the bot is the device
    assert (answers["imei"], answers["today"]) == ("pintu-bot", answers["start_time"][:10])
    assert answers["start_time"] <= answers["end_time"] and "phonenumber" not in answers  # none was shared
