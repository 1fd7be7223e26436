"""The enumerator's day (handlers/enumerator.py): the visits in time order, and a new booking telling
them. The world: helpers.py."""
from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select

from domain.invites import InviteKind
from domain.model import OutboxMessage
from tests.unit.flows.helpers import ID, KK_WATI, WITA, Person


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
    # The day as a route: numbered stops; the booked ones at their times, families without a visit
    # suggested in between (marked), each with its map link.
    stops = re.findall(r"^(\d+)\. <b>([\d.]+)</b> — (.*)$", rina.screen, re.M)
    booked = [(time, rest) for _, time, rest in stops if "belum ada janji" not in rest]
    assert [time for time, _ in booked] == ["10.30", "14.00"]
    assert rt1[1].head_name in booked[0][1] and rt1[0].head_name in booked[1][1]
    assert [int(n) for n, _, _ in stops] == list(range(1, len(stops) + 1))
    assert rina.screen.count("Buka di peta") == len(stops)
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
