"""Long text end to end through python-telegram-bot and aiogram on the simulator (which refuses a text over
4,096 characters and bad HTML as the Bot API does): a pasted 4,000-character answer full of "<b>" and "&"
is refused with a clear answer, and a review of six answers at the length limit reaches the chat with its
hand-over button — before, the question or the review could not be sent at all."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from e2e_support import Env, bot_on_simulator, button
from forms.parsing import MAX_TEXT_CHARS
from test_story import KK_WATI, no_crash, register_and_book
from tests.unit.forms.form_sheets import q, write_xlsform

pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning")


@pytest.fixture(params=["ptb", "aiogram"])
def long_env(request: pytest.FixtureRequest, tmp_path) -> Iterator[Env]:
    """The bot running a form of six free-text questions for the resident."""
    form = write_xlsform(tmp_path / "catatan.xlsx", [
        q("text", f"note{n}", f"Catatan {n}", f"Note {n}", pintu_audience="resident") for n in range(1, 7)])
    with bot_on_simulator(request.param, tmp_path, form_path=str(form)) as env:
        yield env


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
