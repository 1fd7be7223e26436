"""The public consultation in the chat (handlers/flows/fkp.py, domain/fkp.py): forums split by 12 SLS, the
embargo, the RT head's proposals and added families, a resident's objection, the forum deciding, closing
with overrides and the minutes, signatures and the escalation of a refusal, /progres."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, text

from chat.events import SendDocument
from domain.privacy import current_notice
from domain import audit, fkp
from domain.invites import InviteKind
from domain.model import Area, FkpForum, OutboxMessage, User
from domain.ranking import RankEntry
from tests.unit.flows.helpers import ID, WITA, Person, rt_head

SESSION = dt.datetime(2026, 12, 1, 9, 0, tzinfo=WITA)  # Tuesday 1 December, 09.00 WITA
PREP_OPEN = SESSION - dt.timedelta(days=7)


# --- splitting ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("count", "sizes"), [
    (0, []), (1, [1]), (12, [12]), (13, [7, 6]), (24, [12, 12]), (25, [9, 8, 8]), (37, [10, 9, 9, 9]),
])
def test_forums_hold_at_most_12_sls_split_as_evenly_as_can_be(count, sizes):
    groups = fkp.split_sls(list(range(count)))
    assert [len(g) for g in groups] == sizes
    assert [s for g in groups for s in g] == list(range(count))  # order kept, nothing lost


def test_planning_a_kelurahan_of_13_sls_makes_two_forums_with_their_seats(world):
    now = world.clock.now()
    with world.uow_factory() as uow:
        district = uow.areas.get(world.district_id)
        village = uow.areas.add(Area(code="64.72.01.1099", level="village", name="Big", parent_id=district.id,
                                     timezone="Asia/Makassar"))
        for n in range(13):
            uow.areas.add(Area(code=f"64.72.01.1099.{n:04d}", level="sls", name=f"RT {n}", parent_id=village.id,
                               timezone="Asia/Makassar"))
        planned = fkp.plan_forums(uow, village, SESSION.astimezone(dt.timezone.utc), "Aula", now, "s" * 43)
        assert [len(p.sls) for p in planned] == [7, 6]
        roles = [s.seat.role for s in planned[0].invites]
        assert roles == ["facilitator", "assistant", "assistant", "administrator"] + ["figure"] * 5
        with pytest.raises(Exception):  # planned once
            fkp.plan_forums(uow, village, SESSION.astimezone(dt.timezone.utc), "Aula", now, "s" * 43)


# --- the world: the demo kelurahan (3 RT) ranked, one forum planned ----------------------------------------

def _rank(world) -> dict[int, int]:
    """Every demo family ranked: group 1, 2, 3, 4, 1, … by id."""
    groups = {}
    with world.uow_factory() as uow:
        ids = [f.id for i in range(3) for f in world.families_in(i)]
        entries = [RankEntry(family_id=f, score=float(n), decile=1 + n % 10, model_group=1 + n % 4) for n, f in enumerate(ids)]
        uow.rankings.replace_kabkota("64.72", entries, model_version="demo", ranked_at=world.clock.now())
        uow.commit()
        groups = {e.family_id: e.model_group for e in entries}
    return groups


def _plan(world, figures: int = 1) -> fkp.PlannedForum:
    with world.uow_factory() as uow:
        village = uow.areas.get(world.village_id)
        planned = fkp.plan_forums(uow, village, SESSION.astimezone(dt.timezone.utc), "Aula Kelurahan",
                                  world.clock.now(), "test-invite-secret", figures=figures)
        uow.commit()
    return planned[0]


def _seat(world, planned, role: str, telegram_id: int, name: str) -> Person:
    seat = next(i.seat for i in planned.invites if i.seat.role == role and i.seat.user_id is None
                and not getattr(i.seat, "_taken", False))
    seat._taken = True  # two assistants: the next call takes the other seat
    person = Person(world, telegram_id, name)
    token = world.invite(InviteKind.FKP_SEAT, seat.id)
    person.say(f"/start {token}")
    person.press(f"cs:y:{token}")
    assert person.screen.startswith(ID("fkp-chat-welcome", name=name)[:20])
    return person


@pytest.fixture
def consultation(world):
    darto = rt_head(world)  # RT 001's head, before the forum is planned: he is seated and told
    groups = _rank(world)
    planned = _plan(world)
    return world, darto, groups, planned


def test_rt_heads_are_told_the_date_and_place_and_reminded_the_evening_before(consultation):
    world, darto, _, _ = consultation
    rows = world.scalars(select(OutboxMessage).where(OutboxMessage.chat_id == darto.telegram_id,
                                                     OutboxMessage.kind.like("fkp-chat-%")).order_by(OutboxMessage.id))
    assert [r.kind for r in rows] == [fkp.NOTIFY_PLANNED, fkp.NOTIFY_REMINDER]
    assert rows[1].due_at == dt.datetime(2026, 11, 30, 19, 0, tzinfo=WITA)
    world.clock.set(rows[1].due_at)
    told, reminded = darto.receive()  # (the helper delivers what is pending, due or not)
    assert "Aula Kelurahan" in told and "09.00" in told and "fk:home" in darto.buttons()
    assert "Besok" in reminded


def test_nobody_sees_a_group_before_the_preparation_window(consultation):
    world, darto, groups, planned = consultation
    darto.say("/fkp")
    assert ID("fkp-chat-group-1") not in darto.screen and "🔒" in darto.screen
    darto.press("fk:r:0")
    assert "🔒" in darto.screen and not [b for b in darto.buttons() if b.startswith("fk:f:")]
    facilitator = _seat(world, planned, "facilitator", 3001, "Bu Lurah")
    facilitator.say("/fkp")
    assert "🔒" in facilitator.screen and "fk:op:" not in " ".join(facilitator.buttons())

    world.clock.set(PREP_OPEN)
    darto.say("/fkp")
    assert ID("fkp-chat-group-1") in darto.screen or ID("fkp-chat-group-2") in darto.screen


def test_community_figures_see_the_list_only_during_the_session(consultation):
    world, _, _, planned = consultation
    world.clock.set(PREP_OPEN)
    figure = _seat(world, planned, "figure", 3005, "Ustadz Hasan")
    figure.say("/fkp")
    assert ID("fkp-chat-figure-wait") in figure.screen and not figure.buttons()
    figure.press(f"fk:it:{planned.forum.id}:0")
    assert figure.answer.text == ID("fkp-chat-figure-wait")
    assert fkp.sees_groups(_forum(world, planned), "figure", world.clock.now()) is False
    with world.uow_factory() as uow:
        uow.fkp.get(planned.forum.id).status = fkp.OPEN
        uow.commit()
    assert fkp.sees_groups(_forum(world, planned), "figure", world.clock.now()) is True


def _audited(world, action: str) -> list:
    with world.uow_factory() as uow:
        return [e for e in audit.entries(uow) if e.action == action]


def _forum(world, planned) -> FkpForum:
    with world.uow_factory() as uow:
        return uow.fkp.get(planned.forum.id)


# --- the RT head, the resident ---------------------------------------------------------------------------

def _family_on_screen(darto: Person) -> int:
    return int(next(b for b in darto.buttons() if b.startswith("fk:f:")).split(":")[2])


def test_the_rt_head_confirms_moves_with_a_reason_and_adds_a_family_never_seeing_a_score(consultation):
    world, darto, groups, planned = consultation
    world.clock.set(PREP_OPEN)
    darto.say("/fkp")
    first = _family_on_screen(darto)
    assert "score" not in darto.screen.lower() and "skor" not in darto.screen.lower()
    darto.press(f"fk:c:{first}")
    assert "✅" in darto.screen

    second = [b for b in darto.buttons() if b.startswith("fk:f:")][1].split(":")[2]
    darto.press(f"fk:f:{second}")
    darto.press(f"fk:m:{second}")
    target = next(g for g in fkp.GROUPS if g != groups[int(second)])
    assert f"fk:g:{second}:{groups[int(second)]}" not in darto.buttons()  # not its own group
    darto.press(f"fk:g:{second}:{target}")
    darto.press(f"fk:y:{second}:{target}:other")
    darto.say("   ")
    assert darto.screen == ID("fkp-chat-note-needed")
    darto.say("x" * 501)
    assert "500" in darto.screen
    darto.say("Anak sulung kini bekerja di pabrik")
    assert ID("fkp-chat-saved") in darto.screen and "Anak sulung" in darto.screen
    darto.press(f"fk:m:{second}")  # changed again: the second word replaces the first
    darto.press(f"fk:g:{second}:{target}")
    darto.press(f"fk:y:{second}:{target}:new_income")
    with world.uow_factory() as uow:
        proposals = uow.fkp.proposals(planned.forum.id)
        assert [(p.kind, p.reason) for p in proposals] == [("confirm", None), ("move", "new_income")]

    darto.press("fk:a")
    darto.say("Siti Aminah")
    darto.say("123")
    assert "fk:as:died" not in darto.buttons() and "16" in darto.screen  # asked again
    darto.say("6472010101205555")
    darto.press("fk:as:died")
    assert "Siti Aminah" in darto.screen
    with world.uow_factory() as uow:
        raw = uow.session.execute(text("SELECT kk_number FROM fkp_added_families")).scalar()
        assert raw and "6472010101205555" not in raw  # encrypted at rest
        assert uow.fkp.added(planned.forum.id)[0].kk_number == "6472010101205555"

    darto.press("fk:s")
    darto.say("zzz-nobody")
    assert ID("no-families") in darto.screen
    darto.press("fk:x")
    assert _family_on_screen(darto)
    views = _audited(world, audit.FKP_VIEW)
    assert len(views) >= 3 and all(v.area_id == world.sls_ids[0] for v in views)


def test_an_rt_head_cannot_touch_another_rts_family_by_a_forged_button(consultation):
    world, darto, _, _ = consultation
    world.clock.set(PREP_OPEN)
    other = world.families_in(1)[0].id
    darto.press(f"fk:c:{other}")
    assert darto.answer.text == ID("stale-button")
    darto.press("fk:y:abc:9:nonsense")
    assert darto.answer.show_alert


def _resident(world, family_id: int, telegram_id: int = 4001) -> Person:
    with world.uow_factory() as uow:
        family = uow.families.get(family_id)
        uow.users.add(User(telegram_id=telegram_id, first_name="Wati", language="id", role="resident",
                           sls_id=family.sls_id, family_id=family.id, consent_version=current_notice("resident"),
                           consent_at=world.clock.now(), created_at=world.clock.now()))
        uow.commit()
    return Person(world, telegram_id)


def test_residents_are_told_when_the_list_opens_that_they_may_object(world):
    groups = _rank(world)
    family = world.families_in(0)[0].id
    wati = _resident(world, family)
    _plan(world)
    [row] = world.scalars(select(OutboxMessage).where(OutboxMessage.chat_id == wati.telegram_id))
    assert row.kind == fkp.NOTIFY_RESIDENT and row.due_at == PREP_OPEN
    [told] = wati.receive()
    assert "/fkp" in told and "fk:home" in wati.buttons()
    wati.press("fk:home")
    assert "🔒" in wati.screen  # (the helper delivered it early: the list is still closed)
    world.clock.set(PREP_OPEN)
    wati.press("fk:home")
    assert ID(f"fkp-chat-group-{groups[family]}") in wati.screen


def test_a_resident_objects_about_their_own_familys_group(consultation):
    world, darto, groups, planned = consultation
    family = world.families_in(0)[0].id
    wati = _resident(world, family)
    wati.say("/fkp")
    assert "🔒" in wati.screen and "fk:o" not in wati.buttons()
    world.clock.set(PREP_OPEN)
    wati.say("/fkp")
    assert ID(f"fkp-chat-group-{groups[family]}") in wati.screen
    wati.press("fk:o")
    claimed = next(g for g in fkp.GROUPS if g != groups[family])
    wati.press(f"fk:og:{claimed}")
    wati.press(f"fk:oy:{claimed}:lost_work")
    assert ID("fkp-chat-objection-saved") in wati.screen
    darto.say("/fkp")
    darto.press(f"fk:f:{family}")
    assert ID("fkp-chat-reason-lost_work") in darto.screen  # listed to the RT head


# --- the forum ------------------------------------------------------------------------------------------------

def _on_screen(person: Person, prefix: str) -> str:
    return next(b for b in person.buttons() if b.startswith(prefix))


def _prepared(consultation):
    """Darto moves one family, a resident objects about another, Darto adds a family; the session day."""
    world, darto, groups, planned = consultation
    world.clock.set(PREP_OPEN)
    moved, objected = world.families_in(0)[0].id, world.families_in(0)[1].id
    with world.uow_factory() as uow:
        head = uow.users.get(darto.user().id)
        fkp.propose(uow, head, uow.families.get(moved), "move", world.clock.now(), group=groups[moved] % 4 + 1,
                    reason="died")
        fkp.add_family(uow, head, "Siti Aminah", "6472010101205555", "present", world.clock.now())
        uow.commit()
    wati = _resident(world, objected)
    with world.uow_factory() as uow:
        fkp.object_to_group(uow, uow.users.get(wati.user().id), groups[objected] % 4 + 1, "illness", None,
                            world.clock.now())
        uow.commit()
    facilitator = _seat(world, planned, "facilitator", 3001, "Bu Lurah")
    administrator = _seat(world, planned, "administrator", 3002, "Pak Admin")
    world.clock.set(SESSION)
    return world, darto, groups, planned, facilitator, administrator, moved, objected


def test_the_forum_opens_records_attendance_and_decides_every_item(consultation):
    _decided(consultation)


def _decided(consultation):
    """The session through the facilitator's chat: open, one present, accept, reject with a reason, accept."""
    world, darto, groups, planned, facilitator, administrator, moved, objected = _prepared(consultation)
    forum_id = planned.forum.id
    darto.press(f"fk:op:{forum_id}")
    assert darto.answer.show_alert  # an RT head has no chair
    facilitator.say("/fkp")
    facilitator.press(f"fk:op:{forum_id}")
    assert ID("fkp-chat-opened") in facilitator.screen
    facilitator.press(f"fk:at:{forum_id}")
    seat_buttons = [b for b in facilitator.buttons() if b.startswith("fk:tp:")]
    facilitator.press(seat_buttons[0])
    assert facilitator.screen.count("✅") == 1
    with world.uow_factory() as uow:
        assert len(uow.fkp.present(forum_id)) == 1

    facilitator.press(f"fk:it:{forum_id}:0")
    assert "1/3" in facilitator.screen and ID("fkp-chat-reason-died") in facilitator.screen
    facilitator.press(f"fk:dy:{forum_id}:zzz", facilitator.last_id)  # forged
    assert facilitator.answer.text == ID("fkp-chat-stale")
    facilitator.press(_on_screen(facilitator, f"fk:dy:{forum_id}:"))
    assert "2/3" in facilitator.screen and ID("fkp-chat-reason-illness") in facilitator.screen  # the objection
    facilitator.press(_on_screen(facilitator, f"fk:dn:{forum_id}:"))
    facilitator.say("")
    assert facilitator.screen == ID("fkp-chat-reason-needed")
    facilitator.say("Keluarga masih berpenghasilan tetap")
    assert "3/3" in facilitator.screen and "Siti Aminah" in facilitator.screen
    facilitator.press(f"fk:cl:{forum_id}")
    assert facilitator.answer.text == ID("fkp-chat-undecided", count=1)
    facilitator.press(_on_screen(facilitator, f"fk:dy:{forum_id}:"))
    with world.uow_factory() as uow:
        decisions = {(d.family_id, d.added_id is not None): d for d in uow.fkp.decisions(forum_id)}
        assert decisions[(moved, False)].outcome == "accepted" and decisions[(moved, False)].group == groups[moved] % 4 + 1
        assert decisions[(objected, False)].outcome == "rejected"
        assert "berpenghasilan" in decisions[(objected, False)].reason
    decided = _audited(world, audit.FKP_DECIDE)
    assert len(decided) == 3 and {(e.actor_user_id, e.actor_role) for e in decided} == {(facilitator.user().id, "facilitator")}
    return world, darto, groups, planned, facilitator, administrator, moved, objected


