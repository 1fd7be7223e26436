"""Every command for every role: the role × command matrix, driven by handlers.app.COMMANDS.

A command added to COMMANDS without an entry in domain.access.COMMAND_ACTIONS (and an expectation here
for its action) fails this file. For each role the test sends the command and checks what the person
sees: the feature, or the clear refusal in their language. Then the area scopes: a supervisor sees their
area and what is below it, never the area above or beside it, whatever button they forge.
"""
from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from domain import access
from domain.invites import InviteKind
from domain.model import Area, Enumerator, Family, User
from handlers.app import BEFORE_CONSENT, COMMANDS
from chat.events import SendDocument
from tests.unit.flows.helpers import EN, ID, MONDAY_8_WITA, Person, World, make_world

ROLES = ("newcomer", *access.ROLES)
REFUSAL = {"id": ID("not-allowed"), "en": EN("not-allowed")}


def _shows(*fragments: str) -> Callable[[str], bool]:
    return lambda screen: any(fragment in screen for fragment in fragments)


# What a person allowed to use a command of each action sees (in Indonesian).
FEATURE: dict[str, Callable[[str], bool]] = {
    access.OPEN: lambda screen: screen not in REFUSAL.values(),
    access.OWN_FAMILY: _shows("Pilih <b>hari</b>", ID("no-appointment")),
    access.RT_FAMILIES: _shows("Keluarga di RT"),
    access.SCHEDULE: _shows("Jadwal Rina"),
    access.WORK_HOURS: _shows("Jam kerja Rina"),
    access.QUESTIONNAIRE: _shows(ID("qn-which-family"), "📝 Data keluarga", ID("qn-visit-none-today"), ID("qn-visit-pick")),
    access.PROGRESS: _shows("📊 <b>Progres"),
    access.REVIEW: _shows("🔎 <b>Perlu ditinjau"),
    access.EXPORT: _shows("⬇️ <b>Unduh data"),
    access.DASHBOARD: _shows(ID("web-chat-off")),  # the matrix's world has no PINTU_WEB_URL
}


def add_user(world: World, telegram_id: int, role: str, **fields) -> None:
    with world.uow_factory() as uow:
        uow.users.add(User(telegram_id=telegram_id, first_name=role, language="id", role=role, consent_version="1",
                           consent_at=world.clock.now(), created_at=world.clock.now(), **fields))
        uow.commit()


def people(world: World) -> dict[str, Person]:
    """One person per role in the demo kelurahan: the supervisor watches Rawa Makmur, the coordinator Palaran."""
    family = world.families_in(0)[0]
    add_user(world, 501, "resident", sls_id=world.sls_ids[0], family_id=family.id)
    add_user(world, 502, "rt_head", sls_id=world.sls_ids[0])
    add_user(world, 503, "enumerator")
    add_user(world, 504, "supervisor", scope_area_id=world.village_id)
    add_user(world, 505, "coordinator", scope_area_id=world.district_id)
    add_user(world, 506, "admin")
    with world.uow_factory() as uow:
        rina = uow.session.get(Enumerator, world.rina_id)
        rina.user_id = uow.users.by_telegram_id(503).id
        uow.commit()
    ids = {"newcomer": 500, "resident": 501, "rt_head": 502, "enumerator": 503, "supervisor": 504,
           "coordinator": 505, "admin": 506}
    return {role: Person(world, telegram_id, first_name=role) for role, telegram_id in ids.items()}


def test_every_command_has_an_entry_in_the_matrix():
    missing = sorted(set(COMMANDS) - set(access.COMMAND_ACTIONS))
    assert not missing, f"commands without a role × command entry in domain/access.py: {missing}"
    stale = sorted(set(access.COMMAND_ACTIONS) - set(COMMANDS))
    assert not stale, f"matrix entries for commands that do not exist: {stale}"
    assert set(access.COMMAND_ACTIONS.values()) <= set(FEATURE), "an action without an expectation in this test"
    assert set(access.ROLE_ACTIONS) == set(access.ROLES)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_role_by_command_matrix(command):
    world = make_world(MONDAY_8_WITA)
    everyone = people(world)
    action = access.COMMAND_ACTIONS[command]
    for role in ROLES:
        person = everyone[role]
        person.say(f"/{command}")
        screen = person.screen
        if role == "newcomer":
            if command in BEFORE_CONSENT:
                assert screen != ID("need-start") and screen not in REFUSAL.values(), (role, command, screen)
            else:
                assert screen == ID("need-start"), (role, command, screen)
            continue
        allowed = action in access.ROLE_ACTIONS[role]
        if allowed:
            assert screen not in REFUSAL.values(), f"/{command} refused to a {role}"
            assert FEATURE[action](screen), f"/{command} for a {role} showed: {screen!r}"
        else:
            assert screen == REFUSAL["id"], f"/{command} for a {role} should be refused, showed: {screen!r}"


