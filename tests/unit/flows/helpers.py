"""The conversation flows' test world: plain events into PintuHandlers, actions out.

``make_world(now)`` gives a fresh in-memory SQLite database with the demo kelurahan (Rawa Makmur,
Samarinda, WITA: 3 RT, enumerators Rina and Agus, 30 families without Telegram) and a clock standing
still at ``now``; the flow tests start at ``MONDAY_8_WITA``, Monday 23 November 2026, 08.00 WITA
(00.00 UTC), through the ``world`` fixture (conftest.py). A ``Person`` is one Telegram user's private
chat with the bot: they ``say`` things and ``press`` buttons, and it checks that the bot never hits an
unexpected error and answers every press exactly once.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import lru_cache
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from domain.clock import FakeClock
from domain.invites import InviteKind, make_invite
from domain.slots import blocks_between
from handlers.app import PintuHandlers
from handlers.context import HandlerConfig
from handlers.screens import unstamp
from chat.events import AnswerCallback, EditMessage, Incoming, Location, SendMessage, Sender
from chat.keyboard import Keyboard
from chat.i18n import Translator
from storage.db import create_schema, make_engine, make_session_factory
from domain.model import Appointment, Conversation, Family, OutboxMessage, User
from storage.seed import seed_demo
from storage.uow import SqlUnitOfWork

SECRET = "test-invite-secret"
WITA = ZoneInfo("Asia/Makassar")
MONDAY_8_WITA = dt.datetime(2026, 11, 23, 0, 0, tzinfo=dt.timezone.utc)
ID, EN = Translator("id"), Translator("en")
CRASH_TEXTS = {ID("error-unexpected"), EN("error-unexpected")}

KK_WATI = "6472010101209999"
HOUSE_ADDRESS = "Jl. Mawar Gg. 3 No. 12, RT 001/RW 005"
AT_HOME = (-0.551, 117.201)  # inside the demo kelurahan (storage/seed.py DEMO_CENTRE)
KK_BUDI = "6472010101208888"
KK_SARI = "6472010101207777"


# --- a small world: database, clock, handlers, and people with Telegram-like chats ----------------

@dataclass
class World:
    session_factory: object
    clock: FakeClock
    village_id: int
    district_id: int
    sls_ids: list[int]
    rina_id: int
    agus_id: int
    handlers: PintuHandlers = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        self.restart()

    def uow_factory(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.session_factory)

    def restart(self) -> None:
        """A new process over the same database: nothing survives but what was stored."""
        self.handlers = PintuHandlers(lambda: self.uow_factory(), self.clock, HandlerConfig(invite_secret=SECRET))

    def scalar(self, query):
        with self.uow_factory() as uow:
            return uow.session.scalar(query)

    def scalars(self, query) -> list:
        with self.uow_factory() as uow:
            return list(uow.session.scalars(query))

    def count(self, model, *where) -> int:
        return self.scalar(select(func.count()).select_from(model).where(*where))

    def invite(self, kind: InviteKind, target_id: int, days: int = 7) -> str:
        return make_invite(SECRET, kind, target_id, self.clock.now() + dt.timedelta(days=days))

    def book_directly(self, family_id: int, enumerator_id: int, local_start: dt.datetime, minutes: int = 30,
                      status: str = "booked") -> None:
        """Set up a visit without going through the flows (as if booked earlier)."""
        start = local_start.astimezone(dt.timezone.utc)
        end = start + dt.timedelta(minutes=minutes)
        now = self.clock.now()
        with self.uow_factory() as uow:
            appointment = Appointment(family_id=family_id, enumerator_id=enumerator_id, start_at=start, end_at=end,
                                      status=status, created_at=now, updated_at=now)
            if status == "booked":
                uow.appointments.add_with_blocks(appointment, blocks_between(start, end))
            else:
                uow.session.add(appointment)
            uow.commit()

    def list_family(self, name: str, kk: str, rt: int = 0, members: int = 4) -> None:
        """The family on RT ``rt``'s list, as the RT head's import puts it (no-one linked yet)."""
        with self.uow_factory() as uow:
            if uow.families.by_kk(kk) is None:
                uow.families.add(Family(sls_id=self.sls_ids[rt], head_name=name, kk_number=kk, members=members,
                                        created_at=self.clock.now()))
                uow.commit()

    def families_in(self, sls_index: int) -> list[Family]:
        return self.scalars(select(Family).where(Family.sls_id == self.sls_ids[sls_index]).order_by(Family.id))


@lru_cache(maxsize=None)
def _template(now: dt.datetime) -> tuple:
    """Migrate and seed once; every test gets its own copy (SQLite's backup API: a millisecond)."""
    engine = make_engine("sqlite://")
    create_schema(engine)
    with SqlUnitOfWork(make_session_factory(engine)) as uow:
        demo = seed_demo(uow, now)
        district_id = uow.areas.get(demo.village_id).parent_id
        uow.commit()
    return engine, demo, district_id


@lru_cache(maxsize=None)
def _test_engine():
    """One in-memory database that every test overwrites with its starting data: SQLAlchemy keeps
    compiled statements per engine, so reusing the engine makes the suite several times faster."""
    return make_engine("sqlite://")


def copy_of(template, engine=None):
    engine = engine if engine is not None else _test_engine()
    with template.connect() as source, engine.connect() as target:
        source.connection.driver_connection.backup(target.connection.driver_connection)
    return engine


def make_world(now: dt.datetime) -> World:
    template, demo, district_id = _template(now)
    rina, agus = demo.enumerator_ids
    return World(make_session_factory(copy_of(template)), FakeClock(now), demo.village_id, district_id,
                 demo.sls_ids, rina, agus)


def snapshot(world: World) -> World:
    """Keep a world as it is now, in a database of its own, to start several tests from."""
    engine = copy_of(world.session_factory.kw["bind"], make_engine("sqlite://"))
    return World(make_session_factory(engine), FakeClock(world.clock.now()), world.village_id,
                 world.district_id, world.sls_ids, world.rina_id, world.agus_id)


def clone(world: World) -> World:
    """A fresh copy of a snapshot for one test."""
    engine = copy_of(world.session_factory.kw["bind"])
    return World(make_session_factory(engine), FakeClock(world.clock.now()), world.village_id,
                 world.district_id, world.sls_ids, world.rina_id, world.agus_id)


@dataclass
class Person:
    """One Telegram user's private chat with the bot, as their phone would show it."""

    world: World
    telegram_id: int
    first_name: str = "Wati"
    language_code: str | None = "id"
    messages: dict[int, list] = field(default_factory=dict)  # message id -> [text, markup]
    last_id: int | None = None
    sent: int = 0  # new messages from the bot (each one a notification on the phone)
    answers: list[AnswerCallback] = field(default_factory=list)
    actions: list = field(default_factory=list)
    _ids: int = 0

    @property
    def sender(self) -> Sender:
        return Sender(self.telegram_id, self.first_name, self.language_code)

    def handle(self, event: Incoming, allow_crash: bool = False) -> list:
        self.actions = self.world.handlers.handle(event)
        for action in self.actions:
            if isinstance(action, SendMessage):
                assert action.chat_id == self.telegram_id
                self._ids += 1
                self.messages[self._ids] = [action.text, action.markup]
                self.last_id, self.sent = self._ids, self.sent + 1
            elif isinstance(action, EditMessage):
                assert action.message_id in self.messages, "edited a message the user does not have"
                self.messages[action.message_id] = [action.text, action.markup]
                self.last_id = action.message_id
            else:
                self.answers.append(action)
            texts = {getattr(action, "text", None)}
            if not allow_crash:
                assert not texts & CRASH_TEXTS, f"the bot hit an unexpected error on {event}"
        return self.actions

    def say(self, text: str | None = None, **extra) -> list:
        return self.handle(Incoming(sender=self.sender, chat_id=self.telegram_id, text=text, **extra))

    def press(self, data: str | None, message_id: int | None = None, allow_crash: bool = False) -> list:
        """Press a button: by default the one on the newest message showing it, else on the last message.

        ``data`` is the flow's own callback data; the press sends what that button of the message really
        carries (with its screen number, handlers/screens.py), or ``data`` as given when the message has no
        such button (a forged press)."""
        if message_id is None:
            message_id = self.message_with(data) or self.last_id
        sent = self.raw_buttons(message_id).get(data, data) if self.messages else data
        actions = self.handle(Incoming(sender=self.sender, chat_id=self.telegram_id, callback_id=f"cb{len(self.answers)}",
                                       callback_data=sent, message_id=message_id), allow_crash=allow_crash)
        assert sum(isinstance(a, AnswerCallback) for a in actions) == 1, "every press gets exactly one answer"
        return actions

    def message_with(self, data: str | None) -> int | None:
        for message_id in sorted(self.messages, reverse=True):
            if data in self.buttons(message_id):
                return message_id
        return None

    def receive(self) -> list[str]:
        """The messages the outbox holds for this chat, delivered now as the dispatcher would (rendered
        at send time); their texts."""
        from handlers.notifications import Notification, render_outbox

        texts = []
        with self.world.uow_factory() as uow:
            rows = uow.session.scalars(select(OutboxMessage).where(
                OutboxMessage.chat_id == self.telegram_id, OutboxMessage.status == "pending", OutboxMessage.kind != "reply")
                .order_by(OutboxMessage.id)).all()
            for row in rows:
                rendered = render_outbox(uow, row, self.world.clock.now())
                row.status = "sent" if isinstance(rendered, Notification) else "skipped"
                if isinstance(rendered, Notification):
                    self._ids += 1
                    self.messages[self._ids] = [rendered.text, rendered.markup]
                    self.last_id, self.sent = self._ids, self.sent + 1
                    texts.append(rendered.text)
            uow.commit()
        return texts

    def buttons(self, message_id: int | None = None) -> list[str]:
        """The callback data of the message's buttons, as the flows wrote it (without the screen number)."""
        return list(self.raw_buttons(message_id))

    def raw_buttons(self, message_id: int | None = None) -> dict[str, str]:
        """The flow's callback data of each button -> what the button really carries."""
        markup = self.messages[message_id or self.last_id][1] if self.messages else None
        if not isinstance(markup, Keyboard):
            return {}
        return {unstamp(b.data)[0]: b.data for b in markup.buttons if b.data}

    def labels(self, message_id: int | None = None) -> list[str]:
        markup = self.messages[message_id or self.last_id][1]
        return [b.text for b in markup.buttons] if isinstance(markup, Keyboard) else []

    @property
    def screen(self) -> str:
        return self.messages[self.last_id][0]

    @property
    def previous(self) -> str:
        """The message before the newest one (registration's "family registered" above the days)."""
        return self.messages[max(i for i in self.messages if i < self.last_id)][0]

    @property
    def answer(self) -> AnswerCallback:
        return self.answers[-1]

    def user(self) -> User | None:
        return self.world.scalar(select(User).where(User.telegram_id == self.telegram_id))

    def conversation(self) -> Conversation | None:
        return self.world.scalar(select(Conversation).where(Conversation.telegram_id == self.telegram_id))

    # --- whole steps ------------------------------------------------------------------------------
    def agree_and_choose_rt(self, rt: int = 0) -> None:
        self.say("/start")
        self.press(self.buttons()[0])  # agree
        self.press(f"ar:{self.world.district_id}")
        self.press(f"ar:{self.world.village_id}")
        self.press(f"ar:{self.world.sls_ids[rt]}")

    def agree_by_invite(self, rt: int = 0) -> None:
        """Open RT ``rt``'s resident invite link and agree to the privacy notice."""
        token = self.world.invite(InviteKind.RESIDENT, self.world.sls_ids[rt])
        self.say(f"/start {token}")
        self.press(f"cs:y:{token}")

    def register(self, name: str, kk: str, rt: int = 0, members: int = 4) -> None:
        """Link to the family by the RT's invite, the family being on the RT's list: booking follows at once."""
        self.world.list_family(name, kk, rt, members)
        self.agree_by_invite(rt)
        self.say(name)
        self.say(kk)
        self.press(f"mb:{members}")
        self.give_house()

    def give_house(self, address: str = HOUSE_ADDRESS, at: tuple[float, float] | None = None) -> None:
        """The registration's last two steps: the address typed, then the house's location shared
        (``at``) or skipped."""
        self.say(address)
        if at is None:
            self.say("Lewati")
        else:
            self.say(location=Location(at[0], at[1], 10.0))

    def book(self, day: str = "20261123", time: str = "1000") -> None:
        self.press(f"dy:{day}")
        self.press(f"tm:{day}{time}")
        self.press("ok:yes")


def appointments(world: World, *where) -> list[Appointment]:
    return world.scalars(select(Appointment).where(*where).order_by(Appointment.id))


def rt_head(world: World, rt: int = 0, telegram_id: int = 2001) -> Person:
    """Pak Darto, joined as the head of RT ``rt`` by his invite."""
    token = world.invite(InviteKind.RT_HEAD, world.sls_ids[rt])
    person = Person(world, telegram_id, "Pak Darto")
    person.say(f"/start {token}")
    person.press(f"cs:y:{token}")
    return person

