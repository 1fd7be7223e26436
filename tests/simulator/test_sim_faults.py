"""Faults on demand: 500/502/429 answers that perform nothing, hangs before and after performing."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from sim_helpers import BOT_ID, TOKEN, USER_ID, call, ok
from simulator.testing import SimulatorError

OTHER_USER = 1002
HANG = 0.3  # seconds a hang lasts in these tests


def bot_messages(sim, chat_id: int = USER_ID) -> list[str]:
    return [m["text"] for m in sim.messages(BOT_ID, chat_id) if m["from_bot"]]


def send(sim, text: str, chat_id: int | str = USER_ID) -> dict:
    return call(sim, "sendMessage", chat_id=chat_id, text=text)


@pytest.mark.parametrize(
    ("kind", "code", "description"), [("500", 500, "Internal Server Error"), ("502", 502, "Bad Gateway")]
)
def test_server_errors_fire_count_times_and_perform_nothing(sim, kind, code, description):
    fault = sim.inject_fault(TOKEN, "sendMessage", kind=kind, count=2)
    assert (fault["fired"], fault["remaining"]) == (0, 2)
    answers = [send(sim, f"try {n}") for n in range(3)]
    assert answers[:2] == [{"ok": False, "error_code": code, "description": description}] * 2
    assert answers[2]["ok"]
    assert bot_messages(sim) == ["try 2"]  # the refused calls sent nothing
    assert sim.faults_fired(BOT_ID) == 2
    assert sim.faults(BOT_ID)[0]["remaining"] == 0
    stats = sim.stats(BOT_ID)
    assert stats["new_messages"] == {str(USER_ID): 1}
    assert stats["errors"] == {str(code): 2}


def test_a_failed_edit_edits_nothing(sim):
    sent = ok(sim, "sendMessage", chat_id=USER_ID, text="original")
    sim.inject_fault(TOKEN, "editMessageText", kind="500")
    answer = call(sim, "editMessageText", chat_id=USER_ID, message_id=sent["message_id"], text="changed")
    assert answer["error_code"] == 500
    assert [(m["text"], m["edited"]) for m in sim.messages(BOT_ID, USER_ID) if m["from_bot"]] == [("original", 0)]


def test_only_the_named_method_case_insensitively(sim):
    sim.inject_fault(BOT_ID, "SENDmessage", kind="500")
    assert call(sim, "getMe")["ok"]
    assert call(sim, "sendChatAction", chat_id=USER_ID, action="typing")["ok"]
    assert call(sim, "SendMessage", chat_id=USER_ID, text="hit")["error_code"] == 500
    assert call(sim, "sendMessage", chat_id=USER_ID, text="through")["ok"]
    assert sim.faults(BOT_ID)[0]["method"] == "sendMessage"


def test_only_calls_for_the_named_chat(sim):
    sim.send_text(BOT_ID, OTHER_USER, "/start")
    sim.create_group(BOT_ID, -100, "Kader", username="kader_grp")
    sim.inject_fault(TOKEN, "sendMessage", kind="500", count=2, chat_id=OTHER_USER)
    sim.inject_fault(TOKEN, "sendMessage", kind="502", chat_id=-100)
    assert send(sim, "to Ayu")["ok"]
    assert send(sim, "to the other", chat_id=OTHER_USER)["error_code"] == 500
    # Form-encoded (string) chat ids match as well.
    form = httpx.post(f"{sim.url}/bot{TOKEN}/sendMessage", data={"chat_id": str(OTHER_USER), "text": "form"})
    assert form.json()["error_code"] == 500
    assert send(sim, "to the group", chat_id="@kader_grp")["error_code"] == 502  # by username too
    assert send(sim, "again", chat_id=OTHER_USER)["ok"]
    assert bot_messages(sim, OTHER_USER) == ["again"]
    assert sim.faults_fired(BOT_ID) == 3


def test_skip_lets_matching_calls_through_first(sim):
    sim.inject_fault(TOKEN, "sendMessage", kind="500", count=1, skip=2)
    assert call(sim, "getMe")["ok"]  # not a matching call: does not count as skipped
    results = [send(sim, str(n)).get("error_code") for n in range(4)]
    assert results == [None, None, 500, None]
    assert bot_messages(sim) == ["0", "1", "3"]
    assert sim.faults(BOT_ID)[0]["skipped"] == 2


def test_faults_fire_in_the_order_they_were_set(sim):
    sim.inject_fault(TOKEN, "sendMessage", kind="500")
    sim.inject_fault(TOKEN, "sendMessage", kind="502")
    assert [send(sim, str(n)).get("error_code") for n in range(3)] == [500, 502, None]


def test_429_carries_retry_after(sim):
    sim.inject_fault(TOKEN, "sendMessage", kind="429", seconds=7)
    assert send(sim, "flood") == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 7",
        "parameters": {"retry_after": 7},
    }
    assert sim.stats(BOT_ID)["too_many_requests"] == 1
    assert bot_messages(sim) == []


def test_any_method_excludes_get_updates_and_the_user_side(sim):
    sim.inject_fault(TOKEN, None, kind="500", count=5)
    sim.send_text(BOT_ID, USER_ID, "hello")  # the user side is never faulted
    assert [u["message"]["text"] for u in ok(sim, "getUpdates")] == ["hello"]
    assert sim.faults_fired(BOT_ID) == 0
    assert call(sim, "getMe")["error_code"] == 500
    assert sim.faults_fired(BOT_ID) == 1


def test_a_failed_get_updates_confirms_nothing(sim):
    sim.send_text(BOT_ID, USER_ID, "one")
    sim.send_text(BOT_ID, USER_ID, "two")
    first = ok(sim, "getUpdates")
    sim.inject_fault(TOKEN, "getUpdates", kind="502")
    assert call(sim, "getUpdates", offset=first[-1]["update_id"] + 1)["error_code"] == 502
    assert ok(sim, "getUpdates") == first  # the offset of the failed call was not applied


def test_clear_faults_disarms_and_resets(sim):
    sim.inject_fault(TOKEN, "sendMessage", kind="500", count=3)
    assert send(sim, "a")["error_code"] == 500
    assert sim.clear_faults(TOKEN) is True
    assert send(sim, "b")["ok"]
    assert sim.faults(BOT_ID) == []
    assert sim.faults_fired(BOT_ID) == 0


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ({"method": "sendTelepathy", "kind": "500"}, "unknown Bot API method 'sendTelepathy'"),
        ({"method": "sendMessage", "kind": "503"}, "unknown fault kind '503'"),
        ({"method": "sendMessage", "kind": "hang"}, "a 'hang' fault needs seconds"),
        ({"method": "sendMessage", "kind": "500", "count": 0}, "count must be at least 1"),
    ],
)
def test_fault_validation(sim, fault, message):
    with pytest.raises(SimulatorError) as caught:
        sim.inject_fault(TOKEN, **fault)
    assert caught.value.status == 400 and message in caught.value.description


def test_faults_of_an_unknown_bot(sim):
    with pytest.raises(SimulatorError) as caught:
        sim.inject_fault("999:nope", "sendMessage")
    assert caught.value.status == 404


# --- hangs ------------------------------------------------------------------------------------------


async def test_hang_after_performs_then_answers_late(sim):
    async with sim.async_client() as user, httpx.AsyncClient() as bot:
        await user.inject_fault(TOKEN, "sendMessage", kind="hang-after", seconds=HANG)
        started = time.monotonic()
        answer = asyncio.create_task(
            bot.post(f"{sim.url}/bot{TOKEN}/sendMessage", json={"chat_id": USER_ID, "text": "late"}, timeout=10)
        )
        seen = await user.wait_for_message(BOT_ID, USER_ID, lambda m: m["text"] == "late")
        assert not answer.done()  # the user sees the message while the bot still waits for the answer
        result = (await answer).json()
    assert time.monotonic() - started >= HANG
    assert result["ok"] and result["result"]["message_id"] == seen["message_id"]


async def test_hang_after_with_a_client_timeout_is_how_duplicates_happen(sim):
    url = f"{sim.url}/bot{TOKEN}/sendMessage"
    async with sim.async_client() as user, httpx.AsyncClient() as bot:
        await user.inject_fault(TOKEN, "sendMessage", kind="hang-after", seconds=5)
        with pytest.raises(httpx.ReadTimeout):
            await bot.post(url, json={"chat_id": USER_ID, "text": "reminder"}, timeout=HANG)
        retry = (await bot.post(url, json={"chat_id": USER_ID, "text": "reminder"}, timeout=10)).json()
        assert retry["ok"]
        texts = [m["text"] for m in await user.messages(BOT_ID, USER_ID) if m["from_bot"]]
    assert texts == ["reminder", "reminder"]  # the timed-out call went through: a blind retry duplicates


async def test_hang_waits_then_performs(sim):
    async with sim.async_client() as user, httpx.AsyncClient() as bot:
        await user.inject_fault(TOKEN, "sendMessage", kind="hang", seconds=HANG, count=1)
        started = time.monotonic()
        answer = await bot.post(f"{sim.url}/bot{TOKEN}/sendMessage", json={"chat_id": USER_ID, "text": "slow"},
                                timeout=10)
        elapsed = time.monotonic() - started
        assert answer.json()["ok"]
        assert [m["text"] for m in await user.messages(BOT_ID, USER_ID) if m["from_bot"]] == ["slow"]
        fast_started = time.monotonic()
        assert (await bot.post(f"{sim.url}/bot{TOKEN}/getMe", timeout=10)).json()["ok"]
        await bot.post(f"{sim.url}/bot{TOKEN}/sendMessage", json={"chat_id": USER_ID, "text": "fast"}, timeout=10)
        fast = time.monotonic() - fast_started
        assert (await user.faults(BOT_ID))[0]["fired"] == 1
    assert elapsed >= HANG
    assert fast < elapsed  # only the first call hung


async def test_hang_drops_the_call_when_the_client_gives_up(sim):
    async with sim.async_client() as user, httpx.AsyncClient() as bot:
        await user.inject_fault(TOKEN, "sendMessage", kind="hang", seconds=5)
        with pytest.raises(httpx.ReadTimeout):
            await bot.post(f"{sim.url}/bot{TOKEN}/sendMessage", json={"chat_id": USER_ID, "text": "lost"},
                           timeout=HANG)

        async def abandoned() -> bool:
            return (await user.faults(BOT_ID))[0]["abandoned"] == 1

        await user.wait_for(abandoned)
        assert [m for m in await user.messages(BOT_ID, USER_ID) if m["from_bot"]] == []
        assert "sendMessage" not in (await user.stats(BOT_ID))["methods"]


async def test_a_fault_set_during_a_long_poll_applies_to_the_next_call(sim):
    url = f"{sim.url}/bot{TOKEN}/getUpdates"
    before = sim.stats(BOT_ID)["methods"].get("getUpdates", 0)
    async with sim.async_client() as user, httpx.AsyncClient() as bot:
        poll = asyncio.create_task(bot.post(url, json={"timeout": 20}, timeout=30))

        async def polling() -> bool:
            return (await user.stats(BOT_ID))["methods"].get("getUpdates", 0) > before

        await user.wait_for(polling)
        await user.inject_fault(TOKEN, "getUpdates", kind="500")
        await user.send_text(BOT_ID, USER_ID, "during")
        first = (await poll).json()  # the waiting poll was already past the fault
        assert [u["message"]["text"] for u in first["result"]] == ["during"]
        assert (await bot.post(url, json={}, timeout=10)).json()["error_code"] == 500
        again = (await bot.post(url, json={}, timeout=10)).json()
    assert again["result"] == first["result"]