def test_the_refusal_is_in_the_users_language():
    world = make_world(MONDAY_8_WITA)
    add_user(world, 601, "resident", sls_id=world.sls_ids[0])
    with world.uow_factory() as uow:
        uow.users.by_telegram_id(601).language = "en"
        uow.commit()
    ann = Person(world, 601, language_code="en")
    ann.say("/progress")
    assert ann.screen == EN("not-allowed") == "Sorry, you are not allowed to do that."
    ann.say("/ekspor")
    assert ann.screen == EN("not-allowed")


# --- scopes -----------------------------------------------------------------------------------------

def area_id(world: World, code: str) -> int:
    return world.scalar(select(Area.id).where(Area.code == code))


def test_a_supervisor_sees_their_area_and_below_never_above_or_beside():
    world = make_world(MONDAY_8_WITA)
    everyone = people(world)
    sup, coordinator = everyone["supervisor"], everyone["coordinator"]
    district = world.district_id
    sup.say("/progres")
    assert "Rawa Makmur" in sup.screen and "RT 001" in sup.screen and "30 keluarga" in sup.screen
    assert f"sv:a:{world.sls_ids[0]}:0" in sup.buttons()
    assert f"sv:a:{district}:0" not in sup.buttons(), "no way up out of the scope"
    sup.press(f"sv:a:{world.sls_ids[0]}:0")
    assert "RT 001" in sup.screen and "10 keluarga" in sup.screen
    sup.say("/progres 64.72.01")  # the kecamatan above
    assert sup.screen == ID("not-allowed")
    sup.say("/progres 99.99")
    assert sup.screen == ID("sv-area-unknown", code="99.99")
    for forged in (f"sv:a:{district}:0", f"sv:e:{district}:0", f"sv:r:{district}:0", f"ex:x:{district}",
                   f"ex:m:{district}"):
        sup.press(forged)
        assert sup.answer.text == ID("not-allowed"), forged
        assert not any(isinstance(a, SendDocument) for a in sup.actions)
    for stale in ("sv:a:999999:0", "sv:zz", "sv:a:x:y", "ex:q:1", "ex:x:abc", "sv:a:" + "9" * 40):
        sup.press(stale)
        assert sup.answer.text == ID("stale-button"), stale
    # The coordinator of the kecamatan sees the kelurahan and can go up to the kecamatan from it.
    coordinator.say("/progres 64.72.01.1001")
    assert "Rawa Makmur" in coordinator.screen and f"sv:a:{district}:0" in coordinator.buttons()
    coordinator.press(f"sv:a:{district}:0")
    assert "Palaran" in coordinator.screen


def test_other_roles_pressing_supervisor_buttons_are_refused():
    world = make_world(MONDAY_8_WITA)
    everyone = people(world)
    for role in ("resident", "rt_head", "enumerator"):
        person = everyone[role]
        person.say("/menu")
        for data in (f"sv:a:{world.sls_ids[0]}:0", f"sv:r:{world.village_id}:0", f"ex:c:{world.sls_ids[0]}"):
            person.press(data)
            assert person.answer.text == ID("not-allowed"), (role, data)
            assert not any(isinstance(a, SendDocument) for a in person.actions)


def test_supervisor_screens_page_and_edit_in_place():
    world = make_world(MONDAY_8_WITA)
    sup = people(world)["supervisor"]
    sup.say("/progres")
    message = sup.last_id
    sup.press(f"sv:e:{world.village_id}:0")
    assert sup.last_id == message and "Petugas di Rawa Makmur" in sup.screen
    assert "Agus: 0,0/hari" in sup.screen and "Rina: 0,0/hari" in sup.screen
    sup.press(f"sv:r:{world.village_id}:0")
    assert sup.last_id == message and ID("sv-review-none") in sup.screen
    sup.press(f"sv:a:{world.village_id}:0")
    assert sup.last_id == message and sup.sent == 1


