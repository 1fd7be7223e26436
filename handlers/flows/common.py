"""Steps every role shares: the home screen, help, the language.

| command              | does                                                     |
| -------------------- | -------------------------------------------------------- |
| /menu                | the user's home (the step they are in, or their role's)  |
| /bantuan, /help      | the help of the user's role                              |
| /bahasa, /language   | the language buttons (``lg:id``, ``lg:en``)              |
"""
from __future__ import annotations

from chat.i18n import Translator
from chat.keyboard import parse
from domain.privacy import RESIDENT_NOTICE
from handlers import keyboards, notices
from handlers.context import Context
from handlers.flow import Flow


def on_menu(ctx: Context) -> None:
    ctx.go_home()


def on_help(ctx: Context) -> None:
    role = ctx.user.role if ctx.user else "newcomer"
    ctx.send(ctx.t(f"help-{role.replace('_', '-')}"))


def on_language(ctx: Context) -> None:
    ctx.send(ctx.t("choose-language"), keyboards.language(ctx.t))


def on_language_button(ctx: Context) -> None:
    _, argument = parse(ctx.event.callback_data)
    if argument not in ("id", "en"):
        ctx.answer(ctx.t("stale-button"), alert=True)
        return
    if ctx.user is None:
        _show_consent_in(ctx, argument)
        return
    ctx.user.language = argument
    ctx.t = Translator(argument)
    ctx.show(ctx.t("language-set"))


def _show_consent_in(ctx: Context, language: str) -> None:
    """A newcomer chose a language before agreeing (/bahasa is open before consent): the notice again in
    that language, and the choice travels in the agree button, since nothing is stored before consent."""
    ctx.t = Translator(language)
    ctx.show(notices.notice(ctx.t, ctx.config, RESIDENT_NOTICE), keyboards.consent(ctx.t, "", language))


FLOW = Flow(
    name="common",
    doc="home, help and language: the steps every role shares",
    commands={"menu": on_menu, "bantuan": on_help, "help": on_help, "bahasa": on_language, "language": on_language},
    buttons={"lg": on_language_button},
    before_consent=frozenset({"bantuan", "help", "bahasa", "language", "lg"}),
)
