"""The conversation flows as people use them: plain events into PintuHandlers, actions out.

Each test runs over a fresh in-memory SQLite database with the demo kelurahan (Rawa Makmur, Samarinda,
WITA: 3 RT, enumerators Rina and Agus, 30 families without Telegram) and a clock standing still on
Monday 23 November 2026, 08.00 WITA (00.00 UTC).
"""
from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from functools import lru_cache
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from domain.clock import FakeClock
from domain.invites import InviteKind, make_invite
from domain.model import Appointment, Conversation, Family, OutboxMessage, RedeemedInvite, User
from domain.slots import blocks_between
from handlers.app import PintuHandlers
from handlers.context import HandlerConfig
from handlers.events import AnswerCallback, EditMessage, Incoming, InlineKeyboard, Location, SendMessage, Sender
from handlers.i18n import Translator
from storage.db import create_schema, make_engine, make_session_factory
from storage.seed import HEADS, seed_demo, synthetic_kk
from storage.uow import SqlUnitOfWork

SECRET = "test-invite-secret"
WITA = ZoneInfo("Asia/Makassar")
MONDAY_8_WITA = dt.datetime(2026, 11, 23, 0, 0, tzinfo=dt.timezone.utc)
ID, EN = Translator("id"), Translator("en")
CRASH_TEXTS = {ID("error-unexpected"), EN("error-unexpected")}

KK_WATI = "6472010101209999"
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

    def families_in(self, sls_index: int) -> list[Family]:
        return self.scalars(select(Family).where(Family.sls_id == self.sls_ids[sls_index]).order_by(Family.id))


@pytest.fixture
def world() -> World:
    return make_world(MONDAY_8_WITA)


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
        """Press a button: by default the one on the newest message showing it, else on the last message."""
        if message_id is None:
            message_id = self.message_with(data) or self.last_id
        actions = self.handle(Incoming(sender=self.sender, chat_id=self.telegram_id, callback_id=f"cb{len(self.answers)}",
                                       callback_data=data, message_id=message_id), allow_crash=allow_crash)
        assert sum(isinstance(a, AnswerCallback) for a in actions) == 1, "every press gets exactly one answer"
        return actions

    def message_with(self, data: str | None) -> int | None:
        for message_id in sorted(self.messages, reverse=True):
            if data in self.buttons(message_id):
                return message_id
        return None

    def buttons(self, message_id: int | None = None) -> list[str]:
        markup = self.messages[message_id or self.last_id][1] if self.messages else None
        if not isinstance(markup, InlineKeyboard):
            return []
        return [b.data for row in markup.rows for b in row if b.data]

    def labels(self, message_id: int | None = None) -> list[str]:
        markup = self.messages[message_id or self.last_id][1]
        return [b.text for row in markup.rows for b in row] if isinstance(markup, InlineKeyboard) else []

    @property
    def screen(self) -> str:
        return self.messages[self.last_id][0]

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

    def register(self, name: str, kk: str, rt: int = 0, members: int = 4) -> None:
        self.agree_and_choose_rt(rt)
        self.say(name)
        self.say(kk)
        self.press(f"mb:{members}")

    def book(self, day: str = "20261123", time: str = "1000") -> None:
        self.press(f"dy:{day}")
        self.press(f"tm:{day}{time}")
        self.press("ok:yes")


def appointments(world: World, *where) -> list[Appointment]:
    return world.scalars(select(Appointment).where(*where).order_by(Appointment.id))


# --- the resident's booking -----------------------------------------------------------------------

def test_a_resident_books_a_visit_from_start_to_confirmation(world):
    wati = Person(world, 1001)
    wati.say("/start")
    assert "Selamat datang di Pintu" in wati.screen
    assert wati.buttons() == ["cs:y", "cs:n"]
    wati.press("cs:y")
    assert "kecamatan" in wati.screen and wati.buttons() == [f"ar:{world.district_id}"]
    wati.press(f"ar:{world.district_id}")
    wati.press(f"ar:{world.village_id}")
    assert "RT" in wati.screen and wati.labels()[:3] == ["RT 001", "RT 002", "RT 003"]
    wati.press(f"ar:{world.sls_ids[0]}")
    assert "nama kepala keluarga" in wati.screen
    wati.say("Wati Susanti")
    assert "nomor KK" in wati.screen and "Wati Susanti" in wati.screen
    wati.say("6472 0101 0120 9999")
    assert "jumlah anggota" in wati.screen
    wati.press("mb:4")
    assert wati.answer.text == ID("family-registered")
    assert "Pilih <b>hari</b>" in wati.screen and wati.buttons()[0] == "dy:20261123"
    assert wati.labels()[0] == "Sen 23 Nov"
    wati.press("dy:20261123")
    assert "Senin, 23 Nov" in wati.screen and "WITA" in wati.screen
    # Lead time: at 08.00 the first visit that can be offered is 10.00.
    times = wati.buttons()
    assert times[0] == "tm:202611231000" and "tm:202611230930" not in times
    assert wati.labels()[0] == "10.00"
    wati.press("tm:202611231000")
    assert "<b>Senin, 23 Nov, 10.00 WITA</b>" in wati.screen and "Benar?" in wati.screen
    wati.press("ok:yes")
    assert "Senin, 23 Nov, 10.00 WITA — petugas Rina" in wati.screen
    assert "Janji kunjungan dibuat" in wati.screen
    assert wati.sent <= 3, "from /start to the confirmation the resident gets at most three new messages"

    family = world.scalar(select(Family).where(Family.kk_number == KK_WATI))
    assert family.head_name == "Wati Susanti" and family.members == 4 and family.sls_id == world.sls_ids[0]
    [visit] = appointments(world, Appointment.family_id == family.id)
    assert visit.status == "booked" and visit.enumerator_id == world.rina_id
    assert visit.start_at == dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.timezone.utc)
    assert wati.user().family_id == family.id and wati.conversation().state == "idle"
    # The confirmation offers the family's own part of the questionnaire, while the visit is in mind.
    assert f"qn:go:{family.id}" in wati.buttons()
    wati.press(f"qn:go:{family.id}")
    assert "Data keluarga <b>Wati Susanti</b>" in wati.screen


