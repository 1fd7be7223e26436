"""The questionnaire in the chat (issue 3) on SQLite and PostgreSQL, with the default first-visit form:
the resident's self-report before the visit, the RT head's identification of a family without
Telegram, the enumerator completing and submitting at the door; every answer saved as it is given
(a new handlers object over the same database resumes at the next question), and bad input
answered without losing anything."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from domain.booking import BookingRules, book_visit
from domain.model import Record, RecordDelivery
from domain.questionnaire import RESIDENT
from forms import Form
from forms.default import DEFAULT_FORM
from handlers.screens import unstamp
from handlers.app import PintuHandlers
from handlers.context import HandlerConfig
from chat.events import AnswerCallback, Attachment, EditMessage, Incoming, Location, SendMessage, Sender
from chat.keyboard import Keyboard, ReplyKeyboard
from chat.i18n import Translator
from simulator.testing import make_png
from tests.factories import MONDAY, at, make_place, race, resident_of, roster_answers

ID = Translator("id")
CRASH = {ID("error-unexpected"), Translator("en")("error-unexpected")}
HOUSING = ["own", "36", "ceramic", "masonry", "clay_tile", "piped", "pln_meter", "900", "lpg_3", "own"]


@dataclass
class Chat:
    """One person's private chat, as their phone shows it: messages by id, edited in place."""

    handlers: PintuHandlers
    telegram_id: int
    messages: dict[int, list] = field(default_factory=dict)
    last_id: int = 0
    answers: list[AnswerCallback] = field(default_factory=list)
    sent: int = 0
    _ids: int = 0
    _presses: int = 0

    def handle(self, event: Incoming) -> list:
        actions = self.handlers.handle(event)
        for action in actions:
            if isinstance(action, SendMessage):
                self._ids += 1
                self.messages[self._ids] = [action.text, action.markup]
                self.last_id, self.sent = self._ids, self.sent + 1
            elif isinstance(action, EditMessage):
                assert action.message_id in self.messages
                self.messages[action.message_id] = [action.text, action.markup]
                self.last_id = action.message_id
            else:
                self.answers.append(action)
            assert getattr(action, "text", None) not in CRASH, f"crash on {event}"
        return actions

    def event(self, **values) -> Incoming:
        return Incoming(sender=Sender(self.telegram_id, "X", "id"), chat_id=self.telegram_id, **values)

    def say(self, text: str) -> list:
        return self.handle(self.event(text=text))

    def press(self, data: str, message_id: int | None = None) -> list:
        message_id = message_id or self.message_with(data) or self.last_id
        self._presses += 1
        actions = self.handle(self.event(callback_id=f"cb{self._presses}", callback_data=data, message_id=message_id))
        assert sum(isinstance(a, AnswerCallback) for a in actions) == 1
        return actions

    def message_with(self, data: str) -> int | None:
        return next((i for i in sorted(self.messages, reverse=True) if data in self.buttons(i)), None)

    def buttons(self, message_id: int | None = None) -> list[str]:
        markup = self.messages[message_id or self.last_id][1] if self.messages else None
        return [unstamp(b.data)[0] for b in markup.buttons if b.data] if isinstance(markup, Keyboard) else []

    def question(self) -> int:
        """The id of the newest message showing a question (one with "qn:review")."""
        return next(i for i in sorted(self.messages, reverse=True) if "qn:review" in self.buttons(i))

    def recent(self, count: int = 2) -> str:
        """The texts of the newest ``count`` messages."""
        return "\n".join(self.messages[i][0] for i in sorted(self.messages)[-count:])

    @property
    def screen(self) -> str:
        return self.messages[self.last_id][0]

    def choose(self, name: str, choices: list[str]) -> None:
        """Press the choice ``name`` of the question shown (choices: the list's names in order)."""
        number = choices.index(name) + 1
        data = next((d for d in self.buttons(self.question()) if d.startswith("qa:") and d.endswith(f":{number}")), None)
        assert data, self.screen
        self.press(data, self.question())


def handlers_for(uow_factory, clock, tmp_path, form_path: str = "") -> PintuHandlers:
    config = HandlerConfig(invite_secret="x" * 32, media_dir=str(tmp_path / "media"), form_path=form_path)
    return PintuHandlers(uow_factory, clock, config)


def record_of(uow_factory, family_id) -> Record | None:
    with uow_factory() as uow:
        return uow.session.scalar(select(Record).where(Record.family_id == family_id).order_by(Record.created_at))


