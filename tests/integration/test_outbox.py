"""The outbox end to end, on SQLite and PostgreSQL: claiming with leases, rendering for the recipient,
sending through the rate limiter to a fake Telegram that refuses in every way, and recording outcomes.

The world: the demo kelurahan (Rawa Makmur, Samarinda, WITA), enumerators Rina (English) and Agus
(Indonesian) on Telegram, a clock standing still on Monday 23 November 2026, 08.00 WITA.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import threading
from collections import defaultdict, deque
from dataclasses import dataclass
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, select, update

from bot.config import Settings
from chat.client import ApiClient, Sent, TelegramRefused
from domain.booking import BookingRules, book_visit, cancel_visit, family_free_slots, move_visit
from domain.clock import FakeClock
from chat.events import SendMessage
from domain.model import Family, OutboxMessage, User
from handlers.notifications import NotRendered, Notification, render_outbox
from scheduling.dispatcher import DispatchPolicy, OutboxDispatcher
from chat.ratelimit import RateLimiter
from scheduling.scheduler import JOB_ID, start_scheduler
from storage.db import make_engine, make_session_factory
from storage.seed import seed_demo
from storage.tables import metadata
from storage.uow import SqlUnitOfWork

WITA = ZoneInfo("Asia/Makassar")
NOW = dt.datetime(2026, 11, 23, 0, 0, tzinfo=dt.timezone.utc)  # Monday 08.00 WITA
VISIT = dt.datetime(2026, 11, 24, 1, 30, tzinfo=dt.timezone.utc)  # Tuesday 09.30 WITA
RINA_CHAT, AGUS_CHAT, STRANGER_CHAT, GROUP_CHAT = 5001, 5002, 5999, -100777


# --- fakes ---------------------------------------------------------------------------------------

class FakeTelegram(ApiClient):
    """Records every send; per chat, a script of what to answer next (an exception, "hang", or ok)."""

    def __init__(self, delay: float = 0.0) -> None:
        self.script: dict[int, deque] = defaultdict(deque)
        self.calls: list[SendMessage] = []
        self.delivered: list[SendMessage] = []
        self.delay = delay
        self._lock = threading.Lock()  # shared by dispatchers running in two threads

    def answer(self, chat_id: int, *answers) -> "FakeTelegram":
        self.script[chat_id].extend(answers)
        return self

    async def send_message(self, action: SendMessage) -> Sent:
        with self._lock:
            self.calls.append(action)
            answer = self.script[action.chat_id].popleft() if self.script[action.chat_id] else None
        if self.delay:
            await asyncio.sleep(self.delay)
        if answer == "hang":
            await asyncio.Event().wait()
        if isinstance(answer, BaseException):
            raise answer
        with self._lock:
            self.delivered.append(action)
            return Sent(len(self.delivered))

    async def edit_message(self, action):  # pragma: no cover - the dispatcher never edits
        raise NotImplementedError

    async def answer_callback(self, action):  # pragma: no cover
        raise NotImplementedError

    def texts_to(self, chat_id: int) -> list[str]:
        return [m.text for m in self.delivered if m.chat_id == chat_id]


class InstantTime:
    """Monotonic time for the limiter whose sleep returns at once, moving time on: no real waiting."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)


def retry_after(seconds: float) -> TelegramRefused:
    return TelegramRefused("retry_after", "Too Many Requests: retry after", retry_after=seconds)


NETWORK = TelegramRefused("network", "Bad Gateway")


# --- the world -----------------------------------------------------------------------------------

@dataclass
class World:
    uow_factory: object
    clock: FakeClock
    family_id: int
    other_family_id: int
    rina_user_id: int
    api: FakeTelegram
    time: InstantTime
    limiter: RateLimiter

    def dispatcher(self, **policy) -> OutboxDispatcher:
        return OutboxDispatcher(self.uow_factory, self.clock, self.api, self.limiter,
                                DispatchPolicy(**policy), random_fraction=lambda: 1.0)

    def queue(self, chat_id: int, kind: str = "visit-new", *, family_id: int | None = None, start=VISIT,
              old_start=None, due_at=None, **payload) -> int:
        with self.uow_factory() as uow:
            body = {"appointment_id": None, "family_id": family_id or self.family_id,
                    "start": start.isoformat() if start else None,
                    "old_start": old_start.isoformat() if old_start else None, **payload}
            uow.outbox.add(chat_id, kind, body, due_at=due_at or self.clock.now(), now=self.clock.now())
            uow.commit()
        return self.last_id()

    def last_id(self) -> int:
        with self.uow_factory() as uow:
            return uow.session.scalar(select(OutboxMessage.id).order_by(OutboxMessage.id.desc()).limit(1))

    def row(self, message_id: int) -> OutboxMessage:
        with self.uow_factory() as uow:
            return uow.outbox.get(message_id)

    def user(self, telegram_id: int) -> User:
        with self.uow_factory() as uow:
            return uow.users.by_telegram_id(telegram_id)

    def counts(self) -> dict[str, int]:
        with self.uow_factory() as uow:
            return uow.outbox.counts()