def test_a_decision_needs_a_chair_and_an_open_session(consultation):
    world, darto, groups, planned, facilitator, administrator, moved, objected = _prepared(consultation)
    ids = {p.telegram_id: p.user().id for p in (facilitator, darto, administrator)}
    with world.uow_factory() as uow:
        forum = uow.fkp.get(planned.forum.id)
        with pytest.raises(fkp.FkpRefused) as refused:
            fkp.decide(uow, uow.users.get(ids[facilitator.telegram_id]), forum, f"f{moved}", True, world.clock.now())
        assert refused.value.problem == "fkp-chat-not-open"
        fkp.open_forum(uow, uow.users.get(ids[facilitator.telegram_id]), forum, world.clock.now())
        with pytest.raises(fkp.FkpRefused) as refused:
            fkp.decide(uow, uow.users.get(ids[darto.telegram_id]), forum, f"f{moved}", True, world.clock.now())
        assert refused.value.problem == "fkp-chat-not-chair"
        with pytest.raises(fkp.FkpRefused) as refused:
            fkp.decide(uow, uow.users.get(ids[administrator.telegram_id]), forum, "f999999", True, world.clock.now())
        assert refused.value.problem == "fkp-chat-stale"
        decision = fkp.decide(uow, uow.users.get(ids[administrator.telegram_id]), forum, f"f{moved}", False,
                              world.clock.now(), "tidak sepakat")
        assert decision.outcome == "rejected" and decision.group is None
        decision = fkp.decide(uow, uow.users.get(ids[administrator.telegram_id]), forum, f"f{moved}", True, world.clock.now())
        assert decision.outcome == "accepted" and decision.reason is None  # changed until the forum closes


