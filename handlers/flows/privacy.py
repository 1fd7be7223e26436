"""The resident's rights under the privacy notice: see what Pintu holds, ask for a correction, withdraw
consent and have their data erased (the rules: domain/privacy.py).

| command / button     | does                                                               |
| -------------------- | ------------------------------------------------------------------ |
| /dataku, /mydata     | the summary in the chat, everything as a file, the actions         |
| /privasi, /privacy   | the privacy notice of the user's role again, and when they agreed  |
| pv:fix               | CORRECTION: asks what is wrong; the RT head (or enumerator) is told |
| pv:erase             | the confirmation: what is deleted now, what the survey keeps       |
| pv:eraseok         | withdraws consent and erases; the chat starts over at /start       |
| pv:back              | the summary again                                                  |
| pv:done:<id>         | (RT head, enumerator) the correction is made: the resident is told |
"""
from __future__ import annotations

from zoneinfo import ZoneInfo

from chat.events import SendDocument
from chat.render import visit_when
from chat.keyboard import Button, Keyboard, keyboard, parse, parse_id
from domain import privacy
from domain.bots import user_area
from handlers import keyboards, notices
from handlers.context import Context
from handlers.flow import Accepts, Flow, StateSpec
from handlers.states import State

FILE_NAME = "pintu-data-saya.json"


def on_my_data(ctx: Context) -> None:
    """The summary, then the file with everything (answers, geotag, requests)."""
    data = privacy.my_data(ctx.uow, ctx.user)
    ctx.stay(State.IDLE)
    ctx.send(_summary(ctx, data), _actions(ctx))
    ctx.reply.add(SendDocument(ctx.event.chat_id, FILE_NAME, privacy.my_data_file(data, ctx.now), ctx.t("pv-file-caption")))


def on_notice(ctx: Context) -> None:
    """/privasi, /privacy: the notice of the user's role again, with when they agreed; before agreeing
    (or with a newer notice to agree to), the notice with its buttons, as /start shows it."""
    if ctx.user is None:
        ctx.send(notices.notice(ctx.t, ctx.config, privacy.RESIDENT_NOTICE), keyboards.consent(ctx.t, ""))
        return
    kind = privacy.notice_kind(ctx.user.role)
    if privacy.needs_reconsent(ctx.user.consent_version, ctx.user.role):
        ctx.send(notices.renewed_notice(ctx.t, ctx.config, ctx.user.role), keyboards.consent(ctx.t, ""))
        return
    area = user_area(ctx.uow, ctx.user)
    ctx.send(ctx.t("privacy-notice-again") + "\n\n" + notices.notice(ctx.t, ctx.config, kind) + "\n\n"
             + notices.agreed_line(ctx.t, ctx.user.consent_at, ZoneInfo(area.timezone) if area is not None else None))


def _summary(ctx: Context, data: privacy.MyData) -> str:
    user, t = data.user, ctx.t
    lines = [t("pv-title"), t("pv-account", name=user.first_name, version=user.consent_version,
                              date=f"{user.consent_at:%d-%m-%Y}")]
    if data.family is not None:
        kk = data.family["kk_number"] or ""
        lines.append(t("pv-family", name=data.family["head_name"], kk=_masked(kk), members=data.family["members"],
                       rt=data.area or "-"))
        lines.append(t("pv-house", address=data.family.get("address") or "-",
                       position=t("pv-house-located" if data.family.get("house_position") else "pv-house-not-located")))
    else:
        lines.append(t("pv-no-family"))
    if data.appointment is not None:
        lines.append(t("pv-visit", when=visit_when(data.appointment["start_at"], ZoneInfo(data.timezone), t)))
    records = data.records
    lines.append(t("pv-records", count=len(records), delivered=sum(r["delivered_to_registry"] for r in records),
                   photos=sum(r["photos"] for r in records), geotags=sum(r["geotag"] is not None for r in records)))
    open_requests = [r for r in data.requests if r["status"] == privacy.OPEN]
    if open_requests:
        lines.append(t("pv-open-requests", count=len(open_requests)))
    lines.append(t("pv-rights"))
    return "\n".join(lines)


def _masked(kk: str) -> str:
    """The chat shows the KK's last four digits only (the file has it whole)."""
    return "•" * max(0, len(kk) - 4) + kk[-4:] if kk else "-"