def add_user(uow, telegram_id: int, name: str, language: str, role: str = "enumerator", family_id=None) -> User:
    return uow.users.add(User(telegram_id=telegram_id, first_name=name, language=language, role=role,
                              family_id=family_id, consent_version="1", consent_at=NOW, created_at=NOW))


def build_world(uow_factory) -> World:
    with uow_factory() as uow:
        demo = seed_demo(uow, NOW)
        rina = add_user(uow, RINA_CHAT, "Rina", "en")
        agus = add_user(uow, AGUS_CHAT, "Agus", "id")
        rina_enumerator, agus_enumerator = (uow.enumerators.get(i) for i in demo.enumerator_ids)
        rina_enumerator.user_id, agus_enumerator.user_id = rina.id, agus.id
        families = uow.session.scalars(select(Family).where(Family.sls_id == demo.sls_ids[0]).order_by(Family.id)).all()
        uow.commit()
        rina_id = rina.id
    time = InstantTime()
    limiter = RateLimiter(30.0, 1.0, monotonic=time.monotonic, sleep=time.sleep)
    return World(uow_factory, FakeClock(NOW), families[0].id, families[1].id, rina_id, FakeTelegram(), time, limiter)


@pytest.fixture
def world(uow_factory) -> World:
    return build_world(uow_factory)


# --- schema and repository -----------------------------------------------------------------------

def test_the_migrated_schema_matches_the_models(engine: Engine):
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), metadata)
    assert differences == []


def test_claim_takes_due_pending_unleased_rows_oldest_first(world: World):
    later = world.queue(RINA_CHAT, due_at=NOW - dt.timedelta(minutes=1))
    first = world.queue(RINA_CHAT, due_at=NOW - dt.timedelta(minutes=5))
    future = world.queue(RINA_CHAT, due_at=NOW + dt.timedelta(seconds=1))
    done = world.queue(AGUS_CHAT)
    with world.uow_factory() as uow:
        uow.outbox.mark_sent(done, NOW)
        uow.commit()
    lease = dt.timedelta(minutes=5)
    with world.uow_factory() as uow:
        claimed = uow.outbox.claim_due(NOW, 10, lease)
        uow.commit()
    assert [r.id for r in claimed] == [first, later]
    assert all(r.claimed_until == NOW + lease and r.attempts == 1 for r in claimed)
    with world.uow_factory() as uow:
        assert uow.outbox.claim_due(NOW, 10, lease) == []  # leased
        assert [r.id for r in uow.outbox.claim_due(NOW + lease, 10, lease)] == [first, later, future]  # lease over


def test_settling_needs_the_current_lease(world: World):
    message = world.queue(RINA_CHAT)
    lease = dt.timedelta(minutes=5)
    with world.uow_factory() as uow:
        [first] = uow.outbox.claim_due(NOW, 1, lease)
        uow.commit()
    with world.uow_factory() as uow:  # the first claimer stalled; its lease ran out and another took it
        [second] = uow.outbox.claim_due(NOW + lease, 1, lease)
        uow.commit()
    with world.uow_factory() as uow:
        assert uow.outbox.mark_sent(message, NOW, lease=first.claimed_until) is False
        assert uow.outbox.mark_sent(message, NOW + lease, lease=second.claimed_until) is True
        uow.commit()
    row = world.row(message)
    assert (row.status, row.attempts, row.claimed_until, row.sent_at) == ("sent", 2, None, NOW + lease)


def test_counts_name_every_status(world: World):
    world.queue(RINA_CHAT)
    assert world.counts() == {"pending": 1, "sent": 0, "failed": 0, "undeliverable": 0, "skipped": 0}


