"""The user side (``/sim``), the rate limits seen over HTTP, and the test helpers."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from sim_helpers import BOT_ID, TOKEN, USER_ID, drain, error, ok
from simulator.testing import SimulatorError, make_png

KEYBOARD = {"inline_keyboard": [[{"text": "Yes", "callback_data": "yes"}]]}


def test_user_messages_reach_the_bot(sim):
    message = sim.send_text(BOT_ID, USER_ID, "/start@pintu_test_bot rt05")
    assert message["entities"] == [{"type": "bot_command", "offset": 0, "length": 21}]
    assert message["from"] == {"id": USER_ID, "is_bot": False, "first_name": "Ayu", "username": "ayu"}
    [update] = drain(sim)
    assert update["message"] == message


def test_unknown_users_are_created_on_first_use(sim):
    message = sim.send_text(BOT_ID, 3003, "halo")
    assert message["from"]["first_name"] == "User 3003"
    assert ok(sim, "sendMessage", chat_id=3003, text="halo juga")  # writing started the bot


def test_location_contact_photo_and_document(sim):
    location = sim.share_location(BOT_ID, USER_ID, -6.2, 106.816666, horizontal_accuracy=20)
    assert location["location"] == {"latitude": -6.2, "longitude": 106.816666, "horizontal_accuracy": 20.0}
    contact = sim.share_contact(BOT_ID, USER_ID, "+628123456789")
    assert contact["contact"] == {"phone_number": "+628123456789", "first_name": "Ayu", "user_id": USER_ID}
    photo = sim.send_photo(BOT_ID, USER_ID, make_png(400, 300), caption="KTP")
    assert [(p["width"], p["height"]) for p in photo["photo"]] == [(90, 68), (320, 240), (400, 300)]
    assert photo["caption"] == "KTP"
    document = sim.send_document(BOT_ID, USER_ID, b"%PDF-1.4", "form.pdf")
    assert document["document"]["mime_type"] == "application/pdf"
    kinds = [next(k for k in ("location", "contact", "photo", "document") if k in u["message"]) for u in drain(sim)]
    assert kinds == ["location", "contact", "photo", "document"]


def test_user_photo_can_be_downloaded_by_the_bot(sim):
    png = make_png(200, 100)
    file_id = sim.send_photo(BOT_ID, USER_ID, png)["photo"][-1]["file_id"]
    path = ok(sim, "getFile", file_id=file_id)["file_path"]
    assert httpx.get(f"{sim.url}/file/bot{TOKEN}/{path}").content == png
    assert httpx.get(f"{sim.url}/sim/{BOT_ID}/photos/{file_id}").content == png


def test_refusals(sim):
    with pytest.raises(SimulatorError) as caught:
        sim.send_photo(BOT_ID, USER_ID, b"not an image")
    assert caught.value.status == 400 and "IMAGE_PROCESS_FAILED" in caught.value.description
    with pytest.raises(SimulatorError) as caught:
        sim.send_text(999, USER_ID, "hi")
    assert caught.value.status == 404
    with pytest.raises(SimulatorError):
        sim.share_location(BOT_ID, USER_ID, 95, 0)
    sim.block(BOT_ID, USER_ID)
    with pytest.raises(SimulatorError, match="blocked"):
        sim.send_text(BOT_ID, USER_ID, "hi")


def test_press_needs_a_matching_button_unless_forced(sim):
    sent = ok(sim, "sendMessage", chat_id=USER_ID, text="?", reply_markup=KEYBOARD)
    with pytest.raises(SimulatorError, match="no button"):
        sim.press(BOT_ID, USER_ID, sent["message_id"], "no")
    with pytest.raises(SimulatorError, match="not found"):
        sim.press(BOT_ID, USER_ID, 99, "yes")
    forged = sim.press(BOT_ID, USER_ID, sent["message_id"], "admin:drop", force=True)
    assert drain(sim)[0]["callback_query"]["data"] == "admin:drop"
    assert sim.callback_answer(BOT_ID, forged)["answered"] is False


def test_callback_query_carries_the_message_as_it_was_pressed(sim):
    sent = ok(sim, "sendMessage", chat_id=USER_ID, text="before", reply_markup=KEYBOARD)
    sim.press(BOT_ID, USER_ID, sent["message_id"], "yes")
    ok(sim, "editMessageText", chat_id=USER_ID, message_id=sent["message_id"], text="after")
    assert drain(sim)[0]["callback_query"]["message"]["text"] == "before"


def test_chat_messages_by_revision(sim):
    first = sim.poll_messages(BOT_ID, USER_ID)
    assert [m["text"] for m in first["messages"]] == ["/start"]
    sent = ok(sim, "sendMessage", chat_id=USER_ID, text="one", reply_markup=KEYBOARD)
    ok(sim, "sendMessage", chat_id=USER_ID, text="two")
    ok(sim, "editMessageText", chat_id=USER_ID, message_id=sent["message_id"], text="one!")
    later = sim.poll_messages(BOT_ID, USER_ID, after=first["revision"])
    assert [(m["text"], m["edited"]) for m in later["messages"]] == [("one!", 1), ("two", 0)]
    assert later["revision"] == first["revision"] + 3
    assert sim.poll_messages(BOT_ID, USER_ID, after=later["revision"])["messages"] == []


async def test_chat_long_poll_wakes_on_a_change(sim):
    async with sim.async_client() as user:
        revision = (await user.poll_messages(BOT_ID, USER_ID))["revision"]
        waiting = asyncio.create_task(user.poll_messages(BOT_ID, USER_ID, after=revision, wait=20))
        await asyncio.sleep(0.05)
        assert not waiting.done()  # nothing changed yet, so the poll must still be waiting
        await user.bot_call(TOKEN, "sendMessage", chat_id=USER_ID, text="wake up")
        result = await asyncio.wait_for(waiting, 5)
    assert [m["text"] for m in result["messages"]] == ["wake up"]


def test_message_view_fields(sim):
    photo = httpx.post(
        f"{sim.url}/bot{TOKEN}/sendPhoto",
        data={"chat_id": USER_ID, "caption": "Rumah"},
        files={"photo": ("h.png", make_png(30, 30))},
    ).json()["result"]
    view = sim.messages(BOT_ID, USER_ID)[-1]
    assert view == {
        "message_id": photo["message_id"],
        "from_bot": True,
        "from_id": BOT_ID,
        "text": "Rumah",
        "entities": [],
        "reply_markup": None,
        "photo_url": f"/sim/{BOT_ID}/photos/{photo['photo'][-1]['file_id']}",
        "document": None,
        "location": None,
        "contact": None,
        "reply_to_message_id": None,
        "edited": 0,
        "deleted": False,
        "date": photo["date"],
        "revision": view["revision"],
    }


def test_personas(sim):
    personas = [{"user_id": 5005, "title": "Pak RT", "start": "rt05"}, {"user_id": USER_ID, "title": "Ayu"}]
    assert sim.set_personas(BOT_ID, personas)["personas"] == personas
    shown = httpx.get(f"{sim.url}/sim/personas").json()["result"]
    assert shown == {"bot": BOT_ID, "personas": personas, "bot_username": "pintu_test_bot"}
    sim.send_text(BOT_ID, 5005, "/start rt05")
    assert drain(sim)[0]["message"]["from"]["first_name"] == "Pak RT"


def test_registered_bots_are_listed(sim):
    assert httpx.get(f"{sim.url}/sim/bots").json()["result"] == [
        {"id": BOT_ID, "is_bot": True, "first_name": "Pintu", "username": "pintu_test_bot"}
    ]
    answer = httpx.post(f"{sim.url}/sim/bots", json={"token": "nonsense", "username": "x"})
    assert answer.status_code == 400 and answer.json()["ok"] is False


# --- rate limits over HTTP, with a hand-moved clock -----------------------------------------------


def test_private_chat_rate_limit_gives_429_with_retry_after(limited_sim, clock):
    for n in range(3):
        ok(limited_sim, "sendMessage", chat_id=USER_ID, text=f"burst {n}")
    answer = limited_sim.bot_call(TOKEN, "sendMessage", chat_id=USER_ID, text="too fast")
    assert answer == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 1",
        "parameters": {"retry_after": 1},
    }
    clock.advance(1)
    ok(limited_sim, "sendMessage", chat_id=USER_ID, text="after waiting")
    stats = limited_sim.stats(BOT_ID)
    assert stats["too_many_requests"] == 1 and stats["new_messages"] == {str(USER_ID): 4}


def test_edits_do_not_count_against_the_limits(limited_sim):
    sent = ok(limited_sim, "sendMessage", chat_id=USER_ID, text="0")
    for n in range(1, 10):
        ok(limited_sim, "editMessageText", chat_id=USER_ID, message_id=sent["message_id"], text=str(n))
    ok(limited_sim, "sendMessage", chat_id=USER_ID, text="still within the burst")


def test_group_rate_limit(limited_sim, clock):
    limited_sim.create_group(BOT_ID, -42, "Kader")
    for n in range(20):
        ok(limited_sim, "sendMessage", chat_id=-42, text=str(n))
    code, description = error(limited_sim, "sendMessage", chat_id=-42, text="21st")
    assert (code, description) == (429, "Too Many Requests: retry after 3")
    clock.advance(3)
    ok(limited_sim, "sendMessage", chat_id=-42, text="later")


def test_global_rate_limit(limited_sim):
    for user in range(2000, 2031):
        limited_sim.send_text(BOT_ID, user, "/start")
    for user in range(2000, 2030):
        ok(limited_sim, "sendMessage", chat_id=user, text="broadcast")
    assert error(limited_sim, "sendMessage", chat_id=2030, text="broadcast")[0] == 429


# --- helpers of simulator.testing -------------------------------------------------------------------


def test_wait_for_message_sees_new_messages_and_edits(sim):
    sent = ok(sim, "sendMessage", chat_id=USER_ID, text="working…")
    assert sim.wait_for_message(BOT_ID, USER_ID)["text"] == "working…"
    ok(sim, "editMessageText", chat_id=USER_ID, message_id=sent["message_id"], text="done")
    edited = sim.wait_for_message(BOT_ID, USER_ID, lambda m: m["edited"])
    assert edited["text"] == "done"
    with pytest.raises(TimeoutError, match="no matching message"):
        sim.wait_for_message(BOT_ID, USER_ID, newer_than=sent["message_id"], timeout=0.2)


def test_wait_for(sim):
    calls = []
    assert sim.wait_for(lambda: calls.append(1) or len(calls) >= 3) is True
    with pytest.raises(TimeoutError):
        sim.wait_for(lambda: False, timeout=0.05)


def test_unknown_settings_are_refused():
    from simulator.testing import running_simulator

    with pytest.raises(TypeError, match="unknown simulator settings: rate_limit"):
        with running_simulator(rate_limit=False):
            pass


def test_chat_page_is_served_from_the_static_folder(tmp_path):
    from simulator.testing import running_simulator

    (tmp_path / "index.html").write_text("<h1>Pintu</h1>")
    (tmp_path / "app.js").write_text("// page")
    with running_simulator(static_dir=tmp_path) as handle:
        assert httpx.get(f"{handle.url}/").text == "<h1>Pintu</h1>"
        assert httpx.get(f"{handle.url}/app.js").text == "// page"
        assert httpx.get(f"{handle.url}/missing.css").status_code == 404
        assert httpx.get(f"{handle.url}/..%2F..%2Fetc%2Fpasswd").status_code == 404
        assert httpx.get(f"{handle.url}/sim/personas").json()["ok"]  # the API still wins over the page