def test_lead_time_follows_the_clock(world):
    world.clock.advance(dt.timedelta(minutes=10))  # 08.10 WITA
    wati = Person(world, 1001)
    wati.register("Wati Susanti", KK_WATI)
    wati.press("dy:20261123")
    assert wati.buttons()[0] == "tm:202611231030"
    # A time inside the lead time cannot be picked even with a hand-made button.
    wati.press("tm:202611231000")
    assert "Kunjungan ke keluarga" not in wati.screen
    assert wati.conversation().state == "pick_time"


def test_the_confirmation_waits_too_long_and_the_time_is_no_longer_bookable(world):
    wati = Person(world, 1001)
    wati.register("Wati Susanti", KK_WATI)
    wati.press("dy:20261123")
    wati.press("tm:202611231000")
    world.clock.advance(dt.timedelta(hours=1))  # 09.00: 10.00 is now inside the lead time
    wati.press("ok:yes")
    assert appointments(world) == []
    assert "petugas Rina" not in wati.screen
    assert ID("slot-taken") not in wati.screen, "nobody took it: the time just passed the lead time"
    assert "tm:202611231000" not in wati.buttons() and "tm:202611231100" in wati.buttons()


def test_english_for_an_english_telegram_and_switching_language(world):
    ann = Person(world, 1002, "Ann", "en")
    ann.say("/start")
    assert "Welcome to Pintu" in ann.screen
    ann.press("cs:y")
    assert "district" in ann.screen
    ann.press(f"ar:{world.district_id}")
    ann.press(f"ar:{world.village_id}")
    ann.press(f"ar:{world.sls_ids[0]}")
    ann.say("Ann Wijaya")
    ann.say(KK_WATI)
    ann.press("mb:2")
    assert ann.labels()[0] == "Mon 23 Nov"
    ann.book()
    assert "Monday, 23 Nov, 10:00 WITA — officer Rina" in ann.screen
    assert ann.user().language == "en"

    ann.say("/bahasa")
    assert ann.buttons() == ["lg:id", "lg:en"]
    ann.press("lg:id")
    assert ann.screen == ID("language-set")
    ann.say("/janji")  # her Telegram is still English; her choice wins
    assert "Senin, 23 Nov, 10.00 WITA — petugas Rina" in ann.screen
    ann.say("/language")
    ann.press("lg:en")
    assert ann.screen == EN("language-set")
    ann.say("/janji")
    assert "Monday, 23 Nov, 10:00 WITA — officer Rina" in ann.screen


def test_declining_consent_stores_nothing(world):
    budi = Person(world, 1003, "Budi")
    budi.say("/start")
    budi.press("cs:n")
    assert budi.screen == ID("consent-declined")
    budi.say("halo")
    assert budi.screen == ID("need-start")
    budi.say("/janji")
    assert budi.screen == ID("need-start")
    budi.press("dy:20261123")
    assert budi.answer.text == ID("need-start")
    assert world.count(User) == 0 and world.count(Conversation) == 0
    # Changing their mind later works.
    budi.say("/start")
    budi.press("cs:y")
    assert budi.user() is not None and budi.user().consent_version


def test_help_works_before_consent_and_by_role(world):
    guest = Person(world, 1004)
    guest.say("/bantuan")
    assert guest.screen == ID("help-newcomer")
    guest.agree_and_choose_rt()
    guest.say("/help")
    assert guest.screen == ID("help-resident")
    assert world.count(User) == 1


# --- wrong input ----------------------------------------------------------------------------------

@pytest.mark.parametrize("typed, key", [
    ("6472O1O1O12O9999", "kk-not-digits"),
    ("KK saya 6472010101209999", "kk-not-digits"),
    ("647201010120999", "kk-wrong-length"),
    ("64720101012099991", "kk-wrong-length"),
    ("9972010101209999", "kk-bad-region"),
    ("6472013201209999", "kk-bad-date"),
    ("6472010101200000", "kk-bad-serial"),
    ("6²72010101209999", "kk-not-digits"),
])
def test_a_wrong_kk_is_explained_and_the_name_is_kept(world, typed, key):
    wati = Person(world, 1001)
    wati.agree_and_choose_rt()
    wati.say("Wati Susanti")
    wati.say(typed)
    assert wati.screen == ID(key)
    assert wati.conversation().state == "family_kk"
    wati.say(KK_WATI)
    assert "jumlah anggota" in wati.screen
    wati.press("mb:3")
    family = world.scalar(select(Family).where(Family.kk_number == KK_WATI))
    assert family.head_name == "Wati Susanti" and family.members == 3


def test_a_kk_already_registered_is_refused(world):
    wati = Person(world, 1001)
    wati.agree_and_choose_rt()
    wati.say("Ahmad Yani")
    wati.say(synthetic_kk(0))
    assert wati.screen == ID("kk-duplicate")
    assert world.count(Family) == len(HEADS)


def test_a_bad_name_is_explained(world):
    wati = Person(world, 1001)
    wati.agree_and_choose_rt()
    for bad in ("W", "12345", "Wati <b>", "x" * 121):
        wati.say(bad)
        assert wati.screen == ID("bad-family-name")
    wati.say("Siti Nur'aini")
    assert "Siti Nur'aini" in wati.screen and wati.conversation().state == "family_kk"


def test_members_typed_instead_of_pressed(world):
    wati = Person(world, 1001)
    wati.agree_and_choose_rt()
    wati.say("Wati Susanti")
    wati.say(KK_WATI)
    for bad in ("nol", "0", "31", "²", "-1", "3.5"):
        wati.say(bad)
        assert wati.screen == ID("bad-members", max=30)
    wati.say("12")
    assert world.scalar(select(Family.members).where(Family.kk_number == KK_WATI)) == 12


def test_text_where_a_button_is_expected(world):
    wati = Person(world, 1001)
    wati.say("/start")
    wati.press("cs:y")
    wati.say("Palaran")
    assert wati.screen == ID("use-buttons")
    wati.press(f"ar:{world.district_id}")
    wati.press(f"ar:{world.village_id}")
    wati.press(f"ar:{world.sls_ids[0]}")
    wati.say("Wati Susanti")
    wati.say(KK_WATI)
    wati.press("mb:4")
    wati.say("besok saja")
    assert wati.screen == ID("use-buttons")
    assert wati.conversation().state == "pick_day"
    wati.press("dy:20261124")
    wati.say("jam 10")
    assert wati.screen == ID("use-buttons") and wati.conversation().state == "pick_time"