@pytest.mark.postgres
def test_skip_locked_gives_a_concurrent_claimer_other_rows_at_once(pg_engine: Engine):
    factory = make_session_factory(pg_engine)
    world = build_world(lambda: SqlUnitOfWork(factory))
    ids = [world.queue(1000 + n) for n in range(10)]
    lease = dt.timedelta(minutes=5)
    with world.uow_factory() as holder:
        held = [r.id for r in holder.outbox.claim_due(NOW, 4, lease)]  # locked, not yet committed
        result: list[int] = []
        thread = threading.Thread(target=lambda: result.extend(_claim_ids(world, 4, lease)))
        thread.start()
        thread.join(timeout=10)
        assert not thread.is_alive(), "the second claimer waited for the first one's locks"
    assert held == ids[:4] and result == ids[4:8]


def _claim_ids(world: World, limit: int, lease: dt.timedelta) -> list[int]:
    with world.uow_factory() as uow:
        claimed = [r.id for r in uow.outbox.claim_due(NOW, limit, lease)]
        uow.commit()
    return claimed


# --- rendering -----------------------------------------------------------------------------------

def test_each_recipient_reads_their_own_language_in_the_familys_zone(world: World):
    for chat in (RINA_CHAT, AGUS_CHAT, STRANGER_CHAT, GROUP_CHAT):
        world.queue(chat)
    report = asyncio.run(world.dispatcher().run_once())
    assert report.sent == 4
    [english] = world.api.texts_to(RINA_CHAT)
    [indonesian] = world.api.texts_to(AGUS_CHAT)
    assert english.startswith("🆕 New visit: <b>Tuesday, 24 Nov, 09:30 WITA</b> — Ahmad Yani's family (RT 001)")
    assert indonesian.startswith("🆕 Kunjungan baru: <b>Selasa, 24 Nov, 09.30 WITA</b> — keluarga Ahmad Yani (RT 001)")
    assert world.api.texts_to(STRANGER_CHAT) == world.api.texts_to(GROUP_CHAT) == [indonesian]  # default Indonesian


def test_the_language_is_the_one_chosen_by_send_time(world: World):
    world.queue(RINA_CHAT)
    with world.uow_factory() as uow:
        uow.users.by_telegram_id(RINA_CHAT).language = "id"
        uow.commit()
    asyncio.run(world.dispatcher().run_once())
    assert world.api.texts_to(RINA_CHAT)[0].startswith("🆕 Kunjungan baru")


def test_moved_and_cancelled_texts(world: World):
    world.queue(RINA_CHAT, "visit-moved", old_start=VISIT - dt.timedelta(days=1))
    world.queue(RINA_CHAT, "visit-cancelled")
    asyncio.run(world.dispatcher().run_once())
    moved, cancelled = world.api.texts_to(RINA_CHAT)
    assert moved == "🔁 The visit to Ahmad Yani's family (RT 001) moved from Monday, 23 Nov, 09:30 WITA to <b>Tuesday, 24 Nov, 09:30 WITA</b>."
    assert cancelled == "✖ The visit on <b>Tuesday, 24 Nov, 09:30 WITA</b> — Ahmad Yani's family (RT 001) is cancelled."


def test_names_are_escaped_for_html(world: World):
    with world.uow_factory() as uow:
        uow.families.get(world.family_id).head_name = "Budi <b>&</b>"
        uow.commit()
    world.queue(AGUS_CHAT)
    asyncio.run(world.dispatcher().run_once())
    assert "keluarga Budi &lt;b&gt;&amp;&lt;/b&gt;" in world.api.texts_to(AGUS_CHAT)[0]


def test_what_no_longer_exists_is_skipped_with_its_reason(world: World):
    gone_family = world.queue(RINA_CHAT, family_id=987654)
    no_time = world.queue(RINA_CHAT, start=None, appointment_id=424242)
    unknown = world.queue(RINA_CHAT, "visit-teleported")
    report = asyncio.run(world.dispatcher().run_once())
    assert (report.skipped, world.api.calls) == (3, [])
    assert world.row(gone_family).last_error == "family 987654 no longer exists"
    assert world.row(no_time).last_error == "no visit time in payload and appointment 424242 is gone"
    assert world.row(unknown).last_error == "unknown outbox kind 'visit-teleported'"
    assert world.counts()["skipped"] == 3


