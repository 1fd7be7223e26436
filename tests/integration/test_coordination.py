"""Coordination (issue 6) on SQLite and PostgreSQL: family status transitions, visit outcomes with the
"not home" offer, the RT head's nudge (once a day, held by the database), the all-or-nothing family
import (CSV and XLSX) and the RT group's progress line (counts only)."""
from __future__ import annotations

import asyncio
import datetime as dt
import io

import openpyxl
import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from domain import family_status
from domain.booking import BookingRules, book_visit, cancel_visit
from domain.errors import NotAllowed
from domain.family_import import UnreadableFile, import_families
from domain.model import Family, FamilyNudge, OutboxMessage, RecordDelivery
from domain.nudges import nudge_family, nudge_rt
from domain.outcomes import record_outcome
from domain.records import complete_record, start_record
from domain.rt_groups import enqueue_group_progress
from handlers.screens import unstamp
from handlers.app import PintuHandlers
from handlers.context import HandlerConfig
from chat.events import EditMessage, Incoming, SendMessage, Sender
from handlers.notifications import Notification, render_outbox
from scheduling.dispatcher import OutboxDispatcher
from chat.ratelimit import RateLimiter
from tests.factories import MONDAY, TUESDAY, at, make_place, make_user, resident_of
from tests.integration.test_outbox import FakeTelegram

RULES = BookingRules()


def outbox(uow_factory, kind):
    with uow_factory() as uow:
        return [(r.chat_id, r.payload) for r in uow.session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id))]


def status_of(uow_factory, family_id):
    with uow_factory() as uow:
        return uow.families.get(family_id).status


def enumerator_user(uow_factory, place, index=0):
    with uow_factory() as uow:
        return uow.users.get(uow.enumerators.get(place.enumerator_ids[index]).user_id)


def test_status_follows_booking_outcomes_and_completion(uow_factory, fake_clock):
    now = fake_clock.now()
    place = make_place(uow_factory, now, enumerators=1, families=2, enumerator_users=True)
    family_id = place.family_ids[0]
    resident_id = resident_of(uow_factory, place, family_id, now)
    assert status_of(uow_factory, family_id) == "not_contacted"

    with uow_factory() as uow:
        book_visit(uow, uow.users.get(resident_id), family_id, at(MONDAY, 9), now, RULES)
        uow.commit()
    assert status_of(uow_factory, family_id) == "booked"
    with uow_factory() as uow:
        cancel_visit(uow, uow.users.get(resident_id), family_id, now)
        uow.commit()
    assert status_of(uow_factory, family_id) == "not_contacted"

    # Booked, then nobody home: the visit is closed (time freed), the family is offered a new time.
    with uow_factory() as uow:
        appointment = book_visit(uow, uow.users.get(resident_id), family_id, at(MONDAY, 9), now, RULES)
        uow.commit()
    later = at(MONDAY, 9, 10)
    officer = enumerator_user(uow_factory, place)
    with uow_factory() as uow:
        record_outcome(uow, uow.users.get(officer.id), family_id, "not_home", "tetangga bilang sore", later)
        uow.commit()
    with uow_factory() as uow:
        assert uow.families.get(family_id).status == "not_home"
        assert uow.appointments.get(appointment.id).status == "cancelled"
        assert uow.appointments.active_for_family(family_id) is None
        resident = uow.users.get(resident_id)
        outcome = uow.coordination.last_outcome(family_id)
        assert (outcome.outcome, outcome.note, outcome.appointment_id) == ("not_home", "tetangga bilang sore", appointment.id)
    assert outbox(uow_factory, "offer-new-time") == [(resident.telegram_id, {"family_id": family_id})]

    # Booking again and cancelling goes back to "not home", the last thing found at the door.
    with uow_factory() as uow:
        book_visit(uow, uow.users.get(resident_id), family_id, at(TUESDAY, 10), later, RULES)
        uow.commit()
    assert status_of(uow_factory, family_id) == "booked"
    with uow_factory() as uow:
        cancel_visit(uow, uow.users.get(resident_id), family_id, later)
        uow.commit()
    assert status_of(uow_factory, family_id) == "not_home"

    with uow_factory() as uow:
        record_outcome(uow, uow.users.get(officer.id), family_id, "done", None, later)
        record = start_record(uow, family_id, "f", "1", later)
        uow.commit()
    assert status_of(uow_factory, family_id) == "visited"
    with uow_factory() as uow:
        complete_record(uow, record.id, later)
        uow.commit()
    assert status_of(uow_factory, family_id) == "completed"
    with uow_factory() as uow:  # a late "refused" does not undo a completed registration
        record_outcome(uow, uow.users.get(officer.id), family_id, "refused", None, later)
        uow.commit()
    assert status_of(uow_factory, family_id) == "completed"

    with uow_factory() as uow:
        with pytest.raises(ValueError):
            family_status.set_status(uow, uow.families.get(family_id), "lost", later)
        # Only an enumerator of the family's RT may record an outcome.
        with pytest.raises(NotAllowed):
            record_outcome(uow, uow.users.get(resident_id), place.family_ids[1], "done", None, later)