def records_of(uow_factory, family_id) -> list[Record]:
    with uow_factory() as uow:
        return list(uow.session.scalars(select(Record).where(Record.family_id == family_id)))


def telegram_id_of(uow_factory, user_id) -> int:
    with uow_factory() as uow:
        return uow.users.get(user_id).telegram_id


FORM = Form.load(DEFAULT_FORM)
CHOICES = {f.name: [c.name for c in f.choices] for f in FORM.fields if f.choices}


def answer_housing(chat: Chat) -> None:
    """Tenure … toilet, by buttons and typing as a resident would."""
    for name, value in zip(["tenure", "floor_area", "floor", "wall", "roof", "water", "lighting", "power",
                            "cooking", "toilet"], HOUSING):
        if name == "floor_area":
            chat.say(value)
        else:
            chat.choose(value, CHOICES[name])


def answer_aid_and_assets(chat: Chat) -> None:
    chat.press("qa:" + _index("aid") + ":t1", chat.question())  # PKH
    chat.press("qa:" + _index("aid") + ":t2", chat.question())  # BPNT
    chat.press("qa:" + _index("aid") + ":t3", chat.question())  # BLT, then untick it
    assert "✅ BLT" in str(chat.messages[chat.question()][1])
    chat.press("qa:" + _index("aid") + ":t3", chat.question())
    chat.press("qn:done:" + _index("aid"), chat.question())
    chat.press("qn:next:" + _index("assets_intro"), chat.question())
    for number, _ in enumerate(range(8)):
        chat.choose("yes" if number in (1, 6) else "no", CHOICES["asset_fridge"])  # motorcycle, smartphone
    assert "2 dari 8 aset" in chat.screen
    chat.press("qn:next:" + _index("assets_summary"), chat.question())


def answer_roster(chat: Chat, names: list[str]) -> None:
    """The member roster at the door, member by member: the head's name kept as prefilled, the others typed."""
    for position, name in enumerate(names, start=1):
        assert f"Anggota keluarga {position}" in chat.screen
        if position == 1:
            assert f"Jawaban tersimpan: <b>{name}</b>" in chat.screen
            chat.press(f"qa:{_index('member_name')}.1:k", chat.question())
        else:
            chat.say(name)
        # a NIK as Dukcapil issues it (Palaran; 15 January 195n, 40 added to the day for the head, a woman)
        chat.say(f"647201{55 if position == 1 else 15}01{50 + position:02d}{position:04d}")
        chat.choose("head" if position == 1 else "spouse", CHOICES["relation"])
        chat.choose("female" if position == 1 else "male", CHOICES["sex"])
        chat.say(f"15-01-{1950 + position}")
        chat.choose("married", CHOICES["marital"])
        chat.choose("sd", CHOICES["education"])
        chat.choose("no", CHOICES["works"])
        chat.choose("no", CHOICES["disability"])
    assert f"Tercatat {len(names)} anggota keluarga" in chat.screen
    chat.press("qn:next:" + _index("roster_summary"), chat.question())


def roster_done(uow_factory, clock, family_id: int, names: list[str]) -> None:
    """The enumerator filled the member roster already (as answer_roster would, through the service)."""
    from domain.questionnaire import ENUMERATOR, open_draft, save_answer

    with uow_factory() as uow:
        now = clock.now()
        draft = open_draft(uow, FORM, family_id, now, audience=ENUMERATOR)
        for key, value in {**roster_answers(names), "roster_summary": ""}.items():
            assert save_answer(uow, draft, key, value, now, audience=ENUMERATOR, language="id").ok, key
        uow.commit()


def _index(name: str) -> str:
    return str(next(i for i, f in enumerate(FORM.fields) if f.name == name))


# --- the resident ---------------------------------------------------------------------------------

def resident_chat(uow_factory, fake_clock, tmp_path, families: int = 1) -> tuple[Chat, int]:
    """A resident of a place's first family, in their chat with the bot; and that family's id."""
    now = fake_clock.now()
    place = make_place(uow_factory, now, enumerators=1, families=families, enumerator_users=True)
    family_id = place.family_ids[0]
    return Chat(handlers_for(uow_factory, fake_clock, tmp_path),
                telegram_id_of(uow_factory, resident_of(uow_factory, place, family_id, now))), family_id


