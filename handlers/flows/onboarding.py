"""From /start to a registered family: consent, joining (invite or choosing an RT), family details.

| state          | waits for                     | next                          |
| -------------- | ----------------------------- | ----------------------------- |
| (no user)      | /start, consent button        | CHOOSE_AREA or role's home    |
| CHOOSE_AREA    | kecamatan → kelurahan → RT    | FAMILY_NAME                   |
| FAMILY_NAME    | the family head's name        | FAMILY_KK                     |
| FAMILY_KK      | the 16-digit KK number        | FAMILY_MEMBERS                |
| FAMILY_MEMBERS | a number button (or typed)    | booking's PICK_DAY, or waiting|

A resident's own family is a claim (domain/claims.py): by the RT's invite (``invited`` in the data) a
family on the RT's list with that KK and head's name links at once and booking follows; anything else
waits for the RT head, and the resident hears the same whether or not the KK exists. KK numbers typed
are rate-limited. An RT head registering a family without Telegram enters FAMILY_NAME with
``for_self=False``. The home of a resident without a registered family ("newcomer") is here: the step
they are in, or that their claim is waiting.
"""
from __future__ import annotations

import re

from dataclasses import replace
from zoneinfo import ZoneInfo

from domain import privacy
from domain.bots import bot_serving, invite_area, user_area
from domain.claims import claim_family, note_kk_attempt
from domain.errors import AlreadyAnotherOfficer, DuplicateKK, ExpiredInvite, InvalidInvite, NotAllowed, UsedInvite
from domain.invites import InviteKind, read_invite
from domain.kk import check_kk
from domain.family_import import MAX_MEMBERS
from domain.privacy import needs_reconsent
from domain.onboarding import join_sls, record_consent, redeem_invite, register_family
from handlers import keyboards, notices
from handlers.context import Context
from handlers.flow import Accepts, Flow, StateSpec, use_buttons
from handlers.states import State
from chat.i18n import Translator, language_for
from chat.keyboard import parse, parse_id
NAME_PATTERN = re.compile(r"^[^\W\d_](?:[^\W\d_]|[ .'\-])*$")
# What a deep link's start parameter may hold; longer than an invite token never verifies anyway.
INVITE_PAYLOAD = re.compile(r"[A-Za-z0-9_-]{1,40}")


def on_start(ctx: Context) -> None:
    """/start [invite]: the privacy notice for newcomers (the one of the role the invite gives); the
    current step for everyone else."""
    payload = ctx.event.command_args
    if ctx.user is None:
        # The payload travels in the consent button's callback data (64 bytes at most: 40 emoji would
        # not fit). Anything that is not a possible token is carried as "-", so the user still hears
        # that the link is invalid.
        carried = payload[:40] if not payload or INVITE_PAYLOAD.fullmatch(payload[:40]) else "-"
        ctx.send(notices.notice(ctx.t, ctx.config, _notice_kind(ctx, carried)), keyboards.consent(ctx.t, carried))
        return
    role_notice = _role_invite_notice(ctx, payload)
    if role_notice is not None and ctx.user.consent_version != privacy.NOTICES[role_notice][-1]:
        # An invite to a role (RT head, officer): that role's notice first, the invite carried in its button.
        ctx.send(notices.renewed_notice(ctx.t, ctx.config, _ROLE_OF_NOTICE[role_notice]),
                 keyboards.consent(ctx.t, payload[:40]))
        return
    if role_notice is None and needs_reconsent(ctx.user.consent_version, ctx.user.role):
        ctx.send(notices.renewed_notice(ctx.t, ctx.config, ctx.user.role), keyboards.consent(ctx.t, ""))
        return
    if payload:
        _accept_invite(ctx, payload)
        return
    ctx.go_home()


_ROLE_OF_NOTICE = {privacy.RT_HEAD_NOTICE: "rt_head", privacy.STAFF_NOTICE: "enumerator"}


def _role_invite_notice(ctx: Context, payload: str) -> str | None:
    """The notice of the role a (valid) invite to a role gives; None for a resident's invite or none."""
    if not payload or not INVITE_PAYLOAD.fullmatch(payload[:40]):
        return None
    kind = _notice_kind(ctx, payload[:40])
    return kind if kind != privacy.RESIDENT_NOTICE else None


