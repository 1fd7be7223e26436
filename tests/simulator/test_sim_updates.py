"""getUpdates: offsets, limits, long polling, allowed_updates and conflicts."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from sim_helpers import BOT_ID, TOKEN, USER_ID, error, ok


def send(sim, count: int) -> None:
    for n in range(count):
        sim.send_text(BOT_ID, USER_ID, f"message {n}")


def ids(updates: list[dict]) -> list[int]:
    return [u["update_id"] for u in updates]


async def polls_received(user, count: int) -> None:
    """Wait until the server has received ``count`` getUpdates calls (so a long poll is waiting)."""

    async def received() -> bool:
        return (await user.stats(BOT_ID))["methods"].get("getUpdates", 0) >= count

    await user.wait_for(received)


def poll_count(sim) -> int:
    return sim.stats(BOT_ID)["methods"].get("getUpdates", 0)


def test_updates_stay_until_an_offset_confirms_them(sim):
    send(sim, 3)
    first = ok(sim, "getUpdates")
    assert [u["message"]["text"] for u in first] == ["message 0", "message 1", "message 2"]
    assert ok(sim, "getUpdates") == first  # not confirmed yet
    assert ids(ok(sim, "getUpdates", offset=first[1]["update_id"])) == ids(first[1:])
    assert ok(sim, "getUpdates", offset=first[-1]["update_id"] + 1) == []


def test_a_process_that_died_before_confirming_gets_the_same_updates_again(sim):
    send(sim, 2)
    url = f"{sim.url}/bot{TOKEN}/getUpdates"
    with httpx.Client(trust_env=False) as first_process:  # fetches, then dies without another getUpdates
        fetched = first_process.post(url, json={"offset": 0}).json()["result"]
    with httpx.Client(trust_env=False) as second_process:
        again = second_process.post(url, json={}).json()["result"]
        assert again == fetched  # same updates, same ids: fetching alone confirms nothing
        send(sim, 1)
        # An offset equal to an update's id keeps it; only a higher one confirms it.
        kept = second_process.post(url, json={"offset": again[-1]["update_id"]}).json()["result"]
        assert ids(kept) == [again[-1]["update_id"], again[-1]["update_id"] + 1]
        second_process.post(url, json={"offset": kept[-1]["update_id"] + 1})
    with httpx.Client(trust_env=False) as third_process:
        assert third_process.post(url, json={}).json()["result"] == []


async def test_an_abandoned_long_poll_loses_no_update(sim):
    url = f"{sim.url}/bot{TOKEN}/getUpdates"
    before = poll_count(sim)
    async with sim.async_client() as user:
        async with httpx.AsyncClient() as dying:
            poll = asyncio.create_task(dying.post(url, json={"timeout": 20}, timeout=30))
            await polls_received(user, before + 1)
            poll.cancel()  # the process dies while its long poll waits
            with pytest.raises(asyncio.CancelledError):
                await poll
        await user.send_text(BOT_ID, USER_ID, "while nobody polls")
    assert [u["message"]["text"] for u in ok(sim, "getUpdates")] == ["while nobody polls"]


def test_limit_is_clamped_to_1_100(sim):
    send(sim, 3)
    assert len(ok(sim, "getUpdates", limit=2)) == 2
    assert len(ok(sim, "getUpdates", limit=0)) == 1
    assert len(ok(sim, "getUpdates", limit=500)) == 3


def test_negative_offset_keeps_only_the_last_updates(sim):
    send(sim, 4)
    last_two = ok(sim, "getUpdates", offset=-2)
    assert [u["message"]["text"] for u in last_two] == ["message 2", "message 3"]
    assert ok(sim, "getUpdates") == last_two  # the earlier ones are forgotten


def test_update_ids_increase_by_one(sim):
    send(sim, 3)
    numbers = ids(ok(sim, "getUpdates"))
    assert numbers == list(range(numbers[0], numbers[0] + 3))


async def test_long_poll_returns_as_soon_as_an_update_arrives(sim):
    before = poll_count(sim)
    async with httpx.AsyncClient() as client:
        poll = asyncio.create_task(
            client.post(f"{sim.url}/bot{TOKEN}/getUpdates", json={"timeout": 20}, timeout=30)
        )
        async with sim.async_client() as user:
            await polls_received(user, before + 1)
            assert not poll.done()
            started = time.monotonic()
            await user.send_text(BOT_ID, USER_ID, "ping")
            answer = (await poll).json()
    assert time.monotonic() - started < 10  # long before the 20 s timeout
    assert [u["message"]["text"] for u in answer["result"]] == ["ping"]


async def test_long_poll_times_out_with_an_empty_list(sim):
    async with httpx.AsyncClient() as client:
        started = time.monotonic()
        answer = await client.post(f"{sim.url}/bot{TOKEN}/getUpdates", data={"timeout": "1"}, timeout=10)
    assert answer.json() == {"ok": True, "result": []}
    assert 0.9 <= time.monotonic() - started < 10


async def test_a_second_long_poll_terminates_the_first(sim):
    url = f"{sim.url}/bot{TOKEN}/getUpdates"
    before = poll_count(sim)
    async with httpx.AsyncClient() as client, sim.async_client() as user:
        first = asyncio.create_task(client.post(url, json={"timeout": 20}, timeout=30))
        await polls_received(user, before + 1)
        second = asyncio.create_task(client.post(url, json={"timeout": 20}, timeout=30))
        answer = (await first).json()
        assert answer["error_code"] == 409
        assert answer["description"] == (
            "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
        )
        await user.send_text(BOT_ID, USER_ID, "for the second")
        assert (await second).json()["result"][0]["message"]["text"] == "for the second"


async def test_set_webhook_terminates_a_long_poll(sim):
    before = poll_count(sim)
    async with httpx.AsyncClient() as client, sim.async_client() as user:
        poll = asyncio.create_task(client.post(f"{sim.url}/bot{TOKEN}/getUpdates", json={"timeout": 20}, timeout=30))
        await polls_received(user, before + 1)
        await client.post(f"{sim.url}/bot{TOKEN}/setWebhook", json={"url": "http://127.0.0.1:9/hook"})
        answer = (await poll).json()
    assert (answer["error_code"], answer["description"]) == (409, "Conflict: terminated by setWebhook request")


def test_allowed_updates_filters_updates_created_afterwards(sim):
    sent = ok(sim, "sendMessage", chat_id=USER_ID, text="?", reply_markup={"inline_keyboard": [[{"text": "a", "callback_data": "a"}]]})
    assert ok(sim, "getUpdates", allowed_updates=["callback_query"]) == []
    sim.send_text(BOT_ID, USER_ID, "ignored")
    sim.press(BOT_ID, USER_ID, sent["message_id"], "a")
    updates = ok(sim, "getUpdates")
    assert [next(k for k in u if k != "update_id") for u in updates] == ["callback_query"]
    ok(sim, "getUpdates", offset=updates[-1]["update_id"] + 1, allowed_updates="[]")  # back to the default
    sim.send_text(BOT_ID, USER_ID, "seen")
    assert ok(sim, "getUpdates")[0]["message"]["text"] == "seen"


def test_get_updates_conflicts_with_a_webhook(sim):
    assert ok(sim, "setWebhook", url="http://127.0.0.1:9/hook") is True
    assert error(sim, "getUpdates") == (
        409,
        "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
    )
    assert ok(sim, "deleteWebhook") is True
    assert ok(sim, "getUpdates") == []


def test_delete_webhook_can_drop_pending_updates(sim):
    send(sim, 2)
    ok(sim, "deleteWebhook", drop_pending_updates=False)
    assert len(ok(sim, "getUpdates")) == 2
    ok(sim, "deleteWebhook", drop_pending_updates=True)
    assert ok(sim, "getUpdates") == []


def test_blocking_sends_my_chat_member_updates(sim):
    sim.block(BOT_ID, USER_ID)
    sim.block(BOT_ID, USER_ID)  # no change, no update
    sim.unblock(BOT_ID, USER_ID)
    updates = ok(sim, "getUpdates")
    statuses = [(u["my_chat_member"]["old_chat_member"]["status"], u["my_chat_member"]["new_chat_member"]["status"]) for u in updates]
    assert statuses == [("member", "kicked"), ("kicked", "member")]
    assert updates[0]["my_chat_member"]["new_chat_member"]["user"]["id"] == BOT_ID


@pytest.mark.parametrize("timeout", ["abc", "-5"])
def test_odd_timeouts_read_as_no_wait(sim, timeout):
    started = time.monotonic()
    assert ok(sim, "getUpdates", timeout=timeout) == []
    assert time.monotonic() - started < 5


def test_malformed_or_unknown_allowed_updates_are_ignored(sim):
    ok(sim, "getUpdates", allowed_updates=["callback_query"])
    ok(sim, "getUpdates", allowed_updates="not json")  # ignored: the filter stays
    sim.send_text(BOT_ID, USER_ID, "filtered")
    assert ok(sim, "getUpdates") == []
    ok(sim, "getUpdates", allowed_updates=["no_such_update"])  # no known name: the default again
    sim.send_text(BOT_ID, USER_ID, "seen")
    assert [u["message"]["text"] for u in ok(sim, "getUpdates")] == ["seen"]