def test_a_photo_sticker_or_location_out_of_place(world):
    wati = Person(world, 1001)
    wati.say(photo_file_id="AgAD-sticker")
    assert wati.screen == ID("need-start")
    wati.register("Wati Susanti", KK_WATI)
    wati.book()
    wati.say(photo_file_id="AgAD-photo")
    assert wati.screen == ID("not-expected-now")
    wati.say(location=Location(-0.5, 117.1))
    assert wati.screen == ID("not-expected-now")
    wati.say("terima kasih")
    assert wati.screen == ID("not-understood")


def test_a_photo_while_we_wait_for_typed_details_asks_again(world):
    wati = Person(world, 1001)
    wati.agree_and_choose_rt()
    wati.say(photo_file_id="AgAD-photo")
    assert "nama kepala keluarga" in wati.screen
    assert wati.conversation().state == "family_name"
    wati.say("Wati Susanti")
    wati.say(photo_file_id="AgAD-kk-photo")
    assert "nomor KK" in wati.screen and "Wati Susanti" in wati.screen
    assert wati.conversation().state == "family_kk"
    wati.say(KK_WATI)
    wati.press("mb:2")
    assert world.scalar(select(Family.head_name).where(Family.kk_number == KK_WATI)) == "Wati Susanti"


def test_unknown_commands(world):
    guest = Person(world, 1004)
    guest.say("/hapus")
    assert guest.screen == ID("unknown-command")
    guest.agree_and_choose_rt()
    guest.say("/daftar semua")
    assert guest.screen == ID("unknown-command")
    guest.say("/menu@PintuBot")
    assert "nama kepala keluarga" in guest.screen


def test_group_chats_get_no_answer(world):
    wati = Person(world, 1001)
    assert world.handlers.handle(Incoming(sender=wati.sender, chat_id=-100, text="/start", chat_type="group")) == []
    assert world.count(User) == 0


# --- buttons that are stale, forged or malformed --------------------------------------------------

def test_buttons_of_a_finished_booking_are_stale(world):
    wati = Person(world, 1001)
    wati.register("Wati Susanti", KK_WATI)
    wati.press("dy:20261123")
    message = wati.last_id
    wati.press("tm:202611231000")
    wati.press("ok:yes")
    booked_screen = wati.screen
    for old in ("ok:yes", "tm:202611231030", "dy:20261124", "mb:4", f"ar:{world.sls_ids[1]}", "nv:days"):
        wati.press(old, message_id=message)
        assert wati.answer.text == ID("stale-button") and wati.answer.show_alert
        assert wati.screen == booked_screen
    assert len(appointments(world)) == 1


def test_pressing_agree_again_just_carries_on(world):
    wati = Person(world, 1001)
    wati.say("/start")
    consent = wati.last_id
    wati.press("cs:y")
    wati.press("cs:y", message_id=consent)
    assert world.count(User) == 1


MALFORMED = [
    "", "x", ":", "::::", "zz:1", "tm:", "tm:x", "tm:2026134512", "tm:202611231", "tm:2026112310001",
    "tm:000101010000", "tm:999912312330", "tm:202602300900", "dy:00010101", "dy:99991231", "dy:2026-11-23",
    "dy:20261323", "ar:", "ar:-1", "ar:²", "ar:99999999999999999999999", "mb:0", "mb:999", "mb:²", "mb:-3",
    "ok:", "ok:no", "nv:", "nv:elsewhere", "ap:", "ap:yes", "ap:yes:", "ap:yes:²", "ap:yes:-1",
    "ap:yes:999999999999999999999999", "ap:move:abc", "lg:", "lg:fr", "rt:list:²", "rt:fam:1", "en:today",
    "cs:", "cs:y:" + "A" * 59, "x" * 65, "tm:" + "9" * 61, "\x00\xff\ud7ff", "😀:😀",
]


@lru_cache(maxsize=None)
def _choosing_a_time() -> tuple[World, dict, int]:
    """Wati registered and looking at Monday's times (built once, copied per test)."""
    world = make_world(MONDAY_8_WITA)
    wati = Person(world, 1001)
    wati.register("Wati Susanti", KK_WATI)
    wati.press("dy:20261123")
    return snapshot(world), dict(wati.messages), wati.last_id


@pytest.mark.parametrize("data", MALFORMED)
def test_malformed_callback_data_in_the_middle_of_booking(data):
    template, messages, last_id = _choosing_a_time()
    world = clone(template)
    wati = Person(world, 1001, messages={k: list(v) for k, v in messages.items()}, last_id=last_id, _ids=len(messages))
    assert wati.conversation().state == "pick_time"
    wati.press(data)  # no crash (checked by Person), exactly one answer
    wati.press("tm:202611231000")
    wati.press("ok:yes")
    assert "petugas Rina" in wati.screen


@pytest.mark.parametrize("data", MALFORMED + [None])
def test_malformed_callback_data_from_someone_who_never_started(world, data):
    stranger = Person(world, 1009)
    stranger.press(data)
    # Only a (forged) "agree" press is consent; nothing else stores anything.
    assert world.count(User) == (1 if (data or "").startswith("cs:y") else 0)
    if not (data or "").startswith("cs:"):
        assert [type(a) for a in stranger.actions] == [AnswerCallback]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.text(max_size=70), st.builds(lambda p, a: f"{p}:{a}", st.sampled_from(
    ["cs", "ar", "mb", "dy", "tm", "ok", "nv", "ap", "lg", "rt", "en"]), st.text(max_size=20))))
def test_property_any_callback_data_gets_one_answer_and_never_crashes(world, data):
    wati = Person(world, 1001 + random.randrange(10**6))
    wati.say("/start")
    wati.press("cs:y")
    wati.press(data)


def test_a_resident_cannot_cancel_or_move_another_familys_visit(world):
    wati, budi = Person(world, 1001), Person(world, 1002, "Budi")
    wati.register("Wati Susanti", KK_WATI)
    wati.book()
    budi.register("Budi Hartono", KK_BUDI)
    wati_family = wati.user().family_id
    for forged in (f"ap:yes:{wati_family}", f"ap:cancel:{wati_family}", f"ap:move:{wati_family}", f"ap:keep:{wati_family}"):
        budi.press(forged)
        assert budi.answer.text == ID("stale-button")
        assert "Wati" not in budi.screen
    [visit] = appointments(world, Appointment.family_id == wati_family)
    assert visit.status == "booked"


