"""Family claims (domain/claims.py) on SQLite and PostgreSQL: linked at once by invite to a listed
family, pending otherwise and decided once by the RT head even when two press at the same moment, the
KK rate limits, unlinking that keeps the family's data; and the questionnaire's part of it: an RT head
opens only families without a consenting resident, and the head's name answered there is checked as at
registration."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from domain import claims
from domain.model import Family, KkAttempt, OutboxMessage
from tests.factories import make_place, make_user, race, resident_of
from tests.integration.test_questionnaire import Chat, handlers_for, telegram_id_of

KK_NEW = "6472010101207777"


def listed(uow_factory, place, index: int = 0) -> Family:
    with uow_factory() as uow:
        return uow.families.get(place.family_ids[index])


def newcomer(uow_factory, place, now) -> int:
    with uow_factory() as uow:
        user = make_user(uow, now, sls_id=place.sls_id)
        uow.commit()
        return user.id


def claim(uow_factory, user_id, place, name, kk, now, via_invite=True) -> claims.ClaimOutcome:
    with uow_factory() as uow:
        outcome = claims.claim_family(uow, uow.users.get(user_id), place.sls_id, name, kk, 3, now,
                                      via_invite=via_invite)
        uow.commit()
        return outcome


def test_invite_and_listed_family_link_at_once_and_a_second_claim_waits(uow_factory, fake_clock):
    now = fake_clock.now()
    place = make_place(uow_factory, now, families=2)
    family = listed(uow_factory, place)
    first = claim(uow_factory, newcomer(uow_factory, place, now), place, family.head_name.lower(), family.kk_number, now)
    assert first.linked and first.family.id == family.id
    second_id = newcomer(uow_factory, place, now)
    second = claim(uow_factory, second_id, place, family.head_name, family.kk_number, now)
    assert not second.linked and second.claim.status == claims.PENDING and second.claim.kk_number is None
    with uow_factory() as uow:
        head = uow.users.get(place.rt_head_id)
        assert [m.kind for m in uow.session.scalars(select(OutboxMessage).where(
            OutboxMessage.chat_id == head.telegram_id))] == [claims.CLAIM_NEW]
        claims.decide_claim(uow, head, second.claim.id, True, now)
        uow.commit()
    with uow_factory() as uow:
        assert {u.id for u in uow.users.residents_of_family(family.id)} >= {second_id}
        assert len(uow.users.residents_of_family(family.id)) == 2


def test_approving_a_family_nobody_listed_creates_it_and_rejecting_creates_nothing(uow_factory, fake_clock):
    now = fake_clock.now()
    place = make_place(uow_factory, now, families=1)
    kept = claim(uow_factory, newcomer(uow_factory, place, now), place, "Wati Susanti", KK_NEW, now, via_invite=False)
    refused = claim(uow_factory, newcomer(uow_factory, place, now), place, "Orang Asing", "6472010101206666", now)
    with uow_factory() as uow:
        head = uow.users.get(place.rt_head_id)
        claims.decide_claim(uow, head, kept.claim.id, True, now)
        claims.decide_claim(uow, head, refused.claim.id, False, now)
        uow.commit()
    with uow_factory() as uow:
        family = uow.families.by_kk(KK_NEW)
        assert family.head_name == "Wati Susanti" and family.members == 3 and family.sls_id == place.sls_id
        assert uow.families.by_kk("6472010101206666") is None
        assert uow.claims.get(kept.claim.id).kk_number is None  # the number lives in the family now


def test_two_rt_heads_pressing_at_once_decide_once(uow_factory, fake_clock):
    now = fake_clock.now()
    place = make_place(uow_factory, now, families=1)
    with uow_factory() as uow:
        second_head = make_user(uow, now, role="rt_head", sls_id=place.sls_id).id
        uow.commit()
    pending = claim(uow_factory, newcomer(uow_factory, place, now), place, "Wati Susanti", KK_NEW, now)

    def decide(head_id: int, approve: bool):
        def attempt():
            with uow_factory() as uow:
                decided = claims.decide_claim(uow, uow.users.get(head_id), pending.claim.id, approve, now)
                uow.commit()
                return decided.status
        return attempt

    outcomes = race([decide(place.rt_head_id, True), decide(second_head, False)])
    errors = [o.error for o in outcomes if o.error is not None]
    assert len(errors) == 1 and isinstance(errors[0], claims.ClaimDecided)
    with uow_factory() as uow:
        status = uow.claims.get(pending.claim.id).status
        assert status in (claims.LINKED, claims.REJECTED)
        assert (uow.families.by_kk(KK_NEW) is not None) == (status == claims.LINKED)


def test_kk_attempts_per_user_and_per_number(uow_factory, fake_clock):
    now = fake_clock.now()
    place = make_place(uow_factory, now, families=1)
    with uow_factory() as uow:
        people = [make_user(uow, now, sls_id=place.sls_id) for _ in range(claims.ATTEMPTS_PER_KK + 2)]
        for n in range(claims.ATTEMPTS_PER_USER):
            assert claims.note_kk_attempt(uow, people[0], f"647201010120{5000 + n}", "s", now)
        assert not claims.note_kk_attempt(uow, people[0], KK_NEW, "s", now)
        for person in people[1:-1]:
            assert claims.note_kk_attempt(uow, person, KK_NEW, "s", now)
        assert claims.note_kk_attempt(uow, people[-1], KK_NEW, "s", now) is False  # the number's limit
        later = now + claims.ATTEMPT_WINDOW + dt.timedelta(seconds=1)
        assert claims.note_kk_attempt(uow, people[0], KK_NEW, "s", later)
        uow.commit()
    with uow_factory() as uow:
        digests = set(uow.session.scalars(select(KkAttempt.kk_digest)))
        assert len(digests) == claims.ATTEMPTS_PER_USER + 1 and KK_NEW not in digests  # only digests are kept


def test_unlinking_keeps_the_family(uow_factory, fake_clock):
    now = fake_clock.now()
    place = make_place(uow_factory, now, families=1)
    family_id = place.family_ids[0]
    resident = resident_of(uow_factory, place, family_id, now)
    with uow_factory() as uow:
        claims.remove_link(uow, uow.users.get(place.rt_head_id), family_id, resident, now)
        uow.commit()
    with uow_factory() as uow:
        assert uow.users.get(resident).family_id is None and uow.families.get(family_id) is not None
        with pytest.raises(claims.NotAllowed):  # nothing left to unlink
            claims.remove_link(uow, uow.users.get(place.rt_head_id), family_id, resident, now)


# --- the questionnaire ------------------------------------------------------------------------------

def test_rt_head_opens_only_families_without_a_consenting_resident(uow_factory, fake_clock, tmp_path):
    now = fake_clock.now()
    place = make_place(uow_factory, now, enumerators=1, families=2, enumerator_users=True)
    resident_of(uow_factory, place, place.family_ids[0], now)
    handlers = handlers_for(uow_factory, fake_clock, tmp_path)
    head = Chat(handlers, telegram_id_of(uow_factory, place.rt_head_id))
    head.say(f"/isi {place.family_ids[0]}")
    assert "tidak" in head.screen.lower() and "qn:review" not in head.buttons()
    head.say(f"/isi {place.family_ids[1]}")
    assert "Nama kepala keluarga" in head.screen


def test_the_head_name_in_the_questionnaire_is_checked_as_at_registration(uow_factory, fake_clock, tmp_path):
    now = fake_clock.now()
    place = make_place(uow_factory, now, enumerators=1, families=1, enumerator_users=True)
    family_id = place.family_ids[0]
    chat = Chat(handlers_for(uow_factory, fake_clock, tmp_path),
                telegram_id_of(uow_factory, resident_of(uow_factory, place, family_id, now)))
    chat.say("/isi")
    before = listed(uow_factory, place).head_name
    for bad in ("12345", "Budi <script>", "@@@ admin"):
        chat.say(bad)
        assert "⚠️" in chat.screen and "Nama kepala keluarga" in chat.screen
        assert listed(uow_factory, place).head_name == before
    chat.say("Siti  Nur'aini")
    assert listed(uow_factory, place).head_name == "Siti Nur'aini"


def test_a_resident_unlinked_mid_questionnaire_can_answer_no_more(uow_factory, fake_clock, tmp_path):
    now = fake_clock.now()
    place = make_place(uow_factory, now, enumerators=1, families=1, enumerator_users=True)
    family_id = place.family_ids[0]
    resident = resident_of(uow_factory, place, family_id, now)
    chat = Chat(handlers_for(uow_factory, fake_clock, tmp_path), telegram_id_of(uow_factory, resident))
    chat.say("/isi")
    with uow_factory() as uow:
        claims.remove_link(uow, uow.users.get(place.rt_head_id), family_id, resident, now)
        uow.commit()
    before = listed(uow_factory, place).head_name
    chat.say("Orang Asing")
    assert "tidak" in chat.screen.lower() and listed(uow_factory, place).head_name == before


def test_a_rejected_claim_keeps_no_kk_number(uow_factory, fake_clock):
    now = fake_clock.now()
    place = make_place(uow_factory, now, families=1)
    pending = claim(uow_factory, newcomer(uow_factory, place, now), place, "Orang Asing", KK_NEW, now)
    with uow_factory() as uow:
        claims.decide_claim(uow, uow.users.get(place.rt_head_id), pending.claim.id, False, now)
        uow.commit()
    with uow_factory() as uow:
        assert uow.claims.get(pending.claim.id).kk_number is None
