"""chat/fit.py: a message over Telegram's limit is cut so that Telegram (and the simulator, which parses
HTML as the Bot API does) still accepts it: never inside a tag or a character reference, tags closed."""
from __future__ import annotations

import pytest

from chat.fit import ELLIPSIS, fit_html, shorten, visible_length
from simulator.entities import parse_html


def accepted(text: str, limit: int) -> str:
    plain, _ = parse_html(text)
    assert len(plain.encode("utf-16-le")) // 2 <= limit
    return plain


def test_a_short_message_is_left_alone():
    text = "<b>Jawaban</b> &amp; <i>catatan</i>"
    assert fit_html(text, 100) == text and visible_length(text) == len("Jawaban & catatan")


@pytest.mark.parametrize("limit", range(5, 60))
def test_every_cut_is_valid_html_within_the_limit(limit):
    text = "Judul\n<b>Nama: &lt;Wati&gt; &amp; Budi</b>\n<i>catatan <b>panjang</b> sekali</i> 🏠🏠 " * 3
    fitted = fit_html(text, limit)
    plain = accepted(fitted, limit)
    assert plain.endswith(ELLIPSIS)


def test_the_review_bug_a_cut_inside_a_bold_tag_is_closed():
    line = "Catatan: <b>" + "x" * 5000 + "</b>"
    fitted = fit_html(line, 4000)
    assert fitted.endswith(ELLIPSIS + "</b>")
    assert len(accepted(fitted, 4096)) == 4000


def test_emoji_count_as_two_units():
    fitted = fit_html("🏠" * 3000, 4000)
    assert accepted(fitted, 4000).count("🏠") == 1999


def test_shorten_plain_text():
    assert shorten("abc", 5) == "abc" and shorten("abcdefgh", 5) == "abcd" + ELLIPSIS


def test_every_message_and_edit_is_fitted_when_it_is_made():
    from chat.events import EditMessage, SendMessage

    long = "<b>" + "&amp;" * 5000 + "</b>"
    for action in (SendMessage(1, long), EditMessage(1, 2, long)):
        assert len(accepted(action.text, 4096)) <= 4000
    assert SendMessage(1, "<b>ok</b>").text == "<b>ok</b>"
