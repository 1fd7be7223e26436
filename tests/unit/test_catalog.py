"""The message catalogs: Indonesian and English say the same things, and every text the code shows
comes from them (so a missing or half-translated message is caught here, not by a resident)."""
from __future__ import annotations

import ast
import re
import string
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path

import pytest

from handlers.app import COMMANDS
from chat.i18n import LANGUAGES, Translator, catalog_files, catalog_keys, read_catalog

ROOT = Path(__file__).resolve().parents[2]
HANDLERS = sorted((ROOT / "handlers").rglob("*.py"))
KEY = re.compile(r"[a-z]+(-[a-z0-9]+)+")  # catalog keys are kebab-case; nothing else in handlers is
ROLES = ("newcomer", "resident", "rt_head", "enumerator", "admin")

# Shown in their own language by design: the language picker must be readable whatever is chosen.
ALLOWED_LITERALS = {"Bahasa Indonesia", "English"}


@lru_cache(maxsize=None)
def messages(language: str) -> dict[str, str]:
    return {str(m.id): m.string for m in read_catalog(language) if m.id}


def placeholders(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field}


@lru_cache(maxsize=None)
def trees() -> tuple[tuple[Path, ast.Module], ...]:
    return tuple((path, ast.parse(path.read_text(), str(path))) for path in HANDLERS)


def call_name(node: ast.Call) -> str | None:
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)


