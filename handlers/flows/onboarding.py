"""From /start to a registered family: consent, joining (invite or choosing an RT), family details.

| state          | waits for                     | next                          |
| -------------- | ----------------------------- | ----------------------------- |
| (no user)      | /start, consent button        | CHOOSE_AREA or role's home    |
| CHOOSE_AREA    | kecamatan → kelurahan → RT    | FAMILY_NAME                   |
| FAMILY_NAME    | the family head's name        | FAMILY_KK                     |
| FAMILY_KK      | the 16-digit KK number        | FAMILY_MEMBERS                |
| FAMILY_MEMBERS | a number button (or typed)    | FAMILY_ADDRESS                |
| FAMILY_ADDRESS | the address, as people write it | FAMILY_LOCATION             |
| FAMILY_LOCATION| the house's location, or skip | booking's PICK_DAY, or waiting|

Every step has « Kembali to the one before (and Lanjut to keep an answer given before), so a typo in the
KK seen at the members step is corrected without starting again.

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
from domain.family_import import MAX_MEMBERS, check_typed_address
from domain.geotag import judge_position
from domain.names import check_name
from domain.privacy import needs_reconsent
from domain.onboarding import join_sls, record_consent, redeem_invite, register_family
from handlers import keyboards, notices
from handlers.context import Context
from handlers.flow import Accepts, Flow, StateSpec, use_buttons
from handlers.states import State
from chat.i18n import LANGUAGES, Translator, language_for
from chat.keyboard import Button, Keyboard, RemoveKeyboard, ReplyButton, ReplyKeyboard, keyboard, parse, parse_id
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
    elif invite.kind is InviteKind.FKP_SEAT:
        # A seat at a forum, not a role: the person's own home is unchanged; the forum is one button away.
        ctx.show(ctx.t("fkp-chat-welcome", name=ctx.user.first_name), keyboards.fkp_open(ctx.t))
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


def enter_area_choice(ctx: Context) -> None:
    show_area_choice(ctx, parent_id=None)


# --- the family's details, one step each, with "back" and "next" -----------------------------------
# Each step's screen carries « Kembali (``rg:bk:<step>``: to the step before) and, when the step was
# answered before (the user came back to it), Lanjut (``rg:nx:<step>``: keep the answer). Everything
# given stays in the conversation's data until the family is registered, so going back loses nothing.
# The location step's buttons are a reply keyboard (Telegram's location button cannot sit under a
# message), so its "back" and "skip" arrive as their labels, typed.

STEPS = (State.FAMILY_NAME, State.FAMILY_KK, State.FAMILY_MEMBERS, State.FAMILY_ADDRESS, State.FAMILY_LOCATION)
STEP_NAMES = {State.FAMILY_NAME: "name", State.FAMILY_KK: "kk", State.FAMILY_MEMBERS: "members",
              State.FAMILY_ADDRESS: "address", State.FAMILY_LOCATION: "location"}
STEP_ANSWERS = {State.FAMILY_NAME: "head_name", State.FAMILY_KK: "kk", State.FAMILY_MEMBERS: "members",
                State.FAMILY_ADDRESS: "address"}


def _step_buttons(ctx: Context, state: State) -> list:
    """The back / next buttons of a typed step's screen."""
    row = [Button(ctx.t("btn-back"), f"rg:bk:{STEP_NAMES[state]}")] if _has_back(ctx, state) else []
    if STEP_ANSWERS.get(state) in ctx.data and state is not State.FAMILY_MEMBERS:
        row.append(Button(ctx.t("btn-next"), f"rg:nx:{STEP_NAMES[state]}"))
    return row


def _has_back(ctx: Context, state: State) -> bool:
    """The first step goes back to the RT choice (a resident who chose it) or the RT menu (an RT head);
    a resident who came by invite has nothing before it."""
    return state is not State.FAMILY_NAME or not ctx.data.get("invited")


def _screen(ctx: Context, text: str, state: State, fresh: bool) -> None:
    _put(ctx, text, keyboard([_step_buttons(ctx, state)]), fresh)


def _put(ctx: Context, text: str, markup: Keyboard, fresh: bool) -> None:
    """A new message after typed input; the pressed message edited in place after a button."""
    if fresh:
        ctx.send(text, markup)
    else:
        ctx.show(text, markup)


def enter_family_name(ctx: Context, fresh: bool = False) -> None:
    text = ctx.t("ask-family-name" if ctx.data.get("for_self", True) else "ask-family-name-rt")
    if "head_name" in ctx.data:
        text += "\n\n" + ctx.t("reg-kept-name", name=ctx.data["head_name"])
    _screen(ctx, text, State.FAMILY_NAME, fresh)