def test_a_supervisor_sees_both_families_that_recorded_the_same_nik():
    from domain.model import Record
    from domain.records import correct_record

    world = make_world(MONDAY_8_WITA)
    sup = people(world)["supervisor"]
    first, second = world.families_in(0)[1], world.families_in(1)[0]
    now = world.clock.now()
    with world.uow_factory() as uow:
        for family in (first, second):
            uow.records.add(Record(id=f"old-{family.id}", family_id=family.id, form_id="f", form_version="1",
                                   answers={}, status="completed", completed_at=now, created_at=now, updated_at=now))
            correct_record(uow, f"old-{family.id}", {"art_nik[1]": "6472014501900001"}, now, targets=())
        uow.commit()
    sup.say("/progres")
    sup.press(f"sv:r:{world.village_id}:0")
    assert "2 dengan NIK yang juga tercatat di keluarga lain" in sup.screen
    assert sup.screen.count(ID("sv-reason-shared-nik")) == 2
    assert first.head_name in sup.screen and second.head_name in sup.screen


def test_a_supervisor_exports_their_area_as_a_document():
    world = make_world(MONDAY_8_WITA)
    sup = people(world)["supervisor"]
    sup.say("/ekspor")
    assert sup.buttons()[:3] == [f"ex:c:{world.village_id}", f"ex:x:{world.village_id}", f"ex:g:{world.village_id}"]
    sup.press(f"ex:x:{world.village_id}")
    documents = [a for a in sup.actions if isinstance(a, SendDocument)]
    assert len(documents) == 1 and documents[0].chat_id == 504
    document = documents[0]
    assert document.filename.startswith("pintu-64.72.01.1001-") and document.filename.endswith(".xlsx")
    assert "30 baris" in document.caption
    rows = list(load_workbook(io.BytesIO(document.content), read_only=True)["keluarga"].iter_rows(values_only=True))
    assert len(rows) == 31 and {r[1] for r in rows[1:]} == {"RT 001", "RT 002", "RT 003"}


def test_an_rt_head_or_enumerator_only_sees_their_own_in_the_access_rules():
    world = make_world(MONDAY_8_WITA)
    people(world)
    own_id, other_id = world.families_in(0)[0].id, world.families_in(1)[0].id
    with world.uow_factory() as uow:
        users = {u.role: u for u in uow.session.scalars(select(User))}
        own, other = uow.session.get(Family, own_id), uow.session.get(Family, other_id)
        sls0, sls1 = uow.areas.get(world.sls_ids[0]), uow.areas.get(world.sls_ids[1])
        resident, rt_head = users["resident"], users["rt_head"]
        assert access.can(uow, resident, access.OWN_FAMILY, own) and not access.can(uow, resident, access.OWN_FAMILY, other)
        assert access.can(uow, rt_head, access.RT_FAMILIES, sls0) and not access.can(uow, rt_head, access.RT_FAMILIES, sls1)
        assert access.can(uow, rt_head, access.FAMILY_VIEW, own) and not access.can(uow, rt_head, access.FAMILY_VIEW, other)
        enumerator = users["enumerator"]  # Rina is assigned to the three RT of the demo
        assert access.can(uow, enumerator, access.FAMILY_VIEW, other)
        assert not access.can(uow, enumerator, access.PROGRESS, sls0)
        outside = uow.areas.add(Area(code="64.72.01.1002", level="village", name="Handil Bakti",
                                     parent_id=world.district_id, timezone="Asia/Makassar"))
        supervisor, coordinator = users["supervisor"], users["coordinator"]
        assert access.can(uow, supervisor, access.EXPORT, sls1) and not access.can(uow, supervisor, access.EXPORT, outside)
        assert access.can(uow, coordinator, access.EXPORT, outside)
        assert not access.can(uow, supervisor, access.OWN_FAMILY, own)
        assert not access.can(uow, None, access.OPEN)


def test_a_supervisor_invite_makes_the_role_with_its_area():
    world = make_world(MONDAY_8_WITA)
    token = world.invite(InviteKind.SUPERVISOR, world.village_id)
    pak = Person(world, 777, first_name="Pak Budi")
    pak.say(f"/start {token}")
    pak.press(f"cs:y:{token}")
    user = pak.user()
    assert (user.role, user.scope_area_id) == ("supervisor", world.village_id)
    texts = [m[0] for m in pak.messages.values()]
    assert any("pengawas (PML)" in t for t in texts) and "📊 <b>Progres" in pak.screen
    again = Person(world, 778, first_name="Lain")
    again.say(f"/start {token}")
    again.press(f"cs:y:{token}")
    assert again.user().role == "resident" and any(ID("invite-used") == m[0] for m in again.messages.values())
    coordinator = Person(world, 779, first_name="Bu Koor")
    token = world.invite(InviteKind.COORDINATOR, world.district_id)
    coordinator.say(f"/start {token}")
    coordinator.press(f"cs:y:{token}")
    assert (coordinator.user().role, coordinator.user().scope_area_id) == ("coordinator", world.district_id)
    coordinator.say("/bantuan")
    assert coordinator.screen == ID("help-coordinator")