def test_resident_fills_the_self_report_with_bad_input_back_pause_and_restart(uow_factory, fake_clock, tmp_path):
    wati, family_id = resident_chat(uow_factory, fake_clock, tmp_path, families=2)

    wati.say("/isi")
    assert "Pertanyaan 1 dari" in wati.screen and "Nama kepala keluarga" in wati.screen
    assert any(d.endswith(":k") for d in wati.buttons()), "the registered name is offered to keep"
    wati.press(f"qa:{_index('head_name')}:k")
    assert "Jumlah anggota keluarga" in wati.screen
    wati.say("empat")  # letters for a number
    assert "“empat” bukan angka" in wati.screen and "Jumlah anggota keluarga" in wati.screen
    wati.say("45")  # the form's own constraint message, in Indonesian
    assert "Jumlah anggota keluarga antara 1 dan 30." in wati.screen
    wati.handle(wati.event(attachment=Attachment(kind="sticker", file_id="st1")))
    assert "Stiker" in wati.screen and "Jumlah anggota keluarga" in wati.screen
    wati.handle(wati.event(location=Location(-0.5, 117.1)))
    assert "tidak dijawab dengan foto, lokasi" in wati.screen
    wati.say("4")
    assert "Status kepemilikan" in wati.screen
    record = record_of(uow_factory, family_id)
    assert record.status == "draft" and record.answers["values"]["members"] == "4"
    assert record.answers["by"]["head_name"] == RESIDENT and record.answers["history"] == ["head_name", "members"]

    # A button of an answered question: said, and the open question shown again; nothing changes.
    tenure = wati.question()
    wati.choose("rent", CHOICES["tenure"])
    assert "Luas lantai" in wati.screen
    wati.press(f"qa:{_index('tenure')}:1", tenure)
    assert wati.answers[-1].show_alert and "pertanyaan sebelumnya" in wati.answers[-1].text
    assert "Luas lantai" in wati.screen and "pertanyaan sebelumnya" in wati.screen
    assert record_of(uow_factory, family_id).answers["values"]["tenure"] == "rent"

    # Back one step: tenure again, its answer marked; change it.
    wati.press(f"qn:back:{_index('floor_area')}", wati.question())
    assert "Status kepemilikan" in wati.screen and "✔ Kontrak/sewa" in str(wati.messages[wati.last_id][1])
    wati.choose("own", CHOICES["tenure"])
    wati.say("36")
    assert "Jenis lantai" in wati.screen

    # Pause; the process restarts; /isi resumes at the next unanswered question.
    wati.press("qn:pause", wati.question())
    assert "tersimpan" in wati.screen
    wati.handlers = handlers_for(uow_factory, fake_clock, tmp_path)
    wati.say("/isi")
    assert "Melanjutkan" in wati.screen and "Jenis lantai" in wati.screen and "Pertanyaan 5 dari" in wati.screen
    for name, value in zip(["floor", "wall", "roof", "water", "lighting", "power", "cooking", "toilet"], HOUSING[2:]):
        wati.choose(value, CHOICES[name])
    # A restart in the middle of a question (no pause): its buttons still answer it.
    wati.handlers = handlers_for(uow_factory, fake_clock, tmp_path)
    answer_aid_and_assets(wati)
    assert "Jawaban untuk keluarga" in wati.screen and "Bagian Anda sudah lengkap" in wati.screen
    assert "PKH (Program Keluarga Harapan), BPNT/Program Sembako" in wati.screen
    wati.press("qn:submit")
    assert "Terima kasih" in wati.screen
    record = record_of(uow_factory, family_id)
    assert record.status == "draft", "the resident hands over; only the enumerator completes"
    values = record.answers["values"]
    assert (values["tenure"], values["floor_area"], values["aid"], values["asset_motorcycle"]) == \
        ("own", "36", "pkh bpnt", "yes")
    assert "visit_date" not in record.answers["history"]


