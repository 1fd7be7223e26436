"""The household roster at the door: per-answer handler time on a 10-member roster of the built-in form.

    .venv/bin/python -m bench roster [--families N] [--members N]

An enumerator fills the roster of ``--families`` families (default 6, the first a warm-up) through the
handlers (``PintuHandlers.handle``, no transport) on an in-memory SQLite database, with the built-in
form (forms/default: name, NIK, relationship, sex, date of birth, marital status, education, work and
disability per member, counted by ``members``). Each family has ``--members`` members (default 10), so
each questionnaire has ~90 roster answers; every handler call that answers a roster question is timed
(typed text and dates, buttons for the choices). The figures: p50/p99 per answer over all members, the
mean per member number (member 1 … 10: does a later member cost more, as every evaluation holds the
whole roster?), and the engine alone (``next_question`` + ``answer``, the state through JSON between
steps as through the database) for the same roster and for a single member, to show what the roster's
size costs. Nothing is asserted on time.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import time
from pathlib import Path

try:
    import forms  # noqa: F401 - installed (pip install -e .) or run from the repository root
except ImportError:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.form_engine import percentile  # noqa: E402
from chat.events import Incoming, Sender  # noqa: E402
from domain.clock import FakeClock  # noqa: E402
from domain.model import Area, Enumerator, Family, User  # noqa: E402
from forms import Form, Questionnaire  # noqa: E402
from forms.default import DEFAULT_FORM  # noqa: E402
from forms.engine import split_key  # noqa: E402
from handlers.app import PintuHandlers  # noqa: E402
from handlers.context import HandlerConfig  # noqa: E402
from storage.db import create_schema, make_engine, make_session_factory  # noqa: E402
from storage.uow import SqlUnitOfWork  # noqa: E402

NOW = dt.datetime(2026, 11, 23, 1, 0, tzinfo=dt.timezone.utc)
ENUMERATOR_TELEGRAM_ID = 9_500_000


def typed(kind: str, name: str, position: int) -> str:
    """What the enumerator types for a member's question (choices are pressed, see ``press``)."""
    if name == "member_nik":  # as Dukcapil issues it: born 15-01 (day + 40: every member is pressed female)
        return f"6472015501{(1950 + 5 * position) % 100:02d}{position:04d}"
    if kind == "date":
        return f"15-01-{1950 + 5 * position}"
    return f"Anggota {position}"


def seed(uow_factory, families: int, members: int) -> list[int]:  # noqa: ANN001
    with uow_factory() as uow:
        village = uow.areas.add(Area(code="R1", level="village", name="Bench", timezone="Asia/Makassar"))
        sls = uow.areas.add(Area(code="R1.0001", level="sls", name="RT 001", parent_id=village.id,
                                 timezone="Asia/Makassar"))
        user = uow.users.add(User(telegram_id=ENUMERATOR_TELEGRAM_ID, first_name="PPL", language="id",
                                  role="enumerator", consent_version="1", consent_at=NOW, created_at=NOW))
        uow.enumerators.add(Enumerator(name="PPL Bench", user_id=user.id, visit_minutes=30), [sls.id])
        ids = [uow.families.add(Family(sls_id=sls.id, head_name=f"Kepala {n}", kk_number=f"96{n:014d}",
                                       members=members, created_at=NOW)).id for n in range(families)]
        uow.commit()
    return ids


