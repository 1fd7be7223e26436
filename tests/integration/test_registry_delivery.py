"""Forwarding completed records to the reference registry, started for real on loopback, under faults.

Every test ends with the same check: every completed record is in the registry exactly once by key,
and its delivery row says delivered.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging

import httpx

import pytest
from sqlalchemy import select

from domain.model import RecordDelivery
from domain.records import correct_record
from registry.client import RegistryTarget
from registry.service.models import StoredPhoto, StoredRecord
from registry.status import delivery_status, format_status
from registry.worker import ForwardPolicy, RegistryWorker
from registry_support import PERSONAL_NAME, READ_TOKEN, TOKEN, RegistryServer, free_port, make_completed
from storage.db import make_session_factory

POLICY = ForwardPolicy(batch=50, concurrency=8, backoff_base=2.0, backoff_cap=60.0)


@pytest.fixture
def server(tmp_path):
    srv = RegistryServer(f"sqlite:///{tmp_path / 'registry.db'}").start()
    yield srv
    srv.close()


def worker_for(uow_factory, clock, url, tmp_path, *, timeout=5.0, policy=POLICY, token=TOKEN):
    # The connection gets its own, generous timeout: a loaded machine may be slow to connect even on
    # loopback, and only the answer's timeout is under test.
    return RegistryWorker(uow_factory, clock, RegistryTarget(url, token, "json", timeout, connect_timeout=10.0),
                          media_dir=tmp_path, policy=policy)


async def drain_all(worker, clock, rounds=20):
    """Run, moving the fake clock past every backoff, until nothing is pending."""
    for _ in range(rounds):
        await worker.drain()
        with worker.uow_factory() as uow:
            if uow.deliveries.counts()["pending"] == 0:
                return
        clock.advance(dt.timedelta(seconds=POLICY.backoff_cap + 1))
    raise AssertionError("records still pending")


def assert_exactly_once(uow_factory, server, ids):
    keys = server.keys()
    assert set(keys) == set(ids)  # each key once (primary key), none missing, none extra
    with uow_factory() as uow:
        rows = uow.session.scalars(select(RecordDelivery)).all()
        assert {r.record_id for r in rows} == set(ids)
        assert {r.status for r in rows} == {"delivered"}
    return keys


async def test_completed_records_with_photos_are_delivered_and_checked(uow_factory, fake_clock, server, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    ids = make_completed(uow_factory, fake_clock.now(), 5, media_dir=tmp_path, photos=2)
    worker = worker_for(uow_factory, fake_clock, server.url, tmp_path)
    report = await worker.run_once()
    await worker.aclose()
    assert report.delivered == 5
    keys = assert_exactly_once(uow_factory, server, ids)
    assert set(keys.values()) == {0}
    with make_session_factory(server.engine)() as session:
        stored = session.get(StoredRecord, ids[0])
        assert stored.document["family"]["head_name"] == PERSONAL_NAME
        assert stored.document["area"]["sls"].endswith(".0001") and stored.document["geotag"]["source"] == "gps"
        photos = session.scalars(select(StoredPhoto)).all()
        assert len(photos) == 10 and all(hashlib.sha256(p.content).hexdigest() == p.sha256 for p in photos)
    # No personal data in the logs (the family head's name, the KK number, the address).
    assert PERSONAL_NAME not in caplog.text and "Melati" not in caplog.text
    assert stored.document["family"]["kk_number"] not in caplog.text


async def test_service_down_then_back(uow_factory, fake_clock, tmp_path):
    port = free_port()  # nothing listens: connections are refused
    ids = make_completed(uow_factory, fake_clock.now(), 6)
    worker = worker_for(uow_factory, fake_clock, f"http://127.0.0.1:{port}", tmp_path)
    report = await worker.run_once()
    assert report.retried == 6 and report.delivered == 0
    with uow_factory() as uow:
        rows = uow.session.scalars(select(RecordDelivery)).all()
        delays = [(r.next_attempt_at - fake_clock.now()).total_seconds() for r in rows]
        assert all(1.0 <= d <= 2.0 for d in delays), delays  # base 2 s, equal jitter: [1, 2]
        assert {r.last_error for r in rows} == {"ConnectError"}
        assert delivery_status(uow, fake_clock.now()).pending == 6
    server = RegistryServer(f"sqlite:///{tmp_path / 'registry.db'}", port=port).start()
    try:
        await drain_all(worker, fake_clock)
        await worker.aclose()
        assert_exactly_once(uow_factory, server, ids)
    finally:
        server.close()


async def test_answering_500_is_retried_until_delivered(uow_factory, fake_clock, server, tmp_path):
    ids = make_completed(uow_factory, fake_clock.now(), 4)
    worker = worker_for(uow_factory, fake_clock, server.url, tmp_path)
    server.mode = "500"
    for _ in range(3):
        assert (await worker.run_once()).retried in (0, 4)
        fake_clock.advance(dt.timedelta(seconds=61))
    with uow_factory() as uow:
        assert {r.attempts for r in uow.session.scalars(select(RecordDelivery))} == {3}
    server.mode = "ok"
    await drain_all(worker, fake_clock)
    await worker.aclose()
    assert_exactly_once(uow_factory, server, ids)


async def test_slow_answers_past_the_timeout_are_resent_and_deduplicated(uow_factory, fake_clock, server, tmp_path):
    ids = make_completed(uow_factory, fake_clock.now(), 3)
    worker = worker_for(uow_factory, fake_clock, server.url, tmp_path, timeout=0.3)
    server.mode, server.delay = "slow", 0.8
    report = await worker.run_once()
    assert report.retried == 3 and set(report.reasons) == {"ReadTimeout"}
    for _ in range(100):  # the registry finishes storing what the client gave up on
        if len(server.keys()) == 3:
            break
        await asyncio.sleep(0.1)
    server.mode = "ok"
    fake_clock.advance(dt.timedelta(seconds=61))
    await drain_all(worker, fake_clock)
    await worker.aclose()
    keys = assert_exactly_once(uow_factory, server, ids)
    assert sum(keys.values()) == 3  # every resend was recognised by its key


async def test_connection_cut_mid_request_is_resent_and_deduplicated(uow_factory, fake_clock, server, tmp_path):
    ids = make_completed(uow_factory, fake_clock.now(), 10)
    worker = worker_for(uow_factory, fake_clock, server.url, tmp_path)
    server.mode = "cut_odd"
    await drain_all(worker, fake_clock, rounds=40)
    await worker.aclose()
    keys = assert_exactly_once(uow_factory, server, ids)
    assert sum(keys.values()) >= 1


async def test_a_4xx_no_retry_can_fix_parks_the_record_with_its_reason(uow_factory, fake_clock, server, tmp_path, capsys):
    good = make_completed(uow_factory, fake_clock.now(), 2)
    bad = make_completed(uow_factory, fake_clock.now(), 1, kk="12345")  # not 16 digits: the schema says 422
    worker = worker_for(uow_factory, fake_clock, server.url, tmp_path)
    report = await worker.run_once()
    await worker.aclose()
    assert (report.delivered, report.parked) == (2, 1)
    with uow_factory() as uow:
        status = delivery_status(uow, fake_clock.now())
        assert (status.pending, status.delivered, status.parked) == (0, 2, 1)
        (record_id, reason, attempts), = status.parked_rows
        assert record_id == bad[0] and reason.startswith("HTTP 422") and "/family/kk_number" in reason
        assert "12345" not in reason  # the reason names the field, not its value
        text = format_status(status)
        assert "parked     1" in text and bad[0] in text
    assert set(server.keys()) == set(good)


async def test_wrong_token_is_retried_not_parked_and_reported_as_a_setting(uow_factory, fake_clock, server, tmp_path):
    make_completed(uow_factory, fake_clock.now(), 1)
    worker = worker_for(uow_factory, fake_clock, server.url, tmp_path, token="wrong")
    report = await worker.run_once()
    await worker.aclose()
    assert report.retried == 1 and list(report.reasons) == ["setting: HTTP 401: unauthorized"]
    with uow_factory() as uow:
        assert "SETTING TO FIX" in format_status(delivery_status(uow, fake_clock.now()))


async def test_the_write_token_cannot_read_records_back(uow_factory, fake_clock, server, tmp_path):
    rid, = make_completed(uow_factory, fake_clock.now(), 1)
    worker = worker_for(uow_factory, fake_clock, server.url, tmp_path)
    assert (await worker.run_once()).delivered == 1
    await worker.aclose()
    async with httpx.AsyncClient() as http:
        as_writer = await http.get(f"{server.url}/v1/records/{rid}", headers={"Authorization": f"Bearer {TOKEN}"})
        as_reader = await http.get(f"{server.url}/v1/records/{rid}", headers={"Authorization": f"Bearer {READ_TOKEN}"})
        write_as_reader = await http.post(f"{server.url}/v1/records", headers={"Authorization": f"Bearer {READ_TOKEN}",
                                                                               "Idempotency-Key": rid}, json={})
    assert as_writer.status_code == 401 and write_as_reader.status_code == 401
    assert as_reader.status_code == 200 and as_reader.json()["key"] == rid


async def test_a_correction_after_delivery_names_the_version_it_replaces(uow_factory, fake_clock, server, tmp_path):
    first, = make_completed(uow_factory, fake_clock.now(), 1)
    worker = worker_for(uow_factory, fake_clock, server.url, tmp_path)
    await worker.run_once()
    fake_clock.advance(dt.timedelta(hours=2))
    with uow_factory() as uow:
        second = correct_record(uow, first, {"jumlah_art": 5}, fake_clock.now()).id
        uow.commit()
    await worker.run_once()
    await worker.aclose()
    assert_exactly_once(uow_factory, server, [first, second])
    with make_session_factory(server.engine)() as session:
        stored = session.get(StoredRecord, second)
        assert (stored.version, stored.replaces, stored.document["answers"]) == (2, first, {"jumlah_art": 5})


async def test_two_workers_share_the_queue_without_sending_twice(uow_factory, fake_clock, server, tmp_path):
    ids = make_completed(uow_factory, fake_clock.now(), 30)
    policy = ForwardPolicy(batch=10, concurrency=4)
    workers = [worker_for(uow_factory, fake_clock, server.url, tmp_path, policy=policy) for _ in range(2)]
    await asyncio.gather(*(w.drain() for w in workers))
    for w in workers:
        await w.aclose()
    keys = assert_exactly_once(uow_factory, server, ids)
    assert sum(keys.values()) == 0  # leases kept the workers apart: nothing was even sent twice


async def test_families_show_their_newest_version_as_delivered_waiting_or_held(uow_factory, fake_clock, server, tmp_path):
    from chat.i18n import Translator
    from handlers.registry_status import delivery_label
    from registry.status import delivery_status_for_families
    from domain.model import Record

    sent = make_completed(uow_factory, fake_clock.now(), 2)
    refused = make_completed(uow_factory, fake_clock.now(), 1, kk="12345")  # the registry answers 422
    worker = worker_for(uow_factory, fake_clock, server.url, tmp_path)
    await worker.run_once()
    with uow_factory() as uow:
        corrected = correct_record(uow, sent[1], {"jumlah_art": 5}, fake_clock.now()).id  # queued, not yet sent
        uow.commit()
        family = {rid: uow.records.get(rid).family_id for rid in sent + refused}
        no_record = uow.session.get(Record, sent[0]).family_id + 10_000
        shown = delivery_status_for_families(uow, list(family.values()) + [no_record])
    await worker.aclose()
    assert shown[family[sent[0]]].status == "delivered" and shown[family[sent[0]]].delivered_at == fake_clock.now()
    assert (shown[family[sent[1]]].record_id, shown[family[sent[1]]].version) == (corrected, 2)
    assert shown[family[sent[1]]].status == "pending"  # the correction, not the delivered first version
    assert shown[family[refused[0]]].status == "parked"
    assert no_record not in shown
    t = Translator("id")
    assert delivery_label(t, shown[family[sent[0]]]) == "terkirim ke registri pusat"
    assert delivery_label(t, None) == ""


async def test_an_outage_costs_one_probe_per_run_and_recovery_drains_at_once(uow_factory, fake_clock, tmp_path):
    port = free_port()  # nothing listens
    ids = make_completed(uow_factory, fake_clock.now(), 40)
    policy = ForwardPolicy(batch=20, concurrency=1, probe_cap=30.0)
    worker = worker_for(uow_factory, fake_clock, f"http://127.0.0.1:{port}", tmp_path, policy=policy)
    first = await worker.run_once()
    assert first.retried == 1 and first.released == 19  # the first refusal hands the rest of the batch back
    assert worker.unreachable and worker.probe_at > fake_clock.now()
    assert (await worker.run_once()).claimed == 0  # before the next probe is due: nothing is even claimed
    for _ in range(5):  # an hour-long outage in short: one probe per run, never a batch
        fake_clock.advance(dt.timedelta(seconds=31))
        report = await worker.drain()
        assert (report.claimed, report.retried) == (1, 1)
    with uow_factory() as uow:
        attempts = sorted(r.attempts for r in uow.session.scalars(select(RecordDelivery)))
    assert sum(attempts) == 6 and attempts[-1] == 1  # six failed attempts in all, each on its own row
    server = RegistryServer(f"sqlite:///{tmp_path / 'registry.db'}", port=port).start()
    try:
        fake_clock.advance(dt.timedelta(seconds=31))
        report = await worker.drain()  # the probe reaches it: the circuit closes and everything goes now
        await worker.aclose()
        assert report.delivered == 40 and not worker.unreachable
        assert_exactly_once(uow_factory, server, ids)
    finally:
        server.close()


def test_tls_certificates_are_verified_by_default():
    import ssl

    from registry.client import make_client

    client = make_client(RegistryTarget("https://registry.example"))
    context = client._transport._pool._ssl_context  # httpx keeps it on the connection pool
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname


def test_completing_queues_the_record_in_the_same_transaction(uow_factory, fake_clock):
    from domain.records import complete_record, start_record
    from registry_support import make_family, make_sls

    with uow_factory() as uow:
        sls_id, enumerator_id = make_sls(uow)
        family_id = make_family(uow, sls_id, fake_clock.now())
        record_id = start_record(uow, family_id, "regsosek", "2026.1", fake_clock.now(), enumerator_id=enumerator_id).id
        uow.commit()
    with uow_factory() as uow:  # completed, then the caller's transaction fails: nothing is queued
        complete_record(uow, record_id, fake_clock.now())
        assert len(uow.deliveries.for_record(record_id)) == 1
        uow.rollback()
    with uow_factory() as uow:
        assert uow.records.get(record_id).status == "draft" and not uow.deliveries.for_record(record_id)
        complete_record(uow, record_id, fake_clock.now())
        uow.commit()
    with uow_factory() as uow:
        (row,) = uow.deliveries.for_record(record_id)
        assert (row.status, row.target, row.next_attempt_at) == ("pending", "registry", fake_clock.now())
        assert uow.records.get(record_id).status == "completed"


async def test_the_reference_registry_stores_each_key_once_under_concurrent_resends(server):
    import json
    import uuid
    from collections import Counter

    import httpx

    def document(record_id: str) -> dict:
        return {
            "schema": "pintu.record/1", "record_id": record_id, "version": 1, "replaces": None,
            "form": {"id": "regsosek", "version": "2026.1"},
            "area": {"province": "64", "regency": "64.72", "district": "64.72.01", "village": "64.72.01.1001",
                     "sls": "64.72.01.1001.0001"},
            "family": {"id": 1, "kk_number": None, "head_name": "Budi", "members": 4, "address": None},
            "geotag": None, "photos": [], "answers": {"jumlah_art": 4},
            "visit": {"appointment_id": None, "enumerator_id": None, "enumerator_name": None},
            "consent": {"version": "1", "at": "2026-11-20T01:00:00Z"},
            "timestamps": {"created_at": "2026-11-23T01:00:00Z", "completed_at": "2026-11-23T02:00:00Z"},
        }

    docs = [document(str(uuid.uuid4())) for _ in range(60)]

    async def post(http, doc):
        answer = await http.post(server.url + "/v1/records", content=json.dumps(doc), headers={
            "Idempotency-Key": doc["record_id"], "Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
        return answer.status_code

    async with httpx.AsyncClient() as http:  # every record sent twice at once: they land in the same groups
        codes = await asyncio.gather(*(post(http, d) for d in docs + docs))
        changed = await post(http, dict(docs[0], answers={"jumlah_art": 9}))
    assert Counter(codes) == {201: 60, 200: 60} and changed == 409
    keys = server.keys()
    assert set(keys) == {d["record_id"] for d in docs} and sum(keys.values()) == 60