def test_stale_buttons_after_pause_and_forged_presses_change_nothing(uow_factory, fake_clock, tmp_path):
    now = fake_clock.now()
    place = make_place(uow_factory, now, enumerators=1, families=1)
    family_id = place.family_ids[0]
    chat = Chat(handlers_for(uow_factory, fake_clock, tmp_path),
                telegram_id_of(uow_factory, resident_of(uow_factory, place, family_id, now)))
    chat.press("qa:1:1")  # no questionnaire open at all
    assert chat.answers[-1].text == ID("stale-button")
    chat.say("/isi")
    first = chat.question()
    chat.press("qn:pause", first)
    chat.press(f"qa:{_index('head_name')}:k", first)  # the paused question's own button
    assert "pertanyaan sebelumnya" in chat.answers[-1].text and "Nama kepala keluarga" in chat.screen
    for forged in ("qa:99999:1", "qa:x:y", "qn:back:zz", "qn:go:abc", "qn:go:99999999", "qn:consent", "qn:nope"):
        chat.press(forged, chat.question())
    assert record_of(uow_factory, family_id).answers["history"] == []
    other = place.family_ids[0] + 1000
    chat.say(f"/isi {other}")
    assert "tidak dapat mengisi" in chat.screen


def test_the_fill_button_opens_the_residents_own_family_only(uow_factory, fake_clock, tmp_path):
    now = fake_clock.now()
    place = make_place(uow_factory, now, enumerators=1, families=2)
    own, neighbour = place.family_ids
    chat = Chat(handlers_for(uow_factory, fake_clock, tmp_path),
                telegram_id_of(uow_factory, resident_of(uow_factory, place, own, now)))
    chat.press(f"qn:go:{neighbour}")  # a forged (or forwarded) button of the neighbour's family
    assert "tidak dapat mengisi" in chat.screen and record_of(uow_factory, neighbour) is None
    chat.say(f"/isi {neighbour}")
    assert "tidak dapat mengisi" in chat.screen and record_of(uow_factory, neighbour) is None
    chat.press(f"qn:go:{own}")
    assert "Nama kepala keluarga" in chat.screen and record_of(uow_factory, own).status == "draft"


def test_a_photo_voice_note_or_file_at_a_typed_question_is_answered_and_loses_nothing(uow_factory, fake_clock,
                                                                                      tmp_path):
    now = fake_clock.now()
    place = make_place(uow_factory, now, enumerators=1, families=1)
    family_id = place.family_ids[0]
    chat = Chat(handlers_for(uow_factory, fake_clock, tmp_path),
                telegram_id_of(uow_factory, resident_of(uow_factory, place, family_id, now)))
    chat.say("/isi")
    chat.press(f"qa:{_index('head_name')}:k")
    assert "Jumlah anggota keluarga" in chat.screen
    for attachment, words in [(Attachment(kind="photo", file_id="p1", content=make_png(20, 10)), "tidak dijawab"),
                              (Attachment(kind="document", file_id="d1", file_name="kk.pdf", content=b"%PDF-1.4"),
                               "tidak dijawab"),
                              (Attachment(kind="voice", file_id="v1"), "pesan suara")]:
        chat.handle(chat.event(attachment=attachment))
        assert words in chat.screen and "Jumlah anggota keluarga" in chat.screen, attachment.kind
    assert not (tmp_path / "photos").exists() or not list((tmp_path / "photos").iterdir())
    chat.say("4")
    assert "Status kepemilikan" in chat.screen
    values = record_of(uow_factory, family_id).answers["values"]
    assert values["members"] == "4" and values["head_name"]


# --- the RT head and the enumerator ------------------------------------------------------------------