def test_progres_shows_the_consultation_per_kecamatan(consultation):
    world, darto, groups, planned = consultation
    with world.uow_factory() as uow:
        supervisor = uow.users.add(User(telegram_id=5001, first_name="Pak Camat", language="id", role="coordinator",
                                        scope_area_id=world.district_id, consent_version=current_notice("coordinator"),
                                        consent_at=world.clock.now(), created_at=world.clock.now()))
        uow.commit()
    person = Person(world, supervisor.telegram_id)
    person.say("/progres")
    assert ID("fkp-chat-progress-title") in person.screen
    assert "Palaran: 1 direncanakan, 0 berlangsung" in person.screen


# --- closing, the minutes, signatures ------------------------------------------------------------------------

def _pdf_text(content: bytes) -> str:
    import io

    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def _closed(consultation):
    world, darto, groups, planned, facilitator, administrator, moved, objected = _decided(consultation)
    actions = facilitator.press(f"fk:cl:{planned.forum.id}")
    return world, darto, groups, planned, facilitator, administrator, moved, objected, actions


def test_closing_overrides_the_accepted_groups_shows_the_counts_and_sends_the_minutes(consultation):
    world, darto, groups, planned, facilitator, administrator, moved, objected, actions = _closed(consultation)
    assert ID("fkp-chat-counts-title") in facilitator.screen and "→" in facilitator.screen
    [document] = [a for a in actions if isinstance(a, SendDocument)]
    assert document.content.startswith(b"%PDF") and document.filename.endswith(".pdf")
    minutes = _pdf_text(document.content)
    assert "Siti Aminah" in minutes and "Rawa Makmur" in minutes and "Bu Lurah" in minutes
    with world.uow_factory() as uow:
        ranks = uow.rankings.ranks_for_families([moved, objected])
        assert ranks[moved].final_group == groups[moved] % 4 + 1 and ranks[moved].overridden
        assert ranks[objected].final_group == groups[objected] and not ranks[objected].overridden
        assert uow.fkp.get(planned.forum.id).status == fkp.CLOSED
    # The registry: one document per decision, valid against the published schema, queued once.
    import json
    from pathlib import Path

    import jsonschema

    from domain.model import FkpDecisionDelivery

    schema = json.loads((Path(__file__).parents[3] / "registry/schema/fkp-decision-v1.json").read_text())
    queued = world.scalars(select(FkpDecisionDelivery).order_by(FkpDecisionDelivery.id))
    assert len(queued) == 3 and len({q.decision_key for q in queued}) == 3
    for row in queued:
        jsonschema.validate(row.document, schema)
    by_kind = {(q.document["kind"], q.document["outcome"]): q.document for q in queued}
    moved_doc = next(d for d in by_kind.values() if d["family"]["family_id"] == moved)
    assert moved_doc["reason"]["code"] == "breadwinner_died" and moved_doc["to_group"] == groups[moved] % 4 + 1
    assert by_kind[("add", "accepted")]["family"]["head_name"] == "Siti Aminah"
    assert "score" not in json.dumps([q.document for q in queued])
    with world.uow_factory() as uow:  # a retried close forwards nothing twice
        forum = uow.fkp.get(planned.forum.id)
        assert not any(fkp.forward_decision(uow, forum, item, world.clock.now()) for item in fkp.agenda(uow, forum))
    facilitator.press(f"fk:cl:{planned.forum.id}")
    assert facilitator.answer.text == ID("fkp-chat-not-open")
    assert len(world.scalars(select(FkpDecisionDelivery))) == 3
    # Everything is kept as it was decided: no more proposals once the forum is closed.
    darto.press(f"fk:c:{world.families_in(0)[2].id}")
    assert darto.answer.text == ID("fkp-chat-closed")
    # The other chair is told the minutes are ready and gets them with a button.
    assert any("📄" in text for text in administrator.receive())
    got = administrator.press(f"fk:pdf:{planned.forum.id}")
    assert any(isinstance(a, SendDocument) for a in got)
    assert darto.press(f"fk:pdf:{planned.forum.id}")  # an RT head is no chair: refused, not sent
    assert not any(isinstance(a, SendDocument) for a in darto.actions)


