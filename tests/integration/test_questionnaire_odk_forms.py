"""A form written for ODK, in the chat: cascading choices on buttons, metadata filled by Pintu."""
from __future__ import annotations

import datetime as dt

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