def _invite_of(ctx: Context, payload: str):  # type: ignore[no-untyped-def]
    """The invite a start payload holds, read without redeeming it; None for none or an invalid one."""
    if not payload or payload == "-":
        return None
    try:
        return read_invite(ctx.config.invite_secret, payload, ctx.now)
    except (InvalidInvite, ExpiredInvite):
        return None


def _notice_kind(ctx: Context, payload: str) -> str:
    invite = _invite_of(ctx, payload)
    return notices.kind_for_invite(invite.kind if invite is not None else None)


def _invite_zone(ctx: Context, payload: str) -> ZoneInfo | None:
    """The zone of the area an invite leads to (the agreed line says the time there); None without one."""
    invite = _invite_of(ctx, payload)
    area = invite_area(ctx.uow, invite) if invite is not None else None
    return ZoneInfo(area.timezone) if area is not None else None


def keep_agreed_notice(ctx: Context, kind: str, tz: ZoneInfo | None) -> None:
    """What was agreed to stays in the chat: the notice keeps its text, its buttons give way to "you
    agreed on …"; the next screen comes as a new message."""
    ctx.show(notices.notice(ctx.t, ctx.config, kind) + "\n\n" + notices.agreed_line(ctx.t, ctx.now, tz))
    ctx.event = replace(ctx.event, message_id=None)


def on_consent_button(ctx: Context) -> None:
    """Agree: create the user and go on (with the invite, if the link had one). Decline: store nothing."""
    _, argument = parse(ctx.event.callback_data)
    answer, _, payload = argument.partition(":")
    answer, _, chosen = answer.partition(".")  # "y.en": agreed after choosing English with /bahasa
    if ctx.user is not None:
        _consent_again(ctx, answer == "y", payload)
        return
    if answer != "y":
        ctx.show(ctx.t("consent-declined"))
        return
    language = language_for(ctx.event.sender.language_code, chosen or None)
    kind = _notice_kind(ctx, payload)
    ctx.user = record_consent(
        ctx.uow, ctx.event.sender.telegram_id, ctx.event.sender.first_name, language,
        privacy.NOTICES[kind][-1], ctx.now,
    )
    ctx.t = Translator(ctx.user.language)  # the language chosen before agreeing, if any
    keep_agreed_notice(ctx, kind, _invite_zone(ctx, payload))
    if payload:
        _accept_invite(ctx, payload)
    else:
        show_area_choice(ctx, parent_id=None)


def _consent_again(ctx: Context, agreed: bool, payload: str = "") -> None:
    """Someone already registered pressed a notice: a newer version is agreed to (or declined: they keep
    being asked, and are told how to withdraw); an old notice pressed again just carries on. With an
    invite to a role, it was that role's notice: agreed, the invite is taken."""
    role_notice = _role_invite_notice(ctx, payload)
    if role_notice is not None and agreed:
        ctx.user.consent_version, ctx.user.consent_at = privacy.NOTICES[role_notice][-1], ctx.now
        keep_agreed_notice(ctx, role_notice, _invite_zone(ctx, payload))
        _accept_invite(ctx, payload)
    elif role_notice is not None:
        ctx.show(ctx.t("consent-new-declined"))
    elif not needs_reconsent(ctx.user.consent_version, ctx.user.role):
        ctx.go_home()
    elif agreed:
        ctx.user.consent_version, ctx.user.consent_at = privacy.current_notice(ctx.user.role), ctx.now
        keep_agreed_notice(ctx, privacy.notice_kind(ctx.user.role), _user_zone(ctx))
        ctx.go_home(notice=ctx.t("consent-renewed"))
    else:
        ctx.show(ctx.t("consent-new-declined"))


def _user_zone(ctx: Context) -> ZoneInfo | None:
    """The zone of the user's area; None (the default zone, named as such) before they have one."""
    area = user_area(ctx.uow, ctx.user)
    return ZoneInfo(area.timezone) if area is not None else None


