"""From /start to a registered family: consent, joining (invite or choosing an RT), family details.

State table (typed input is read only in these states; everything else is a button):

| state          | waits for                     | next                          |
| -------------- | ----------------------------- | ----------------------------- |
| (no user)      | /start, consent button        | choose_area or role welcome   |
| choose_area    | kecamatan → kelurahan → RT    | family_name                   |
| family_name    | the family head's name        | family_kk                     |
| family_kk      | the 16-digit KK number        | family_members                |
| family_members | a number button (or typed)    | booking.pick_day              |
"""
from __future__ import annotations

import re

from domain.bots import bot_serving, invite_area
from domain.errors import AlreadyAnotherOfficer, DuplicateKK, ExpiredInvite, InvalidInvite, NotAllowed, UsedInvite
from domain.invites import InviteKind, read_invite
from domain.kk import check_kk
from domain.onboarding import join_sls, record_consent, redeem_invite, register_family
from handlers import booking, common, keyboards
from handlers.context import Context
from handlers.i18n import Translator, language_for

MAX_MEMBERS = 30
NAME_PATTERN = re.compile(r"^[^\W\d_](?:[^\W\d_]|[ .'\-])*$")
# What a deep link's start parameter may hold; longer than an invite token never verifies anyway.
INVITE_PAYLOAD = re.compile(r"[A-Za-z0-9_-]{1,40}")


def on_start(ctx: Context) -> None:
    """/start [invite]: the privacy notice for newcomers; the current step for everyone else."""
    payload = ctx.event.command_args
    if ctx.user is None:
        # Fix: a typed "/start <anything>" went into the consent button's callback data as it was;
        # 40 emoji are 160 bytes, over Telegram's 64, and building the keyboard crashed. Anything
        # that is not a possible token is carried as "-", so the user still hears the link is invalid.
        carried = payload[:40] if not payload or INVITE_PAYLOAD.fullmatch(payload[:40]) else "-"
        ctx.send(ctx.t("consent", version=ctx.config.consent_version), keyboards.consent(ctx.t, carried))
        return
    if payload:
        _accept_invite(ctx, payload)
        return
    common.show_home(ctx)


def show_consent_in(ctx: Context, language: str) -> None:
    """A newcomer chose a language before agreeing: the notice again in that language, and the
    choice travels in the agree button (nothing is stored before consent)."""
    ctx.t = Translator(language)
    ctx.show(ctx.t("consent", version=ctx.config.consent_version), keyboards.consent(ctx.t, "", language))


def on_consent_button(ctx: Context) -> None:
    """Agree: create the user and go on (with the invite, if the link had one). Decline: store nothing."""
    if ctx.user is not None:
        # An old privacy notice pressed again: consent is already on record, so just carry on.
        common.show_home(ctx)
        return
    _, argument = keyboards.parse(ctx.event.callback_data)
    answer, _, payload = argument.partition(":")
    answer, _, chosen = answer.partition(".")  # "y.en": agreed after choosing English with /bahasa
    if answer != "y":
        ctx.show(ctx.t("consent-declined"))
        return
    language = language_for(ctx.event.sender.language_code, chosen or None)
    ctx.user = record_consent(
        ctx.uow, ctx.event.sender.telegram_id, ctx.event.sender.first_name, language,
        ctx.config.consent_version, ctx.now,
    )
    ctx.t = Translator(ctx.user.language)  # the language chosen before agreeing, if any
    if payload:
        _accept_invite(ctx, payload)
    else:
        show_area_choice(ctx, parent_id=None)


def _accept_invite(ctx: Context, token: str) -> None:
    try:
        invite = read_invite(ctx.config.invite_secret, token, ctx.now)
        area = invite_area(ctx.uow, invite)
        if not ctx.config.bot.serves(area):  # an invite of another bot's area (several bots): name that bot
            other = bot_serving(ctx.uow, area)
            _invite_refused(ctx, "invite-other-bot" if other else "invite-other-bot-unknown",
                            area=area.name, bot=other.username if other else "")
            return
        # A resident link for someone with a family already, or for an officer: nothing to join.
        # Fix: an enumerator (or admin) opening the RT's resident link was asked for a family name
        # and then stuck (no RT of their own to register it in); they now get their own home screen.
        if invite.kind is InviteKind.RESIDENT and (ctx.user.family_id is not None or ctx.user.role in ("enumerator", "supervisor", "coordinator", "admin")):
            common.show_home(ctx)
            return
        redeem_invite(ctx.uow, ctx.user, invite, ctx.now)
    except ExpiredInvite:
        _invite_refused(ctx, "invite-expired")
        return
    except UsedInvite:
        _invite_refused(ctx, "invite-used")
        return
    except AlreadyAnotherOfficer:
        _invite_refused(ctx, "invite-already-officer")
        return
    except (InvalidInvite, NotAllowed):
        _invite_refused(ctx, "invite-invalid")
        return
    if invite.kind is InviteKind.RESIDENT:
        ask_family_name(ctx, for_self=True)
    else:
        welcome = {InviteKind.RT_HEAD: "welcome-rt-head", InviteKind.SUPERVISOR: "welcome-supervisor",
                   InviteKind.COORDINATOR: "welcome-coordinator"}.get(invite.kind, "welcome-enumerator")
        ctx.show(ctx.t(welcome, name=ctx.user.first_name))
        common.show_home(ctx, fresh=True)