def enter_kk(ctx: Context, fresh: bool = False) -> None:
    text = ctx.t("ask-kk", name=ctx.data.get("head_name", ""))
    if "kk" in ctx.data:
        kk = str(ctx.data["kk"])
        text += "\n\n" + ctx.t("reg-kept-kk", kk=" ".join(kk[i:i + 4] for i in range(0, len(kk), 4)))
    _screen(ctx, text, State.FAMILY_KK, fresh)


def enter_members(ctx: Context, fresh: bool = False) -> None:
    markup = keyboard([*keyboards.members(ctx.t).groups, _step_buttons(ctx, State.FAMILY_MEMBERS)])
    _put(ctx, ctx.t("ask-members"), markup, fresh)


def enter_address(ctx: Context, fresh: bool = False) -> None:
    text = ctx.t("ask-address", name=ctx.data.get("head_name", ""))
    if "address" in ctx.data:
        text += "\n\n" + ctx.t("reg-kept-address", address=ctx.data["address"])
    _screen(ctx, text, State.FAMILY_ADDRESS, fresh)


def enter_location(ctx: Context, fresh: bool = True) -> None:
    """Always a new message: a reply keyboard (the location button) cannot replace inline buttons."""
    key = "ask-location" if ctx.data.get("for_self", True) else "ask-location-rt"
    ctx.send(ctx.t(key, name=ctx.data.get("head_name", "")), location_keyboard(ctx.t))


def location_keyboard(t: Translator) -> ReplyKeyboard:
    return ReplyKeyboard(((ReplyButton(t("btn-share-house-location"), request_location=True),),
                          (ReplyButton(t("btn-skip")), ReplyButton(t("btn-back")))), one_time=False)


ENTER = {State.FAMILY_NAME: enter_family_name, State.FAMILY_KK: enter_kk, State.FAMILY_MEMBERS: enter_members,
         State.FAMILY_ADDRESS: enter_address, State.FAMILY_LOCATION: enter_location}


def ask_again(ctx: Context) -> None:
    """A photo (of the KK, say) or a sticker while typed details are awaited: the question again, the step kept."""
    ENTER[ctx.state](ctx, fresh=True)


def newcomer_home(ctx: Context) -> None:
    """A resident without a registered family: the registration step they are in, or its start."""
    if ctx.state in STEPS:
        ENTER[ctx.state](ctx, fresh=not ctx.event.is_callback)
    elif ctx.uow.claims.pending_of_user(ctx.user.id) is not None:
        ctx.stay(State.IDLE)
        ctx.show(ctx.t("claim-waiting"))
    elif ctx.user.sls_id is not None:
        ask_family_name(ctx, for_self=True, invited=bool(ctx.data.get("invited")))
    else:
        show_area_choice(ctx, parent_id=None)


def on_step_button(ctx: Context) -> None:
    """rg:bk:<step> goes back one step; rg:nx:<step> keeps the step's earlier answer and goes on. A
    button of a screen that is not the current step is stale."""
    _, argument = parse(ctx.event.callback_data)
    action, _, step = argument.partition(":")
    state = next((s for s, name in STEP_NAMES.items() if name == step), None)
    keeps = action == "nx" and STEP_ANSWERS.get(state) in ctx.data and state is not State.FAMILY_MEMBERS
    goes_back = action == "bk" and _has_back(ctx, state) if state is not None else False
    if state is None or ctx.state is not state or not (keeps or goes_back):
        ctx.answer(ctx.t("stale-button"), alert=True)
        return
    ctx.answer()
    if keeps:
        _next(ctx, state)
    else:
        _back(ctx, state)


def _next(ctx: Context, state: State) -> None:
    """Lanjut: the step's earlier answer stands; the following step's screen in place (the location's
    reply keyboard needs a message of its own)."""
    if state is State.FAMILY_NAME:
        ctx.state = State.FAMILY_KK
    elif state is State.FAMILY_KK:
        ctx.state = State.FAMILY_MEMBERS
    else:
        ctx.state = State.FAMILY_LOCATION
    ENTER[ctx.state](ctx, fresh=ctx.state is State.FAMILY_LOCATION)


def _back(ctx: Context, state: State) -> None:
    """« Kembali: the step before, showing what was given there."""
    if state is State.FAMILY_KK:
        ctx.state = State.FAMILY_NAME
        enter_family_name(ctx)
    elif state is State.FAMILY_MEMBERS:
        ctx.state = State.FAMILY_KK
        enter_kk(ctx)
    elif state is State.FAMILY_ADDRESS:
        ctx.state = State.FAMILY_MEMBERS
        enter_members(ctx)
    elif not ctx.data.get("for_self", True):
        ctx.go_home()  # the RT head's menu
    else:  # a resident who chose the RT (one who came by invite has no back here: _has_back)
        sls = ctx.uow.areas.get(ctx.user.sls_id) if ctx.user.sls_id is not None else None
        show_area_choice(ctx, parent_id=sls.parent_id if sls is not None else None)