def test_a_resident_cancels_their_own_visit_and_the_time_is_free_again(world):
    wati = Person(world, 1001)
    wati.register("Wati Susanti", KK_WATI)
    wati.book()
    family = wati.user().family_id
    wati.press(f"ap:cancel:{family}")
    assert "Batalkan kunjungan <b>Senin, 23 Nov, 10.00 WITA</b>" in wati.screen
    wati.press(f"ap:yes:{family}")
    assert "dibatalkan" in wati.screen
    assert [a.status for a in appointments(world)] == ["cancelled"]
    wati.press(f"ap:yes:{family}")  # pressed twice
    assert wati.answer.text == ID("no-appointment")
    wati.press("dy:20261123")
    assert "tm:202611231000" in wati.buttons()


def test_a_resident_moves_their_visit(world):
    wati = Person(world, 1001)
    wati.register("Wati Susanti", KK_WATI)
    wati.book()
    wati.say("/pindah")
    assert "Pindah jadwal" in wati.screen
    wati.book(day="20261124", time="0900")
    assert "Jadwal dipindah" in wati.screen and "Selasa, 24 Nov, 09.00 WITA" in wati.screen
    assert [a.status for a in appointments(world)] == ["moved", "booked"]


def test_cancel_command_without_a_visit(world):
    wati = Person(world, 1001)
    wati.register("Wati Susanti", KK_WATI)
    wati.say("/batal")
    assert wati.screen == ID("no-appointment")


# --- holidays -------------------------------------------------------------------------------------

def test_christmas_is_not_offered():
    world = make_world(dt.datetime(2026, 12, 21, 0, 0, tzinfo=dt.timezone.utc))  # Monday 08.00 WITA
    wati = Person(world, 1001)
    wati.register("Wati Susanti", KK_WATI)
    days = wati.buttons()
    assert "dy:20261224" in days and "dy:20261226" in days
    assert "dy:20261225" not in days
    # A hand-made button for Christmas day or a time on it leads nowhere.
    wati.press("dy:20261225")
    assert not any(b.startswith("tm:20261225") for b in wati.buttons())
    wati.press("dy:20261224")
    wati.press("tm:202612251000")
    assert "Kunjungan ke keluarga" not in wati.screen
    assert wati.conversation().state != "confirm"
    assert appointments(world) == []


# --- RT heads -------------------------------------------------------------------------------------

def test_an_rt_head_joins_by_invite(world):
    token = world.invite(InviteKind.RT_HEAD, world.sls_ids[0])
    pak_rt = Person(world, 2001, "Pak Darto")
    pak_rt.say(f"/start {token}")
    assert pak_rt.buttons() == [f"cs:y:{token}", "cs:n"]
    pak_rt.press(f"cs:y:{token}")
    assert any("Ketua RT" in text for text, _ in pak_rt.messages.values())
    assert "Menu Ketua RT 001" in pak_rt.screen and "Keluarga terdaftar: 10" in pak_rt.screen
    user = pak_rt.user()
    assert user.role == "rt_head" and user.sls_id == world.sls_ids[0]


def test_a_new_rt_head_gets_the_rt_heads_command_menu_once(world):
    from handlers.events import SetChatMenu

    token = world.invite(InviteKind.RT_HEAD, world.sls_ids[0])
    pak_rt = Person(world, 2001, "Pak Darto")
    pak_rt.say(f"/start {token}")
    assert not any(isinstance(a, SetChatMenu) for a in pak_rt.actions)  # nothing stored yet, nothing to change
    pak_rt.press(f"cs:y:{token}")
    menu, = [a for a in pak_rt.actions if isinstance(a, SetChatMenu)]
    assert menu.chat_id == 2001 and "keluarga" in [name for name, _ in dict(menu.menus)[""]]
    assert isinstance(pak_rt.actions[-1], SetChatMenu)  # after the answer to the press: it never delays it
    pak_rt.say("/keluarga")
    assert not any(isinstance(a, SetChatMenu) for a in pak_rt.actions)


def test_an_rt_head_invite_for_someone_who_already_started(world):
    pak_rt = Person(world, 2001, "Pak Darto")
    pak_rt.agree_and_choose_rt(1)
    pak_rt.say(f"/start {world.invite(InviteKind.RT_HEAD, world.sls_ids[1])}")
    assert pak_rt.user().role == "rt_head"
    assert "Menu Ketua RT 002" in pak_rt.screen


def test_an_expired_rt_head_invite(world):
    token = world.invite(InviteKind.RT_HEAD, world.sls_ids[0], days=1)
    world.clock.advance(dt.timedelta(days=2))
    pak_rt = Person(world, 2001, "Pak Darto")
    pak_rt.say(f"/start {token}")
    pak_rt.press(f"cs:y:{token}")
    assert any(text == ID("invite-expired") for text, _ in pak_rt.messages.values())
    assert pak_rt.user().role == "resident"
    assert "kecamatan" in pak_rt.screen  # carries on as a resident instead of a dead end


def test_a_reused_rt_head_invite(world):
    token = world.invite(InviteKind.RT_HEAD, world.sls_ids[0])
    first, second = Person(world, 2001, "Pak Darto"), Person(world, 2002, "Bu Sri")
    first.say(f"/start {token}")
    first.press(f"cs:y:{token}")
    second.say(f"/start {token}")
    second.press(f"cs:y:{token}")
    assert any(text == ID("invite-used") for text, _ in second.messages.values())
    assert second.user().role == "resident"
    first.say(f"/start {token}")  # the same person opening it again is told, and stays RT head
    assert first.screen == ID("invite-used") and first.user().role == "rt_head"
    assert world.count(RedeemedInvite) == 1


@pytest.mark.parametrize("forged", ["A" * 34, "not-a-token", "x" * 64, "../../etc", "😀" * 30, "abc def"])
def test_a_forged_or_malformed_invite(world, forged):
    guest = Person(world, 2003, "Tamu")
    guest.say(f"/start {forged}")
    assert "Selamat datang di Pintu" in guest.screen
    guest.press(guest.buttons()[0])
    assert any(text == ID("invite-invalid") for text, _ in guest.messages.values())
    assert guest.user().role == "resident"


def test_a_tampered_rt_head_invite(world):
    token = world.invite(InviteKind.RT_HEAD, world.sls_ids[0])
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    guest = Person(world, 2003, "Tamu")
    guest.agree_and_choose_rt()
    guest.say(f"/start {forged}")
    assert guest.screen == ID("invite-invalid") and guest.user().role == "resident"