def test_an_appointment_that_changed_since_is_rendered_from_the_payload(world: World):
    """The row says what was true when it was queued; a later change queues its own row."""
    with world.uow_factory() as uow:
        row = SimpleNamespace(chat_id=RINA_CHAT, kind="visit-new",
                              payload={"family_id": world.family_id, "appointment_id": 999, "start": VISIT.isoformat()})
        rendered = render_outbox(uow, row)
        malformed = render_outbox(uow, SimpleNamespace(chat_id=RINA_CHAT, kind="visit-new", payload="junk"))
    assert isinstance(rendered, Notification) and "Tuesday, 24 Nov, 09:30 WITA" in rendered.text
    assert isinstance(malformed, NotRendered)


def test_real_bookings_notify_the_enumerator_in_their_language(world: World):
    """The rows the booking rules write, sent: a new visit, a move to another day, a cancellation.

    Rina (English) is the least busy enumerator with the lowest id, so every change is hers."""
    rules = BookingRules()
    with world.uow_factory() as uow:
        resident = add_user(uow, 7001, "Wati", "id", role="resident", family_id=world.family_id)
        slots = family_free_slots(uow, uow.families.get(world.family_id), NOW, rules)
        tuesday = next(s for s in slots if s.start.astimezone(WITA).date() == dt.date(2026, 11, 24))
        wednesday = next(s for s in slots if s.start.astimezone(WITA).date() == dt.date(2026, 11, 25))
        book_visit(uow, resident, world.family_id, tuesday.start, NOW, rules)
        move_visit(uow, resident, world.family_id, wednesday.start, NOW, rules)
        cancel_visit(uow, resident, world.family_id, NOW)
        uow.commit()
    report = asyncio.run(world.dispatcher().run_once())
    assert report.sent == 3 and world.api.texts_to(AGUS_CHAT) == []
    new, moved, cancelled = world.api.texts_to(RINA_CHAT)
    assert new == "🆕 New visit: <b>Tuesday, 24 Nov, 08:00 WITA</b> — Ahmad Yani's family (RT 001)."
    assert moved == ("🔁 The visit to Ahmad Yani's family (RT 001) moved from Tuesday, 24 Nov, 08:00 WITA"
                     " to <b>Wednesday, 25 Nov, 08:00 WITA</b>.")
    assert cancelled == "✖ The visit on <b>Wednesday, 25 Nov, 08:00 WITA</b> — Ahmad Yani's family (RT 001) is cancelled."


# --- Telegram's refusals -------------------------------------------------------------------------

def test_retry_after_requeues_the_row_and_pauses_every_send(world: World):
    world.api.answer(RINA_CHAT, retry_after(7))
    message = world.queue(RINA_CHAT)
    other = world.queue(AGUS_CHAT)
    dispatcher = world.dispatcher()
    report = asyncio.run(dispatcher.run_once())
    row = world.row(message)
    assert (report.retry, report.sent) == (1, 1)
    assert (row.status, row.due_at, row.attempts, row.claimed_until) == ("pending", NOW + dt.timedelta(seconds=7), 0, None)
    assert row.last_error.startswith("retry_after")
    assert world.limiter.current_rate() < 30.0  # slower for a while
    assert world.row(other).status == "sent"
    assert asyncio.run(dispatcher.run_once()).claimed == 0  # not due yet
    world.clock.advance(dt.timedelta(seconds=7))
    asyncio.run(dispatcher.run_once())
    assert world.row(message).status == "sent" and len(world.api.texts_to(RINA_CHAT)) == 1


def test_a_429_pause_holds_back_the_following_sends(world: World):
    world.api.answer(RINA_CHAT, retry_after(30))
    world.queue(RINA_CHAT)
    for chat in range(1, 4):
        world.queue(chat)
    asyncio.run(world.dispatcher().run_once())
    assert sum(world.time.slept) >= 30  # the others waited out the pause
    assert len(world.api.delivered) == 3


def test_network_errors_back_off_exponentially_then_succeed(world: World):
    world.api.answer(RINA_CHAT, NETWORK, TelegramRefused("network", "Internal Server Error"), NETWORK)
    message = world.queue(RINA_CHAT)
    dispatcher = world.dispatcher(backoff_base=5.0)
    delays = []
    for _ in range(3):
        asyncio.run(dispatcher.run_once())
        row = world.row(message)
        assert row.status == "pending" and row.claimed_until is None
        delays.append((row.due_at - world.clock.now()).total_seconds())
        world.clock.set(row.due_at)
    assert delays == [5.0, 10.0, 20.0]  # jitter fixed at its top by the test
    asyncio.run(dispatcher.run_once())
    row = world.row(message)
    assert (row.status, row.attempts) == ("sent", 4)