def test_nudge_reaches_every_member_once_a_day(uow_factory, fake_clock):
    now = fake_clock.now()
    place = make_place(uow_factory, now, enumerators=1, families=3)
    first, second, lonely = place.family_ids
    members = [resident_of(uow_factory, place, first, now), resident_of(uow_factory, place, first, now),
               resident_of(uow_factory, place, second, now)]
    with uow_factory() as uow:
        head = uow.users.get(place.rt_head_id)
        chats = [uow.users.get(m).telegram_id for m in members]
        report = nudge_family(uow, head, uow.families.get(first), now)
        uow.commit()
    assert (report.sent, report.messages) == (1, 2)
    with uow_factory() as uow:
        again = nudge_family(uow, uow.users.get(place.rt_head_id), uow.families.get(first), now + dt.timedelta(hours=3))
        everyone = nudge_rt(uow, uow.users.get(place.rt_head_id), now + dt.timedelta(hours=3))
        uow.commit()
    assert again.already == 1 and again.sent == 0
    assert (everyone.sent, everyone.messages, everyone.already, everyone.unreachable) == (1, 1, 1, 1)
    assert sorted(chat for chat, _ in outbox(uow_factory, "nudge")) == sorted(chats)

    # The database holds the rule, whatever the code path: a second row for the same day is refused.
    local_day = now.astimezone(place.tz).date()
    with uow_factory() as uow:
        uow.session.add(FamilyNudge(family_id=first, day=local_day, created_at=now))
        with pytest.raises(IntegrityError):
            uow.flush()
    # The next local day, the family may be nudged again.
    with uow_factory() as uow:
        tomorrow = nudge_family(uow, uow.users.get(place.rt_head_id), uow.families.get(first), now + dt.timedelta(days=1))
        uow.commit()
    assert tomorrow.sent == 1 and len(outbox(uow_factory, "nudge")) == 5
    # Nobody but the RT's own head nudges.
    with uow_factory() as uow:
        with pytest.raises(NotAllowed):
            nudge_family(uow, uow.users.get(members[0]), uow.families.get(second), now)


GOOD_ROWS = [
    ("Siti Rahmawati", "6472010101200001", "4", "Jl. Mawar No. 1"),
    ("Budi Hartono", "6472010202200002", "2", "Jl. Melati No. 7"),
    ("Dewi Anggraini", "6472010303200003", "5", ""),
]


def csv_bytes(rows, header=("Nama Kepala Keluarga", "Nomor KK", "Jumlah Anggota", "Alamat")) -> bytes:
    lines = [";".join(header)] + [";".join(r) for r in rows]
    return ("\n".join(lines) + "\n").encode()


def xlsx_bytes(rows) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["DAFTAR KELUARGA VK1 — RT 001"])  # a title row above the header, as in the real list
    sheet.append(["No", "Nama Kepala Keluarga", "Nomor KK", "Jumlah Anggota", "Alamat"])
    for number, (name, kk, members, address) in enumerate(rows, start=1):
        sheet.append([number, name, int(kk) if kk.isdigit() else kk, int(members) if members.isdigit() else members,
                      address])
    data = io.BytesIO()
    book.save(data)
    return data.getvalue()