def test_each_participant_signs_in_the_chat_and_a_refusal_goes_to_the_camats_coordinator(consultation):
    world, darto, groups, planned, facilitator, administrator, moved, objected, _ = _closed(consultation)
    with world.uow_factory() as uow:
        uow.users.add(User(telegram_id=5001, first_name="Pak Koordinator", language="id", role="coordinator",
                           scope_area_id=world.district_id, consent_version=current_notice("coordinator"), consent_at=world.clock.now(),
                           created_at=world.clock.now()))
        uow.commit()
    coordinator = Person(world, 5001)
    forum_id = planned.forum.id
    facilitator.press(f"fk:sg:{forum_id}:y")
    assert facilitator.answer.text == ID("fkp-chat-signed")
    facilitator.press(f"fk:sg:{forum_id}:n")  # the first answer stands
    assert facilitator.answer.text == ID("fkp-chat-signed-before")
    asked = darto.receive()
    assert any("berita acara" in text for text in asked)
    darto.press(f"fk:sg:{forum_id}:n")
    assert darto.answer.text == ID("fkp-chat-refused")
    with world.uow_factory() as uow:
        assert uow.fkp.get(forum_id).status == fkp.ESCALATED
        answers = sorted(a for a, _ in uow.fkp.signatures(forum_id).values())
        assert answers == ["agreed", "refused"]
        assert all(at == world.clock.now() for _, at in uow.fkp.signatures(forum_id).values())
    [alert] = coordinator.receive()
    assert "Pak Darto" in alert and ID("fkp-chat-role-rt_head") in alert and "Rawa Makmur" in alert


