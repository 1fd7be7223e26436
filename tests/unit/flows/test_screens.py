"""Old screens (handlers/screens.py): a button of a message the conversation has left answers "this screen
is no longer current" and shows the current screen; forged screen numbers change nothing. The world:
helpers.py."""
from __future__ import annotations

from chat.events import Incoming
from tests.unit.flows.helpers import ID, KK_WATI, Person, appointments


def _booked_and_moved(world) -> tuple[Person, int]:
    wati = Person(world, 1001)
    wati.register("Wati Susanti", KK_WATI)
    wati.book()
    booked_id = wati.last_id  # "visit booked", with its move / cancel buttons
    wati.say("/pindah")
    wati.book(day="20261124", time="0900")
    assert "Jadwal dipindah" in wati.screen
    return wati, booked_id


def test_after_a_move_the_old_confirmations_buttons_are_no_longer_current(world):
    wati, booked_id = _booked_and_moved(world)
    family_id = wati.user().family_id
    before = wati.last_id
    wati.press(f"ap:cancel:{family_id}", booked_id)
    assert wati.answer.text == ID("screen-gone")
    assert wati.last_id != before and "Selasa, 24 Nov, 09.00 WITA" in wati.screen  # the current screen, anew
    assert [a.status for a in appointments(world)] == ["moved", "booked"], "nothing cancelled"


def test_an_old_time_button_says_so_instead_of_doing_nothing(world):
    wati = Person(world, 1001)
    wati.register("Wati Susanti", KK_WATI)
    wati.press("dy:20261123")
    times_id = wati.last_id
    wati.say("/janji")  # the days again: the times' message is left behind
    wati.press("tm:202611231000", times_id)
    assert wati.answer.text == ID("screen-gone")
    assert "Pilih <b>hari</b>" in wati.screen and wati.last_id != times_id
    assert appointments(world) == []


def test_the_current_screens_buttons_keep_working_after_a_hint(world):
    wati = Person(world, 1001)
    wati.register("Wati Susanti", KK_WATI)
    wati.say("some text")  # a hint on the same screen: its buttons stay current
    wati.press("dy:20261123", wati.message_with("dy:20261123"))
    assert wati.answer.text != ID("screen-gone") and "pilih <b>jam</b>" in wati.screen


def test_forged_screen_numbers_are_stale_and_crash_nothing(world):
    wati = Person(world, 1001)
    wati.register("Wati Susanti", KK_WATI)
    for data in ("dy:20261123~", "dy:20261123~x", "dy:20261123~99999999999", "dy:20261123~-1", "~5", "ok:yes~0"):
        actions = wati.handle(Incoming(sender=wati.sender, chat_id=1001, callback_id=data, callback_data=data,
                                       message_id=wati.last_id))
        assert sum(a.__class__.__name__ == "AnswerCallback" for a in actions) == 1, data
    assert appointments(world) == []


def test_later_during_a_move_says_the_visit_stays(world):
    wati = Person(world, 1001)
    wati.register("Wati Susanti", KK_WATI)
    wati.book()
    wati.say("/pindah")
    wati.press("nv:close")
    assert wati.screen == ID("move-closed") and "/janji" not in wati.screen
    assert [a.status for a in appointments(world)] == ["booked"]
    wati.say("/janji")
    wati.press("dy:20261123")
    wati.press("nv:close")
    assert wati.screen == ID("booking-closed")  # no visit is being moved: booking any time is right