def families_in(uow_factory, sls_id):
    with uow_factory() as uow:
        return sorted((f.head_name, f.kk_number, f.members, f.address, f.status) for f in uow.session.scalars(
            select(Family).where(Family.sls_id == sls_id)))


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_import_is_all_or_nothing_with_row_numbers(uow_factory, fake_clock, kind):
    now = fake_clock.now()
    place = make_place(uow_factory, now, enumerators=1, families=1)
    existing_kk = "6472010909200099"
    with uow_factory() as uow:
        uow.families.get(place.family_ids[0]).kk_number = existing_kk
        uow.commit()
    make = csv_bytes if kind == "csv" else xlsx_bytes
    first_row = 2 if kind == "csv" else 3  # the XLSX list has a title row above the header
    bad = [
        GOOD_ROWS[0],
        ("", "6472010404200004", "3", "Jl. A"),  # no name
        ("Agus Salim", "6472011332200005", "3", "Jl. B"),  # month 32: bad issue date
        ("Rina Wati", "6472010101200001", "3", "Jl. C"),  # repeats the first row's KK
        ("Joko Widodo", existing_kk, "3", "Jl. D"),  # already registered
        ("Eko Saputra", "6472010505200006", "nol", "Jl. E"),  # members not a number
    ]
    before = families_in(uow_factory, place.sls_id)
    with uow_factory() as uow:
        result = import_families(uow, uow.users.get(place.rt_head_id), place.sls_id, make(bad), f"vk1.{kind}", now)
        uow.commit()
    assert not result.ok and result.added == 0
    assert [(p.row - first_row, p.problem) for p in result.problems] == [
        (1, "import-bad-name"), (2, "kk-bad-date"), (3, "import-kk-repeated"), (4, "import-kk-registered"),
        (5, "import-bad-members")]
    assert families_in(uow_factory, place.sls_id) == before  # nothing half-imported

    with uow_factory() as uow:
        result = import_families(uow, uow.users.get(place.rt_head_id), place.sls_id, make(GOOD_ROWS), f"vk1.{kind}", now)
        uow.commit()
    assert result.ok and result.added == 3
    after = families_in(uow_factory, place.sls_id)
    assert ("Siti Rahmawati", "6472010101200001", 4, "Jl. Mawar No. 1", "not_contacted") in after
    assert ("Dewi Anggraini", "6472010303200003", 5, None, "not_contacted") in after
    assert len(after) == 4


def test_import_refuses_a_file_without_header_and_another_rts_head(uow_factory, fake_clock):
    now = fake_clock.now()
    place = make_place(uow_factory, now, enumerators=1, families=0)
    other = make_place(uow_factory, now, enumerators=1, families=0)
    with uow_factory() as uow:
        with pytest.raises(UnreadableFile):
            import_families(uow, None, place.sls_id, b"a;b;c\n1;2;3\n", "x.csv", now)
        with pytest.raises(NotAllowed):
            import_families(uow, uow.users.get(other.rt_head_id), place.sls_id, csv_bytes(GOOD_ROWS), "x.csv", now)