def test_an_rt_head_who_joins_after_the_planning_takes_the_empty_seat_of_his_sls(consultation):
    world, _, _, planned = consultation
    world.clock.set(PREP_OPEN)
    late = rt_head(world, rt=1, telegram_id=2002)
    late_id = late.user().id
    late.say("/fkp")
    late.say("/fkp")  # once only
    with world.uow_factory() as uow:
        seats = [s for s in uow.fkp.participants(planned.forum.id) if s.sls_id == world.sls_ids[1]]
        assert [s.user_id for s in seats] == [late_id]


@pytest.mark.parametrize(("role", "status", "days_before", "sees"), [
    ("rt_head", "planned", 8, False), ("rt_head", "planned", 7, True), ("resident", "planned", 3, True),
    ("facilitator", "planned", 8, False), ("facilitator", "open", 0, True), ("rt_head", "closed", 0, True),
    ("figure", "planned", 3, False), ("figure", "open", 0, True), ("figure", "closed", 0, False),
])
def test_the_embargo_by_role_status_and_day(role, status, days_before, sees):
    forum = FkpForum(village_id=1, number=1, at=SESSION, prep_opens_at=PREP_OPEN, status=status, created_at=SESSION)
    assert fkp.sees_groups(forum, role, SESSION - dt.timedelta(days=days_before)) is sees