def on_family_name(ctx: Context) -> None:
    check = check_name(ctx.event.text)
    if not check.ok:
        ctx.send(ctx.t(check.problem), keyboard([_step_buttons(ctx, State.FAMILY_NAME)]))
        return
    ctx.keep(head_name=check.name)
    ctx.state = State.FAMILY_KK
    enter_kk(ctx, fresh=True)


def on_family_kk(ctx: Context) -> None:
    check = check_kk(ctx.event.text or "")
    if not check.ok:
        ctx.send(ctx.t(check.problem), keyboard([_step_buttons(ctx, State.FAMILY_KK)]))
        return
    if not ctx.data.get("for_self", True):
        # The RT head registers for their list and is told of a number already there.
        if ctx.uow.families.by_kk(check.number) is not None:
            ctx.send(ctx.t("kk-duplicate"), keyboard([_step_buttons(ctx, State.FAMILY_KK)]))
            return
    elif check.number != ctx.data.get("kk") and not note_kk_attempt(
            ctx.uow, ctx.user, check.number, ctx.config.invite_secret, ctx.now):
        ctx.send(ctx.t("kk-too-many-attempts"))
        return
    # A resident is never told whether a family has this number: the next step is the same either way.
    ctx.keep(kk=check.number)
    ctx.state = State.FAMILY_MEMBERS
    enter_members(ctx, fresh=True)


def on_members_button(ctx: Context) -> None:
    _, argument = parse(ctx.event.callback_data)
    # The button's data is checked like typed input: a forged "mb:0" or "mb:99999" is no family size.
    members = parse_id(argument)
    if ctx.state is not State.FAMILY_MEMBERS or members is None or not 1 <= members <= MAX_MEMBERS:
        ctx.answer(ctx.t("stale-button"), alert=True)
        return
    ctx.answer()
    ctx.keep(members=members)
    ctx.state = State.FAMILY_ADDRESS
    enter_address(ctx)


def on_family_members_typed(ctx: Context) -> None:
    # Full-width and other decimal digits are read as numbers ("３" is 3).
    text = "".join(str(int(c)) if c.isdecimal() else c for c in (ctx.event.text or "").strip())
    members = parse_id(text)
    if members is None or not 1 <= members <= MAX_MEMBERS:
        ctx.send(ctx.t("bad-members", max=MAX_MEMBERS),
                 keyboard([*keyboards.members(ctx.t).groups, _step_buttons(ctx, State.FAMILY_MEMBERS)]))
        return
    ctx.keep(members=members)
    ctx.state = State.FAMILY_ADDRESS
    enter_address(ctx, fresh=True)


def on_family_address(ctx: Context) -> None:
    check = check_typed_address(ctx.event.text)
    if check.problem is not None:
        ctx.send(ctx.t(check.problem), keyboard([_step_buttons(ctx, State.FAMILY_ADDRESS)]))
        return
    ctx.keep(address=check.address)
    ctx.state = State.FAMILY_LOCATION
    enter_location(ctx)


def on_location_text(ctx: Context) -> None:
    """The reply keyboard's "Lewati" and "« Kembali" arrive as text (in either language)."""
    typed = " ".join((ctx.event.text or "").split()).casefold()
    if typed in _labels("btn-back"):
        ctx.send(ctx.t("btn-back"), RemoveKeyboard())  # the location keyboard goes; the address again
        ctx.state = State.FAMILY_ADDRESS
        enter_address(ctx, fresh=True)
    elif typed in _labels("btn-skip") or typed in ("-", "lewat", "skip"):
        _register(ctx, None, ctx.t("reg-location-skipped"))
    else:
        ctx.send(ctx.t("reg-location-buttons"), location_keyboard(ctx.t))


def _labels(key: str) -> set[str]:
    """A reply button's label in every language, and without its sign ("« Kembali" typed as "kembali")."""
    labels = {Translator(language)(key).casefold() for language in LANGUAGES}
    return labels | {label.strip("«» ").strip() for label in labels}


def on_location(ctx: Context) -> None:
    """A shared location (the button, or 📎 → Location): judged like a geotag, then the family is
    registered with it. A live location's later points are not answers."""
    location = ctx.event.location
    if ctx.event.is_live_update:
        return
    if location is None:
        ctx.send(ctx.t("reg-location-buttons"), location_keyboard(ctx.t))
        return
    sls_id = ctx.user.sls_id
    verdict = judge_position(ctx.uow, sls_id, location.latitude, location.longitude, location.horizontal_accuracy,
                             ctx.config.geo_policy) if sls_id is not None else None
    if verdict is None or verdict.status == "invalid":
        ctx.send(ctx.t("reg-location-invalid"), location_keyboard(ctx.t))
    elif verdict.status == "poor_accuracy":
        ctx.send(ctx.t("reg-location-poor", accuracy=round(verdict.accuracy_m or 0)), location_keyboard(ctx.t))
    elif verdict.status == "outside_area":
        ctx.send(ctx.t("reg-location-outside", rt=ctx.uow.areas.get(sls_id).name), location_keyboard(ctx.t))
    else:
        _register(ctx, (location.latitude, location.longitude), ctx.t("reg-location-saved"))