def test_group_line_has_counts_only_and_only_an_rt_head_links_a_group(uow_factory, fake_clock):
    now = fake_clock.now()
    place = make_place(uow_factory, now, enumerators=1, families=4, enumerator_users=True)
    resident_id = resident_of(uow_factory, place, place.family_ids[0], now)
    with uow_factory() as uow:
        for family_id, address in zip(place.family_ids, ("Jl. Kenanga 12", "Jl. Anggrek 3", "Gg. Damai 5", "Jl. Flamboyan 9")):
            uow.families.get(family_id).address = address
        book_visit(uow, uow.users.get(resident_id), place.family_ids[0], at(MONDAY, 9), now, RULES)
        uow.commit()
        families = [uow.families.get(i) for i in place.family_ids]
        head = uow.users.get(place.rt_head_id)
        resident = uow.users.get(resident_id)
    handlers = PintuHandlers(uow_factory, fake_clock, HandlerConfig(invite_secret="x" * 32))
    group_chat = -100123456

    refused = handlers.handle(Incoming(Sender(resident.telegram_id, "Warga"), group_chat, text="/grup", chat_type="group"))
    assert len(refused) == 1 and "Ketua RT" in refused[0].text
    ignored = handlers.handle(Incoming(Sender(resident.telegram_id, "Warga"), group_chat, text="/janji", chat_type="group"))
    assert ignored == []  # nothing personal is answered in a group
    linked = handlers.handle(Incoming(Sender(head.telegram_id, "Pak RT"), group_chat, text="/grup@PintuBot",
                                      chat_type="supergroup"))
    assert isinstance(linked[0], SendMessage) and linked[0].chat_id == group_chat and "RT 001" in linked[0].text

    with uow_factory() as uow:
        assert enqueue_group_progress(uow, now, "Asia/Makassar") == 1  # 18.00 WITA: the summary hour
        assert enqueue_group_progress(uow, now + dt.timedelta(hours=1)) == 0  # once a day
        uow.commit()
    api = FakeTelegram()
    dispatcher = OutboxDispatcher(uow_factory, fake_clock, api, RateLimiter(1e6, 0.0))
    asyncio.run(dispatcher.run_once())
    sent = [m for m in api.delivered if m.chat_id == group_chat]
    texts = [linked[0].text] + [m.text for m in sent]
    assert len(sent) == 1 and "4" in sent[0].text and "1" in sent[0].text
    for text in texts:
        for family in families:
            assert family.head_name not in text and family.kk_number not in text and family.kk_number[-4:] not in text
            assert family.address not in text
        assert "09.00" not in text and "09:00" not in text  # nobody's visit time
        assert resident.first_name not in text


# --- through the handlers ----------------------------------------------------------------------------

class Person:
    def __init__(self, handlers, telegram_id):
        self.handlers, self.telegram_id, self.n = handlers, telegram_id, 0

    def say(self, text):
        return self.handlers.handle(Incoming(Sender(self.telegram_id, "X"), self.telegram_id, text=text))

    def press(self, data, message_id=50):
        self.n += 1
        return self.handlers.handle(Incoming(Sender(self.telegram_id, "X"), self.telegram_id, callback_id=f"c{self.n}",
                                             callback_data=data, message_id=message_id))


def shown(actions):
    return [a for a in actions if isinstance(a, (SendMessage, EditMessage))][-1]


def buttons(message):
    return [unstamp(b.data)[0] for b in (message.markup.buttons if message.markup else ())]  # without screen numbers