def fill_roster(handlers: PintuHandlers, uow_factory, form: Form, family_id: int,  # noqa: ANN001
                timings: dict[int, list[float]] | None) -> int:
    """One family's questionnaire up to the end of the roster; returns the roster answers given."""
    sender = Sender(ENUMERATOR_TELEGRAM_ID, "PPL", "id")
    index = {f.name: i for i, f in enumerate(form.fields)}
    presses = 0
    handlers.handle(Incoming(sender, ENUMERATOR_TELEGRAM_ID, text=f"/kunjungan {family_id}"))
    # The family has no resident on Telegram: the notice is read out at the door and its consent recorded.
    handlers.handle(Incoming(sender, ENUMERATOR_TELEGRAM_ID, callback_id=f"dc{family_id}", message_id=1,
                             callback_data=f"qn:dc:y:{family_id}"))
    answered = 0
    while True:
        with uow_factory() as uow:  # where the conversation is: read untimed, as a person reads the screen
            key = (uow.conversations.get(ENUMERATOR_TELEGRAM_ID).data or {}).get("q")
        name, position = split_key(key or "")
        item = form.by_name.get(name)
        if item is None or name == "roster_summary" or (item.repeat is None and answered):
            return answered
        token = str(index[name]) if position is None else f"{index[name]}.{position}"
        if item.repeat is None:  # head_name and members: prefilled from the family, kept
            presses += 1
            event = Incoming(sender, ENUMERATOR_TELEGRAM_ID, callback_id=f"k{presses}", message_id=1,
                             callback_data=f"qa:{token}:k")
        elif item.kind == "select_one":
            number = 1 if name == "relation" and position == 1 else min(3, len(item.choices))
            presses += 1
            event = Incoming(sender, ENUMERATOR_TELEGRAM_ID, callback_id=f"c{presses}", message_id=1,
                             callback_data=f"qa:{token}:{number}")
        else:
            event = Incoming(sender, ENUMERATOR_TELEGRAM_ID, text=typed(item.kind, name, int(position)))
        started = time.perf_counter()
        handlers.handle(event)
        seconds = time.perf_counter() - started
        if item.repeat is not None:
            answered += 1
            if timings is not None:
                timings.setdefault(int(position), []).append(seconds)


def engine_only(form: Form, members: int, runs: int = 5) -> list[float]:
    """Seconds per roster step (next_question + answer) of the engine alone, state through JSON."""
    engine = Questionnaire(form, FakeClock(NOW))
    seconds: list[float] = []
    for _ in range(runs):
        state = engine.start(zone="Asia/Makassar")
        for key, value in (("head_name", "Kepala"), ("members", str(members))):
            state = engine.answer(state, key, value, audience="enumerator").state
        while True:
            started = time.perf_counter()
            step = engine.next_question(state, "enumerator")
            if step is None or step.repeat is None:
                break
            name, position = split_key(step.name)
            raw = "2" if name == "sex" else "1" if step.kind == "select_one" and (name != "relation" or position == 1) else (
                "3" if step.kind == "select_one" else typed(step.kind, name, int(position)))  # sex: as the NIK says
            result = engine.answer(state, step.name, raw, audience="enumerator")
            seconds.append(time.perf_counter() - started)
            assert result.ok, (step.name, result.error)
            state = json.loads(json.dumps(result.state))
    return seconds


def ms(values: list[float], fraction: float) -> str:
    return f"{percentile(values, fraction) * 1000:.1f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", type=int, default=6, help="questionnaires filled (the first one a warm-up)")
    parser.add_argument("--members", type=int, default=10, help="members of each family")
    args = parser.parse_args()
    form = Form.load(DEFAULT_FORM)
    engine = make_engine("sqlite://")
    create_schema(engine)
    sessions = make_session_factory(engine)

    def uow_factory() -> SqlUnitOfWork:
        return SqlUnitOfWork(sessions)

    handlers = PintuHandlers(uow_factory, FakeClock(NOW), HandlerConfig(invite_secret="bench-secret"))
    family_ids = seed(uow_factory, args.families, args.members)
    expected = fill_roster(handlers, uow_factory, form, family_ids[0], None)  # warm-up
    timings: dict[int, list[float]] = {}
    failed = 0
    for family_id in family_ids[1:]:
        failed += fill_roster(handlers, uow_factory, form, family_id, timings) != expected
    engine.dispose()
    every = [s for values in timings.values() for s in values]
    print(f"handlers, {args.members}-member roster, {len(family_ids) - 1} families, {len(every)} roster answers "
          f"({expected} per family): p50 {ms(every, 0.5)}, p99 {ms(every, 0.99)}, "
          f"mean {statistics.fmean(every) * 1000:.1f} ms")
    print("handlers, mean per answer by member: " + ", ".join(
        f"{p}: {statistics.fmean(v) * 1000:.1f}" for p, v in sorted(timings.items())) + " ms")
    for members in (1, args.members):
        steps = engine_only(form, members)
        print(f"engine only (next_question + answer), {members}-member roster, {len(steps)} steps: "
              f"p50 {ms(steps, 0.5)}, p99 {ms(steps, 0.99)}")
    if failed:
        print(f"FAILED: {failed} families did not reach the end of the roster with {expected} answers")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
