"""Long text end to end through python-telegram-bot and aiogram on the simulator (which refuses a text over
4,096 characters and bad HTML as the Bot API does): a pasted 4,000-character answer full of "<b>" and "&"
is refused with a clear answer, and a review of six answers at the length limit reaches the chat with its
hand-over button — before, the question or the review could not be sent at all."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.config import Settings
from bot.transports import make_transport
from bot.wiring import build
from domain.clock import FakeClock
from e2e_support import BOT_USERNAME, MONDAY_8_WITA, SECRET, TOKEN, Env, LoopThread, button
from forms.parsing import MAX_TEXT_CHARS
from simulator.testing import running_simulator
from storage.db import create_schema
from storage.seed import seed_demo
from test_story import KK_WATI, no_crash, register_and_book
from tests.unit.forms.form_sheets import q, write_xlsform

pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning")


@pytest.fixture(params=["ptb", "aiogram"])
def long_env(request: pytest.FixtureRequest, tmp_path) -> Iterator[Env]:
    """The bot running a form of six free-text questions for the resident."""
    form = write_xlsform(tmp_path / "catatan.xlsx", [
        q("text", f"note{n}", f"Catatan {n}", f"Note {n}", pintu_audience="resident") for n in range(1, 7)])
    with running_simulator(rate_limits=False) as sim:
        sim.register_bot(TOKEN, BOT_USERNAME, "Pintu")
        clock = FakeClock(MONDAY_8_WITA)
        settings = Settings(bot_token=TOKEN, api_url=sim.url, database_url=f"sqlite:///{tmp_path / 'pintu.db'}",
                            framework=request.param, invite_secret=SECRET, media_dir=str(tmp_path / "media"),
                            form_path=str(form))
        pintu = build(settings, clock=clock)
        create_schema(pintu.engine)
        with pintu.uow() as uow:
            area = seed_demo(uow, clock.now())
            uow.commit()
        loop = LoopThread()
        env = Env(request.param, sim, pintu, clock, area, make_transport(pintu), loop)
        try:
            loop.run(env.transport.start())
            yield env
        finally:
            try:
                loop.run(env.transport.stop())
            finally:
                loop.close()
                env.pintu.engine.dispose()


def test_a_pasted_long_answer_is_refused_and_the_long_review_is_sent(long_env: Env) -> None:
    env = long_env
    wati = env.person(1001, "Wati")
    register_and_book(env, wati, "Wati Lestari", KK_WATI)
    wati.say("/isi", "Catatan 1")
    pasted = ("<b>Rumah</b> & kebun " * 200)[:4000]
    refused = wati.say(pasted, "terlalu panjang")
    assert "Catatan 1" in refused["text"] and f"{MAX_TEXT_CHARS}" in refused["text"]
    answer = pasted[:MAX_TEXT_CHARS]
    for n in range(2, 7):
        wati.say(answer, f"Catatan {n}")
    review = wati.say(answer, "Jawaban untuk keluarga Wati Lestari")
    assert button(review, "qn:submit")  # the hand-over button: the review was sendable
    assert "<b>Rumah</b> & kebun" in review["text"] and len(review["text"]) <= 4096
    no_crash(wati)
