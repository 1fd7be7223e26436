"""Direct replies delivered or accounted for (chat/delivery.py): 429 waited out, 5xx and timeouts
retried with backoff, an edit whose message is gone sent anew, whatever is still not through at the
deadline handed to the outbox; nothing sent twice."""
from __future__ import annotations

import pytest

from chat.client import ApiClient, Sent, TelegramRefused
from chat.delivery import Delivery, DeliveryPolicy, ReplySender
from chat.events import AnswerCallback, EditMessage, SendMessage


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class Script(ApiClient):
    """Answers each call with the next scripted refusal, then succeeds; records what went through."""

    def __init__(self, *refusals: TelegramRefused | BaseException) -> None:
        self.refusals = list(refusals)
        self.calls: list[object] = []
        self.delivered: list[object] = []

    async def _answer(self, action: object) -> Sent:
        self.calls.append(action)
        if self.refusals:
            raise self.refusals.pop(0)
        self.delivered.append(action)
        return Sent(len(self.delivered))

    async def send_message(self, action: SendMessage) -> Sent:
        return await self._answer(action)

    async def edit_message(self, action: EditMessage) -> None:
        await self._answer(action)

    async def answer_callback(self, action: AnswerCallback) -> None:
        await self._answer(action)


class Limiter:
    def __init__(self) -> None:
        self.acquired: list[int] = []
        self.penalties: list[float] = []

    async def acquire(self, chat_id: int) -> None:
        self.acquired.append(chat_id)

    def penalize(self, retry_after: float) -> None:
        self.penalties.append(retry_after)


def sender(api: ApiClient, clock: Clock, limiter: Limiter | None = None, deadline: float = 30.0, **kwargs) -> ReplySender:
    return ReplySender(api, limiter, policy=DeliveryPolicy(deadline=deadline), sleep=clock.sleep,
                       monotonic=clock.monotonic, random_fraction=lambda: 1.0, **kwargs)


SEND = SendMessage(7, "Ketik nomor KK")
EDIT = EditMessage(7, 3, "Pilih waktu")
SERVER_ERROR = TelegramRefused("network", "Internal Server Error")


async def test_a_429_pauses_every_send_then_the_same_message_goes_once():
    clock, limiter = Clock(), Limiter()
    api = Script(TelegramRefused("retry_after", "Too Many Requests", retry_after=4))
    [outcome] = await sender(api, clock, limiter).run([SEND])
    assert outcome.delivery is Delivery.RETRIED and api.delivered == [SEND]
    assert limiter.penalties == [4] and limiter.acquired == [7, 7]  # the limiter holds the pause for everyone


async def test_an_edit_is_not_paced_so_it_waits_out_the_429_itself():
    clock = Clock()
    api = Script(TelegramRefused("retry_after", "Too Many Requests", retry_after=2))
    [outcome] = await sender(api, clock, Limiter()).run([EDIT])
    assert outcome.delivery is Delivery.RETRIED and clock.slept == [2] and api.delivered == [EDIT]


async def test_server_errors_and_timeouts_are_retried_with_growing_backoff():
    clock = Clock()
    api = Script(SERVER_ERROR, TimeoutError("read"), SERVER_ERROR)
    [outcome] = await sender(api, clock).run([SEND])
    assert outcome.delivery is Delivery.RETRIED and api.delivered == [SEND] and len(api.calls) == 4
    assert clock.slept == [0.5, 1.0, 2.0]


async def test_still_failing_at_the_deadline_it_is_handed_to_the_outbox():
    clock = Clock()
    api = Script(*[SERVER_ERROR] * 50)
    [outcome] = await sender(api, clock, deadline=10.0).run([SEND])
    assert outcome.delivery is Delivery.HANDED_OVER and "Internal Server Error" in outcome.reason
    assert api.delivered == [] and clock.now <= 10.0


async def test_an_edit_of_a_message_that_is_gone_becomes_a_new_message():
    clock = Clock()
    api = Script(TelegramRefused("not_found", "Bad Request: message to edit not found"))
    [outcome] = await sender(api, clock).run([EDIT])
    assert outcome.delivery is Delivery.RETRIED and api.delivered == [SendMessage(7, "Pilih waktu")]


async def test_an_edit_that_changes_nothing_counts_as_delivered_and_is_not_repeated():
    clock = Clock()
    api = Script(TelegramRefused("not_modified", "Bad Request: message is not modified"))
    [outcome] = await sender(api, clock).run([EDIT])
    assert outcome.delivery is Delivery.SENT and len(api.calls) == 1


async def test_a_blocked_user_is_marked_and_the_rest_of_the_reply_still_tried():
    blocked: list[int] = []

    async def on_blocked(chat_id: int) -> None:
        blocked.append(chat_id)

    api = Script(TelegramRefused("blocked", "Forbidden: bot was blocked by the user"))
    outcomes = await sender(api, Clock(), on_blocked=on_blocked).run([SEND, AnswerCallback("cb1")])
    assert [o.delivery for o in outcomes] == [Delivery.UNDELIVERABLE, Delivery.SENT] and blocked == [7]


async def test_a_wrong_request_is_not_retried_and_a_late_callback_answer_is_dropped():
    api = Script(TelegramRefused("bad_request", "Bad Request: can't parse entities"),
                 TelegramRefused("bad_request", "Bad Request: query is too old"))
    outcomes = await sender(api, Clock()).run([SEND, AnswerCallback("cb1")])
    assert [o.delivery for o in outcomes] == [Delivery.FAILED, Delivery.DROPPED] and len(api.calls) == 2


@pytest.mark.parametrize("kind", ["chat_not_found", "blocked"])
async def test_every_outcome_is_observed_with_the_update(kind):
    seen: list[tuple] = []
    api = Script(TelegramRefused(kind, "x"))
    await sender(api, Clock(), observe=lambda d, a, u: seen.append((d, u))).run([SEND, EDIT], update_id=41)
    assert seen == [(Delivery.UNDELIVERABLE, 41), (Delivery.SENT, 41)]