def test_rt_head_identifies_a_family_the_enumerator_completes_it_with_geotag_and_photo(
        uow_factory, fake_clock, tmp_path):
    now = fake_clock.now()
    place = make_place(uow_factory, now, enumerators=1, families=2, enumerator_users=True)
    family_id = place.family_ids[1]  # nobody of this family uses Telegram
    with uow_factory() as uow:
        uow.families.get(family_id).needs_photo = True
        head = uow.users.get(place.rt_head_id)
        book_visit(uow, head, family_id, at(MONDAY, 9), now, BookingRules())
        officer_user = uow.users.get(uow.enumerators.get(place.enumerator_ids[0]).user_id)
        uow.commit()
    handlers = handlers_for(uow_factory, fake_clock, tmp_path)
    rt = Chat(handlers, head.telegram_id)
    rt.say("/keluarga")
    rt.press(f"rt:fam:{family_id}")
    assert f"qn:go:{family_id}" in rt.buttons()
    rt.press(f"qn:go:{family_id}")
    assert "Nama kepala keluarga" in rt.screen and "Pertanyaan 1 dari 2" in rt.screen
    rt.say("Mbah Sarinah")
    rt.say("2")
    assert "Bagian Anda sudah lengkap" in rt.screen
    rt.press("qn:submit")
    assert "Identitas keluarga Mbah Sarinah tersimpan" in rt.screen

    # The enumerator's day has a questionnaire button per visit; the questionnaire resumes the draft.
    fake_clock.set(at(MONDAY, 9, 5))
    ppl = Chat(handlers, officer_user.telegram_id)
    ppl.say("/jadwal")
    assert f"qn:go:{family_id}" in ppl.buttons()
    ppl.press(f"qn:go:{family_id}")
    # Nobody of the family agreed in the chat: the notice is read out at the door before anything is captured.
    assert "Persetujuan keluarga Mbah Sarinah" in ppl.screen and record_of(uow_factory, family_id).consent_at is None
    ppl.press(f"qn:dc:y:{family_id}")
    assert "Melanjutkan" in ppl.screen and "Nama anggota keluarga" in ppl.screen
    assert record_of(uow_factory, family_id).consent_recorded_by == officer_user.id
    answer_roster(ppl, ["Mbah Sarinah", "Mbah Karto"])
    assert "Status kepemilikan" in ppl.screen
    answer_housing(ppl)
    answer_aid_and_assets(ppl)
    assert "Tanggal kunjungan" in ppl.screen
    ppl.say("24-11-2026")  # tomorrow: the form's constraint
    assert "tidak boleh setelah hari ini" in ppl.screen
    ppl.say("23-11-2026")
    assert "Lokasi rumah" in ppl.recent(2) and "Pertanyaan 44 dari 45" in ppl.recent(2)
    assert isinstance(ppl.messages[ppl.last_id][1], ReplyKeyboard), "capture asks with a share-location button"
    ppl.say("di depan masjid")  # text where a location is expected
    assert ppl.sent and "lokasi" in ppl.screen.lower()
    ppl.handle(ppl.event(location=Location(-0.5877, 117.1925, 12.0)))
    assert "Foto tampak depan rumah" in ppl.recent(3)
    ppl.say("ini fotonya")  # text where a photo is expected
    ppl.handle(ppl.event(attachment=Attachment(kind="photo", file_id="p1", content=make_png(64, 48))))
    assert "Jawaban untuk keluarga Mbah Sarinah" in ppl.screen and "Kirim data" in ppl.screen
    assert record_of(uow_factory, family_id).status == "draft"

    # The consent recorded at the door goes with the record: no question at "Kirim data" any more.
    ppl.press("qn:submit")
    assert "selesai dan masuk antrean" in ppl.screen
    record = record_of(uow_factory, family_id)
    assert record.status == "completed" and record.consent_at is not None
    assert record.answers["head_name"] == "Mbah Sarinah" and record.answers["members"] == "2"
    assert record.answers["geotag"].startswith("-0.5877 117.1925") and record.answers["house_photo"].endswith(".png")
    assert "values" not in record.answers, "the registry gets the flat answers"
    assert [m["member_name"] for m in record.answers["roster"]] == ["Mbah Sarinah", "Mbah Karto"]
    assert record.answers["roster"][1]["relation"] == "spouse" and record.answers["roster_count"] == "2"
    assert (record.latitude, record.geo_by) == (-0.5877, "enumerator")
    with uow_factory() as uow:
        assert [d.status for d in uow.session.scalars(select(RecordDelivery))] == ["pending"]
        assert uow.families.get(family_id).status == "completed"

    # Completed records are not filled again, by anyone.
    ppl.say(f"/kunjungan {family_id}")
    assert "sudah selesai" in ppl.screen
    assert len(records_of(uow_factory, family_id)) == 1


def test_the_enumerator_cannot_submit_with_questions_left_and_goes_back(uow_factory, fake_clock, tmp_path):
    now = fake_clock.now()
    place = make_place(uow_factory, now, enumerators=1, families=1, enumerator_users=True)
    family_id = place.family_ids[0]
    resident_of(uow_factory, place, family_id, now)  # consent given in the chat
    with uow_factory() as uow:
        officer = uow.users.get(uow.enumerators.get(place.enumerator_ids[0]).user_id)
    ppl = Chat(handlers_for(uow_factory, fake_clock, tmp_path), officer.telegram_id)
    ppl.say(f"/kunjungan {family_id}")
    ppl.say("Budi Santoso")
    ppl.press("qn:review", ppl.question())
    assert "Budi Santoso" in ppl.screen and "belum dijawab" in ppl.screen
    assert "qn:submit" not in ppl.buttons()
    ppl.press("qn:resume")
    assert "Jumlah anggota keluarga" in ppl.screen
    ppl.press(f"qn:back:{_index('members')}", ppl.question())
    assert "Nama kepala keluarga" in ppl.screen and "Budi Santoso" in ppl.screen
    ppl.press(f"qn:back:{_index('head_name')}", ppl.question())
    assert "Tidak ada pertanyaan sebelumnya" in ppl.answers[-1].text