def _accept_invite(ctx: Context, token: str) -> None:
    try:
        invite = read_invite(ctx.config.invite_secret, token, ctx.now)
        area = invite_area(ctx.uow, invite)
        if not ctx.config.bot.serves(area):  # an invite of another bot's area (several bots): name that bot
            other = bot_serving(ctx.uow, area)
            _invite_refused(ctx, "invite-other-bot" if other else "invite-other-bot-unknown",
                            area=area.name, bot=other.username if other else "")
            return
        # A resident link for someone with a family already, or for an officer (who has no RT of their
        # own to register a family in): nothing to join, their own home instead.
        if invite.kind is InviteKind.RESIDENT and (ctx.user.family_id is not None or ctx.user.role in ("enumerator", "supervisor", "coordinator", "admin")):
            ctx.go_home()
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
        ask_family_name(ctx, for_self=True, invited=True)
    else:
        welcome = {InviteKind.RT_HEAD: "welcome-rt-head", InviteKind.SUPERVISOR: "welcome-supervisor",
                   InviteKind.COORDINATOR: "welcome-coordinator"}.get(invite.kind, "welcome-enumerator")
        ctx.show(ctx.t(welcome, name=ctx.user.first_name))
        ctx.go_home(fresh=True)


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
    ctx.stay(State.CHOOSE_AREA)
    if fresh:
        ctx.send(ctx.t(title), markup)
    else:
        ctx.show(ctx.t(title), markup)


def on_area_button(ctx: Context) -> None:
    if ctx.state is not State.CHOOSE_AREA:
        ctx.answer(ctx.t("stale-button"), alert=True)
        return
    _, argument = parse(ctx.event.callback_data)
    if argument == "0":
        show_area_choice(ctx, parent_id=None)
        return
    area_id = parse_id(argument)
    area = ctx.uow.areas.get(area_id) if area_id is not None else None
    if area is None or area.level not in ("district", "village", "sls") or not ctx.config.bot.serves(area):
        ctx.answer(ctx.t("stale-button"), alert=True)
    elif area.level == "sls":
        join_sls(ctx.uow, ctx.user, area.id)
        ask_family_name(ctx, for_self=True)
    else:
        show_area_choice(ctx, parent_id=area.id)


def ask_family_name(ctx: Context, for_self: bool, invited: bool = False) -> None:
    """``invited``: the resident came by their RT's invite link (a listed family can link at once)."""
    ctx.stay(State.FAMILY_NAME, for_self=for_self, **({"invited": True} if invited else {}))
    enter_family_name(ctx)


def enter_family_name(ctx: Context) -> None:
    ctx.show(ctx.t("ask-family-name" if ctx.data.get("for_self", True) else "ask-family-name-rt"))


def enter_area_choice(ctx: Context) -> None:
    show_area_choice(ctx, parent_id=None)


def ask_name_again(ctx: Context) -> None:
    """A photo (of the KK, say) while typed details are awaited: the question again, the step kept."""
    ctx.send(ctx.t("ask-family-name" if ctx.data.get("for_self", True) else "ask-family-name-rt"))


def ask_kk_again(ctx: Context) -> None:
    ctx.send(ctx.t("ask-kk", name=ctx.data.get("head_name", "")))


def enter_kk(ctx: Context) -> None:
    ctx.show(ctx.t("ask-kk", name=ctx.data.get("head_name", "")))


def enter_members(ctx: Context) -> None:
    ctx.show(ctx.t("ask-members"), keyboards.members(ctx.t))


def newcomer_home(ctx: Context) -> None:
    """A resident without a registered family: the registration step they are in, or its start."""
    if ctx.state is State.FAMILY_KK:
        enter_kk(ctx)
    elif ctx.state is State.FAMILY_MEMBERS:
        enter_members(ctx)
    elif ctx.uow.claims.pending_of_user(ctx.user.id) is not None:
        ctx.stay(State.IDLE)
        ctx.show(ctx.t("claim-waiting"))
    elif ctx.user.sls_id is not None:
        ask_family_name(ctx, for_self=True)
    else:
        show_area_choice(ctx, parent_id=None)


def on_family_name(ctx: Context) -> None:
    name = " ".join((ctx.event.text or "").split())
    if not (2 <= len(name) <= 120) or not NAME_PATTERN.match(name):
        ctx.send(ctx.t("bad-family-name"))
        return
    ctx.keep(head_name=name)
    ctx.state = State.FAMILY_KK
    ctx.send(ctx.t("ask-kk", name=name))