def test_backoff_has_jitter_and_a_cap(world: World):
    low = OutboxDispatcher(world.uow_factory, world.clock, world.api, world.limiter,
                           DispatchPolicy(backoff_base=5.0, backoff_cap=60.0), random_fraction=lambda: 0.0)
    assert low.backoff(1) == 2.5 and low.backoff(3) == 10.0
    assert world.dispatcher(backoff_base=5.0, backoff_cap=60.0).backoff(30) == 60.0


def test_a_message_that_keeps_failing_is_failed_with_its_reason_not_dropped(world: World):
    world.api.answer(RINA_CHAT, *[NETWORK] * 3)
    message = world.queue(RINA_CHAT)
    dispatcher = world.dispatcher(max_attempts=3)
    for _ in range(3):
        asyncio.run(dispatcher.run_once())
        world.clock.advance(dt.timedelta(hours=2))
    row = world.row(message)
    assert (row.status, row.attempts) == ("failed", 3)
    assert row.last_error == "gave up after 3 attempts; last error: network: Bad Gateway"
    assert len(world.api.calls) == 3


@pytest.mark.parametrize("answer", ["hang", TimeoutError(), ConnectionResetError("peer reset"), RuntimeError("bug")])
def test_timeouts_and_unexpected_errors_are_retried(world: World, answer):
    world.api.answer(RINA_CHAT, answer)
    message = world.queue(RINA_CHAT)
    report = asyncio.run(world.dispatcher(send_timeout=0.05).run_once())
    row = world.row(message)
    assert (report.retry, row.status, row.attempts) == (1, "pending", 1)
    assert row.due_at > NOW


def test_a_blocked_user_is_undeliverable_and_marked_blocked(world: World):
    world.api.answer(RINA_CHAT, TelegramRefused("blocked", "Forbidden: bot was blocked by the user"))
    first = world.queue(RINA_CHAT)
    second = world.queue(RINA_CHAT)
    report = asyncio.run(world.dispatcher().run_once())
    assert report.undeliverable == 2 and len(world.api.calls) == 1  # the second was not even tried
    assert world.row(first).last_error == "blocked: Forbidden: bot was blocked by the user"
    assert world.row(second).status == "undeliverable"
    assert world.user(RINA_CHAT).blocked_at == NOW


def test_a_blocked_family_member_makes_the_rt_head_hear_of_it(world: World):
    with world.uow_factory() as uow:
        family = uow.families.get(world.family_id)
        head = add_user(uow, 555_000, "Pak RT", "en", role="rt_head")
        head.sls_id = family.sls_id
        name = family.head_name
        uow.commit()
    world.api.answer(RINA_CHAT, TelegramRefused("blocked", "Forbidden: bot was blocked by the user"))
    world.queue(RINA_CHAT)  # a visit notice to a family member who has blocked the bot
    assert asyncio.run(world.dispatcher().run_once()).undeliverable == 1
    assert [m.chat_id for m in world.api.delivered] == []
    report = asyncio.run(world.dispatcher().run_once())  # the note to the RT head, queued with the outcome
    assert report.sent == 1
    [note] = world.api.delivered
    assert note.chat_id == 555_000 and name in note.text and "blocked the bot" in note.text


def test_rows_to_users_already_blocked_are_not_sent(world: World):
    with world.uow_factory() as uow:
        uow.users.mark_blocked(AGUS_CHAT, NOW - dt.timedelta(days=1))
        uow.commit()
    message = world.queue(AGUS_CHAT)
    report = asyncio.run(world.dispatcher().run_once())
    assert (report.undeliverable, world.api.calls) == (1, [])
    assert world.row(message).last_error == "recipient has blocked the bot"
    assert world.user(AGUS_CHAT).blocked_at == NOW - dt.timedelta(days=1)  # unchanged


