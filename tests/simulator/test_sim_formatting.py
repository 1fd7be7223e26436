"""Parse modes and entities, checked against the Bot API documentation's examples and rules."""

from __future__ import annotations

import pytest

from simulator.entities import command_entities, utf16_len
from simulator.errors import ApiError
from simulator.formatting import parse_formatted


def html(text: str) -> tuple[str, list[dict]]:
    return parse_formatted(text, "HTML")


def html_error(text: str) -> str:
    with pytest.raises(ApiError) as caught:
        html(text)
    assert caught.value.code == 400
    return caught.value.description


def test_every_documented_html_tag_becomes_its_entity():
    source = (
        "<b>b</b><strong>b</strong><i>i</i><em>i</em><u>u</u><ins>u</ins><s>s</s><strike>s</strike>"
        '<del>s</del><span class="tg-spoiler">p</span><tg-spoiler>p</tg-spoiler><code>c</code>'
        '<pre>r</pre><a href="http://example.com/">a</a><blockquote>q</blockquote>'
        '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>'
    )
    text, entities = html(source)
    assert text == "bbiiuusssppcraq👍"
    kinds = [e["type"] for e in entities]
    assert kinds == [
        "bold",
        "bold",
        "italic",
        "italic",
        "underline",
        "underline",
        "strikethrough",
        "strikethrough",
        "strikethrough",
        "spoiler",
        "spoiler",
        "code",
        "pre",
        "text_link",
        "blockquote",
        "custom_emoji",
    ]
    assert entities[13]["url"] == "http://example.com/"
    assert entities[15]["custom_emoji_id"] == "5368324170671202286"


def test_nested_tags_and_utf16_offsets():
    text, entities = html("😀 <b>bold <i>both</i></b>")
    assert text == "😀 bold both"
    # The emoji is two UTF-16 code units, so "bold" starts at 3.
    assert entities == [
        {"type": "bold", "offset": 3, "length": 9},
        {"type": "italic", "offset": 8, "length": 4},
    ]


def test_pre_with_code_language_is_one_entity():
    text, entities = html('<pre><code class="language-python">print(1)</code></pre>')
    assert text == "print(1)"
    assert entities == [{"type": "pre", "offset": 0, "length": 8, "language": "python"}]


def test_only_the_documented_named_references_are_decoded():
    text, _ = html("&lt;&gt;&amp;&quot; &#65;&#x42; &nbsp; AT&T")
    assert text == '<>&" AB &nbsp; AT&T'


def test_expandable_blockquote():
    assert html("<blockquote expandable>q</blockquote>")[1][0]["type"] == "expandable_blockquote"


@pytest.mark.parametrize(
    ("source", "description"),
    [
        ("<foo>x</foo>", 'Unsupported start tag "foo" at byte offset 0'),
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("x <b", "Unclosed start tag at byte offset 2"),
        ("é<br/>", 'Unsupported start tag "br/" at byte offset 2'),
    ],
)
def test_html_errors_are_worded_like_telegram(source, description):
    assert html_error(source) == f"Bad Request: can't parse entities: {description}"


def test_unknown_parse_mode():
    with pytest.raises(ApiError, match="Bad Request: unsupported parse_mode"):
        parse_formatted("x", "BBCode")


def test_surrounding_whitespace_is_trimmed_and_entities_follow():
    assert html("  \n<b>hi</b> there \n") == ("hi there", [{"type": "bold", "offset": 0, "length": 2}])


def test_explicit_entities_without_parse_mode_are_kept():
    entities = [{"type": "bold", "offset": 0, "length": 2}, {"type": "italic", "offset": 50, "length": 2}]
    assert parse_formatted("hello", None, entities) == ("hello", entities[:1])


def test_markdown_v2_entities_and_escapes():
    text, entities = parse_formatted(r"*bold* _it_ __u__ ~s~ ||sp|| \. [l](http://e.com/a\)b) `c\`d`", "MarkdownV2")
    assert text == "bold it u s sp . l c`d"
    assert [e["type"] for e in entities] == [
        "bold",
        "italic",
        "underline",
        "strikethrough",
        "spoiler",
        "text_link",
        "code",
    ]
    assert entities[5]["url"] == "http://e.com/a)b"


def test_markdown_v2_pre_block_and_quotes():
    text, entities = parse_formatted("```python\nx = 1```\n>quoted\n>lines\nplain", "MarkdownV2")
    assert text == "x = 1\nquoted\nlines\nplain"
    assert entities == [
        {"type": "pre", "offset": 0, "length": 5, "language": "python"},
        {"type": "blockquote", "offset": 6, "length": 12},
    ]


@pytest.mark.parametrize(
    ("source", "description"),
    [
        ("Done.", "Character '.' is reserved and must be escaped with the preceding '\\'"),
        ("*open", "Can't find end of Bold entity at byte offset 0"),
        ("x `code", "Can't find end of Code entity at byte offset 2"),
    ],
)
def test_markdown_v2_errors(source, description):
    with pytest.raises(ApiError) as caught:
        parse_formatted(source, "MarkdownV2")
    assert caught.value.description == f"Bad Request: can't parse entities: {description}"


def test_legacy_markdown():
    text, entities = parse_formatted("*b* _i_ `c` [l](http://e.com) 1.5!", "Markdown")
    assert text == "b i c l 1.5!"
    assert [e["type"] for e in entities] == ["bold", "italic", "code", "text_link"]
    with pytest.raises(ApiError, match="Can't find end of the entity starting at byte offset 5"):
        parse_formatted("snake_case", "Markdown")


def test_bot_commands_anywhere_in_user_text():
    assert command_entities("/start@pintu_bot abc /help x/no") == [
        {"type": "bot_command", "offset": 0, "length": 16},
        {"type": "bot_command", "offset": 21, "length": 5},
    ]


def test_utf16_length():
    assert utf16_len("a😀é") == 4
