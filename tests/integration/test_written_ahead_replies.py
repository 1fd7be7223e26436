"""A step's replies are written to the outbox with the step (handlers/app.py reply_grace), on SQLite and
PostgreSQL: delivered at once they leave the outbox; handed over they become due at once; if the
process died first, the dispatcher sends them once the grace ends — a message as a message, an edit as
an edit (or, when its message is gone, the screen as a new message)."""
from __future__ import annotations

import asyncio
import datetime as dt
from types import SimpleNamespace

from bot.replies import Replies
from chat.client import Sent, TelegramRefused
from chat.delivery import Delivery, Outcome
from chat.events import EditMessage, Incoming, SendMessage, Sender
from chat.wire import action_to_json
from domain.model import OutboxMessage
from handlers.app import PintuHandlers
from handlers.context import HandlerConfig
from handlers.notifications import REPLY_KIND
from sqlalchemy import select
from tests.integration.test_outbox import RINA_CHAT, FakeTelegram, World, world  # noqa: F401  (the fixture)

GRACE = dt.timedelta(seconds=60)


class EditingTelegram(FakeTelegram):
    """The outbox fake, which also edits (or says the message to edit is gone)."""

    def __init__(self) -> None:
        super().__init__()
        self.edits: list[EditMessage] = []
        self.gone: set[int] = set()

    async def edit_message(self, action: EditMessage) -> None:
        if action.message_id in self.gone:
            raise TelegramRefused("not_found", "Bad Request: message to edit not found")
        self.edits.append(action)

    async def answer_callback(self, action) -> None:
        return None


def handlers(world: World) -> PintuHandlers:
    handled = PintuHandlers(world.uow_factory, world.clock, HandlerConfig(invite_secret="s"))
    handled.reply_grace = GRACE
    return handled


def replies_rows(world: World) -> list[OutboxMessage]:
    with world.uow_factory() as uow:
        return list(uow.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == REPLY_KIND)
                                        .order_by(OutboxMessage.id)))


def test_a_steps_reply_is_written_ahead_and_the_dispatcher_waits_out_the_grace(world: World) -> None:
    handled = handlers(world).handle_journaled(Incoming(Sender(RINA_CHAT, "Rina", "en"), RINA_CHAT, text="/menu",
                                                        update_id=1))
    [row] = replies_rows(world)
    # The screen is written ahead; the chat's new command menu (an enumerator's) is not a message.
    assert handled.journal == (row.id, None) and isinstance(handled.actions[0], SendMessage)
    assert row.due_at == world.clock.now() + GRACE and row.payload["update_id"] == 1
    world.api = EditingTelegram()
    assert asyncio.run(world.dispatcher().run_once()).claimed == 0  # the bot process sends it itself
    world.clock.advance(GRACE)  # ... unless it died: then the dispatcher does, once
    report = asyncio.run(world.dispatcher().run_once())
    assert report.sent == 1 and [m.text for m in world.api.delivered] == [handled.actions[0].text]
    assert asyncio.run(world.dispatcher().run_once()).claimed == 0


def test_a_handed_over_edit_is_sent_as_an_edit_or_as_a_new_message_when_its_message_is_gone(world: World) -> None:
    with world.uow_factory() as uow:
        for message_id in (10, 11):
            uow.outbox.add(RINA_CHAT, REPLY_KIND, {"action": action_to_json(EditMessage(RINA_CHAT, message_id, f"screen {message_id}"))},
                           due_at=world.clock.now(), now=world.clock.now())
        uow.commit()
    world.api = api = EditingTelegram()
    api.gone.add(11)
    report = asyncio.run(world.dispatcher().run_once())
    assert report.sent == 2
    assert [(e.message_id, e.text) for e in api.edits] == [(10, "screen 10")]
    assert [m.text for m in api.delivered] == ["screen 11"]


def test_delivered_replies_leave_the_outbox_and_undelivered_ones_are_settled(world: World) -> None:
    handled = handlers(world)
    rows = []
    for update_id in (1, 2, 3):
        rows += [row for row in handled.handle_journaled(Incoming(Sender(RINA_CHAT, "Rina", "en"), RINA_CHAT,
                                                                  text="/menu", update_id=update_id)).journal if row]
    pintu = SimpleNamespace(uow=world.uow_factory, clock=world.clock)
    replies = Replies.__new__(Replies)
    replies.pintu = pintu
    replies._settle([(rows[0], Outcome(Delivery.SENT, sent=Sent(1))),
                     (rows[1], Outcome(Delivery.HANDED_OVER, "network: Bad Gateway")),
                     (rows[2], Outcome(Delivery.UNDELIVERABLE, "blocked: Forbidden"))])
    left = {row.id: row for row in replies_rows(world)}
    assert rows[0] not in left
    assert left[rows[1]].status == "pending" and left[rows[1]].due_at == world.clock.now()
    assert "handed over" in left[rows[1]].last_error
    assert left[rows[2]].status == "undeliverable"