def test_bad_request_fails_at_once_and_chat_not_found_is_undeliverable(world: World):
    world.api.answer(RINA_CHAT, TelegramRefused("bad_request", "Bad Request: can't parse entities"))
    world.api.answer(STRANGER_CHAT, TelegramRefused("chat_not_found", "Bad Request: chat not found"))
    bad = world.queue(RINA_CHAT)
    gone = world.queue(STRANGER_CHAT)
    asyncio.run(world.dispatcher().run_once())
    assert (world.row(bad).status, world.row(bad).last_error) == ("failed", "bad_request: Bad Request: can't parse entities")
    assert world.row(gone).status == "undeliverable"
    assert world.user(RINA_CHAT).blocked_at is None


# --- leases, crashes and stopping ----------------------------------------------------------------

def test_a_row_claimed_by_a_dispatcher_that_died_is_sent_after_its_lease(world: World):
    """The crash window: claimed (maybe even sent), never settled; after the lease it goes (again)."""
    message = world.queue(RINA_CHAT)
    lease = dt.timedelta(minutes=5)
    with world.uow_factory() as uow:
        uow.outbox.claim_due(NOW, 10, lease)
        uow.commit()  # ...and the process dies here
    dispatcher = world.dispatcher(lease=lease)
    assert asyncio.run(dispatcher.run_once()).claimed == 0
    world.clock.advance(lease)
    assert asyncio.run(dispatcher.run_once()).sent == 1
    assert world.row(message).attempts == 2


def test_a_row_that_keeps_crashing_its_dispatcher_is_given_up(world: World):
    message = world.queue(RINA_CHAT)
    lease = dt.timedelta(minutes=1)
    for n in range(3):
        with world.uow_factory() as uow:
            uow.outbox.claim_due(NOW + n * lease, 10, lease)
            uow.commit()
    world.clock.set(NOW + 3 * lease)
    report = asyncio.run(world.dispatcher(lease=lease, lease_margin=dt.timedelta(0), max_attempts=3).run_once())
    assert report.failed == 1 and world.api.calls == []
    assert world.row(message).last_error == "claimed 4 times without a recorded outcome"


def test_sending_stops_before_the_lease_ends_and_hands_the_rest_back(world: World):
    ids = [world.queue(RINA_CHAT) for _ in range(5)]

    class SlowTelegram(FakeTelegram):
        async def send_message(self, action):
            world.clock.advance(dt.timedelta(seconds=40))  # each send takes 40 s of the 2 min lease
            return await super().send_message(action)

    world.api = SlowTelegram()
    report = asyncio.run(world.dispatcher(lease=dt.timedelta(minutes=2), lease_margin=dt.timedelta(seconds=30)).run_once())
    assert (report.sent, report.released) == (3, 2)
    rows = [world.row(i) for i in ids]
    assert [r.status for r in rows] == ["sent"] * 3 + ["pending"] * 2
    assert all(r.claimed_until is None and r.attempts == 0 for r in rows[3:])


def test_a_stopped_run_hands_back_what_it_had_not_sent(world: World):
    ids = [world.queue(RINA_CHAT) for _ in range(3)]
    gate = asyncio.Event()

    async def scenario():
        world.limiter._sleep = lambda seconds: gate.wait()  # the 2nd message waits for its turn forever
        task = asyncio.create_task(world.dispatcher().run_once())
        while not world.api.delivered:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)  # the first is recorded; the second waits for the chat's interval
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    rows = [world.row(i) for i in ids]
    assert rows[0].status == "sent"
    assert [(r.status, r.claimed_until, r.attempts) for r in rows[1:]] == [("pending", None, 0)] * 2


def test_a_send_under_way_when_the_run_is_stopped_is_finished_and_recorded(world: World):
    """Stopping must not leave a delivered message unrecorded: it would be sent again after its lease."""
    message = world.queue(RINA_CHAT)
    world.api.delay = 0.2

    async def scenario():
        task = asyncio.create_task(world.dispatcher().run_once())
        while not world.api.calls:
            await asyncio.sleep(0.005)
        task.cancel()  # the send is on the wire
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    assert [m.chat_id for m in world.api.delivered] == [RINA_CHAT]
    row = world.row(message)
    assert (row.status, row.claimed_until) == ("sent", None)


# --- many dispatchers ----------------------------------------------------------------------------

def _fill(world: World, count: int) -> None:
    with world.uow_factory() as uow:
        payload = {"appointment_id": None, "family_id": world.family_id, "start": VISIT.isoformat(), "old_start": None}
        for n in range(count):
            uow.outbox.add(100_000 + n, "visit-new", payload, due_at=NOW, now=NOW)
        uow.commit()