def _register(ctx: Context, position: tuple[float, float] | None, said: str) -> None:
    """Create the family with everything gathered in the previous steps, then offer days at once.
    ``said``: what is answered about the location (that message also takes the location keyboard away)."""
    for_self = bool(ctx.data.get("for_self", True))
    sls_id = ctx.user.sls_id
    if any(key not in ctx.data for key in ("head_name", "kk", "members", "address")) or sls_id is None:
        ctx.stay(State.IDLE)
        ctx.send(ctx.t("stale-button"), RemoveKeyboard())
        return
    members, address = int(ctx.data["members"]), str(ctx.data["address"])
    if for_self:
        _claim(ctx, sls_id, members, address, position, said)
        return
    try:
        family = register_family(ctx.uow, ctx.user, sls_id, ctx.data["head_name"], ctx.data["kk"], members, ctx.now,
                                 for_self, address=address, position=position)
    except DuplicateKK:
        ctx.send(said, RemoveKeyboard())
        ctx.state = State.FAMILY_KK  # back to the number, everything else kept
        ctx.send(ctx.t("kk-duplicate"), keyboard([_step_buttons(ctx, State.FAMILY_KK)]))
        return
    except NotAllowed:
        ctx.stay(State.IDLE)
        ctx.send(ctx.t("not-allowed"), RemoveKeyboard())
        return
    ctx.send(said + "\n" + ctx.t("family-registered"), RemoveKeyboard())
    ctx.go(State.PICK_DAY, family_id=family.id, mode="book")


def _claim(ctx: Context, sls_id: int, members: int, address: str, position: tuple[float, float] | None,
           said: str) -> None:
    """A resident's own family: linked at once (then days are offered), or a claim the RT head decides."""
    try:
        outcome = claim_family(ctx.uow, ctx.user, sls_id, ctx.data["head_name"], ctx.data["kk"], members, ctx.now,
                               via_invite=bool(ctx.data.get("invited")), address=address, position=position)
    except NotAllowed:
        ctx.stay(State.IDLE)
        ctx.send(ctx.t("not-allowed"), RemoveKeyboard())
        return
    if outcome.linked:
        ctx.send(said + "\n" + ctx.t("family-registered"), RemoveKeyboard())
        ctx.go(State.PICK_DAY, family_id=outcome.family.id, mode="book")
        return
    # The same words whether or not a family has this KK number.
    ctx.stay(State.IDLE)
    ctx.send(said + "\n\n" + ctx.t("claim-sent"), RemoveKeyboard())


FLOW = Flow(
    name="onboarding",
    doc="from /start to a registered family: consent, invite or RT, the family's details",
    commands={"start": on_start},
    buttons={"cs": on_consent_button, "ar": on_area_button, "mb": on_members_button, "rg": on_step_button},
    states=(
        StateSpec(State.CHOOSE_AREA, Accepts.BUTTON, enter=enter_area_choice, on_other=use_buttons,
                  doc="kecamatan, kelurahan, RT"),
        StateSpec(State.FAMILY_NAME, Accepts.TEXT | Accepts.BUTTON, enter=enter_family_name, on_text=on_family_name,
                  on_other=ask_again, doc="the family head's name"),
        StateSpec(State.FAMILY_KK, Accepts.TEXT | Accepts.BUTTON, enter=enter_kk, on_text=on_family_kk,
                  on_other=ask_again, doc="the 16-digit KK number"),
        StateSpec(State.FAMILY_MEMBERS, Accepts.TEXT | Accepts.BUTTON, enter=enter_members,
                  on_text=on_family_members_typed, on_other=use_buttons, doc="the number of members"),
        StateSpec(State.FAMILY_ADDRESS, Accepts.TEXT | Accepts.BUTTON, enter=enter_address, on_text=on_family_address,
                  on_other=ask_again, doc="the address: street, house number, RT/RW"),
        StateSpec(State.FAMILY_LOCATION, Accepts.TEXT | Accepts.LOCATION, enter=enter_location,
                  on_text=on_location_text, on_input=on_location, doc="the house's location, or skip"),
    ),
    homes={"newcomer": newcomer_home},
    before_consent=frozenset({"start", "cs"}),
)