def test_rt_head_sees_statuses_corrects_a_family_and_nudges(uow_factory, fake_clock):
    now = fake_clock.now()
    place = make_place(uow_factory, now, enumerators=1, families=3, enumerator_users=True)
    booked, away, quiet = place.family_ids
    resident_id = resident_of(uow_factory, place, booked, now)
    quiet_member = resident_of(uow_factory, place, quiet, now)
    officer = enumerator_user(uow_factory, place)
    with uow_factory() as uow:
        book_visit(uow, uow.users.get(resident_id), booked, at(MONDAY, 9), now, RULES)
        record_outcome(uow, uow.users.get(officer.id), away, "not_home", None, now)
        head = uow.users.get(place.rt_head_id)
        uow.commit()
    handlers = PintuHandlers(uow_factory, fake_clock, HandlerConfig(invite_secret="x" * 32, page_size=2))
    rt = Person(handlers, head.telegram_id)

    first = shown(rt.say("/keluarga"))
    assert "tidak ada di rumah" in first.text and "09.00" in first.text and "(halaman 1/2)" in first.text
    second = shown(rt.press("rt:list:1"))
    assert isinstance(second, EditMessage) and "belum ada janji" in second.text  # paged in place

    detail = shown(rt.press(f"rt:fam:{quiet}"))
    assert f"fe:menu:{quiet}" in buttons(detail) and f"nu:fam:{quiet}" in buttons(detail)
    assert f"nu:fam:{booked}" not in buttons(shown(rt.press(f"rt:fam:{booked}")))

    shown(rt.press(f"fe:menu:{quiet}"))
    assert "KK" in shown(rt.press(f"fe:kk:{quiet}")).text
    assert "16" in shown(rt.say("12345")).text  # the KK check of registration: wrong length
    saved = shown(rt.say("6472 0101 0120 0777"))
    assert "diperbarui" in saved.text
    shown(rt.press(f"fe:addr:{quiet}"))
    shown(rt.say("Jl. Cempaka No. 4"))
    with uow_factory() as uow:
        family = uow.families.get(quiet)
        assert (family.kk_number, family.address) == ("6472010101200777", "Jl. Cempaka No. 4")

    answer = rt.press(f"nu:fam:{quiet}")
    assert any("dikirim" in (getattr(a, "text", "") or "") for a in answer)
    again = rt.press(f"nu:fam:{quiet}")
    assert any("sudah diingatkan hari ini" in (getattr(a, "text", "") or "") for a in again)
    with uow_factory() as uow:
        member_chat = uow.users.get(quiet_member).telegram_id
    assert [chat for chat, _ in outbox(uow_factory, "nudge")] == [member_chat]
    # The nudge reaches the member with a button into the booking flow.
    with uow_factory() as uow:
        row = uow.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "nudge")).one()
        rendered = render_outbox(uow, row, now)
    assert isinstance(rendered, Notification) and f"ap:book:{quiet}" in buttons(rendered)

    # Someone else's family or a forged id: a clear answer, no crash.
    other_head_id = make_place(uow_factory, now, families=1).rt_head_id
    with uow_factory() as uow:
        stranger = Person(handlers, uow.users.get(other_head_id).telegram_id)
    for forged in (f"nu:fam:{quiet}", f"fe:kk:{quiet}", "rh:photo:99999999", "oc:v:1"):
        actions = stranger.press(forged)
        assert actions and not any(isinstance(a, (SendMessage, EditMessage)) for a in actions)


def test_enumerator_records_not_home_and_the_family_picks_a_new_time(uow_factory, fake_clock):
    now = fake_clock.now()
    place = make_place(uow_factory, now, enumerators=1, families=2, enumerator_users=True)
    family_id = place.family_ids[0]
    resident_id = resident_of(uow_factory, place, family_id, now)
    officer = enumerator_user(uow_factory, place)
    with uow_factory() as uow:
        appointment = book_visit(uow, uow.users.get(resident_id), family_id, at(MONDAY, 9), now, RULES)
        resident = uow.users.get(resident_id)
        uow.commit()
    fake_clock.set(at(MONDAY, 9, 5))
    handlers = PintuHandlers(uow_factory, fake_clock, HandlerConfig(invite_secret="x" * 32))
    ppl = Person(handlers, officer.telegram_id)

    day = shown(ppl.say("/jadwal"))
    assert f"oc:v:{appointment.id}" in buttons(day)
    choose = shown(ppl.press(f"oc:v:{appointment.id}"))
    assert f"oc:o:{appointment.id}:h" in buttons(choose)
    shown(ppl.press(f"oc:o:{appointment.id}:h"))
    done = shown(ppl.say("pulang jam 4 sore"))
    assert "waktu kunjungan baru" in done.text
    with uow_factory() as uow:
        assert uow.families.get(family_id).status == "not_home"
        assert uow.coordination.last_outcome(family_id).note == "pulang jam 4 sore"
        row = uow.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "offer-new-time")).one()
        offer = render_outbox(uow, row, fake_clock.now())
    assert offer.chat_id == resident.telegram_id and "tidak di rumah" in offer.text
    day_button = buttons(offer)[0]
    assert day_button.startswith(f"oc:d:{family_id}:")

    warga = Person(handlers, resident.telegram_id)
    times = shown(warga.press(day_button))
    time_button = next(b for b in buttons(times) if b.startswith("tm:"))
    shown(warga.press(time_button))
    confirmed = shown(warga.press("ok:yes"))
    assert "petugas" in confirmed.text.lower()
    assert status_of(uow_factory, family_id) == "booked"
    # A day button of someone else's family is refused.
    with uow_factory() as uow:
        other = make_user(uow, now, sls_id=place.sls_id, family_id=place.family_ids[1])
        uow.commit()
    actions = Person(handlers, other.telegram_id).press(day_button)
    assert not any(isinstance(a, (SendMessage, EditMessage)) for a in actions)


