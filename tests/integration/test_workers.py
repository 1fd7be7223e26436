"""Several workers on one PostgreSQL: any worker may receive any update of any user.

Two PintuHandlers, each with its own engine (its own connection pool, as two processes would have),
are hammered from many threads at once with updates of the same users: the same button press delivered
to both workers (a webhook redelivery), double presses, and typed answers racing each other. Afterwards:

- no double booking: one active visit per family, busy blocks exactly those of the active visits;
- no lost answer: every button press is answered exactly once, every applied message gets a reply;
- order kept: the updates applied to one user's conversation were applied in increasing update_id
  order (a late or repeated one is dropped, never applied on top of a newer one), and the last applied
  update is the newest one sent.
"""
from __future__ import annotations

import datetime as dt
import itertools
import random
import threading
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from domain.clock import FakeClock
from domain.invites import InviteKind, make_invite
from domain.model import Appointment, BusyBlock, Family
from handlers.screens import unstamp
from handlers.app import PintuHandlers
from handlers.context import HandlerConfig
from chat.events import AnswerCallback, EditMessage, Incoming, SendMessage, Sender
from chat.keyboard import Keyboard
from storage.db import make_engine, make_session_factory
from storage.repositories.conversations import ConversationRepository
from storage.seed import seed_demo
from storage.uow import SqlUnitOfWork

pytestmark = pytest.mark.postgres

SECRET = "test-invite-secret"
MONDAY_8_WITA = dt.datetime(2026, 11, 23, 0, 0, tzinfo=dt.timezone.utc)
USERS = 16
_update_ids = itertools.count(1)


class Chat:
    """One user's private chat, driven through whichever worker a test picks."""

    def __init__(self, user_id: int) -> None:
        self.user_id = user_id
        self.screen: tuple[int, str, Keyboard | None] | None = None  # (message id, text, keyboard)
        self._message_ids = itertools.count(1)

    def event(self, *, text: str | None = None, data: str | None = None, update_id: int | None = None) -> Incoming:
        update_id = update_id or next(_update_ids)
        sender = Sender(self.user_id, f"User{self.user_id}", "id")
        if data is None:
            return Incoming(sender, self.user_id, text=text, update_id=update_id)
        return Incoming(sender, self.user_id, callback_id=f"q{update_id}", callback_data=data,
                        message_id=self.screen[0] if self.screen else None, update_id=update_id)

    def apply(self, actions: list) -> None:
        for action in actions:
            if isinstance(action, SendMessage):
                markup = action.markup if isinstance(action.markup, Keyboard) else None
                self.screen = (next(self._message_ids), action.text, markup)
            elif isinstance(action, EditMessage):
                self.screen = (action.message_id, action.text, action.markup)

    def button(self, prefix: str, text: str | None = None) -> str:
        assert self.screen and self.screen[2], f"no keyboard on {self.screen}"
        for b in self.screen[2].buttons:
            if b.data and b.data.startswith(prefix) and (text is None or b.text == text):
                return unstamp(b.data)[0]
        raise AssertionError(f"no button {prefix!r} on {self.screen[1]!r}")

    def say(self, worker: PintuHandlers, text: str) -> list:
        actions = worker.handle(self.event(text=text))
        self.apply(actions)
        return actions

    def press(self, worker: PintuHandlers, data: str) -> list:
        actions = worker.handle(self.event(data=data))
        self.apply(actions)
        return actions


def family_name(index: int) -> str:
    return "Keluarga " + "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[index]


def family_kk(index: int) -> str:
    return f"647201010120{7000 + index:04d}"  # not a seeded family (those are 9000+)


# RT 001's resident invite (the workers fixture makes it): with it, a family on the list links at once.
RT_INVITE: dict[str, str] = {}


def to_confirm_screen(worker: PintuHandlers, chat: Chat, index: int) -> None:
    """/start invite → consent → name → KK → members → address → (no location) → today → the first time →
    "Benar?"."""
    chat.say(worker, f"/start {RT_INVITE['token']}")
    chat.press(worker, chat.button("cs:y"))
    chat.say(worker, family_name(index))
    chat.say(worker, family_kk(index))
    chat.press(worker, "mb:4")
    chat.say(worker, f"Jl. Mawar No. {index + 1}")
    chat.say(worker, "Lewati")
    chat.press(worker, chat.button("dy:"))
    chat.press(worker, chat.button("tm:"))  # everyone wants the same, first time of the day
    assert "Benar?" in chat.screen[1], chat.screen[1]