def rt_head(world: World, rt: int = 0, telegram_id: int = 2001) -> Person:
    token = world.invite(InviteKind.RT_HEAD, world.sls_ids[rt])
    person = Person(world, telegram_id, "Pak Darto")
    person.say(f"/start {token}")
    person.press(f"cs:y:{token}")
    return person


def test_an_rt_head_imports_the_family_list_sent_as_a_file_all_or_nothing(world):
    from handlers.events import Attachment

    def send_file(person: Person, content: bytes | None, name: str = "vk1.csv", kind: str = "document",
                  error: str | None = None) -> None:
        person.say(attachment=Attachment(kind, f"f{len(person.messages)}", None, name, None,
                                         len(content or b""), content, error))

    header = "Nama Kepala Keluarga;Nomor KK;Jumlah Anggota;Alamat\n"
    good = "Siti Rahmawati;6472010101200001;4;Jl. Mawar 1\nBudi Hartono;6472010202200002;2;Jl. Melati 7\n"
    bad_row = "Agus Salim;6472011332200005;3;Jl. B\n"  # month 32 in the KK's issue date
    pak_rt = rt_head(world)
    before = world.count(Family, Family.sls_id == world.sls_ids[0])
    send_file(pak_rt, (header + good).encode())  # not on the import screen: not taken as a list
    assert world.count(Family, Family.sls_id == world.sls_ids[0]) == before
    pak_rt.press("rh:import")
    assert "Kirim berkas CSV atau Excel" in pak_rt.screen
    pak_rt.say("ini daftarnya")
    assert pak_rt.screen == ID("rh-import-send-file")
    send_file(pak_rt, None, kind="sticker")
    assert pak_rt.screen == ID("rh-import-send-file")
    send_file(pak_rt, None, name="vk1.xlsx", error="too-large")
    assert pak_rt.screen == ID("rh-import-too-large")
    send_file(pak_rt, b"PK\x03\x04 not really a workbook", name="vk1.xlsx")
    assert pak_rt.screen == ID("import-unreadable")
    send_file(pak_rt, (header + good + bad_row).encode())
    assert "Baris 4" in pak_rt.screen and world.count(Family, Family.sls_id == world.sls_ids[0]) == before
    send_file(pak_rt, (header + good).encode())  # corrected: the step was kept
    assert pak_rt.screen.startswith(ID("import-done", count=2, rt="RT 001")[:20])
    assert world.count(Family, Family.sls_id == world.sls_ids[0]) == before + 2
    assert pak_rt.conversation().state == "idle"
    send_file(pak_rt, (header + good).encode())  # after the import, a file is not taken as a list again
    assert world.count(Family, Family.sls_id == world.sls_ids[0]) == before + 2


def test_many_problems_in_a_list_are_counted_not_all_listed(world):
    from handlers.events import Attachment

    pak_rt = rt_head(world)
    pak_rt.press("rh:import")
    rows = "".join(f";647201010120{i:04d};3;Jl. {i}\n" for i in range(1, 41))  # 40 rows without a name
    content = ("Nama Kepala Keluarga;Nomor KK;Jumlah Anggota;Alamat\n" + rows).encode()
    pak_rt.say(attachment=Attachment("document", "f1", None, "vk1.csv", None, len(content), content))
    assert pak_rt.screen.count("Baris") == 15 and ID("import-more-problems", count=25) in pak_rt.screen


def test_an_rt_head_registers_a_family_without_telegram_and_books_for_it(world):
    pak_rt = rt_head(world)
    pak_rt.press("rt:add")
    assert "tanpa Telegram" in pak_rt.screen
    pak_rt.say("Mbah Sarinah")
    pak_rt.say(KK_SARI)
    pak_rt.press("mb:1")
    assert "Mbah Sarinah" in pak_rt.screen and pak_rt.buttons()[0] == "dy:20261123"
    pak_rt.book(time="1100")
    assert "Janji untuk keluarga Mbah Sarinah" in pak_rt.screen
    assert "Senin, 23 Nov, 11.00 WITA — petugas Rina" in pak_rt.screen
    assert pak_rt.buttons() == ["rt:menu"]

    family = world.scalar(select(Family).where(Family.kk_number == KK_SARI))
    user = pak_rt.user()
    assert family.sls_id == world.sls_ids[0] and family.registered_by_user_id == user.id
    assert user.family_id is None and user.role == "rt_head"  # not the RT head's own family
    [visit] = appointments(world, Appointment.family_id == family.id)
    assert visit.booked_by_user_id == user.id

    pak_rt.say("/keluarga")
    assert "Mbah Sarinah — Senin, 23 Nov, 11.00 WITA" in pak_rt.screen
    pak_rt.press(f"rt:fam:{family.id}")
    assert "KK ····7777" in pak_rt.screen and KK_SARI not in pak_rt.screen


def test_an_rt_head_sees_and_acts_only_on_their_own_rt(world):
    other_rt = world.families_in(1)
    world.book_directly(other_rt[0].id, world.agus_id, dt.datetime(2026, 11, 24, 9, 0, tzinfo=WITA))
    pak_rt = rt_head(world, rt=0)
    pak_rt.say("/keluarga")
    own_names = {f.head_name for f in world.families_in(0)}
    shown = [label for label in pak_rt.labels() if label[0].isdigit()]
    assert shown and all(label.split(". ", 1)[1] in own_names for label in shown)
    assert other_rt[0].head_name not in pak_rt.screen
    for forged in (f"rt:fam:{other_rt[0].id}", f"ap:book:{other_rt[1].id}", f"ap:yes:{other_rt[0].id}",
                   f"ap:move:{other_rt[0].id}", f"ap:cancel:{other_rt[0].id}"):
        pak_rt.press(forged)
        assert pak_rt.answer.text == ID("stale-button")
        assert other_rt[0].head_name not in pak_rt.screen and other_rt[1].head_name not in pak_rt.screen
    assert [a.status for a in appointments(world)] == ["booked"]


def test_an_rt_head_pages_through_the_families(world):
    pak_rt = rt_head(world)
    pak_rt.say("/keluarga")
    assert "(halaman 1/2)" in pak_rt.screen and "rt:list:1" in pak_rt.buttons()
    pak_rt.press("rt:list:1")
    assert "(halaman 2/2)" in pak_rt.screen and "rt:list:0" in pak_rt.buttons()
    pak_rt.press("rt:list:99")
    assert "(halaman 2/2)" in pak_rt.screen