def test_cli_imports_a_list_or_names_every_bad_row(tmp_path, monkeypatch, capsys):
    from bot.cli import main

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("PINTU_INVITE_SECRET", "4CM2Y1PkdRpYxi-1KW3D6XvfwFUM-LQgcrGX2lPw5EI")
    assert main(["db", "upgrade"]) == 0 and main(["seed", "demo"]) == 0
    capsys.readouterr()
    bad = tmp_path / "vk1-bad.xlsx"
    bad.write_bytes(xlsx_bytes([GOOD_ROWS[0], ("Agus Salim", "123", "3", "Jl. B")]))
    assert main(["families", "import", "--rt", "64.72.01.1001.0002", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "Tidak ada yang diimpor" in err and "Baris 4:" in err and "16" in err
    good = tmp_path / "vk1.csv"
    good.write_bytes(csv_bytes(GOOD_ROWS))
    assert main(["families", "import", "--rt", "64.72.01.1001.0002", str(good), "--language", "en"]) == 0
    assert "3 families imported into RT 002" in capsys.readouterr().out
    assert main(["families", "import", "--rt", "99.99", str(good)]) == 1


def test_rt_head_sees_whether_a_completed_record_reached_the_registry(uow_factory, fake_clock):
    now = fake_clock.now()
    place = make_place(uow_factory, now, enumerators=1, families=1, enumerator_users=True)
    family_id = place.family_ids[0]
    resident_of(uow_factory, place, family_id, now)  # whose consent the record carries
    with uow_factory() as uow:
        record = start_record(uow, family_id, "f", "1", now)
        complete_record(uow, record.id, now)
        head = uow.users.get(place.rt_head_id)
        uow.commit()
    rt = Person(PintuHandlers(uow_factory, fake_clock, HandlerConfig(invite_secret="x" * 32)), head.telegram_id)
    assert "menunggu dikirim ke registri pusat" in shown(rt.press(f"rt:fam:{family_id}")).text

    with uow_factory() as uow:
        delivery = uow.session.scalars(select(RecordDelivery).where(RecordDelivery.record_id == record.id)).one()
        uow.deliveries.mark_delivered(delivery.id, now)
        uow.commit()
    assert "terkirim ke registri pusat" in shown(rt.press(f"rt:fam:{family_id}")).text


def test_enumerator_schedule_shows_whether_a_completed_record_reached_the_registry(uow_factory, fake_clock):
    now = fake_clock.now()
    place = make_place(uow_factory, now, enumerators=1, families=2, enumerator_users=True)
    done, waiting = place.family_ids
    officer = enumerator_user(uow_factory, place)
    residents = {family_id: resident_of(uow_factory, place, family_id, now) for family_id in (done, waiting)}
    with uow_factory() as uow:
        for family_id, hour in ((done, 11), (waiting, 13)):
            book_visit(uow, uow.users.get(residents[family_id]), family_id, at(MONDAY, hour), now, RULES)
        uow.commit()
    with uow_factory() as uow:
        complete_record(uow, start_record(uow, done, "f", "1", now).id, now)
        uow.commit()
    fake_clock.set(at(MONDAY, 7))  # the visits' day
    schedule = shown(Person(PintuHandlers(uow_factory, fake_clock, HandlerConfig(invite_secret="x" * 32)),
                            officer.telegram_id).say("/jadwal")).text
    # The stops (numbered lines); the completed family is no longer suggested again, so a free-time line
    # ("09.00–13.00") may show these times too.
    lines = [line for line in schedule.splitlines() if line[:1].isdigit() and ("11.00" in line or "13.00" in line)]
    assert len(lines) == 2
    assert "menunggu dikirim ke registri pusat" in lines[0] and "registri" not in lines[1]