def constant_keys(node: ast.AST) -> list[str]:
    """The keys an argument can evaluate to when it is a literal or a choice of literals."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return constant_keys(node.body) + constant_keys(node.orelse)
    return []


def translator_calls() -> list[tuple[str, int, list[str], set[str] | None]]:
    """Every t("key", ...) / t.raw("key", ...) in handlers: (file, line, keys, keyword names or None for **)."""
    found = []
    for path, tree in trees():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and call_name(node) in ("t", "raw") and node.args:
                keywords = None if any(k.arg is None for k in node.keywords) else {k.arg for k in node.keywords}
                found.append((path.name, node.lineno, constant_keys(node.args[0]), keywords))
    return found


def test_both_languages_split_their_texts_into_the_same_files():
    assert [p.name for p in catalog_files("id")] == [p.name for p in catalog_files("en")]


def test_both_languages_have_the_same_keys():
    assert catalog_keys("id") == catalog_keys("en")
    assert set(messages("id")) == set(messages("en")) == catalog_keys("id")


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_empty_translations(language):
    empty = [key for key, text in messages(language).items() if not text or not text.strip()]
    assert not empty, f"empty in {language}: {empty}"


def test_placeholders_are_the_same_in_both_languages():
    differ = {key: (placeholders(messages("id")[key]), placeholders(messages("en")[key]))
              for key in messages("id") if placeholders(messages("id")[key]) != placeholders(messages("en")[key])}
    assert not differ


class _Tags(HTMLParser):
    ALLOWED = {"b", "i", "u", "s", "code", "pre", "a"}  # what Telegram's HTML parse mode accepts

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in self.ALLOWED:
            self.problems.append(f"<{tag}> not allowed")
        self.open.append(tag)

    def handle_endtag(self, tag):
        if not self.open or self.open.pop() != tag:
            self.problems.append(f"</{tag}> does not close the last open tag")


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_is_valid_telegram_html(language):
    for key, text in messages(language).items():
        parser = _Tags()
        parser.feed(text)
        parser.close()
        assert not parser.problems and not parser.open, (language, key, parser.problems, parser.open)
        assert not re.search(r"<(?![/a-z])|&(?![a-z]+;|#\d+;)", text), (language, key, "stray < or &")


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_renders_with_its_arguments(language):
    t = Translator(language)
    for key, text in messages(language).items():
        rendered = t(key, **{name: "<x&y>" for name in placeholders(text)})
        assert "&lt;x&amp;y&gt;" in rendered or not placeholders(text)
        assert "{" not in rendered.replace("{version}", "")


def test_every_literal_key_in_handlers_exists():
    keys = catalog_keys("id")
    literals = {(path.name, node.lineno, node.value)
                for path, tree in trees() for node in ast.walk(tree)
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and KEY.fullmatch(node.value)}
    assert literals, "the scan found nothing: the test itself is broken"
    assert not [entry for entry in literals if entry[2] not in keys]
    called = [(f, line, key) for f, line, ks, _ in translator_calls() for key in ks]
    assert len(called) > 50
    assert not [entry for entry in called if entry[2] not in keys]


def test_translator_calls_pass_exactly_the_placeholders_of_their_message():
    """A missing argument is a KeyError in front of a user; an extra one is a message that lost a part."""
    wrong = []
    for file, line, keys, keywords in translator_calls():
        for key in keys:
            if keywords is None or key not in messages("id"):
                continue
            needed = placeholders(messages("id")[key])
            if needed != keywords:
                wrong.append((file, line, key, sorted(needed), sorted(keywords)))
    assert not wrong


def test_dynamic_key_families_are_complete():
    keys = catalog_keys("id")
    # KK problems come from the domain check.
    kk_source = (ROOT / "domain" / "kk.py").read_text()
    problems = set(re.findall(r'"(kk-[a-z-]+)"', kk_source))
    assert problems and problems <= keys
    # Name and address problems too (domain/names.py, domain/family_import.py).
    for source, pattern in (("names.py", r'"(name-[a-z-]+)"'), ("family_import.py", r'"(address-[a-z-]+)"')):
        problems = set(re.findall(pattern, (ROOT / "domain" / source).read_text()))
        assert problems and problems <= keys
    # Help per role, including someone who has not started yet.
    assert {f"help-{role.replace('_', '-')}" for role in ROLES} <= keys
    # Notifications to enumerators: one per kind the booking rules queue.
    booking = ast.parse((ROOT / "domain" / "booking.py").read_text())
    kinds = {arg.value for node in ast.walk(booking) if isinstance(node, ast.Call) and call_name(node) == "_notify_enumerator"
             for arg in node.args if isinstance(arg, ast.Constant) and isinstance(arg.value, str)}
    assert kinds == {"visit-new", "visit-moved", "visit-cancelled"}
    assert {f"notify-{kind}" for kind in kinds} <= keys
    # The command menu: every cmd-* is a real command, and every command has a menu entry.
    menu = {key.removeprefix("cmd-") for key in keys if key.startswith("cmd-")}
    assert menu <= set(COMMANDS)
    for step in set(COMMANDS.values()):
        names = {name for name, s in COMMANDS.items() if s is step}
        assert names & menu, f"no cmd-* entry for /{sorted(names)[0]}"
    # Choosers in the flows.
    assert {"choose-district", "choose-village", "choose-sls", "choose-day", "choose-day-move", "choose-time",
            "choose-language"} <= keys


def test_every_catalog_message_is_used_somewhere():
    """A message nobody shows is usually a typo'd key on one side."""
    sources = [tree for _, tree in trees()]
    for folder in ("bot", "scheduling", "domain", "chat", "reports", "web"):  # transports, jobs, renderers, reports, the dashboard
        sources += [ast.parse(p.read_text()) for p in sorted((ROOT / folder).glob("*.py"))]
    used = {node.value for tree in sources for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)}
    for template in sorted((ROOT / "web" / "templates").glob("*.html")):  # the dashboard's pages: t("web-…")
        used |= set(re.findall(r"[\"'](web-[a-z0-9-]+)[\"']", template.read_text()))
    # The map's script gets every web-map-* text in the page (web/map_routes.py) and names them without
    # the prefix: text("legend-share"), and per family status and geofence flag: text("status-" + …).
    script = (ROOT / "web" / "static" / "map.js").read_text()
    used |= {f"web-map-{key}" for key in re.findall(r'text\("([a-z0-9-]+)"', script)}
    from domain.geotag import FLAG_REASONS
    from domain.map_view import STATUS_COLOURS
    used |= {f"web-map-status-{status}" for status in STATUS_COLOURS} | {f"web-map-flag-{f}" for f in FLAG_REASONS}
    family = re.compile(r"(kk|help|notify|cmd|ex-col|ex-sheet|ex-legend|web-fkp-status)-.+")  # keys composed in code
    unused = sorted(key for key in catalog_keys("id") if key not in used and not family.fullmatch(key))
    assert not unused