def test_an_objection_accepted_moves_the_family_to_the_group_it_asked_and_a_rejected_addition_is_kept(consultation):
    world, darto, groups, planned, facilitator, administrator, moved, objected = _prepared(consultation)
    chair = facilitator.user().id
    with world.uow_factory() as uow:
        forum = uow.fkp.get(planned.forum.id)
        person = uow.users.get(chair)
        fkp.open_forum(uow, person, forum, world.clock.now())
        added = next(i for i in fkp.agenda(uow, forum) if i.added is not None)
        fkp.decide(uow, person, forum, f"f{moved}", False, world.clock.now(), "belum terbukti")
        fkp.decide(uow, person, forum, f"f{objected}", True, world.clock.now())
        fkp.decide(uow, person, forum, added.key, False, world.clock.now(), "sudah terdaftar di RT lain")
        closing = fkp.close_forum(uow, person, forum.id, world.clock.now())
        uow.commit()
        assert closing.overrides == 1 and closing.forwarded == 3
        ranks = uow.rankings.ranks_for_families([moved, objected])
        assert ranks[objected].final_group == groups[objected] % 4 + 1  # the group the resident asked for
        assert ranks[moved].final_group == groups[moved] and not ranks[moved].overridden
        assert closing.tally.total.after[groups[objected] % 4 + 1] == closing.tally.total.before[groups[objected] % 4 + 1] + 1
        assert [a.head_name for a in uow.fkp.added(forum.id)] == ["Siti Aminah"]  # rejected, still on record