def test_an_rt_heads_resident_link_brings_a_neighbour_straight_to_their_rt(world):
    pak_rt = rt_head(world, rt=2)
    pak_rt.press("rt:invite")
    link = next(part for part in pak_rt.screen.split() if part.startswith("https://t.me/"))
    token = link.split("start=", 1)[1]
    neighbour = Person(world, 3001, "Dewi")
    neighbour.say(f"/start {token}")
    neighbour.press(f"cs:y:{token}")
    assert "nama kepala keluarga" in neighbour.screen
    assert neighbour.user().sls_id == world.sls_ids[2]
    neighbour.say("Dewi Anggraini")
    neighbour.say(KK_WATI)
    neighbour.press("mb:3")
    neighbour.book()
    assert "petugas Rina" in neighbour.screen
    # A second neighbour can use the same link.
    other = Person(world, 3002, "Eka")
    other.say(f"/start {token}")
    other.press(f"cs:y:{token}")
    assert other.user().sls_id == world.sls_ids[2]


def test_residents_cannot_use_rt_or_enumerator_tools(world):
    wati = Person(world, 1001)
    wati.register("Wati Susanti", KK_WATI)
    wati.say("/keluarga")
    assert wati.screen == ID("not-allowed")
    wati.say("/jadwal")
    assert wati.screen == ID("not-allowed")
    wati.press("rt:list:0")
    assert wati.answer.text == ID("not-allowed")
    wati.press("en:tomorrow")
    assert wati.answer.text == ID("stale-button")


# --- enumerators ----------------------------------------------------------------------------------

def test_an_enumerator_joins_and_sees_the_days_visits_in_time_order(world):
    rt1 = world.families_in(0)
    world.book_directly(rt1[0].id, world.rina_id, dt.datetime(2026, 11, 23, 14, 0, tzinfo=WITA))
    world.book_directly(rt1[1].id, world.rina_id, dt.datetime(2026, 11, 23, 10, 30, tzinfo=WITA))
    world.book_directly(rt1[2].id, world.rina_id, dt.datetime(2026, 11, 23, 9, 0, tzinfo=WITA), status="cancelled")
    world.book_directly(rt1[3].id, world.agus_id, dt.datetime(2026, 11, 23, 11, 0, tzinfo=WITA))
    world.book_directly(rt1[4].id, world.rina_id, dt.datetime(2026, 11, 24, 8, 0, tzinfo=WITA))

    token = world.invite(InviteKind.ENUMERATOR, world.rina_id)
    rina = Person(world, 4001, "Rina")
    rina.say(f"/start {token}")
    rina.press(f"cs:y:{token}")
    assert any(ID("welcome-enumerator", name="Rina") == text for text, _ in rina.messages.values())
    assert rina.user().role == "enumerator"

    rina.say("/jadwal")
    lines = [line for line in rina.screen.splitlines() if " — " in line and "orang" in line]
    assert [line.split(" — ")[0] for line in lines] == ["10.30", "14.00"]
    assert rt1[1].head_name in lines[0] and rt1[0].head_name in lines[1]
    assert "2 kunjungan" in rina.screen and "WITA" in rina.screen and "Senin, 23 Nov" in rina.screen
    rina.press("en:tomorrow")
    assert "Selasa, 24 Nov" in rina.screen and rt1[4].head_name in rina.screen and "1 kunjungan" in rina.screen
    rina.press("en:today")
    assert "2 kunjungan" in rina.screen

    # Once joined, a new booking tells her in the same transaction.
    wati = Person(world, 1001)
    wati.register("Wati Susanti", KK_WATI)
    wati.book(time="1100")  # Agus is out at 11.00, so this one is Rina's
    assert "petugas Rina" in wati.screen
    outbox = world.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
    # ... and Wati's reminders are planned in the same transaction (rules: tests/unit/test_reminders.py).
    assert [(m.chat_id, m.kind) for m in outbox if not m.kind.startswith("reminder-")] == [(4001, "visit-new")]
    assert {m.chat_id for m in outbox if m.kind.startswith("reminder-")} == {1001}


def test_an_enumerator_invite_used_twice(world):
    token = world.invite(InviteKind.ENUMERATOR, world.agus_id)
    agus = Person(world, 4002, "Agus")
    agus.say(f"/start {token}")
    agus.press(f"cs:y:{token}")
    impostor = Person(world, 4003, "Bukan Agus")
    impostor.say(f"/start {token}")
    impostor.press(f"cs:y:{token}")
    assert any(text == ID("invite-used") for text, _ in impostor.messages.values())
    assert impostor.user().role == "resident"


def test_a_second_enumerators_invite_on_one_account_is_refused_and_not_used_up(world):
    rina = Person(world, 4001, "Rina")
    rina.say(f"/start {world.invite(InviteKind.ENUMERATOR, world.rina_id)}")
    rina.press(rina.buttons()[0])
    agus_token = world.invite(InviteKind.ENUMERATOR, world.agus_id)
    rina.say(f"/start {agus_token}")  # Agus's link forwarded to Rina by mistake
    assert rina.screen == ID("invite-already-officer")
    assert rina.user().role == "enumerator"
    agus = Person(world, 4002, "Agus")  # the link still works for Agus himself
    agus.say(f"/start {agus_token}")
    agus.press(f"cs:y:{agus_token}")
    assert agus.user().role == "enumerator"
    assert not any(text == ID("invite-used") for text, _ in agus.messages.values())


def test_an_officer_opening_a_resident_link_keeps_their_role(world):
    token = world.invite(InviteKind.ENUMERATOR, world.rina_id)
    rina = Person(world, 4001, "Rina")
    rina.say(f"/start {token}")
    rina.press(f"cs:y:{token}")
    rina.say(f"/start {world.invite(InviteKind.RESIDENT, world.sls_ids[0])}")
    assert rina.user().role == "enumerator"
    assert "Jadwal Rina" in rina.screen
    assert rina.conversation().state == "idle"


# --- robustness: restarts, database trouble, races -----------------------------------------------

def test_a_restart_in_the_middle_of_a_booking_resumes_it(world):
    wati = Person(world, 1001)
    wati.register("Wati Susanti", KK_WATI)
    wati.press("dy:20261123")
    world.restart()
    wati.press("tm:202611231030")
    assert "Senin, 23 Nov, 10.30 WITA" in wati.screen
    world.restart()
    wati.press("ok:yes")
    assert "Senin, 23 Nov, 10.30 WITA — petugas Rina" in wati.screen


