"""The forum's decisions reach the central registry once each (domain/fkp_registry.py, registry/fkp.py,
the reference service's POST /v1/fkp-decisions), even when a delivery's answer is lost and it is sent
again (SQLite and PostgreSQL)."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.clock import FakeClock
from domain.fkp_registry import FkpDecisionDoc, enqueue_fkp_decision
from registry.client import RegistryTarget, make_client
from registry.fkp import forward_fkp_decisions
from registry.service.models import StoredFkpDecision
from registry_support import TOKEN, RegistryServer

NOW = dt.datetime(2027, 5, 4, 4, 0, tzinfo=dt.timezone.utc)


def decision(n: int, **changes) -> FkpDecisionDoc:
    values = dict(decision_id=f"7-{n}", forum_id="7", kind="move", outcome="accepted", decided_at=NOW,
                  kabkota_code="64.72", kelurahan_code="64.72.01.1001", sls_code="64.72.01.1001.0001",
                  reason_code="breadwinner_died", family_id=100 + n, from_group=4, to_group=2,
                  record_id="0b4f7f5e-8d1c-4c1e-9d2a-000000000001", model_version="demo@1#abc",
                  forum_number=1, forum_count=1, forum_held_at=NOW - dt.timedelta(hours=2))
    values.update(changes)
    return FkpDecisionDoc(**values)


@pytest.fixture
def registry(tmp_path):
    server = RegistryServer(f"sqlite:///{tmp_path / 'registry.db'}").start()
    yield server
    server.close()


def stored(server: RegistryServer) -> dict[str, tuple[dict, int]]:
    with Session(server.engine) as session:
        return {row.key: (row.document, row.duplicates) for row in session.scalars(select(StoredFkpDecision))}


def test_a_decision_is_queued_once_by_its_id(uow_factory) -> None:
    with uow_factory() as uow:
        assert enqueue_fkp_decision(uow, decision(1))
        assert not enqueue_fkp_decision(uow, decision(1, outcome="rejected", rejection_reason="x"))
        uow.commit()
    with uow_factory() as uow:
        assert not enqueue_fkp_decision(uow, decision(1))  # a retried close, in a later transaction
        uow.commit()
        row = uow.fkp_deliveries.by_key("7-1")
        assert row.document["outcome"] == "accepted" and uow.fkp_deliveries.counts()["pending"] == 1


async def test_the_registry_stores_each_decision_once_even_when_sent_twice(uow_factory, registry) -> None:
    clock = FakeClock(NOW)
    added = decision(2, kind="add", from_group=None, to_group=3, family_id=None, record_id=None,
                     reason_code="added", added_status="moved", head_name="Daeng Matutu")
    rejected = decision(3, outcome="rejected", rejection_reason="Penghasilan belum tetap")
    with uow_factory() as uow:
        for doc in (decision(1), added, rejected):
            enqueue_fkp_decision(uow, doc)
        uow.commit()
    target = RegistryTarget(registry.url, TOKEN)
    registry.mode = "cut"  # stored, then the connection drops: Pintu never hears it and sends again
    async with make_client(target) as client:
        assert await forward_fkp_decisions(uow_factory, clock, target, client) == 0
        registry.mode = "ok"
        clock.advance(dt.timedelta(minutes=30))  # past the backoff
        assert await forward_fkp_decisions(uow_factory, clock, target, client) == 3
        assert await forward_fkp_decisions(uow_factory, clock, target, client) == 0  # nothing left
    held = stored(registry)
    assert set(held) == {"7-1", "7-2", "7-3"}
    assert all(duplicates == 1 for _, duplicates in held.values())  # the resend stored nothing new
    assert held["7-2"][0]["family"] == {"family_id": None, "record_id": None, "head_name": "Daeng Matutu",
                                        "added_status": "moved"}
    assert held["7-3"][0]["rejection_reason"] == "Penghasilan belum tetap"
    assert held["7-1"][0]["family"]["head_name"] is None  # a move names no one: the record says who
    with uow_factory() as uow:
        assert uow.fkp_deliveries.counts()["delivered"] == 3


async def test_a_different_document_under_a_held_id_is_refused_and_parked(uow_factory, registry):
    clock = FakeClock(NOW)
    target = RegistryTarget(registry.url, TOKEN)
    with uow_factory() as uow:
        enqueue_fkp_decision(uow, decision(1))
        uow.commit()
    async with make_client(target) as client:
        assert await forward_fkp_decisions(uow_factory, clock, target, client) == 1
    # another Pintu database (a restore from an old backup) reuses the id for another decision
    with uow_factory() as uow:
        row = uow.fkp_deliveries.by_key("7-1")
        row.decision_key, row.status = "7-1-old", "delivered"
        enqueue_fkp_decision(uow, decision(1, to_group=1))
        uow.commit()
    async with make_client(target) as client:
        assert await forward_fkp_decisions(uow_factory, clock, target, client) == 0
    with uow_factory() as uow:
        parked = uow.fkp_deliveries.by_key("7-1")
        assert parked.status == "parked" and "409" in parked.last_error
    assert stored(registry)["7-1"][0]["to_group"] == 2


def test_a_bad_decision_is_refused_before_it_is_queued() -> None:
    with pytest.raises(ValueError, match="a move needs from_group and to_group"):
        decision(1, from_group=None)
    with pytest.raises(ValueError, match="to_group 5"):
        decision(1, to_group=5)