def test_texts_shown_in_a_button_answer_fit_telegrams_200_characters():
    """answerCallbackQuery refuses longer texts, and then the user sees nothing at all."""
    keys = {"error-busy", "error-unexpected"}  # the apology in app.py, also sent as an answer
    for _, tree in trees():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and call_name(node) == "answer" and node.args:
                inner = node.args[0]
                if isinstance(inner, ast.Call) and call_name(inner) in ("t", "raw") and inner.args:
                    keys.update(constant_keys(inner.args[0]))
    assert {"stale-button", "need-start", "slot-taken-short"} <= keys
    for language in LANGUAGES:
        too_long = [key for key in keys if len(messages(language)[key]) > 200]
        assert not too_long, (language, too_long)


# --- no user-visible text outside the catalog -----------------------------------------------------

# Call → which positional argument is the text a person reads.
TEXT_ARGUMENT = {"send": 0, "show": 0, "answer": 0, "Button": 0, "ReplyButton": 0, "SendMessage": 1,
                 "EditMessage": 2, "AnswerCallback": 1}
WORDS = re.compile(r"[^\W\d_]{2,}")


def literal_words(node: ast.AST) -> list[str]:
    """Words written into the code itself: in a literal, or in the fixed parts of an f-string."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [] if node.value in ALLOWED_LITERALS else WORDS.findall(node.value)
    if isinstance(node, ast.JoinedStr):
        return [w for part in node.values if isinstance(part, ast.Constant) for w in WORDS.findall(str(part.value))]
    if isinstance(node, ast.BinOp):
        return literal_words(node.left) + literal_words(node.right)
    if isinstance(node, ast.IfExp):
        return literal_words(node.body) + literal_words(node.orelse)
    return []


def test_no_user_visible_text_is_written_inline_in_handlers():
    inline = []
    checked = 0
    for path, tree in trees():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or call_name(node) not in TEXT_ARGUMENT:
                continue
            position = TEXT_ARGUMENT[call_name(node)]
            argument = node.args[position] if len(node.args) > position else next(
                (k.value for k in node.keywords if k.arg == "text"), None)
            if argument is None:
                continue
            checked += 1
            if literal_words(argument):
                inline.append(f"{path.name}:{node.lineno}: {ast.unparse(argument)}")
    assert checked > 40, "the scan found too few calls: the test itself is broken"
    assert not inline, "\n".join(inline)


def test_the_inline_text_check_would_notice_a_literal():
    tree = ast.parse('ctx.send("Terima kasih")\nButton(f"Hapus {name}", "x:1")\nctx.show(ctx.t("ok") + " selesai")')
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and call_name(n) in TEXT_ARGUMENT]
    assert all(literal_words(c.args[TEXT_ARGUMENT[call_name(c)]]) for c in calls)


def test_every_key_an_export_composes_is_in_both_catalogs():
    """domain/exports.py builds its keys from column names, sheets and statuses (ExportLabels)."""
    from domain import exports

    keys = {f"ex-col-{c}" for c in (*exports.COLUMNS, *exports.PROGRESS_COLUMNS)}
    keys |= {f"ex-sheet-{name}" for name in ("keluarga", "progres", "keterangan")}
    keys |= set(exports.LEGEND_KEYS) | set(exports.VALUE_KEYS.values())
    for language in LANGUAGES:
        assert keys <= catalog_keys(language), (language, sorted(keys - catalog_keys(language)))
