"""A resident's erasure of records the registry already has is forwarded to it as its own document
(registry/erasure.py) through the delivery queue; the reference registry deletes its copy, and the
request is closed with a message to the resident (SQLite and PostgreSQL)."""
from __future__ import annotations

import datetime as dt

import pytest

from domain.clock import FakeClock
from domain.model import OutboxMessage, PrivacyRequest
from domain.privacy import ERASURE_TARGET, erase_person
from registry.client import RegistryTarget, make_client
from registry.erasure import forward_erasures
from registry.worker import RegistryWorker
from registry_support import TOKEN, RegistryServer, make_completed
from sqlalchemy import select

NOW = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def registry(tmp_path):
    server = RegistryServer(f"sqlite:///{tmp_path / 'registry.db'}").start()
    yield server
    server.close()


async def test_an_erasure_reaches_the_registry_which_deletes_its_copy(uow_factory, registry, tmp_path):
    clock = FakeClock(NOW)
    target = RegistryTarget(registry.url, TOKEN)
    ids = make_completed(uow_factory, NOW, 2)
    worker = RegistryWorker(uow_factory, clock, target, media_dir=tmp_path)
    await worker.drain(max_seconds=20)
    await worker.aclose()
    assert set(registry.keys()) == set(ids)
    with uow_factory() as uow:
        family_id = uow.records.get(ids[0]).family_id
        user = uow.users.residents_of_family(family_id)[0]  # the family's resident, on Pintu
        telegram_id = user.telegram_id
        erase_person(uow, user, tmp_path, NOW)
        uow.commit()

    async with make_client(target) as client:
        assert await forward_erasures(uow_factory, clock, target, client) == 1
        assert await forward_erasures(uow_factory, clock, target, client) == 0  # nothing more to send
    assert set(registry.keys()) == {ids[1]}  # the other family's record is untouched
    with uow_factory() as uow:
        assert [d.status for d in uow.deliveries.for_record(ids[0]) if d.target == ERASURE_TARGET] == ["delivered"]
        request = uow.session.scalar(select(PrivacyRequest))
        assert request.status == "done" and request.closed_at == NOW
        told = uow.session.scalar(select(OutboxMessage).where(OutboxMessage.chat_id == telegram_id))
        assert told.kind == "privacy-done"
        # the erasure is in the audit log (who, which family, when; never what was erased)
        [entry] = [e for e in uow.audit.entries(family_id=family_id) if e.action == "erasure"]
        assert entry.at == NOW and entry.actor_role == "resident"


async def test_an_openrosa_registry_gets_no_erasure_and_the_row_is_parked_for_the_operator(uow_factory, tmp_path):
    clock = FakeClock(NOW)
    ids = make_completed(uow_factory, NOW, 1)
    with uow_factory() as uow:
        row = uow.deliveries.for_record(ids[0])[0]
        row.status, row.delivered_at = "delivered", NOW
        user = uow.users.residents_of_family(uow.records.get(ids[0]).family_id)[0]
        erase_person(uow, user, tmp_path, NOW)
        uow.commit()
    target = RegistryTarget("http://127.0.0.1:9/submission", TOKEN, "openrosa")
    async with make_client(target) as client:
        assert await forward_erasures(uow_factory, clock, target, client) == 0
    with uow_factory() as uow:
        erasure = [d for d in uow.deliveries.for_record(ids[0]) if d.target == ERASURE_TARGET][0]
        assert erasure.status == "parked" and "by hand" in erasure.last_error
        assert uow.session.scalar(select(PrivacyRequest.status)) == "open"