def test_a_form_with_errors_is_reported_by_row_and_the_old_form_keeps_running(uow_factory, fake_clock, tmp_path):
    import shutil

    from forms import check_form
    from tests.unit.forms.form_sheets import write_xlsform

    path = tmp_path / "form.xlsx"
    shutil.copyfile(DEFAULT_FORM, path)
    now = fake_clock.now()
    place = make_place(uow_factory, now, enumerators=1, families=1)
    chat = Chat(handlers_for(uow_factory, fake_clock, tmp_path, form_path=str(path)),
                telegram_id_of(uow_factory, resident_of(uow_factory, place, place.family_ids[0], now)))
    chat.say("/isi")
    chat.press(f"qa:{_index('head_name')}:k", chat.question())

    write_xlsform(path, [{"type": "integer", "name": "age", "label": "Age"},
                         {"type": "select_one yn", "name": "x", "label": "X"},
                         {"type": "text", "name": "y", "label": "Y", "relevant": "${missing} > 1"}],
                  [{"list_name": "yn", "name": "y", "label": "Ya"}])
    problems = [p for p in check_form(path) if p.is_error]
    assert [(p.sheet, p.row) for p in problems] == [("survey", 4)] and "missing" in problems[0].message

    chat.say("4")  # the broken file is ignored: the questionnaire goes on with the form it had
    assert "Status kepemilikan" in chat.screen
    assert record_of(uow_factory, place.family_ids[0]).answers["values"]["members"] == "4"


def test_the_resident_and_the_enumerator_answering_at_once_lose_nothing(uow_factory, fake_clock, tmp_path):
    """Two people, one draft: each change locks the record and applies to what is stored now."""
    now = fake_clock.now()
    place = make_place(uow_factory, now, enumerators=1, families=1, enumerator_users=True)
    family_id = place.family_ids[0]
    with uow_factory() as uow:
        officer = uow.users.get(uow.enumerators.get(place.enumerator_ids[0]).user_id)
    handlers = handlers_for(uow_factory, fake_clock, tmp_path)
    wati = Chat(handlers, telegram_id_of(uow_factory, resident_of(uow_factory, place, family_id, now)))
    ppl = Chat(handlers, officer.telegram_id)
    wati.say("/isi")
    wati.say("Wati Lestari")
    wati.say("4")
    tenure = wati.question()
    roster_done(uow_factory, fake_clock, family_id, ["Wati Lestari", "Budi", "Ani", "Dewi"])
    ppl.say(f"/kunjungan {family_id}")
    assert "Status kepemilikan" in ppl.screen and "Pertanyaan 40 dari" in ppl.screen
    ppl.choose("official", CHOICES["tenure"])
    assert "Luas lantai" in ppl.screen

    # The resident re-answers tenure (her screen still shows it) while the enumerator answers floor area.
    outcomes = race([lambda: wati.press(f"qa:{_index('tenure')}:2", tenure), lambda: ppl.say("40")])
    assert not [o.error for o in outcomes if o.error]
    values = record_of(uow_factory, family_id).answers["values"]
    assert (values["tenure"], values["floor_area"]) == ("rent", "40")
    record = record_of(uow_factory, family_id)
    assert record.answers["by"]["tenure"] == "resident" and record.answers["by"]["floor_area"] == "enumerator"
    assert len(records_of(uow_factory, family_id)) == 1