def _invite_refused(ctx: Context, key: str, **values: str) -> None:
    """Tell why, then carry on as an ordinary resident so nothing already given is lost."""
    ctx.show(ctx.t(key, **values))
    if ctx.user.role == "resident" and ctx.user.family_id is None and ctx.user.sls_id is None:
        show_area_choice(ctx, parent_id=None, fresh=True)


def show_area_choice(ctx: Context, parent_id: int | None, fresh: bool = False) -> None:
    """Kecamatan → kelurahan → RT, one level per screen, edited in place; "back" climbs one level."""
    if parent_id is None:
        # With several bots, a bot offers the kecamatan of its own areas only.
        choices = [a for a in ctx.uow.areas.at_level("district") if ctx.config.bot.serves(a)]
        back_to, title = None, "choose-district"
    else:
        parent = ctx.uow.areas.get(parent_id)
        choices = ctx.uow.areas.children(parent_id)
        # 0 stands for the top (the list of kecamatan).
        back_to = 0 if parent.level == "district" else parent.parent_id
        title = "choose-village" if parent.level == "district" else "choose-sls"
    markup = keyboards.areas([(a.id, a.name) for a in choices], back_to, ctx.t)
    ctx.goto("choose_area")
    if fresh:
        ctx.send(ctx.t(title), markup)
    else:
        ctx.show(ctx.t(title), markup)


def on_area_button(ctx: Context) -> None:
    if ctx.state != "choose_area":
        ctx.answer(ctx.t("stale-button"), alert=True)
        return
    _, argument = keyboards.parse(ctx.event.callback_data)
    if argument == "0":
        show_area_choice(ctx, parent_id=None)
        return
    area_id = keyboards.parse_id(argument)  # fix: isdigit()+int() crashed on "²" and huge ids
    area = ctx.uow.areas.get(area_id) if area_id is not None else None
    if area is None or area.level not in ("district", "village", "sls") or not ctx.config.bot.serves(area):
        ctx.answer(ctx.t("stale-button"), alert=True)
    elif area.level == "sls":
        join_sls(ctx.uow, ctx.user, area.id)
        ask_family_name(ctx, for_self=True)
    else:
        show_area_choice(ctx, parent_id=area.id)


def ask_family_name(ctx: Context, for_self: bool) -> None:
    ctx.goto("family_name", for_self=for_self)
    ctx.show(ctx.t("ask-family-name" if for_self else "ask-family-name-rt"))


def on_family_name(ctx: Context) -> None:
    name = " ".join((ctx.event.text or "").split())
    if not (2 <= len(name) <= 120) or not NAME_PATTERN.match(name):
        ctx.send(ctx.t("bad-family-name"))
        return
    ctx.keep(head_name=name)
    ctx.state = "family_kk"
    ctx.send(ctx.t("ask-kk", name=name))


def on_family_kk(ctx: Context) -> None:
    check = check_kk(ctx.event.text or "")
    if not check.ok:
        ctx.send(ctx.t(check.problem))
        return
    if ctx.uow.families.by_kk(check.number) is not None:
        ctx.send(ctx.t("kk-duplicate"))
        return
    ctx.keep(kk=check.number)
    ctx.state = "family_members"
    ctx.send(ctx.t("ask-members"), keyboards.members(ctx.t))


def on_members_button(ctx: Context) -> None:
    _, argument = keyboards.parse(ctx.event.callback_data)
    # Fix: any number was accepted from the button's data ("mb:0", "mb:99999" registered a family of
    # 0 or 99999) and "mb:²" crashed; a press now means 1 to MAX_MEMBERS like typed input.
    members = keyboards.parse_id(argument)
    if ctx.state != "family_members" or members is None or not 1 <= members <= MAX_MEMBERS:
        ctx.answer(ctx.t("stale-button"), alert=True)
        return
    _register(ctx, members)


def on_family_members_typed(ctx: Context) -> None:
    # Fix: "²" passed isdigit() and crashed int(); full-width digits are fine and read as numbers.
    text = "".join(str(int(c)) if c.isdecimal() else c for c in (ctx.event.text or "").strip())
    members = keyboards.parse_id(text)
    if members is None or not 1 <= members <= MAX_MEMBERS:
        ctx.send(ctx.t("bad-members", max=MAX_MEMBERS), keyboards.members(ctx.t))
        return
    _register(ctx, members)


def _register(ctx: Context, members: int) -> None:
    """Create the family with everything gathered in the previous steps, then offer days at once."""
    for_self = bool(ctx.data.get("for_self", True))
    sls_id = ctx.user.sls_id
    if "head_name" not in ctx.data or "kk" not in ctx.data or sls_id is None:
        ctx.answer(ctx.t("stale-button"), alert=True)
        return
    try:
        family = register_family(ctx.uow, ctx.user, sls_id, ctx.data["head_name"], ctx.data["kk"], members, ctx.now, for_self)
    except DuplicateKK:
        ctx.state = "family_kk"
        ctx.show(ctx.t("kk-duplicate"))
        return
    except NotAllowed:
        ctx.show(ctx.t("not-allowed"))
        return
    ctx.answer(ctx.t("family-registered"))
    booking.show_days(ctx, family.id, mode="book")
