"""OpenRosa submissions to the reference service's /submission, and the forwarding job in APScheduler."""
from __future__ import annotations

import asyncio
import io
import xml.etree.ElementTree as ET

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import select, update

from domain.model import RecordDelivery
from registry.client import RegistryTarget
from registry.openrosa import FormLibrary
from registry.service.models import StoredSubmission
from registry.worker import ForwardPolicy, RegistryWorker
from registry_support import TOKEN, RegistryServer, make_completed, xlsform
from scheduling.registry_jobs import start_registry_jobs, stop_registry_jobs
from storage.db import make_session_factory


@pytest.fixture
def server(tmp_path):
    srv = RegistryServer(f"sqlite:///{tmp_path / 'registry.db'}").start()
    yield srv
    srv.close()


async def test_openrosa_submission_with_photos_then_an_identical_resend_is_delivered_once_a_different_one_parked(sqlite_engine, tmp_path, server, fake_clock):
    from storage.uow import SqlUnitOfWork

    factory = make_session_factory(sqlite_engine)
    uow_factory = lambda: SqlUnitOfWork(factory)  # noqa: E731
    ids = make_completed(uow_factory, fake_clock.now(), 2, media_dir=tmp_path, photos=1)
    with uow_factory() as uow:  # the photo answers the form's image question, as field capture records it
        for rid in ids:
            record = uow.records.get(rid)
            record.answers = {**record.answers, "foto_rumah": uow.records.photos(rid)[0].path}
        uow.commit()
    forms = FormLibrary()
    forms.add_xlsform(io.BytesIO(xlsform()))
    worker = RegistryWorker(uow_factory, fake_clock, RegistryTarget(server.url + "/submission", TOKEN, "openrosa"),
                            media_dir=tmp_path, forms=forms)
    assert (await worker.run_once()).delivered == 2
    # Pretend the acknowledgement was lost: send again; the identical resend is accepted (201, as ODK Central
    # answers it), still one copy in the registry.
    with uow_factory() as uow:
        uow.session.execute(update(RecordDelivery).values(status="pending", delivered_at=None))
        uow.commit()
    report = await worker.run_once()
    assert report.delivered == 2 and report.reasons == {"201": 2}
    with make_session_factory(server.engine)() as session:
        rows = session.scalars(select(StoredSubmission)).all()
        assert sorted(r.instance_id for r in rows) == sorted(f"uuid:{i}" for i in ids)
        assert all(r.duplicates == 1 and len(r.attachments) == 1 for r in rows)
        for row in rows:  # well-formed, of the form, its instanceID, and the media part named as in the XML
            root = ET.fromstring(row.xml)
            assert (root.tag, root.get("id"), root.get("version")) == (forms.template("regsosek").tag, "regsosek", "2026.1")
            assert root.findtext("meta/instanceID") == row.instance_id
            assert root.findtext("anggota/nama") == "A" and root.findtext("jumlah_art") == "4"
            assert list(row.attachments) == [root.findtext("rumah/foto_rumah")]
            assert {child.tag for child in root} <= {c.tag for c in forms.template("regsosek")}  # nothing foreign
    # The registry holds one of them with other XML under the same instanceID: a conflict, parked with
    # that reason, never counted as delivered.
    with make_session_factory(server.engine)() as session:
        session.execute(update(StoredSubmission).where(StoredSubmission.instance_id == f"uuid:{ids[0]}")
                        .values(xml="<other/>"))
        session.commit()
    with uow_factory() as uow:
        uow.session.execute(update(RecordDelivery).values(status="pending", delivered_at=None))
        uow.commit()
    report = await worker.run_once()
    await worker.aclose()
    assert (report.delivered, report.parked) == (1, 1)
    assert any("different XML" in reason for reason in report.reasons)


async def test_a_media_field_naming_a_file_the_record_lacks_parks_it(sqlite_engine, tmp_path, server, fake_clock):
    from storage.uow import SqlUnitOfWork

    factory = make_session_factory(sqlite_engine)
    uow_factory = lambda: SqlUnitOfWork(factory)  # noqa: E731
    ids = make_completed(uow_factory, fake_clock.now(), 1, media_dir=tmp_path, photos=1)
    with uow_factory() as uow:
        record = uow.records.get(ids[0])
        record.answers = {**record.answers, "foto_rumah": "somebody-elses.jpg"}
        uow.commit()
    forms = FormLibrary()
    forms.add_xlsform(io.BytesIO(xlsform()))
    worker = RegistryWorker(uow_factory, fake_clock, RegistryTarget(server.url + "/submission", TOKEN, "openrosa"),
                            media_dir=tmp_path, forms=forms)
    report = await worker.run_once()
    await worker.aclose()
    assert report.parked == 1 and server.requests == 0
    assert "media field rumah/foto_rumah" in next(iter(report.reasons))


async def test_the_scheduler_job_forwards_records(uow_factory, fake_clock, server, tmp_path):
    ids = make_completed(uow_factory, fake_clock.now(), 5)
    worker = RegistryWorker(uow_factory, fake_clock, RegistryTarget(server.url, TOKEN), media_dir=tmp_path,
                            policy=ForwardPolicy(batch=2))
    scheduler = AsyncIOScheduler()
    pintu = type("P", (), {"settings": None, "uow": uow_factory, "clock": fake_clock})()
    assert start_registry_jobs(scheduler, pintu, worker=worker, interval=0.05) is worker
    scheduler.start()
    try:
        for _ in range(100):
            await asyncio.sleep(0.05)
            if len(server.keys()) == 5:
                break
    finally:
        await stop_registry_jobs(scheduler, worker)
        scheduler.shutdown(wait=False)
    assert set(server.keys()) == set(ids)
