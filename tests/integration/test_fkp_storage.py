"""The consultation's storage on SQLite and PostgreSQL (storage/repositories/fkp.py): a forum planned,
proposals and an added family (KK encrypted), a decision, and two chairs closing at the same moment
closing once (the forum's row lock), each decision queued for the registry once."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import text

from domain import fkp
from domain.model import Area, Family, FkpParticipant, User
from domain.ranking import RankEntry
from tests.factories import race

NOW = dt.datetime(2027, 4, 28, 1, 0, tzinfo=dt.timezone.utc)
SESSION = dt.datetime(2027, 5, 4, 1, 0, tzinfo=dt.timezone.utc)


def _forum(uow_factory) -> tuple[int, list[int], list[int], int]:
    """A kelurahan of 2 SLS × 3 ranked families, its forum planned and open, an RT head, two chairs."""
    with uow_factory() as uow:
        regency = uow.areas.add(Area(code="64.72", level="regency", name="Samarinda", timezone="Asia/Makassar"))
        district = uow.areas.add(Area(code="64.72.01", level="district", name="Palaran", parent_id=regency.id,
                                      timezone="Asia/Makassar"))
        village = uow.areas.add(Area(code="64.72.01.1001", level="village", name="Rawa Makmur", parent_id=district.id,
                                     timezone="Asia/Makassar"))
        sls = [uow.areas.add(Area(code=f"64.72.01.1001.000{n}", level="sls", name=f"RT 00{n}", parent_id=village.id,
                                  timezone="Asia/Makassar")) for n in (1, 2)]
        families = [uow.families.add(Family(sls_id=s.id, head_name=f"Kepala {s.id}-{n}", kk_number=f"64720101012{s.id:02d}{n:03d}",
                                            members=3, created_at=NOW)).id for s in sls for n in range(3)]
        uow.rankings.replace_kabkota("64.72", [RankEntry(f, float(n), 1, 1 + n % 4) for n, f in enumerate(families)],
                                     model_version="t", ranked_at=NOW)
        people = [uow.users.add(User(telegram_id=900 + n, first_name=f"P{n}", role=role, sls_id=sls[0].id if n == 0 else None,
                                     consent_version="2026-1", consent_at=NOW, created_at=NOW)).id
                  for n, role in enumerate(("rt_head", "resident", "resident"))]
        [planned] = fkp.plan_forums(uow, village, SESSION, "Aula", NOW, "s" * 43)
        chairs = [i.seat for i in planned.invites if i.seat.role in fkp.CHAIRS]
        for seat, person in zip(chairs, people[1:]):
            fkp.redeem_seat(uow, uow.users.get(person), seat.id, NOW)
        head = uow.users.get(people[0])
        fkp.propose(uow, head, uow.families.get(families[0]), "move", NOW, group=4, reason="new_income")
        fkp.propose(uow, head, uow.families.get(families[1]), "confirm", NOW)
        fkp.add_family(uow, head, "Siti", "6472010101205555", "moved", NOW)
        uow.commit()
    return planned.forum.id, families, people, sls[0].id


def test_a_forum_decides_and_two_chairs_closing_at_once_close_it_once(uow_factory):
    forum_id, families, people, _ = _forum(uow_factory)
    with uow_factory() as uow:
        raw = uow.session.execute(text("SELECT kk_number FROM fkp_added_families")).scalar()
        assert "6472010101205555" not in raw
        forum = uow.fkp.get(forum_id)
        fkp.open_forum(uow, uow.users.get(people[1]), forum, SESSION)
        for item in fkp.agenda(uow, forum):
            fkp.decide(uow, uow.users.get(people[1]), forum, item.key, True, SESSION)
        uow.commit()
        assert uow.fkp.families_page(uow.fkp.sls_of(forum_id)[0].id, 0, 2, "KEPALA")[0] == 3  # search ignores case

    def close(person: int):
        with uow_factory() as uow:
            closing = fkp.close_forum(uow, uow.users.get(person), forum_id, SESSION)
            uow.commit()
            return closing.forwarded

    outcomes = race([lambda: close(people[1]), lambda: close(people[2])])
    closed = [o for o in outcomes if o.error is None]
    refused = [o for o in outcomes if isinstance(o.error, fkp.FkpRefused)]
    assert len(closed) == 1 and closed[0].result == 2 and len(refused) == 1
    with uow_factory() as uow:
        assert uow.fkp_deliveries.counts()["pending"] == 2
        assert uow.rankings.ranks_for_families([families[0]])[families[0]].final_group == 4
        progress = fkp.progress(uow, uow.areas.by_code("64.72"))
        assert [(p.district.code, p.forums["closed"], p.proposals, p.decisions) for p in progress] == [("64.72.01", 1, 1, 2)]
