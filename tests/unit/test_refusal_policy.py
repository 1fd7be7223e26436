"""One refusal policy (chat/client.py): what each of Telegram's refusals means for a reply, an edit and
an outbox message, so that direct replies and the dispatcher never disagree."""
from __future__ import annotations

import pytest

from chat.client import Refusal, TelegramRefused, Verdict, verdict
from chat.events import AnswerCallback, EditMessage, SendMessage

SEND = SendMessage(1, "hi")
EDIT = EditMessage(1, 5, "hi")


@pytest.mark.parametrize(("kind", "for_send", "for_edit"), [
    (Refusal.RETRY_AFTER, Verdict.WAIT_AND_RETRY, Verdict.WAIT_AND_RETRY),
    (Refusal.BLOCKED, Verdict.RECIPIENT_BLOCKED, Verdict.RECIPIENT_BLOCKED),
    (Refusal.NOT_MODIFIED, Verdict.FAILED, Verdict.DONE),
    (Refusal.MESSAGE_GONE, Verdict.UNDELIVERABLE, Verdict.SEND_AS_NEW),
    (Refusal.CHAT_NOT_FOUND, Verdict.UNDELIVERABLE, Verdict.UNDELIVERABLE),
    (Refusal.BAD_REQUEST, Verdict.FAILED, Verdict.FAILED),
    (Refusal.NETWORK, Verdict.RETRY_LATER, Verdict.RETRY_LATER),
])
def test_every_refusal_has_one_meaning(kind, for_send, for_edit):
    refused = TelegramRefused(kind, "x")
    assert verdict(refused, SEND) is for_send
    assert verdict(refused, EDIT) is for_edit
    assert verdict(refused, AnswerCallback("c")) is for_send  # a callback answer is no edit


def test_a_transport_may_name_the_kind_by_its_string():
    assert TelegramRefused("chat_not_found").kind is Refusal.CHAT_NOT_FOUND
    assert str(TelegramRefused("retry_after", "Too Many Requests")) == "retry_after: Too Many Requests"
    with pytest.raises(ValueError):
        TelegramRefused("on_fire")