def test_stale_forged_and_out_of_place_presses_get_a_clear_answer(consultation):
    world, darto, _, planned = consultation
    world.clock.set(PREP_OPEN)
    nobody = _resident(world, world.families_in(2)[0].id, telegram_id=4100)
    for data in ("fk:zz", "fk:h:abc", f"fk:h:{planned.forum.id}", "fk:sg:1:maybe", "fk:og:9", "fk:r:0"):
        nobody.press(data)  # a resident of this forum's SLS, but no seat: none of these are hers
        assert nobody.answer.text
    darto.press(f"fk:dy:{planned.forum.id}:f1")  # an RT head's seat is no chair
    assert darto.answer.show_alert
    darto.say("/fkp")
    darto.press("fk:s")
    darto.say("x" * 5000)  # cut to a search of 60 characters
    assert ID("no-families") in darto.screen


def test_a_resident_who_withdraws_consent_takes_their_objection_with_them(consultation):
    world, darto, groups, planned = consultation
    world.clock.set(PREP_OPEN)
    family = world.families_in(0)[0].id
    wati = _resident(world, family)
    with world.uow_factory() as uow:
        fkp.object_to_group(uow, uow.users.by_telegram_id(wati.telegram_id),
                            groups[family] % 4 + 1, "lost_work", None, world.clock.now())
        uow.commit()
    import json

    actions = wati.say("/dataku")  # her right to see it: the objection is in her file
    [document] = [a for a in actions if isinstance(a, SendDocument)]
    assert json.loads(document.content)["objections"][0]["reason"] == "lost_work"
    wati.press("pv:erase", wati.message_with("pv:erase"))
    wati.press("pv:eraseok")
    with world.uow_factory() as uow:
        assert uow.fkp.objections(planned.forum.id) == []