def test_from_the_review_any_answer_can_be_changed_with_skip_logic_applied(uow_factory, fake_clock, tmp_path):
    wati, family_id = resident_chat(uow_factory, fake_clock, tmp_path)
    wati.say("/isi")
    wati.press(f"qa:{_index('head_name')}:k")
    wati.say("4")
    for name, value in zip(["tenure", "floor_area", "floor", "wall", "roof", "water", "lighting"],
                           ["own", "36", "ceramic", "masonry", "clay_tile", "piped", "non_pln"]):
        wati.say(value) if name == "floor_area" else wati.choose(value, CHOICES[name])
    assert "Bahan bakar" in wati.screen or "memasak" in wati.screen.lower()  # no electricity: power is skipped
    for name, value in zip(["cooking", "toilet"], ["lpg_3", "own"]):
        wati.choose(value, CHOICES[name])
    answer_aid_and_assets(wati)
    review = wati.last_id
    assert "Bagian Anda sudah lengkap" in wati.screen and "qn:pick:0" in wati.buttons()

    # The list of answers to change: paged, the resident's own questions only.
    wati.press("qn:pick:0", review)
    assert wati.last_id == review and "pertanyaan mana yang ingin diubah" in wati.screen
    assert f"qn:edit:{_index('members')}" in wati.buttons() and "qn:pick:1" in wati.buttons()
    assert f"qn:edit:{_index('visit_date')}" not in wati.buttons()  # the enumerator's
    # A changed answer that needs no new question: straight back to the review, the rest kept.
    wati.press(f"qn:edit:{_index('floor_area')}", review)
    assert "Luas lantai" in wati.screen and "36" in wati.screen
    wati.say("40")
    assert "Bagian Anda sudah lengkap" in wati.screen and "40" in wati.screen
    values = record_of(uow_factory, family_id).answers["values"]
    assert (values["floor_area"], values["tenure"], values["aid"]) == ("40", "own", "pkh bpnt")

    # Electricity after all: the question it makes relevant (installed power) is asked before the review.
    wati.press("qn:pick:0", wati.last_id)
    wati.press("qn:pick:1", wati.last_id)
    wati.press("qn:pick:0", wati.last_id)
    wati.press(f"qn:edit:{_index('lighting')}", wati.last_id)
    wati.choose("pln_meter", CHOICES["lighting"])
    assert "Daya" in wati.screen or "VA" in wati.screen
    wati.choose("900", CHOICES["power"])
    assert "Bagian Anda sudah lengkap" in wati.screen and "900" in wati.screen
    # And back off again: the power answer stays stored but leaves the review (as ODK does).
    wati.press("qn:pick:0", wati.last_id)
    wati.press(f"qn:edit:{_index('lighting')}", wati.last_id)
    wati.choose("not_electric", CHOICES["lighting"])
    assert "Bagian Anda sudah lengkap" in wati.screen and "900" not in wati.screen

    # A button of an older list, for a question no longer relevant: told, the review as it is now.
    wati.press(f"qn:edit:{_index('power')}", wati.last_id)
    assert wati.answers[-1].show_alert and "Bagian Anda sudah lengkap" in wati.screen
    wati.press("qn:edit:9999", wati.last_id)
    assert wati.answers[-1].show_alert
    assert record_of(uow_factory, family_id).answers["values"]["lighting"] == "not_electric"

    # Handed over: the buttons of the old review and of the old list of answers are answered, change nothing.
    review = wati.last_id
    wati.press("qn:pick:0", review)
    answers_list = wati.last_id
    wati.press("qn:review", answers_list)
    wati.press("qn:submit", wati.last_id)
    assert "Terima kasih" in wati.screen
    for old in ("qn:pick:0", f"qn:edit:{_index('floor_area')}", "qn:submit"):
        wati.press(old, answers_list)
        assert wati.answers[-1].show_alert and wati.answers[-1].text == ID("stale-button"), old
        assert "Terima kasih" in wati.screen, old
    assert record_of(uow_factory, family_id).answers["values"]["floor_area"] == "40"


