"""Long polling that loses nothing (bot/inbox.py): a batch is stored before the next getUpdates
acknowledges it; a process that starts handles what a dead one had stored; a flood of texts from one
user is answered once (bot/transport.PerUserOrder)."""
from __future__ import annotations

import asyncio

from bot.inbox import DurablePolling
from bot.transport import PerUserOrder


def update(update_id: int) -> dict:
    return {"update_id": update_id, "message": {"message_id": update_id, "text": f"t{update_id}"}}


class Store:
    """The inbox table: stored rows, and which of them were handled."""

    def __init__(self, kept: list[dict] | None = None, handled: set[int] | None = None) -> None:
        self.rows = {u["update_id"]: u for u in kept or []}
        self.handled = set(handled or ())
        self.log: list[str] = []

    async def keep(self, updates, acknowledged_below):
        fresh = [u for u in updates if u["update_id"] not in self.rows]
        self.log.append(f"keep {[u['update_id'] for u in fresh]}")
        self.rows.update({u["update_id"]: u for u in fresh})
        if acknowledged_below is not None:
            for i in [i for i in self.rows if i < acknowledged_below and i in self.handled]:
                del self.rows[i]
        return fresh

    async def pending(self):
        return [self.rows[i] for i in sorted(self.rows) if i not in self.handled]

    async def done(self, update_id):
        self.handled.add(update_id)

    def unhandled(self) -> set[int]:
        return set(self.rows) - self.handled


class Telegram:
    """getUpdates by the documented offset rule: an update is confirmed by an offset above its id."""

    def __init__(self, *ids: int) -> None:
        self.queue = [update(i) for i in ids]
        self.offsets: list[int | None] = []
        self.more = asyncio.Event()

    async def fetch(self, offset):
        self.offsets.append(offset)
        if offset is not None:
            self.queue = [u for u in self.queue if u["update_id"] >= offset]
        if not self.queue:
            await self.more.wait()  # a long poll: nothing until the test adds some
            self.more.clear()
        return list(self.queue)


async def test_a_batch_is_stored_before_the_next_get_updates_acknowledges_it():
    telegram, store, handled = Telegram(5, 6), Store(), []

    async def feed(data):
        handled.append(data["update_id"])

    polling = DurablePolling(telegram.fetch, feed, store)
    task = asyncio.create_task(polling.run())
    while len(telegram.offsets) < 2:  # the second call is the acknowledgement
        await asyncio.sleep(0)
    assert store.log == ["keep [5, 6]"] and telegram.offsets == [None, 7]
    await polling.stop()
    await task
    await polling.wait_handled()
    assert handled == [5, 6] and store.unhandled() == set()


async def test_a_new_process_first_handles_what_a_dead_one_had_stored_and_each_once():
    # 4 was handled, 5 and 6 stored and never handled: the process was killed. None of them was
    # acknowledged, so Telegram sends them all again, with a new one.
    store, handled = Store([update(4), update(5), update(6)], handled={4}), []
    telegram = Telegram(4, 5, 6, 7)

    async def feed(data):
        handled.append(data["update_id"])

    polling = DurablePolling(telegram.fetch, feed, store)
    task = asyncio.create_task(polling.run())
    while len(telegram.offsets) < 2:
        await asyncio.sleep(0)
    await polling.stop()
    await task
    await polling.wait_handled()
    assert sorted(handled) == [5, 6, 7] and store.log == ["keep [7]"] and store.unhandled() == set()
    assert telegram.offsets == [None, 8]  # all four acknowledged; handled rows go with the next batch


async def test_an_update_whose_handling_failed_leaves_the_inbox_and_polling_goes_on():
    telegram, store = Telegram(1, 2), Store()

    async def feed(data):
        if data["update_id"] == 1:
            raise RuntimeError("boom")

    polling = DurablePolling(telegram.fetch, feed, store)
    task = asyncio.create_task(polling.run())
    while len(telegram.offsets) < 2:
        await asyncio.sleep(0)
    await polling.stop()
    await task
    await polling.wait_handled()
    assert store.unhandled() == set()


async def test_a_flood_of_texts_is_answered_once_to_the_latest_and_commands_are_never_skipped():
    order, answered, superseded = PerUserOrder(), [], []
    gate = asyncio.Event()

    async def one(name: str, plain: bool, first: bool = False, user: int = 1001):
        async with order.hold(user, plain) as skip:
            if first:
                await gate.wait()
            (superseded if skip else answered).append(name)

    tasks = [asyncio.create_task(one("press", False, first=True))]
    await asyncio.sleep(0)
    tasks += [asyncio.create_task(one(n, p)) for n, p in (("a", True), ("b", True), ("/menu", False),
                                                               ("c", True), ("d", True))]
    other = asyncio.create_task(one("someone else", True, user=1002))
    await asyncio.sleep(0)
    gate.set()
    await asyncio.gather(*tasks, other)
    assert [n for n in answered if n != "someone else"] == ["press", "b", "/menu", "d"]
    assert superseded == ["a", "c"] and "someone else" in answered  # another user's text is never held back