def _actions(ctx: Context) -> Keyboard:
    return keyboard([[Button(ctx.t("btn-pv-fix"), "pv:fix")], [Button(ctx.t("btn-pv-erase"), "pv:erase")]])


def on_button(ctx: Context) -> None:
    _, argument = parse(ctx.event.callback_data)
    action, _, rest = argument.partition(":")
    if action == "fix":
        ctx.go(State.CORRECTION)
    elif action == "erase":
        show_erasure(ctx)
    elif action == "eraseok":
        erase(ctx)
    elif action == "back":
        ctx.stay(State.IDLE)
        ctx.show(_summary(ctx, privacy.my_data(ctx.uow, ctx.user)), _actions(ctx))
    elif action == "done":
        close(ctx, parse_id(rest))
    else:
        ctx.answer(ctx.t("stale-button"), alert=True)


# --- correction -------------------------------------------------------------------------------------

def enter_correction(ctx: Context) -> None:
    ctx.show(ctx.t("pv-ask-correction"), keyboard([[Button(ctx.t("btn-back"), "pv:back")]]))


def ask_correction_again(ctx: Context) -> None:
    ctx.send(ctx.t("pv-ask-correction"))


def on_correction_text(ctx: Context) -> None:
    text = " ".join((ctx.event.text or "").split())
    if len(text) < 3:
        ctx.send(ctx.t("pv-correction-too-short"))
        return
    request = privacy.ask_correction(ctx.uow, ctx.user, text, ctx.now)
    ctx.stay(State.IDLE)
    ctx.send(ctx.t("pv-correction-sent", id=request.id) if request is not None else ctx.t("pv-correction-nobody"))


def close(ctx: Context, request_id: int | None) -> None:
    request = ctx.uow.privacy.get(request_id) if request_id is not None else None
    if request is None or request.kind != privacy.CORRECTION or not privacy.may_close(ctx.uow, ctx.user, request):
        ctx.answer(ctx.t("stale-button"), alert=True)
        return
    if not privacy.close_request(ctx.uow, request, ctx.now, closed_by=ctx.user.telegram_id):
        ctx.answer(ctx.t("pv-already-closed"), alert=True)
        return
    ctx.answer(ctx.t("pv-closed"))
    ctx.show(ctx.t("pv-closed-screen", id=request.id, text=request.text or ""))


# --- withdrawal and erasure -------------------------------------------------------------------------

def show_erasure(ctx: Context) -> None:
    """Exactly what goes now and what the survey keeps, before anything is deleted."""
    if ctx.user.role != "resident":
        ctx.show(ctx.t("pv-erase-officer"))
        return
    plan = privacy.erasure_plan(ctx.uow, ctx.user)
    lines = [ctx.t("pv-erase-now", drafts=plan.drafts, unsent=plan.unsent, photos=plan.photos)]
    if plan.forwarded:
        lines.append(ctx.t("pv-erase-forwarded", count=plan.forwarded))
    if plan.family_kept:
        lines.append(ctx.t("pv-erase-family-kept"))
    lines.append(ctx.t("pv-erase-question"))
    ctx.show("\n\n".join(lines), keyboard([[Button(ctx.t("btn-pv-erase-yes"), "pv:eraseok")],
                                           [Button(ctx.t("btn-back"), "pv:back")]]))


def erase(ctx: Context) -> None:
    if ctx.user.role != "resident":
        ctx.answer(ctx.t("stale-button"), alert=True)
        return
    request = privacy.erase_person(ctx.uow, ctx.user, ctx.config.media_dir, ctx.now)
    # Nothing of the person is kept: no conversation is saved after this step (handlers/app.py).
    ctx.user = None
    ctx.stay(State.IDLE)
    done = request.status == privacy.DONE
    ctx.show(ctx.t("pv-erased") if done else ctx.t("pv-erased-forwarded", id=request.id,
                                                   count=request.detail.get("forwarded", 0)))


FLOW = Flow(
    name="privacy",
    doc="the resident's rights: see their data, ask for a correction, withdraw consent and erase",
    commands={"dataku": on_my_data, "mydata": on_my_data, "privasi": on_notice, "privacy": on_notice},
    buttons={"pv": on_button},
    states=(
        StateSpec(State.CORRECTION, Accepts.TEXT | Accepts.BUTTON, enter=enter_correction, on_text=on_correction_text,
                  on_other=ask_correction_again, doc="what is wrong in the data"),
    ),
    before_consent=frozenset({"privasi", "privacy"}),
)
