"""Logs as operators get them (PINTU_LOG_FORMAT=json): one JSON object per line with time, level, logger,
message and context ids, and no personal data anywhere, even at DEBUG, through a whole booking, the
outbox, and registry deliveries (one refused by the registry, one failing with a personal value in
its exception)."""
from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
import logging

import pytest
from sqlalchemy import select

from bot.config import Settings
from bot.logging_setup import configure_logging
from bot.wiring import build
from domain.clock import FakeClock
from domain.invites import InviteKind, make_invite
from handlers.screens import unstamp
from chat.events import Incoming, Sender
from chat.keyboard import Keyboard
from domain.model import Appointment, Family
from registry.client import RegistryTarget
from registry.worker import ForwardPolicy, RegistryWorker
from registry_support import PERSONAL_NAME, TOKEN, RegistryServer, make_completed
from storage.db import create_schema
from storage.seed import seed_demo

MONDAY_8_WITA = dt.datetime(2026, 11, 23, 0, 0, tzinfo=dt.timezone.utc)
NAME, KK, PHONE = "Wulan Kartikasari", "6472010101205555", "081234567890"
LATITUDE, LONGITUDE = "-0.551234", "117.150031"  # a GPS fix's precision


@pytest.fixture
def json_log():
    """Everything logged, at DEBUG, as JSON lines into a buffer; the previous logging restored after."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    quiet = {name: logging.getLogger(name).level for name in ("httpx", "httpcore", "apscheduler", "aiogram",
                                                                "telegram", "sqlalchemy")}
    buffer = io.StringIO()
    configure_logging("DEBUG", "json", stream=buffer)
    try:
        yield buffer
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        for name, level in quiet.items():
            logging.getLogger(name).setLevel(level)


def book_a_visit(pintu) -> None:
    """A resident registers a family (name, KK) and books the first free time, through the handlers."""
    sender = Sender(5551, NAME.split()[0], "id")
    update = iter(range(1, 100))
    last: dict = {}

    def act(**what) -> None:
        actions = pintu.handlers.handle(Incoming(sender=sender, chat_id=5551, update_id=next(update), **what))
        for action in actions:
            if isinstance(getattr(action, "markup", None), Keyboard):
                last["buttons"] = [unstamp(b.data)[0] for b in action.markup.buttons if b.data]
                last["message"] = getattr(action, "message_id", None) or last.get("message", 1)

    def press(prefix: str) -> None:
        data = next(b for b in last["buttons"] if b.startswith(prefix))
        act(callback_id=f"cb{data}", callback_data=data, message_id=last.get("message") or 1)

    with pintu.uow() as uow:  # the family is on the RT's list, and the resident opens the RT's invite
        sls = uow.areas.by_code("64.72.01.1001.0001")
        uow.families.add(Family(sls_id=sls.id, head_name=NAME, kk_number=KK, members=4, created_at=MONDAY_8_WITA))
        uow.commit()
    act(text="/start " + make_invite("s", InviteKind.RESIDENT, sls.id, MONDAY_8_WITA + dt.timedelta(days=7)))
    press("cs:y")
    act(text=NAME)
    act(text=KK)
    press("mb:4")
    act(text="Jl. Mawar No. 12")
    act(text="Lewati")
    press("dy:")
    press("tm:")
    press("ok:yes")
    with pintu.uow() as uow:
        family = uow.session.scalar(select(Family).where(Family.kk_number == KK))
        assert family.head_name == NAME
        assert uow.session.scalar(select(Appointment).where(Appointment.family_id == family.id)).status == "booked"


async def test_json_logs_carry_ids_and_no_personal_data(json_log, tmp_path):
    pintu = build(Settings(database_url=f"sqlite:///{tmp_path / 'pintu.db'}", invite_secret="s"),
                  clock=FakeClock(MONDAY_8_WITA))
    create_schema(pintu.engine)
    with pintu.uow() as uow:
        seed_demo(uow, MONDAY_8_WITA)
        uow.commit()
    book_a_visit(pintu)
    # A redelivered update (its id already applied) is dropped, and the log line names the update.
    pintu.handlers.handle(Incoming(sender=Sender(5551, "Wulan", "id"), chat_id=5551, update_id=1, text="/janji"))

    server = RegistryServer(f"sqlite:///{tmp_path / 'registry.db'}").start()
    try:
        sent = make_completed(pintu.uow, MONDAY_8_WITA, 2, media_dir=tmp_path, photos=1)
        refused = make_completed(pintu.uow, MONDAY_8_WITA, 1, kk="12345")  # the registry answers 422: parked
        worker = RegistryWorker(pintu.uow, pintu.clock, RegistryTarget(server.url, TOKEN), media_dir=tmp_path,
                                policy=ForwardPolicy(batch=10, concurrency=2))
        report = await worker.run_once()
        await worker.aclose()
        assert (report.delivered, report.parked) == (2, 1)
    finally:
        server.close()
    # An error whose message holds personal data, as a database error repeats its statement's parameters.
    try:
        raise ValueError(f"INSERT failed [parameters: ({NAME!r}, {KK!r}, {PHONE!r}, {LATITUDE}, {LONGITUDE})]")
    except ValueError:
        logging.getLogger("pintu.test").exception("storing a family failed", extra={"record_id": sent[0],
                                                                                     "head_name": NAME})
    # A careless line (names cannot be recognised by a pattern; the code keeps them out): numbers are caught.
    logging.getLogger("pintu.test").warning("a careless line: %s %s at %s,%s", KK, PHONE, LATITUDE, LONGITUDE)
    pintu.engine.dispose()

    lines = json_log.getvalue().splitlines()
    assert len(lines) >= 5
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    for entry in entries:
        assert {"time", "level", "logger", "message"} <= set(entry) and entry["time"].endswith("Z")
    text = json_log.getvalue()
    for personal in (NAME, *NAME.split(), PERSONAL_NAME, *PERSONAL_NAME.split(), KK, "12345", PHONE, LATITUDE,
                     LONGITUDE, "117.15", "Melati"):
        assert personal not in text, f"{personal!r} appears in the logs"
    by_record = {e.get("record_id") for e in entries}
    assert set(sent) | set(refused) <= by_record  # deliveries and the parked record are traceable by id
    parked = next(e for e in entries if e.get("record_id") == refused[0] and e["level"] == "WARNING")
    assert "parked" in parked["message"] and "delivery_id" in parked
    failure = next(e for e in entries if e["message"] == "storing a family failed")
    assert failure["exc_type"] == "ValueError" and failure["stack"] and "head_name" not in failure
    assert any(e["logger"] == "handlers.app" and e.get("update_id") == 1 for e in entries)


def test_text_format_redacts_tracebacks_too(tmp_path):
    buffer = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    configure_logging("INFO", "text", stream=buffer)
    try:
        try:
            raise RuntimeError(f"KK {KK}, phone {PHONE}, at {LATITUDE},{LONGITUDE}")
        except RuntimeError:
            logging.getLogger("pintu.test").exception("failed for %s", KK)
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    text = buffer.getvalue()
    assert "RuntimeError" in text and "failed for [id-number]" in text
    assert KK not in text and PHONE not in text and LATITUDE not in text


def test_the_format_is_chosen_by_pintu_log_format():
    assert Settings.from_env({}).log_format == "text"
    assert Settings.from_env({"PINTU_LOG_FORMAT": "JSON"}).log_format == "json"
    with pytest.raises(ValueError):
        Settings.from_env({"PINTU_LOG_FORMAT": "xml"})


def test_a_database_error_does_not_quote_the_values_it_was_given(uow_factory):
    """An error's text ends up in logs and error reports; the statement's values (a KK number here) must not."""
    from sqlalchemy.exc import IntegrityError

    from domain.clock import FakeClock as Clock
    from registry_support import make_family, make_sls

    now = Clock(dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.timezone.utc)).now()
    with uow_factory() as uow:
        sls_id, _ = make_sls(uow)
        family_id = make_family(uow, sls_id, now)
        uow.commit()
    with uow_factory() as uow:
        kk = uow.families.get(family_id).kk_number
        uow.session.add(Family(sls_id=sls_id, head_name=PERSONAL_NAME, kk_number=kk, members=2, created_at=now))
        with pytest.raises(IntegrityError) as raised:
            uow.flush()
    # The statement's values are not quoted (the name is only among them)...
    assert PERSONAL_NAME not in str(raised.value) and "hidden due to hide_parameters" in str(raised.value)
    # ...but PostgreSQL's own detail names the duplicate key, so the log filter must catch that one.
    buffer = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    configure_logging("INFO", "text", stream=buffer)
    try:
        logging.getLogger("pintu.test").error("saving failed: %s", raised.value)
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    assert "saving failed" in buffer.getvalue() and kk not in buffer.getvalue()
