"""The RT head's tools (handlers/rt_head.py): joining by invite, the family list and its import from a
file, registering and booking for a family without Telegram, the resident link. The world: helpers.py."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from domain.invites import InviteKind
from chat.events import Attachment
from domain.model import Appointment, Family
from domain.privacy import current_notice
from handlers.context import HandlerConfig
from handlers.notices import notice
from tests.unit.flows.helpers import ID, KK_SARI, KK_WATI, SECRET, WITA, Person, appointments, rt_head


# --- joining --------------------------------------------------------------------------------------

def test_an_rt_head_joins_by_invite(world):
    token = world.invite(InviteKind.RT_HEAD, world.sls_ids[0])
    pak_rt = Person(world, 2001, "Pak Darto")
    pak_rt.say(f"/start {token}")
    assert pak_rt.buttons() == [f"cs:y:{token}", "cs:n"]
    pak_rt.press(f"cs:y:{token}")
    assert any("Ketua RT" in text for text, _ in pak_rt.messages.values())
    assert "Menu Ketua RT 001" in pak_rt.screen and "Keluarga terdaftar: 10" in pak_rt.screen
    user = pak_rt.user()
    assert user.role == "rt_head" and user.sls_id == world.sls_ids[0]


def test_an_rt_head_invite_for_someone_who_already_started(world):
    pak_rt = Person(world, 2001, "Pak Darto")
    pak_rt.agree_and_choose_rt(1)
    token = world.invite(InviteKind.RT_HEAD, world.sls_ids[1])
    pak_rt.say(f"/start {token}")
    # He agreed to the residents' notice: the RT heads' one comes first, the invite in its button.
    assert pak_rt.screen.endswith(notice(ID, HandlerConfig(invite_secret=SECRET), "rt_head"))
    assert pak_rt.user().role == "resident"
    pak_rt.press(f"cs:y:{token}")
    assert pak_rt.user().role == "rt_head" and pak_rt.user().consent_version == current_notice("rt_head")
    assert "Menu Ketua RT 002" in pak_rt.screen


# --- the family list sent as a file ---------------------------------------------------------------

def test_an_rt_head_imports_the_family_list_sent_as_a_file_all_or_nothing(world):
    def send_file(person: Person, content: bytes | None, name: str = "vk1.csv", kind: str = "document",
                  error: str | None = None) -> None:
        person.say(attachment=Attachment(kind, f"f{len(person.messages)}", None, name, None,
                                         len(content or b""), content, error))

    header = "Nama Kepala Keluarga;Nomor KK;Jumlah Anggota;Alamat\n"
    good = "Siti Rahmawati;6472010101200001;4;Jl. Mawar 1\nBudi Hartono;6472010202200002;2;Jl. Melati 7\n"
    bad_row = "Agus Salim;6472011332200005;3;Jl. B\n"  # month 32 in the KK's issue date
    pak_rt = rt_head(world)
    before = world.count(Family, Family.sls_id == world.sls_ids[0])
    send_file(pak_rt, (header + good).encode())  # not on the import screen: not taken as a list
    assert world.count(Family, Family.sls_id == world.sls_ids[0]) == before
    pak_rt.press("rh:import")
    assert "Kirim berkas CSV atau Excel" in pak_rt.screen
    pak_rt.say("ini daftarnya")
    assert pak_rt.screen == ID("rh-import-send-file")
    send_file(pak_rt, None, kind="sticker")
    assert pak_rt.screen == ID("rh-import-send-file")
    send_file(pak_rt, None, name="vk1.xlsx", error="too-large")
    assert pak_rt.screen == ID("rh-import-too-large")
    send_file(pak_rt, b"PK\x03\x04 not really a workbook", name="vk1.xlsx")
    assert pak_rt.screen == ID("import-unreadable")
    send_file(pak_rt, (header + good + bad_row).encode())
    assert "Baris 4" in pak_rt.screen and world.count(Family, Family.sls_id == world.sls_ids[0]) == before
    send_file(pak_rt, (header + good).encode())  # corrected: the step was kept
    assert pak_rt.screen.startswith(ID("import-done", count=2, rt="RT 001")[:20])
    assert world.count(Family, Family.sls_id == world.sls_ids[0]) == before + 2
    assert pak_rt.conversation().state == "idle"
    send_file(pak_rt, (header + good).encode())  # after the import, a file is not taken as a list again
    assert world.count(Family, Family.sls_id == world.sls_ids[0]) == before + 2


def test_many_problems_in_a_list_are_counted_not_all_listed(world):
    pak_rt = rt_head(world)
    pak_rt.press("rh:import")
    rows = "".join(f";647201010120{i:04d};3;Jl. {i}\n" for i in range(1, 41))  # 40 rows without a name
    content = ("Nama Kepala Keluarga;Nomor KK;Jumlah Anggota;Alamat\n" + rows).encode()
    pak_rt.say(attachment=Attachment("document", "f1", None, "vk1.csv", None, len(content), content))
    assert pak_rt.screen.count("Baris") == 15 and ID("import-more-problems", count=25) in pak_rt.screen


# --- the families of the RT -----------------------------------------------------------------------

def test_an_rt_head_registers_a_family_without_telegram_and_books_for_it(world):
    pak_rt = rt_head(world)
    pak_rt.press("rt:add")
    assert "tanpa Telegram" in pak_rt.screen
    pak_rt.say("Mbah Sarinah")
    pak_rt.say(KK_SARI)
    pak_rt.press("mb:1")
    pak_rt.give_house()
    assert "Mbah Sarinah" in pak_rt.screen and pak_rt.buttons()[0] == "dy:20261123"
    pak_rt.book(time="1100")
    assert "Janji untuk keluarga Mbah Sarinah" in pak_rt.screen
    assert "Senin, 23 Nov, 11.00 WITA — petugas Rina" in pak_rt.screen
    assert pak_rt.buttons() == ["rt:menu"]

    family = world.scalar(select(Family).where(Family.kk_number == KK_SARI))
    user = pak_rt.user()
    assert family.sls_id == world.sls_ids[0] and family.registered_by_user_id == user.id
    assert user.family_id is None and user.role == "rt_head"  # not the RT head's own family
    [visit] = appointments(world, Appointment.family_id == family.id)
    assert visit.booked_by_user_id == user.id

    pak_rt.say("/keluarga")
    assert "Mbah Sarinah — Senin, 23 Nov, 11.00 WITA" in pak_rt.screen
    pak_rt.press(f"rt:fam:{family.id}")
    assert "KK ····7777" in pak_rt.screen and KK_SARI not in pak_rt.screen


def test_an_rt_head_sees_and_acts_only_on_their_own_rt(world):
    other_rt = world.families_in(1)
    world.book_directly(other_rt[0].id, world.agus_id, dt.datetime(2026, 11, 24, 9, 0, tzinfo=WITA))
    pak_rt = rt_head(world, rt=0)
    pak_rt.say("/keluarga")
    own_names = {f.head_name for f in world.families_in(0)}
    shown = [label for label in pak_rt.labels() if label[0].isdigit()]
    assert shown and all(label.split(". ", 1)[1] in own_names for label in shown)
    assert other_rt[0].head_name not in pak_rt.screen
    for forged in (f"rt:fam:{other_rt[0].id}", f"ap:book:{other_rt[1].id}", f"ap:yes:{other_rt[0].id}",
                   f"ap:move:{other_rt[0].id}", f"ap:cancel:{other_rt[0].id}"):
        pak_rt.press(forged)
        assert pak_rt.answer.text == ID("stale-button")
        assert other_rt[0].head_name not in pak_rt.screen and other_rt[1].head_name not in pak_rt.screen
    assert [a.status for a in appointments(world)] == ["booked"]


def test_an_rt_head_pages_through_the_families(world):
    pak_rt = rt_head(world)
    pak_rt.say("/keluarga")
    assert "(halaman 1/2)" in pak_rt.screen and "rt:list:1" in pak_rt.buttons()
    pak_rt.press("rt:list:1")
    assert "(halaman 2/2)" in pak_rt.screen and "rt:list:0" in pak_rt.buttons()
    pak_rt.press("rt:list:99")
    assert "(halaman 2/2)" in pak_rt.screen


def test_an_rt_heads_resident_link_brings_a_neighbour_straight_to_their_rt(world):
    pak_rt = rt_head(world, rt=2)
    pak_rt.press("rt:invite")
    link = next(part for part in pak_rt.screen.split() if part.startswith("https://t.me/"))
    token = link.split("start=", 1)[1]
    world.list_family("Dewi Anggraini", KK_WATI, rt=2, members=3)  # on the RT's list: linked at once
    neighbour = Person(world, 3001, "Dewi")
    neighbour.say(f"/start {token}")
    neighbour.press(f"cs:y:{token}")
    assert "nama kepala keluarga" in neighbour.screen
    assert neighbour.user().sls_id == world.sls_ids[2]
    neighbour.say("Dewi Anggraini")
    neighbour.say(KK_WATI)
    neighbour.press("mb:3")
    neighbour.give_house()
    neighbour.book()
    assert "petugas Rina" in neighbour.screen
    # A second neighbour can use the same link.
    other = Person(world, 3002, "Eka")
    other.say(f"/start {token}")
    other.press(f"cs:y:{token}")
    assert other.user().sls_id == world.sls_ids[2]
