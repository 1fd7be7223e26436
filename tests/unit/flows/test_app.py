"""The entry point (handlers/app.py): routing and who may use what, the chat's command menu, buttons
that are stale, forged or malformed, restarts, the database away, and several bots in one deployment.
The world: helpers.py."""
from __future__ import annotations

import random
from dataclasses import replace
from functools import lru_cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from domain.bots import BotScope
from domain.invites import InviteKind
from chat.events import AnswerCallback, Incoming, SetChatMenu
from domain.model import Family, FamilyClaim, OutboxMessage, User
from storage.uow import SqlUnitOfWork
from handlers.states import State
from tests.unit.flows.helpers import (
    EN, ID, KK_WATI, MONDAY_8_WITA, Person, World, appointments, clone, make_world, snapshot,
)


# --- routing: commands, group chats, who may use what ---------------------------------------------

def test_unknown_commands(world):
    guest = Person(world, 1004)
    guest.say("/hapus")
    assert guest.screen == ID("unknown-command")
    guest.agree_and_choose_rt()
    guest.say("/daftar semua")
    assert guest.screen == ID("unknown-command")
    guest.say("/menu@PintuBot")
    assert "nama kepala keluarga" in guest.screen


def test_a_command_naming_another_bot_is_left_to_it(world):
    guest = Person(world, 1005)
    assert world.handlers.handle(Incoming(sender=guest.sender, chat_id=1005, text="/start@OtherBot")) == []
    assert world.handlers.handle(Incoming(sender=guest.sender, chat_id=-100, text="/grup@OtherBot",
                                          chat_type="group")) == []
    assert world.handlers.handle(Incoming(sender=guest.sender, chat_id=1005, text="/start@pintubot")) != []


def test_group_chats_get_no_answer(world):
    wati = Person(world, 1001)
    assert world.handlers.handle(Incoming(sender=wati.sender, chat_id=-100, text="/start", chat_type="group")) == []
    assert world.count(User) == 0


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


# --- the chat's command menu follows the role -----------------------------------------------------

def test_a_new_rt_head_gets_the_rt_heads_command_menu_once(world):
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
    assert wati.conversation().state == State.PICK_TIME
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


# --- restarts: nothing survives but what was stored -----------------------------------------------

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
    wati.give_house()
    [claim] = world.scalars(select(FamilyClaim))
    assert (claim.head_name, claim.kk_number) == ("Wati Susanti", KK_WATI)  # decrypted (storage/crypto.py)


# --- the database away: the user is told, nothing is half-written ---------------------------------

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
    assert appointments(world) == [] and wati.conversation().state == State.CONFIRM
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
    assert wati.conversation().state == State.CONFIRM
    wati.press("ok:yes")
    assert [a.status for a in appointments(world)] == ["booked"]


def test_an_english_user_is_told_in_english_when_the_database_is_away(world, monkeypatch):
    ann = Person(world, 1002, "Ann", "en")

    def down():
        raise OperationalError("SELECT 1", {}, Exception("timeout"))

    monkeypatch.setattr(world, "uow_factory", down)
    ann.say("/start")
    assert ann.screen == EN("error-busy")


# --- several bots in one deployment (domain/bots.py): update ids, users of another bot's area -----

def test_each_bot_numbers_its_updates_and_a_user_of_another_city_is_sent_away(world):
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
    assert wati.user().bot_key == "smd" and wati.conversation().state == State.FAMILY_NAME  # nothing else changed