@pytest.fixture
def workers(pg_engine, pg_url):
    """Two workers with their own engines on the test's PostgreSQL database, seeded with the demo area."""
    clock = FakeClock(MONDAY_8_WITA)
    with SqlUnitOfWork(make_session_factory(pg_engine)) as uow:
        demo = seed_demo(uow, clock.now())
        for index in range(USERS):  # the users' families, on RT 001's list
            uow.families.add(Family(sls_id=demo.sls_ids[0], head_name=family_name(index), kk_number=family_kk(index),
                                    members=4, created_at=clock.now()))
        uow.commit()
    RT_INVITE["token"] = make_invite(SECRET, InviteKind.RESIDENT, demo.sls_ids[0], clock.now() + dt.timedelta(days=7))
    engines = [make_engine(pg_url, pool_size=8) for _ in range(2)]
    handlers = []
    for engine in engines:
        factory = make_session_factory(engine)
        handlers.append(PintuHandlers(lambda f=factory: SqlUnitOfWork(f), clock, HandlerConfig(invite_secret=SECRET)))
    yield handlers, make_session_factory(pg_engine)
    for engine in engines:
        engine.dispose()


@pytest.fixture
def applied(monkeypatch):
    """(telegram_id → update_ids in the order they were applied): save() runs under the user's lock."""
    order: dict[int, list[int]] = defaultdict(list)
    guard = threading.Lock()
    original = ConversationRepository.save

    def save(self, telegram_id, state, data, when, update_id=None, bot=""):
        original(self, telegram_id, state, data, when, update_id, bot)
        self.session.flush()
        with guard:
            order[telegram_id].append(update_id)

    monkeypatch.setattr(ConversationRepository, "save", save)
    return order


def race(jobs: list) -> list:
    """Run every (worker, event) at once (a barrier releases them together); results in job order."""
    barrier = threading.Barrier(len(jobs))

    def run(job):
        worker, event = job
        barrier.wait(30)
        return worker.handle(event)

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        return list(pool.map(run, jobs, timeout=120))


def test_concurrent_confirmations_on_two_workers_book_once(workers, applied) -> None:
    (a, b), session_factory = workers
    chats = [Chat(700_000 + i) for i in range(USERS)]
    for i, chat in enumerate(chats):
        to_confirm_screen(random.choice((a, b)), chat, i)
    applied.clear()

    # Every user presses "confirm" twice (a double tap), and Telegram delivers each press to both
    # workers (a redelivery after a timeout): four updates per user, all at the same moment.
    jobs, expected_last = [], {}
    for chat in chats:
        first, second = chat.event(data="ok:yes"), chat.event(data="ok:yes")
        expected_last[chat.user_id] = second.update_id
        jobs += [(a, first), (b, first), (b, second), (a, second)]
    random.shuffle(jobs)
    results = race(jobs)

    # No lost answer: each delivery of a press is answered exactly once (a dropped one silently).
    for (_, event), actions in zip(jobs, results):
        answers = [x for x in actions if isinstance(x, AnswerCallback)]
        assert [x.callback_id for x in answers] == [event.callback_id], actions
    # Order kept and nothing applied twice: per user, strictly increasing update ids, ending with the newest.
    for chat in chats:
        ids = applied[chat.user_id]
        assert ids and ids == sorted(set(ids)), ids
        assert ids[-1] == expected_last[chat.user_id]
    # No double booking: everyone wanted the same time; the two enumerators can take two of them, and
    # each family has at most one active visit whose blocks are exactly the busy blocks.
    with SqlUnitOfWork(session_factory) as uow:
        booked = list(uow.session.scalars(select(Appointment).where(Appointment.status == "booked")))
        blocks = uow.session.scalar(select(func.count()).select_from(BusyBlock))
        families = [x.family_id for x in booked]
        assert len(families) == len(set(families))
        starts = {(x.enumerator_id, x.start_at) for x in booked}
        assert len(starts) == len(booked)
        assert 1 <= len(booked) <= 2
        assert blocks == sum(int((x.end_at - x.start_at).total_seconds() // 900) for x in booked)


def test_typed_answers_racing_on_two_workers_keep_each_users_order(workers, applied) -> None:
    (a, b), _ = workers
    chats = [Chat(800_000 + i) for i in range(USERS)]
    for i, chat in enumerate(chats):
        to_confirm_screen(a, chat, i)
    applied.clear()
    # Each user sends five messages in quick succession; they reach the two workers in any order and
    # at the same moment. Whatever interleaving wins, each user's updates apply one at a time in
    # increasing update_id order (an older one arriving after a newer one is dropped, not applied).
    jobs, sent = [], defaultdict(list)
    for chat in chats:
        for n in range(5):
            event = chat.event(text="/janji" if n % 2 else "/menu")
            sent[chat.user_id].append(event.update_id)
            jobs.append((random.choice((a, b)), event))
    random.shuffle(jobs)
    results = race(jobs)
    for chat in chats:
        ids = applied[chat.user_id]
        assert ids == sorted(set(ids)) and set(ids) <= set(sent[chat.user_id]), ids
    # Every applied message was answered; a dropped one (older than what was applied) gets no reply.
    applied_ids = {i for ids in applied.values() for i in ids}
    for (_, event), actions in zip(jobs, results):
        if event.update_id in applied_ids:
            assert any(isinstance(x, SendMessage) for x in actions), actions
        else:
            assert actions == []
    # Redelivering everything again changes nothing: all of it is older than or equal to what was applied.
    applied.clear()
    again = race([(random.choice((a, b)), event) for _, event in jobs])
    assert all(actions == [] for actions in again) and not applied