async def _drain(engine_url: str, api: FakeTelegram, clock: FakeClock, batch: int) -> int:
    """One 'process': its own engine, limiter and dispatcher, running until nothing is due."""
    engine = make_engine(engine_url)
    factory = make_session_factory(engine)
    limiter = RateLimiter(1e6, 0.0)  # the pace is not under test here; real time, no waits
    dispatcher = OutboxDispatcher(lambda: SqlUnitOfWork(factory), clock, api, limiter, DispatchPolicy(batch=batch))
    sent = 0
    try:
        while (report := await dispatcher.run_once()).claimed:
            sent += report.sent
    finally:
        await asyncio.to_thread(engine.dispose)
    return sent


@pytest.mark.parametrize("mode", ["tasks", "threads"])
def test_two_dispatchers_send_every_row_exactly_once(engine: Engine, uow_factory, mode: str):
    world = build_world(uow_factory)
    _fill(world, 500)
    api = FakeTelegram(delay=0.001)
    url = engine.url.render_as_string(hide_password=False)

    if mode == "tasks":
        async def both():
            return await asyncio.gather(*(_drain(url, api, world.clock, 20) for _ in range(2)))
        counts = asyncio.run(both())
    else:
        counts = [0, 0]

        def worker(index: int) -> None:
            counts[index] = asyncio.run(_drain(url, api, world.clock, 20))

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    chats = [m.chat_id for m in api.delivered]
    assert len(chats) == 500 and set(chats) == {100_000 + n for n in range(500)}
    assert sum(counts) == 500 and all(counts), counts  # both took part
    assert world.counts()["sent"] == 500


# --- the scheduler -------------------------------------------------------------------------------

def test_the_scheduler_ticks_the_dispatcher_and_stops_cleanly(engine: Engine, uow_factory):
    world = build_world(uow_factory)
    for chat in (RINA_CHAT, AGUS_CHAT):
        world.queue(chat)
    settings = Settings(database_url=engine.url.render_as_string(hide_password=False), outbox_interval=0.05)
    pintu = SimpleNamespace(settings=settings, clock=world.clock, uow=world.uow_factory)

    async def scenario():
        scheduler = start_scheduler(pintu, world.api)
        job = scheduler.get_job(JOB_ID)
        assert (job.max_instances, job.coalesce, job.trigger.interval.total_seconds()) == (1, True, 0.05)
        for _ in range(200):
            if len(world.api.delivered) == 2:
                break
            await asyncio.sleep(0.02)
        await scheduler.stop()
        assert not scheduler.running

    asyncio.run(scenario())
    assert sorted(m.chat_id for m in world.api.delivered) == [RINA_CHAT, AGUS_CHAT]
    assert world.counts()["sent"] == 2


def test_stopping_the_scheduler_mid_run_hands_rows_back(engine: Engine, uow_factory):
    world = build_world(uow_factory)
    ids = [world.queue(GROUP_CHAT) for _ in range(3)]  # a group: 3 s between messages, real time
    settings = Settings(outbox_interval=0.1, per_chat_interval=1.0)  # a batch of 3
    pintu = SimpleNamespace(settings=settings, clock=world.clock, uow=world.uow_factory)

    async def scenario():
        scheduler = start_scheduler(pintu, world.api)
        for _ in range(200):
            if world.api.delivered:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)
        await scheduler.stop()

    asyncio.run(scenario())
    rows = [world.row(i) for i in ids]
    assert [r.status for r in rows] == ["sent", "pending", "pending"]
    assert all(r.claimed_until is None and r.attempts == 0 for r in rows[1:])


def test_rows_marked_for_a_previous_lease_are_not_double_counted(world: World):
    """A stale dispatcher's outcome for a row another has since settled changes nothing."""
    message = world.queue(RINA_CHAT)
    with world.uow_factory() as uow:
        [claimed] = uow.outbox.claim_due(NOW, 1, dt.timedelta(minutes=1))
        lease = claimed.claimed_until
        uow.commit()
    with world.uow_factory() as uow:
        uow.session.execute(update(OutboxMessage).where(OutboxMessage.id == message).values(status="sent", claimed_until=None))
        uow.commit()
    with world.uow_factory() as uow:
        assert uow.outbox.mark_retry(message, NOW, "late", lease=lease) is False
        assert uow.outbox.release([message], lease) == 0