def test_a_repeat_without_a_count_asks_add_another_and_a_member_can_be_removed(uow_factory, fake_clock, tmp_path):
    from tests.unit.forms.form_sheets import q, write_xlsform

    path = write_xlsform(tmp_path / "pets.xlsx", [
        q("begin repeat", "pets", "Hewan peliharaan", "Pet"),
        q("text", "pet", "Nama hewan", "Pet's name", required="yes"),
        {"type": "end repeat"},
        q("text", "remarks", "Catatan", "Remarks"),
    ], settings={"form_id": "pets", "version": "1", "default_language": "Indonesian (id)"})
    now = fake_clock.now()
    place = make_place(uow_factory, now, enumerators=1, families=1)
    family_id = place.family_ids[0]
    chat = Chat(handlers_for(uow_factory, fake_clock, tmp_path, form_path=str(path)),
                telegram_id_of(uow_factory, resident_of(uow_factory, place, family_id, now)))
    chat.say("/isi")
    assert "Hewan peliharaan 1" in chat.screen and "Nama hewan" in chat.screen
    chat.say("Mimi")
    assert "Sudah tercatat 1 × <b>Hewan peliharaan</b>. Tambah satu lagi?" in chat.screen
    add = next(d for d in chat.buttons(chat.question()) if d.endswith(".+:y"))
    chat.press(add, chat.question())
    assert "Hewan peliharaan 2" in chat.screen
    chat.say("Belang")
    chat.say("mungkin")  # neither yes nor no: the same question again, nothing lost
    assert "Tambah satu lagi?" in chat.screen and "Sudah tercatat 2" in chat.screen
    chat.press(add.replace(":y", ":n"), chat.question())
    assert "Catatan" in chat.screen
    chat.press(f"qn:back:{_index_in(path, 'remarks')}", chat.question())
    assert "Tambah satu lagi?" in chat.screen  # "no" undone: asked again
    chat.say("tidak")
    chat.say("rumah dekat sungai")
    assert "Hewan peliharaan 1: <b>Mimi</b>" in chat.screen and "Hewan peliharaan 2: <b>Belang</b>" in chat.screen

    # Remove Mimi: a stale confirmation (after another change) is refused; a fresh one removes her.
    chat.press(f"qn:rm:{_index_in(path, 'pets')}")
    delete = next(d for d in chat.buttons() if d.startswith("qn:del:") and ".1." in d)
    chat.press(delete)
    assert "Hapus <b>Hewan peliharaan 1 (Mimi)</b> beserta semua jawabannya?" in chat.screen
    confirm = next(d for d in chat.buttons() if d.startswith("qn:delok:"))
    stale = confirm.rsplit(".", 1)[0] + ".999"
    chat.press(stale)
    assert chat.answers[-1].show_alert and "Mimi" in chat.screen
    chat.press(confirm)
    assert "Hewan peliharaan 1 (Mimi) dihapus" in chat.screen and "Hewan peliharaan 1: <b>Belang</b>" in chat.screen
    values = record_of(uow_factory, family_id).answers
    assert values["values"]["pet[1]"] == "Belang" and values["repeats"] == {"pets": 1}


def _index_in(path, name: str) -> str:
    return str(next(i for i, f in enumerate(Form.load(path).fields) if f.name == name))


# --- long text: every answer has a limit, every screen that repeats answers is sendable -----------------

def long_text_form(path):
    from tests.unit.forms.form_sheets import q, write_xlsform

    return write_xlsform(path, [q("text", f"note{n}", f"Catatan {n}", f"Note {n}", pintu_audience="resident")
                                for n in range(1, 7)])


def telegram_accepts(html_text: str) -> bool:
    """What the Bot API (and the project's simulator) checks: valid HTML, at most 4,096 characters."""
    from simulator.entities import parse_html

    plain, _ = parse_html(html_text)
    return 0 < len(plain.strip()) <= 4096


def test_a_long_answer_is_refused_and_a_review_of_long_answers_stays_sendable(uow_factory, fake_clock, tmp_path):
    from forms.parsing import MAX_TEXT_CHARS

    now = fake_clock.now()
    place = make_place(uow_factory, now, enumerators=1, families=1)
    chat = Chat(handlers_for(uow_factory, fake_clock, tmp_path, form_path=str(long_text_form(tmp_path / "f.xlsx"))),
                telegram_id_of(uow_factory, resident_of(uow_factory, place, place.family_ids[0], now)))
    chat.say("/isi")
    assert "Catatan 1" in chat.screen
    chat.say("x" * 4300)  # a pasted document: refused with its length, the question stays
    assert ID("form-text-too-long", length=4300, max=MAX_TEXT_CHARS) in chat.screen and "Catatan 1" in chat.screen
    assert record_of(uow_factory, place.family_ids[0]).answers["values"].get("note1") is None
    # Six answers at the limit, full of characters HTML must escape: the review is cut between lines.
    answer = ("<b>Rumah</b> & kebun " * 60)[:MAX_TEXT_CHARS]
    for _ in range(6):
        chat.say(answer)
    assert "qn:submit" in chat.buttons()  # the resident's hand-over button is there
    assert telegram_accepts(chat.screen) and "&lt;b&gt;Rumah" in chat.screen
    for text, _ in chat.messages.values():
        assert telegram_accepts(text)
    chat.press(f"qn:pick:0")
    chat.press(chat.buttons()[0])  # change the first answer: the question shows the long answer again
    assert telegram_accepts(chat.screen) and "Catatan 1" in chat.screen