def test_a_restart_in_the_middle_of_registration_keeps_what_was_typed(world):
    wati = Person(world, 1001)
    wati.agree_and_choose_rt()
    wati.say("Wati Susanti")
    world.restart()
    wati.say("/menu")
    assert "nomor KK" in wati.screen and "Wati Susanti" in wati.screen
    wati.say(KK_WATI)
    wati.press("mb:4")
    assert world.scalar(select(Family.head_name).where(Family.kk_number == KK_WATI)) == "Wati Susanti"


def test_the_database_briefly_unavailable(world, monkeypatch):
    wati = Person(world, 1001)
    wati.register("Wati Susanti", KK_WATI)
    wati.press("dy:20261123")
    wati.press("tm:202611231000")

    def down():
        raise OperationalError("SELECT 1", {}, Exception("could not connect to server"))

    monkeypatch.setattr(world, "uow_factory", down)
    wati.say("/janji")
    assert wati.screen == ID("error-busy")
    actions = wati.press("ok:yes")
    assert actions == [AnswerCallback(actions[0].callback_id, ID("error-busy"), True)]
    monkeypatch.undo()
    assert appointments(world) == [] and wati.conversation().state == "confirm"
    wati.press("ok:yes")
    assert "petugas Rina" in wati.screen


def test_the_database_failing_at_commit_leaves_nothing_half_written(world, monkeypatch):
    wati = Person(world, 1001)
    wati.register("Wati Susanti", KK_WATI)
    wati.press("dy:20261123")
    wati.press("tm:202611231000")
    before = wati.screen

    def failing_commit(self):
        raise OperationalError("COMMIT", {}, Exception("server closed the connection unexpectedly"))

    monkeypatch.setattr(SqlUnitOfWork, "commit", failing_commit)
    wati.press("ok:yes")
    assert wati.answer.text == ID("error-busy") and wati.answer.show_alert
    assert wati.screen == before  # nothing claimed that did not happen
    monkeypatch.undo()
    assert appointments(world) == [] and world.count(OutboxMessage) == 0
    assert wati.conversation().state == "confirm"
    wati.press("ok:yes")
    assert [a.status for a in appointments(world)] == ["booked"]


def test_an_english_user_is_told_in_english_when_the_database_is_away(world, monkeypatch):
    ann = Person(world, 1002, "Ann", "en")

    def down():
        raise OperationalError("SELECT 1", {}, Exception("timeout"))

    monkeypatch.setattr(world, "uow_factory", down)
    ann.say("/start")
    assert ann.screen == EN("error-busy")


def test_two_residents_pick_the_same_last_time_and_the_second_is_told(world):
    # Agus is already out at 10.00, so only Rina is left at that time.
    world.book_directly(world.families_in(0)[0].id, world.agus_id, dt.datetime(2026, 11, 23, 10, 0, tzinfo=WITA))
    wati, budi = Person(world, 1001), Person(world, 1002, "Budi")
    wati.register("Wati Susanti", KK_WATI)
    budi.register("Budi Hartono", KK_BUDI)
    for person in (wati, budi):
        person.press("dy:20261123")
        person.press("tm:202611231000")
    wati.press("ok:yes")
    assert "10.00 WITA — petugas Rina" in wati.screen
    budi.press("ok:yes")
    assert budi.answer.text == ID("slot-taken-short") == "Waktu itu baru saja diambil"
    assert "baru saja diambil" in budi.screen
    assert "tm:202611231000" not in budi.buttons() and "tm:202611231030" in budi.buttons()
    assert budi.conversation().state == "pick_time"
    budi.press("tm:202611231030")
    budi.press("ok:yes")
    assert "10.30 WITA — petugas" in budi.screen
    assert len(appointments(world, Appointment.status == "booked")) == 3


def test_two_residents_at_the_same_time_with_two_officers_both_get_it(world):
    wati, budi = Person(world, 1001), Person(world, 1002, "Budi")
    wati.register("Wati Susanti", KK_WATI)
    budi.register("Budi Hartono", KK_BUDI)
    for person in (wati, budi):
        person.press("dy:20261123")
        person.press("tm:202611231000")
    wati.press("ok:yes")
    budi.press("ok:yes")
    assert "10.00 WITA — petugas Rina" in wati.screen and "10.00 WITA — petugas Agus" in budi.screen


def test_the_last_free_time_of_a_day_taken_sends_back_to_the_days(world):
    # Everything on Monday is taken except 15.30 with Rina.
    rt1 = world.families_in(0) + world.families_in(1) + world.families_in(2)
    slots = [dt.datetime(2026, 11, 23, h, m, tzinfo=WITA) for h in range(10, 16) for m in (0, 30)]
    index = 0
    for start in slots:
        for enumerator in (world.rina_id, world.agus_id):
            if start.hour == 15 and start.minute == 30 and enumerator == world.rina_id:
                continue
            world.book_directly(rt1[index].id, enumerator, start)
            index += 1
    wati, budi = Person(world, 1001), Person(world, 1002, "Budi")
    wati.register("Wati Susanti", KK_WATI)
    budi.register("Budi Hartono", KK_BUDI)
    for person in (wati, budi):
        person.press("dy:20261123")
        assert person.buttons()[0] == "tm:202611231530"
        person.press("tm:202611231530")
    wati.press("ok:yes")
    budi.press("ok:yes")
    assert "baru saja diambil" in budi.screen
    assert "dy:20261123" not in budi.buttons() and "dy:20261124" in budi.buttons()


def test_a_family_already_booked_in_another_chat(world):
    wati = Person(world, 1001)
    wati.register("Wati Susanti", KK_WATI)
    wati.press("dy:20261123")
    wati.press("tm:202611231000")
    family_id = wati.user().family_id
    world.book_directly(family_id, world.agus_id, dt.datetime(2026, 11, 24, 9, 0, tzinfo=WITA))
    wati.press("ok:yes")
    assert "Selasa, 24 Nov, 09.00 WITA — petugas Agus" in wati.screen
    assert len(appointments(world, Appointment.family_id == family_id)) == 1


def test_the_start_command_again_shows_where_the_user_is(world):
    wati = Person(world, 1001)
    wati.register("Wati Susanti", KK_WATI)
    wati.say("/start")
    assert "Pilih <b>hari</b>" in wati.screen
    wati.book()
    wati.say("/start")
    assert "Senin, 23 Nov, 10.00 WITA — petugas Rina" in wati.screen
    wati.say("/menu")
    assert "Senin, 23 Nov, 10.00 WITA — petugas Rina" in wati.screen