def on_family_kk(ctx: Context) -> None:
    check = check_kk(ctx.event.text or "")
    if not check.ok:
        ctx.send(ctx.t(check.problem))
        return
    if not ctx.data.get("for_self", True):
        # The RT head registers for their list and is told of a number already there.
        if ctx.uow.families.by_kk(check.number) is not None:
            ctx.send(ctx.t("kk-duplicate"))
            return
    elif not note_kk_attempt(ctx.uow, ctx.user, check.number, ctx.config.invite_secret, ctx.now):
        ctx.send(ctx.t("kk-too-many-attempts"))
        return
    # A resident is never told whether a family has this number: the next step is the same either way.
    ctx.keep(kk=check.number)
    ctx.state = State.FAMILY_MEMBERS
    ctx.send(ctx.t("ask-members"), keyboards.members(ctx.t))


def on_members_button(ctx: Context) -> None:
    _, argument = parse(ctx.event.callback_data)
    # The button's data is checked like typed input: a forged "mb:0" or "mb:99999" is no family size.
    members = parse_id(argument)
    if ctx.state is not State.FAMILY_MEMBERS or members is None or not 1 <= members <= MAX_MEMBERS:
        ctx.answer(ctx.t("stale-button"), alert=True)
        return
    _register(ctx, members)


def on_family_members_typed(ctx: Context) -> None:
    # Full-width and other decimal digits are read as numbers ("３" is 3).
    text = "".join(str(int(c)) if c.isdecimal() else c for c in (ctx.event.text or "").strip())
    members = parse_id(text)
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
    if for_self:
        _claim(ctx, sls_id, members)
        return
    try:
        family = register_family(ctx.uow, ctx.user, sls_id, ctx.data["head_name"], ctx.data["kk"], members, ctx.now, for_self)
    except DuplicateKK:
        ctx.state = State.FAMILY_KK
        ctx.show(ctx.t("kk-duplicate"))
        return
    except NotAllowed:
        ctx.show(ctx.t("not-allowed"))
        return
    ctx.answer(ctx.t("family-registered"))
    ctx.go(State.PICK_DAY, family_id=family.id, mode="book")


def _claim(ctx: Context, sls_id: int, members: int) -> None:
    """A resident's own family: linked at once (then days are offered), or a claim the RT head decides."""
    try:
        outcome = claim_family(ctx.uow, ctx.user, sls_id, ctx.data["head_name"], ctx.data["kk"], members, ctx.now,
                               via_invite=bool(ctx.data.get("invited")))
    except NotAllowed:
        ctx.stay(State.IDLE)
        ctx.show(ctx.t("not-allowed"))
        return
    if outcome.linked:
        ctx.answer(ctx.t("family-registered"))
        ctx.go(State.PICK_DAY, family_id=outcome.family.id, mode="book")
        return
    # The same words whether or not a family has this KK number.
    ctx.answer()
    ctx.stay(State.IDLE)
    ctx.show(ctx.t("claim-sent"))


FLOW = Flow(
    name="onboarding",
    doc="from /start to a registered family: consent, invite or RT, the family's details",
    commands={"start": on_start},
    buttons={"cs": on_consent_button, "ar": on_area_button, "mb": on_members_button},
    states=(
        StateSpec(State.CHOOSE_AREA, Accepts.BUTTON, enter=enter_area_choice, on_other=use_buttons,
                  doc="kecamatan, kelurahan, RT"),
        StateSpec(State.FAMILY_NAME, Accepts.TEXT, enter=enter_family_name, on_text=on_family_name,
                  on_other=ask_name_again, doc="the family head's name"),
        StateSpec(State.FAMILY_KK, Accepts.TEXT, enter=enter_kk, on_text=on_family_kk, on_other=ask_kk_again,
                  doc="the 16-digit KK number"),
        StateSpec(State.FAMILY_MEMBERS, Accepts.TEXT | Accepts.BUTTON, enter=enter_members,
                  on_text=on_family_members_typed, on_other=use_buttons, doc="the number of members"),
    ),
    homes={"newcomer": newcomer_home},
    before_consent=frozenset({"start", "cs"}),
)
