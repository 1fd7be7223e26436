"""Steps every role shares: home screen, help, language, and answers to input we did not expect."""
from __future__ import annotations

from dataclasses import replace

from handlers import booking, capture, enumerator, keyboards, onboarding, questionnaire, rt_head, supervisor
from handlers.context import Context
from handlers.events import Incoming
from handlers.i18n import Translator


def show_home(ctx: Context, fresh: bool = False) -> None:
    """Where /start and /menu lead: the step the user is in, or their role's main screen."""
    if fresh:
        # A new message: the pressed one already shows something the user should keep reading.
        ctx.event = _without_button(ctx)
    role = ctx.user.role
    if role == "rt_head":
        rt_head.show_menu(ctx)
    elif role == "enumerator":
        enumerator.show_schedule(ctx, "today")
    elif role in ("supervisor", "coordinator", "admin"):
        supervisor.show_home(ctx)
    else:
        _resident_home(ctx)


def _resident_home(ctx: Context) -> None:
    user = ctx.user
    if user.family_id is not None:
        family = ctx.uow.families.get(user.family_id)
        appointment = ctx.uow.appointments.active_for_family(family.id)
        if appointment is not None:
            booking.show_appointment(ctx, family, appointment)
        elif ctx.state in booking.BOOKING_STATES and ctx.data.get("family_id") == family.id:
            booking.show_days(ctx, family.id, ctx.data.get("mode", "book"))
        else:
            booking.show_days(ctx, family.id, "book")
        questionnaire.add_fill_button(ctx, family.id)  # the self-report part, before the visit
    elif ctx.state == "family_kk":
        ctx.show(ctx.t("ask-kk", name=ctx.data.get("head_name", "")))
    elif ctx.state == "family_members":
        ctx.show(ctx.t("ask-members"), keyboards.members(ctx.t))
    elif user.sls_id is not None:
        onboarding.ask_family_name(ctx, for_self=True)
    else:
        onboarding.show_area_choice(ctx, parent_id=None)


def _without_button(ctx: Context) -> Incoming:
    return replace(ctx.event, message_id=None)


def on_menu(ctx: Context) -> None:
    show_home(ctx)


def on_help(ctx: Context) -> None:
    role = ctx.user.role if ctx.user else "newcomer"
    ctx.send(ctx.t(f"help-{role.replace('_', '-')}"))


def on_language(ctx: Context) -> None:
    ctx.send(ctx.t("choose-language"), keyboards.language(ctx.t))


def on_language_button(ctx: Context) -> None:
    _, argument = keyboards.parse(ctx.event.callback_data)
    if argument not in ("id", "en"):
        ctx.answer(ctx.t("stale-button"), alert=True)
        return
    if ctx.user is None:
        # Fix: /bahasa is open before consent, but choosing a language then only said "type
        # /start". Now the privacy notice is shown in the chosen language, and agreeing keeps it.
        onboarding.show_consent_in(ctx, argument)
        return
    ctx.user.language = argument
    ctx.t = Translator(argument)
    ctx.show(ctx.t("language-set"))


def on_unexpected_input(ctx: Context) -> None:
    """Text where a button is expected, a photo or sticker out of place: say what we wait for."""
    event = ctx.event
    capture_step = capture.step_for(ctx.state)
    if capture_step is not None:  # a location or photo question is open: it judges the input
        capture_step(ctx)
        return
    if event.is_live_update:  # a live location's later point: update the geotag it started, silently
        capture.on_live_update(ctx)
        return
    if ctx.state == rt_head.IMPORT_STATE:  # the RT head's family list, sent as a file
        rt_head.on_import_input(ctx)
        return
    if ctx.state in booking.BOOKING_STATES or ctx.state in ("choose_area", "family_members"):
        ctx.send(ctx.t("use-buttons"))
    elif ctx.state == "family_name":
        # Fix: a photo (of the KK, say) while we wait for typed details used to get "we are not
        # asking for a photo, type /menu"; now the question is asked again and the step is kept.
        ctx.send(ctx.t("ask-family-name" if ctx.data.get("for_self", True) else "ask-family-name-rt"))
    elif ctx.state == "family_kk":
        ctx.send(ctx.t("ask-kk", name=ctx.data.get("head_name", "")))
    elif event.text is None:
        if not capture.on_unrelated_attachment(ctx):  # a sticker or voice note gets its own answer
            ctx.send(ctx.t("not-expected-now"))
    else:
        ctx.send(ctx.t("not-understood"))