def test_a_newcomer_chooses_english_before_agreeing(world):
    siti = Person(world, 1005, "Siti", "id")
    siti.say("/bahasa")
    siti.press("lg:en")
    assert "Welcome to Pintu" in siti.screen
    assert world.count(User) == 0, "choosing a language is not consent"
    siti.press(siti.buttons()[0])
    assert "district" in siti.screen
    assert siti.user().language == "en"
    siti.say("/help")
    assert siti.screen == EN("help-resident")


def test_member_buttons_outside_one_to_thirty_are_refused(world):
    wati = Person(world, 1001)
    wati.agree_and_choose_rt()
    wati.say("Wati Susanti")
    wati.say(KK_WATI)
    for forged in ("mb:0", "mb:31", "mb:99999", "mb:-1", "mb:1e3"):
        wati.press(forged)
        assert wati.answer.text == ID("stale-button")
    assert world.count(Family, Family.kk_number == KK_WATI) == 0
    wati.press("mb:10")
    assert world.scalar(select(Family.members).where(Family.kk_number == KK_WATI)) == 10


def test_moving_a_visit_that_was_cancelled_meanwhile(world):
    wati = Person(world, 1001)
    wati.register("Wati Susanti", KK_WATI)
    wati.book()
    wati.say("/pindah")
    wati.press("dy:20261124")
    wati.press("tm:202611240900")
    # Meanwhile, in another chat, the visit is cancelled.
    with world.uow_factory() as uow:
        uow.appointments.active_for_family(wati.user().family_id).status = "cancelled"
        uow.commit()
    wati.press("ok:yes")
    assert wati.screen.startswith(ID("no-appointment"))
    assert ID("not-allowed") not in wati.screen
    assert wati.buttons()[0].startswith("dy:")
    wati.book(day="20261124", time="0900")
    assert "Selasa, 24 Nov, 09.00 WITA" in wati.screen


def test_officers_with_different_visit_lengths_show_each_time_once(world):
    with world.uow_factory() as uow:
        uow.enumerators.get(world.agus_id).visit_minutes = 60
        uow.commit()
    wati = Person(world, 1001)
    wati.register("Wati Susanti", KK_WATI)
    wati.press("dy:20261123")
    times = wati.buttons()[:-1]
    assert len(times) == len(set(times))
    assert {"tm:202611231000", "tm:202611231030", "tm:202611231100"} <= set(times)
    wati.press("tm:202611231000")
    wati.press("ok:yes")
    assert "10.00 WITA — petugas" in wati.screen


def test_the_days_offered_are_two_weeks_without_sundays_and_fridays_keep_the_prayer_break(world):
    wati = Person(world, 1001)
    wati.register("Wati Susanti", KK_WATI)
    days = [d for d in wati.buttons() if d.startswith("dy:")]
    expected = [f"dy:{dt.date(2026, 11, 23) + dt.timedelta(days=i):%Y%m%d}" for i in range(14)
                if (dt.date(2026, 11, 23) + dt.timedelta(days=i)).weekday() != 6]
    assert days == expected and days[-1] == "dy:20261205"
    assert wati.buttons()[-1] == "nv:close"
    wati.press("dy:20261127")
    assert "Jumat, 27 Nov" in wati.screen
    times = {b[-4:] for b in wati.buttons() if b.startswith("tm:")}
    assert {"1100", "1300"} <= times and not {"1130", "1200", "1230"} & times


def test_late_in_the_day_today_is_no_longer_offered():
    world = make_world(dt.datetime(2026, 11, 23, 7, 0, tzinfo=dt.timezone.utc))  # 15.00 WITA
    wati = Person(world, 1001)
    wati.register("Wati Susanti", KK_WATI)
    assert wati.buttons()[0] == "dy:20261124"


def test_an_rt_in_papua_sees_wit_times(world):
    with world.uow_factory() as uow:
        for sls_id in world.sls_ids:
            uow.areas.get(sls_id).timezone = "Asia/Jayapura"
        uow.commit()
    # 00.00 UTC is 09.00 WIT: with two hours' notice the first visit is at 11.00 WIT.
    wati = Person(world, 1001)
    wati.register("Wati Susanti", KK_WATI)
    wati.press("dy:20261123")
    assert "(WIT)" in wati.screen and wati.buttons()[0] == "tm:202611231100"
    wati.press("tm:202611231100")
    wati.press("ok:yes")
    assert "Senin, 23 Nov, 11.00 WIT — petugas Rina" in wati.screen
    [visit] = appointments(world)
    assert visit.start_at == dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.timezone.utc)


# --- several bots in one deployment (domain/bots.py) ----------------------------------------------------

def test_each_bot_numbers_its_updates_and_a_user_of_another_city_is_sent_away(world):
    from dataclasses import replace

    from domain.bots import BotScope

    wati = Person(world, 1001)
    wati.agree_and_choose_rt()
    assert wati.say("/menu", update_id=100)
    assert wati.say("/menu", update_id=99) == []  # a late update of the same bot: dropped
    world.handlers.config = replace(world.handlers.config, bot=BotScope("smd", ("64.72",)))
    assert wati.say("/menu", update_id=5), "another bot's update 5 is not older than update 100"
    assert wati.user().bot_key == "smd"  # messages to her now go out through this bot
    assert wati.say("/menu", update_id=4) == []
    world.handlers.config = replace(world.handlers.config, bot=BotScope("tng", ("36.74",)))
    wati.say("/menu", update_id=1)
    assert wati.screen == ID("wrong-bot-unknown", area="RT 001", bot="")
    assert wati.user().bot_key == "smd" and wati.conversation().state == "family_name"  # nothing else changed


def test_a_bot_offers_only_its_own_kecamatan_and_refuses_a_forged_one(world):
    from dataclasses import replace

    from domain.bots import BotScope

    world.handlers.config = replace(world.handlers.config, bot=BotScope("tng", ("36.74",)))
    guest = Person(world, 1005)
    guest.say("/start")
    guest.press(guest.buttons()[0])
    assert not any(b.startswith("ar:") and b != "ar:0" for b in guest.buttons())  # Samarinda's are not offered
    guest.press(f"ar:{world.district_id}", message_id=guest.last_id)  # a forged press for Samarinda's kecamatan
    assert guest.answers[-1].show_alert and guest.user().sls_id is None
