"""The questionnaire in the chat: one question at a time, every answer saved as it is given.

The form is an XLSForm (forms/, PINTU_FORM; the default first-visit form otherwise), the draft is the
family's record (domain/questionnaire.py). The resident fills the self-report part before the visit
(/isi, /fill, or the button in /menu), an RT head the identification of a family without Telegram
(its screen in the family list), the enumerator the rest at the door (a button per visit in
/jadwal, or /kunjungan FAMILY_ID) and submits it. A restart, a closed app or a pause resumes at the
next unanswered question: nothing but the record and the conversation row holds the progress.

State table:

| state      | data                                                        | waits for                               |
| ---------- | ----------------------------------------------------------- | --------------------------------------- |
| QUESTION   | rid (record), fid (family), aud (audience), q (the question | a typed answer, "qa"/"qn" buttons,      |
|            | shown; None on the review), multi (ticked choices of a      | a location or photo (handlers/capture)  |
|            | select_multiple), capture (capture's own sub-state), rv     |                                         |
|            | (answering a question reopened from the review: REVIEW_AT), |                                         |
|            | rank (choices ranked so far), trace (a geotrace's or        |                                         |
|            | geoshape's points so far: [lat, lon, accuracy])             |                                         |
| PAUSED     | rid, fid, aud                                               | "qn:resume", /isi, /kunjungan           |
| DOOR_CONSENT | fid (a family nobody of which agreed in the chat)         | "qn:dc:y:<fid>" agreed / "qn:dc:n:<fid>" |
|            |                                                             | refused (domain/door_consent.py)        |
| idle       |                                                             | commands                                |

Callback data (``i`` is the question's position in the form, so a button of an earlier question,
or of an older version of the form, never answers the current one: it is stale):

    qa:<i>:<n>   the n-th choice of select_one i        qn:back:<i>  one step back from question i
    qa:<i>:t<n>  tick/untick a select_multiple choice   qn:skip:<i>  leave optional question i blank
    qa:<i>:k     keep the answer shown                  qn:done:<i>  the ticked choices (or the points
    qa:<i>:now   "now" for a time / dateTime                             of a geotrace/geoshape) answer i
    qa:<i>:ok    acknowledge / trigger                  qa:<i>:r<n>  the n-th value of a range
    qa:<i>:o<n>  rank choice n next (o0: start again)   qa:<i>:u     remove a trace's last point
    qn:next:<i>  a note was read                        qn:go:<family>  open (or resume) a family's
    qn:pause  qn:review  qn:resume  qn:submit  qn:consent                questionnaire
    qn:pick:<page>  the answered questions, to change one   qn:edit:<i>  ask question i again (from the review)
    qa:<i>:y / qa:<i>:n  "add another?" of a repeat without a count: yes / no, that is all
    qn:dc:y:<family> / qn:dc:n:<family>  the family agreed to / refused the notice read out at the door
    qn:add:<r>  one more member of repeat r (field index)    qn:rm:<r>  pick a member of r to remove
    qn:del:<r>.<n>.<rev>  asks "remove member n?"            qn:delok:<r>.<n>.<rev>  removes it

Inside a repeat (the household roster) ``i`` is ``<field>.<member>`` ("14.3": member 3's question
14; "11.+": the repeat's "add another?"), and ``q`` holds the engine's key (``member_name[3]``).

Message economy: a button edits its message in place; a typed answer gets the next question as one
new message. Bad input (letters for a number, out of range, a photo where text is expected, a
sticker) gets the reason and the same question again in the same message; nothing is lost.
"""
from __future__ import annotations

import html
from dataclasses import replace
from pathlib import Path
from typing import Any

from babel.numbers import format_decimal

from zoneinfo import ZoneInfo

from chat.render import clock_time, visit_when
from domain import audit, door_consent, media
from domain.booking import sls_timezone
from domain.privacy import current_notice
from domain import questionnaire as service
from domain.errors import NotAllowed, RecordIncomplete
from domain.questionnaire import ENUMERATOR, RESIDENT, RT_HEAD, AlreadyCompleted, Draft, StillMissing
from forms import Attachment, Form, FormError, Location, Message, Step
from forms.engine import ADD, REPEAT_ADD, key_of, may_answer, split_key
from forms.parameters import range_numbers, range_values
from forms.parsing import measure_points
from forms.source import form_source
from handlers import capture, notices
from handlers.daily_messages import plan_for_day
from handlers.context import Context
from handlers.flow import Accepts, Flow, StateSpec, use_buttons
from handlers.states import State
from chat.fit import shorten
from chat.keyboard import Button, Keyboard, Part, RemoveKeyboard, choices, keyboard, pager, parse, parse_id

STATE = State.QUESTION
PAUSED = State.PAUSED
DOOR_CONSENT = State.DOOR_CONSENT
MAX_REVIEW_CHARS = 3500  # Telegram's limit is 4096; the buttons' explanation must fit too
MAX_REVIEW_VALUE = 200  # an answer in the review (cut with "…"): every line stays short, the cut falls between lines
MAX_SHOWN_VALUE = 300  # the stored answer shown under its question again

# The engine's messages (forms/messages.py): rendered from this catalog (questionnaire.po).
ENGINE_KEYS = (
    "form-required", "form-constraint-failed", "form-not-a-number", "form-not-an-integer",
    "form-number-too-large", "form-not-a-date", "form-not-a-choice", "form-not-a-location",
    "form-send-a-photo", "form-not-relevant", "form-not-allowed", "form-nothing-to-go-back",
    "form-not-a-time", "form-not-a-datetime", "form-not-in-range", "form-not-on-step", "form-not-a-ranking",
    "form-press-ok", "form-send-audio", "form-send-video", "form-send-file", "form-trace-too-short",
    "form-shape-too-small", "form-shape-crosses", "form-text-too-long",
    "nik-format", "nik-district", "nik-birth-date", "nik-serial",
)
HOW = {"text": "qn-how-text", "integer": "qn-how-integer", "decimal": "qn-how-decimal", "date": "qn-how-date",
       "select_one": "qn-how-select-one", "select_multiple": "qn-how-select-multiple", "note": "qn-how-note",
       "geopoint": "qn-how-geopoint", "image": "qn-how-image",
       "time": "qn-how-time", "datetime": "qn-how-datetime", "range": "qn-how-range", "rank": "qn-how-rank",
       "acknowledge": "qn-how-acknowledge", "barcode": "qn-how-barcode", "audio": "qn-how-audio",
       "video": "qn-how-video", "file": "qn-how-file", "geotrace": "qn-how-geotrace", "geoshape": "qn-how-geoshape",
       REPEAT_ADD: "qn-how-repeat-add"}
MEDIA_KINDS = ("audio", "video", "file")  # answered with a file, stored like a photo (domain/media.py)
TRACE_KINDS = ("geotrace", "geoshape")    # successive locations, then "done"
CAPTURE_KINDS = ("geopoint", "image", *MEDIA_KINDS)
KEPT = {"image": "qn-photo-kept", "audio": "qn-audio-kept", "video": "qn-video-kept", "file": "qn-file-kept"}
RANGE_BUTTONS = 12  # a range of at most this many values is offered as buttons; a longer one is typed
RANK_KEY = "rank"   # conversation data: the choices ranked so far, in order
FILE_KINDS = ("image", *MEDIA_KINDS)  # question types whose answer is a file: its bytes are downloaded (wants_file)
# Conversation data while a question reopened from the review is answered: the question that was next
# before the change ("" when none was); reaching it (or the end) shows the review again.
REVIEW_AT = "rv"


# --- entry points ---------------------------------------------------------------------------------

def on_fill_command(ctx: Context) -> None:
    """/isi, /fill: a resident's own family; an RT head or enumerator names the family (/isi 12)."""
    if ctx.user.role == RESIDENT and not ctx.event.command_args:
        if ctx.user.family_id is None:
            ctx.send(ctx.t("qn-no-family"))
            return
        open_for(ctx, ctx.user.family_id)
        return
    _open_by_argument(ctx)


def on_visit_command(ctx: Context) -> None:
    """/kunjungan FAMILY_ID, /visit FAMILY_ID: the enumerator's questionnaire for a family; without a
    (valid) number, an enumerator is offered today's families as buttons."""
    if ctx.user.role == ENUMERATOR and parse_id(ctx.event.command_args) is None:
        offer_todays_families(ctx)
        return
    _open_by_argument(ctx)


def offer_todays_families(ctx: Context) -> None:
    """Today's route (handlers/daily_messages.py) as one button per family whose record is still open,
    each naming the family's number (what /kunjungan NUMBER takes), its time and its head."""
    enumerator = ctx.uow.enumerators.by_user(ctx.user.id)
    assigned = ctx.uow.enumerators.assigned_sls(enumerator.id) if enumerator is not None else []
    tz = ZoneInfo(assigned[0].timezone) if assigned else ZoneInfo("Asia/Jakarta")
    plan = plan_for_day(ctx.uow, enumerator.id, ctx.now.astimezone(tz).date(), ctx.now,
                        include_visited=True) if enumerator is not None else None
    buttons = []
    for stop in plan.route.stops if plan else ():
        family = stop.key.family
        if ctx.uow.questionnaires.completed_of(family.id) is not None:
            continue
        when = clock_time(stop.key.appointment.start_at, tz, ctx.t.language) if stop.key.appointment else "–"
        buttons.append([Button(_short(ctx.t("btn-qn-visit-family", id=family.id, time=when, name=family.head_name), 60),
                               f"qn:go:{family.id}")])
    ctx.stay(State.IDLE)
    if not buttons:
        ctx.send(ctx.t("qn-visit-none-today"))
        return
    ctx.send(ctx.t("qn-visit-pick"), keyboard(buttons))


def _open_by_argument(ctx: Context) -> None:
    family_id = parse_id(ctx.event.command_args)
    if family_id is None:
        ctx.send(ctx.t("qn-which-family"))
        return
    open_for(ctx, family_id)


def open_for(ctx: Context, family_id: int) -> None:
    """Open (or resume) ``family_id``'s questionnaire at its next question, as a new message."""
    family = ctx.uow.families.get(family_id)
    try:
        audience = service.audience_for(ctx.uow, ctx.user, family) if family is not None else None
    except NotAllowed:
        audience = None
    if audience is None:
        ctx.send(ctx.t("qn-not-allowed"))
        return
    form = _form(ctx)
    if form is None:
        return
    if audience == ENUMERATOR and door_consent.needed(ctx.uow, family.id) \
            and ctx.uow.questionnaires.completed_of(family.id) is None:
        # Nothing is captured before the family has heard the notice and agreed (domain/door_consent.py).
        ctx.event = replace(ctx.event, message_id=None)
        ctx.go(DOOR_CONSENT, fid=family.id)
        return
    enumerator = ctx.uow.enumerators.by_user(ctx.user.id) if audience == ENUMERATOR else None
    try:
        draft = service.open_draft(ctx.uow, form, family.id, ctx.now, audience=audience,
                                   enumerator_id=enumerator.id if enumerator else None)
    except AlreadyCompleted:
        ctx.stay(State.IDLE)
        ctx.send(ctx.t("qn-already-completed", name=family.head_name))
        return
    audit.record(ctx.uow, ctx.user, audit.VIEW_QUESTIONNAIRE, ctx.now, family_id=family.id, area_id=family.sls_id)
    _show_opened(ctx, draft, audience)


def _show_opened(ctx: Context, draft: Draft, audience: str) -> None:
    key = "qn-resuming" if draft.state.get("history") else "qn-starting"
    family = draft.family
    ctx.event = replace(ctx.event, message_id=None)  # a new message: the menu it came from stays
    show_current(ctx, draft, audience, notice=ctx.t(key, name=family.head_name))


# --- showing --------------------------------------------------------------------------------------

def _form(ctx: Context) -> Form | None:
    try:
        return form_source(ctx.config.form_path or None).current()
    except FormError:
        ctx.answer(ctx.t("qn-form-unavailable"), alert=True)
        ctx.send(ctx.t("qn-form-unavailable"))
        return None


def show_current(ctx: Context, draft: Draft, audience: str, notice: str | None = None, *,
                 edit: bool = True) -> None:
    """The next question for ``audience`` (or the review when their part is done)."""
    step = draft.next_question(audience, ctx.t.language)
    review_at = ctx.data.get(REVIEW_AT) if ctx.data.get("rid") == draft.record.id else None
    if step is None or (isinstance(review_at, str) and step.name == review_at):
        # Done, or an answer changed from the review is settled (with any question it made relevant):
        # back to the review rather than on to questions that were open before the change.
        show_review(ctx, draft, audience, notice=notice, edit=edit)
        return
    data: dict[str, Any] = {"rid": draft.record.id, "fid": draft.family.id, "aud": audience, "q": step.name}
    if isinstance(review_at, str):
        data[REVIEW_AT] = review_at
    same = ctx.state == STATE and ctx.data.get("q") == step.name and ctx.data.get("rid") == draft.record.id
    if step.kind == "select_multiple":
        kept = ctx.data.get("multi") if same else None
        data["multi"] = list(kept) if isinstance(kept, list) else (step.value or "").split()
    if same and capture.DATA_KEY in ctx.data:
        data[capture.DATA_KEY] = ctx.data[capture.DATA_KEY]
    for key in (RANK_KEY, capture.TRACE_KEY):
        if same and isinstance(ctx.data.get(key), list):
            data[key] = ctx.data[key]
    ctx.stay(STATE, **data)
    text = _question_text(ctx, draft, step, notice)
    markup = _question_keyboard(ctx, draft, step, data.get("multi"))
    if edit:
        ctx.show(text, markup)
    else:
        ctx.send(text, markup)
    if step.kind == "geopoint":
        capture.ask_location(ctx)
    elif step.kind == "image":
        capture.ask_photo(ctx)
    elif step.kind in TRACE_KINDS and not data.get(capture.TRACE_KEY):
        capture.ask_location(ctx, ctx.t("qn-trace-ask"))


def _question_text(ctx: Context, draft: Draft, step: Step, notice: str | None) -> str:
    done, total = step.progress
    progress = ctx.t("qn-progress", number=min(done + 1, total), total=total)
    group = f"{_esc(' › '.join(step.groups))}\n" if step.groups else ""
    hint = f"\n<i>{_esc(step.hint)}</i>" if step.hint else ""
    current = ""
    if step.display and step.kind not in ("select_one", "select_multiple"):
        shown = shorten(_shown(ctx, step.kind, step.value or "", step.display), MAX_SHOWN_VALUE)
        current = "\n" + ctx.t("qn-current", value=shown)
    how = _how(ctx, draft, step)
    if not step.required and step.kind != "note":
        how += " " + ctx.t("qn-optional")
    label = _esc(step.label)
    if step.kind == REPEAT_ADD:
        label = ctx.t("qn-repeat-add", count=step.position or 0, label=step.label)
    text = ctx.t.raw("qn-question", progress=progress, group=group, label=label, hint=hint,
                     current=current, how=how)
    return f"{notice}\n\n{text}" if notice else text


def _question_keyboard(ctx: Context, draft: Draft, step: Step, ticked: list[str] | None) -> Keyboard:
    index = _token(draft.engine.form, step.name)
    rows: list[Part] = []
    if step.kind == REPEAT_ADD:
        rows.append([Button(ctx.t("btn-qn-add-yes"), f"qa:{index}:y"), Button(ctx.t("btn-qn-add-no"), f"qa:{index}:n")])
    elif step.kind == "select_one":
        buttons = [Button(("✔ " if name == step.value else "") + label, f"qa:{index}:{n}")
                   for n, (name, label) in enumerate(step.choices, start=1)]
        rows.append(choices(buttons))
    elif step.kind == "select_multiple":
        chosen = set(ticked or ())
        buttons = [Button(("✅ " if name in chosen else "▫️ ") + label, f"qa:{index}:t{n}")
                   for n, (name, label) in enumerate(step.choices, start=1)]
        rows.append(choices(buttons))
        rows.append([Button(ctx.t("btn-qn-done-multi"), f"qn:done:{index}")])
    elif step.kind == "note":
        rows.append([Button(ctx.t("btn-qn-next"), f"qn:next:{index}")])
    else:
        rows.extend(_kind_buttons(ctx, draft, step, index))
        if step.value:
            shown = _shown(ctx, step.kind, step.value, step.display)
            rows.append([Button(ctx.t("btn-qn-keep", value=_short(shown)), f"qa:{index}:k")])
    navigation = []
    if step.progress[0] > 0:
        navigation.append(Button(ctx.t("btn-qn-back"), f"qn:back:{index}"))
    if not step.required and step.kind not in ("note", "select_multiple", REPEAT_ADD):
        navigation.append(Button(ctx.t("btn-qn-skip"), f"qn:skip:{index}"))
    rows.append(navigation)
    rows.append([Button(ctx.t("btn-qn-review"), "qn:review"), Button(ctx.t("btn-qn-pause"), "qn:pause")])
    return keyboard(rows)


def _review_lines(ctx: Context, items: list[Any]) -> list[str]:
    """A line per answer under its group's heading; a roster member's answers on one line of their own
    ("Anggota keluarga 2: Joko · Istri/suami · …"), so the review of 10 members still fits one message."""
    lines: list[str] = []
    group: tuple[str, ...] = ()
    member: list[str] = []
    for number, item in enumerate(items):
        value = shorten(_shown(ctx, item.kind, item.value, item.display), MAX_REVIEW_VALUE) if item.value \
            else ctx.t("qn-review-skipped")
        heading = item.groups[:-1] if item.repeat else item.groups
        if heading and heading != group:
            lines.append(f"\n<b>{_esc(' › '.join(heading))}</b>")
        group = heading or group
        if not item.repeat:
            lines.append(ctx.t("qn-review-line", label=item.label, value=value))
            continue
        member.append(value)
        following = items[number + 1] if number + 1 < len(items) else None
        if following is None or (following.repeat, following.position) != (item.repeat, item.position):
            label = item.groups[-1] if item.groups else str(item.position)
            lines.append(ctx.t("qn-review-line", label=label, value=" · ".join(member)))
            member = []
    return lines


def show_review(ctx: Context, draft: Draft, audience: str, notice: str | None = None, *, edit: bool = True) -> None:
    """Everything answered so far, and what can be done now: submit, hand over, or go on."""
    language = ctx.t.language
    engine = draft.engine
    items = engine.review(draft.state, language)
    body = "\n".join(_review_lines(ctx, items)).strip() or ctx.t("qn-review-empty")
    if len(body) > MAX_REVIEW_CHARS:
        cut = body[:MAX_REVIEW_CHARS].rsplit("\n", 1)[0]
        body = cut + "\n" + ctx.t("qn-review-truncated", count=body[len(cut):].count("\n"))
    step = engine.next_question(draft.state, audience, language)
    missing = len(engine.missing(draft.state)) if audience == ENUMERATOR else (0 if step is None else 1)
    if missing:
        status = ctx.t("qn-review-missing", count=missing) if audience == ENUMERATOR else ctx.t("qn-review-more")
    else:
        status = ctx.t("qn-review-ready-enumerator" if audience == ENUMERATOR else "qn-review-ready-self")
    title = ctx.t("qn-review-title", name=draft.family.head_name)
    text = ctx.t.raw("qn-review", title=title, answers=body, status=status)
    if notice:
        text = f"{notice}\n\n{text}"
    rows: list[list[Button]] = []
    if not missing:
        rows.append([Button(ctx.t("btn-qn-submit" if audience == ENUMERATOR else "btn-qn-hand-over"), "qn:submit")])
    if step is not None or missing:
        rows.append([Button(ctx.t("btn-qn-resume"), "qn:resume")])
    elif engine.form.fields and draft.state.get("history"):
        rows.append([Button(ctx.t("btn-qn-back"), "qn:back:last")])
    if engine.editable(draft.state, audience):
        rows.append([Button(ctx.t("btn-qn-edit"), "qn:pick:0")])
    rows += _roster_buttons(ctx, draft, audience)
    rows.append([Button(ctx.t("btn-qn-pause"), "qn:pause")])
    ctx.stay(STATE, rid=draft.record.id, fid=draft.family.id, aud=audience, q=None)
    if edit:
        ctx.show(text, keyboard(rows))
    else:
        ctx.send(text, keyboard(rows))


# --- answering ------------------------------------------------------------------------------------

def _open_draft(ctx: Context) -> tuple[Draft, str] | None:
    """The draft this conversation fills, locked for a change; None (and said so) when it is gone."""
    form = _form(ctx)
    if form is None:
        return None
    record_id = ctx.data.get("rid")
    draft = service.load_draft(ctx.uow, form, str(record_id), ctx.now, lock=True) if record_id else None
    if draft is None:
        family = ctx.uow.families.get(int(ctx.data.get("fid") or 0)) if ctx.data.get("fid") else None
        ctx.stay(State.IDLE)
        ctx.answer()
        if family is not None and ctx.uow.questionnaires.completed_of(family.id) is not None:
            ctx.send(ctx.t("qn-already-completed", name=family.head_name))
        else:
            ctx.send(ctx.t("qn-closed"))
        return None
    audience = str(ctx.data.get("aud") or RESIDENT)
    if not _still_allowed(ctx, draft.family, audience):
        ctx.stay(State.IDLE)
        ctx.answer()
        ctx.send(ctx.t("qn-not-allowed"))
        return None
    if audience == ENUMERATOR and door_consent.needed(ctx.uow, draft.family.id):
        # A draft begun without the family's consent (before the read-out existed, or after a resident
        # withdrew it): the notice comes first, whatever was pressed or sent.
        ctx.answer()
        ctx.event = replace(ctx.event, message_id=None)
        ctx.go(DOOR_CONSENT, fid=draft.family.id)
        return None
    return draft, audience


def _still_allowed(ctx: Context, family, audience: str) -> bool:  # type: ignore[no-untyped-def]
    """Who may fill what is asked again at every answer: a resident unlinked by the RT head, or an RT
    head whose family now has a resident of its own, stops here."""
    try:
        return service.audience_for(ctx.uow, ctx.user, family) == audience
    except NotAllowed:
        return False


def on_typed(ctx: Context) -> None:
    """Typed text in QUESTION answers the question shown (a location or photo question says what it wants)."""
    opened = _open_draft(ctx)
    if opened is None:
        return
    draft, audience = opened
    name = ctx.data.get("q")
    item = draft.engine.field_of(name) if isinstance(name, str) else None
    if item is None:  # the review is open (or the form changed under the question): show where we are
        show_current(ctx, draft, audience, notice=ctx.t("qn-use-buttons") if not name else None, edit=False)
        return
    if item.kind in CAPTURE_KINDS:
        _capture(ctx, draft, audience, item.kind)
        return
    if item.kind == "note":
        show_current(ctx, draft, audience, notice=ctx.t("qn-how-note"), edit=False)
        return
    if item.kind in TRACE_KINDS and capture.trace_points(ctx) and \
            (ctx.event.text or "").strip().casefold() in (ctx.t("qn-trace-done-word").casefold(), "done", "selesai"):
        _answer_trace(ctx, draft, audience, name)  # "selesai" typed instead of pressed
        return
    _answer(ctx, draft, audience, name, ctx.event.text, edit=False)


def on_event(ctx: Context) -> None:
    """Non-text events in QUESTION, and capture's "gc" presses (the geofence's "is this right?")."""
    opened = _open_draft(ctx)
    if opened is None:
        return
    draft, audience = opened
    name = ctx.data.get("q")
    item = draft.engine.field_of(name) if isinstance(name, str) else None
    if item is not None and item.kind in CAPTURE_KINDS:
        _capture(ctx, draft, audience, item.kind)
        return
    if item is not None and item.kind in TRACE_KINDS:
        _trace_point(ctx, draft, audience)
        return
    if ctx.event.is_live_update:
        capture.on_live_update(ctx)
        return
    if ctx.event.is_callback:
        ctx.answer(ctx.t("stale-button"), alert=True)
        return
    attachment = ctx.event.attachment
    key = "qn-sticker-voice" if attachment is not None and attachment.kind in ("sticker", "voice", "audio", "video") \
        else "qn-wrong-input"
    show_current(ctx, draft, audience, notice=ctx.t(key), edit=False)


def _capture(ctx: Context, draft: Draft, audience: str, kind: str) -> None:
    """A geopoint or image question: capture judges the event; once it stored something, so do we."""
    record = draft.record
    if kind == "geopoint":
        if not capture.on_location_for_record(ctx, record):
            return
        raw: Any = Location(record.latitude, record.longitude, 0.0, record.geo_accuracy_m or 0.0)
    elif kind in MEDIA_KINDS:
        stored = capture.on_media_for_record(ctx, record, kind)
        if stored is None:
            return
        raw = Attachment(Path(stored.path).name)
    else:
        if not capture.on_photo_for_record(ctx, record):
            return
        photos = ctx.uow.records.photos(record.id)
        raw = Attachment(Path(photos[-1].path).name)
    ctx.data.pop(capture.DATA_KEY, None)
    _answer(ctx, draft, audience, str(ctx.data.get("q")), raw, edit=False)  # the key: name or name[n]


def _answer(ctx: Context, draft: Draft, audience: str, name: str, raw: Any, *, edit: bool) -> None:
    """Store one answer and show the next question, or say what is wrong and ask again."""
    result = service.save_answer(ctx.uow, draft, name, raw, ctx.now, audience=audience, language=ctx.t.language)
    if not result.ok:
        error = _message(ctx, result.error)
        ctx.answer(_short(html.unescape(error), 190))
        show_current(ctx, draft, audience, notice="⚠️ " + error, edit=edit)
        return
    _audit_change(ctx, draft, audit.CHANGE_QUESTIONNAIRE)
    ctx.answer()
    show_current(ctx, draft, audience, edit=edit)


def _message(ctx: Context, message: Message | None) -> str:
    """The engine's refusal: the form's own text (escaped), or the catalog's message."""
    if message is None:
        return ctx.t("form-constraint-failed")
    if message.text is not None:
        return _esc(message.text)
    return ctx.t(message.key, **dict(message.args))


def on_answer_button(ctx: Context) -> None:
    """The "qa" buttons: a choice, a tick, or "keep", for the question shown."""
    checked = _checked(ctx)
    if checked is None:
        return
    draft, audience, item, argument = checked
    key = str(ctx.data.get("q"))
    choices = draft.engine.choices(draft.state, key)  # as numbered on the buttons: filtered
    if split_key(key)[1] == ADD and argument in ("y", "n"):
        _answer(ctx, draft, audience, key, "yes" if argument == "y" else "no", edit=True)
    elif argument == "k" and item.is_question:
        stored = draft.state.get("values", {}).get(key, "")
        value = Attachment(stored) if item.kind in KEPT and stored else stored
        _answer(ctx, draft, audience, key, value, edit=True)
    elif _kind_press(ctx, draft, audience, item, argument):
        pass
    elif item.kind == "select_multiple" and argument.startswith("t") and _choice(choices, argument[1:]):
        choice = _choice(choices, argument[1:])
        ticked = [n for n in ctx.data.get("multi") or [] if isinstance(n, str)]
        ticked = [n for n in ticked if n != choice.name] if choice.name in ticked else [*ticked, choice.name]
        ctx.data = {**ctx.data, "multi": ticked}
        ctx.answer()
        show_current(ctx, draft, audience)
    elif item.kind == "select_one" and _choice(choices, argument):
        _answer(ctx, draft, audience, key, _choice(choices, argument).name, edit=True)
    else:
        _stale(ctx, draft, audience)


def _choice(choices: tuple[Any, ...], number: str) -> Any:
    n = parse_id(number)
    return choices[n - 1] if n is not None and 1 <= n <= len(choices) else None


def _checked(ctx: Context) -> tuple[Draft, str, Any, str] | None:
    """For a button naming a question: the draft, the audience, the question and the rest of the data,
    when the question is the one shown; else the press is stale (said, and the current one shown)."""
    prefix, argument = parse(ctx.event.callback_data)
    if prefix == "qn":
        _, _, argument = argument.partition(":")
    position, _, rest = argument.partition(":")
    if ctx.state not in (STATE, PAUSED) or not ctx.data.get("rid"):
        ctx.answer(ctx.t("stale-button"), alert=True)
        return None
    opened = _open_draft(ctx)
    if opened is None:
        return None
    draft, audience = opened
    key = _key(draft.engine.form, position)
    item = draft.engine.field_of(key) if key else None
    if ctx.state != STATE or item is None or key != ctx.data.get("q"):
        _stale(ctx, draft, audience)
        return None
    return draft, audience, item, rest


def _stale(ctx: Context, draft: Draft, audience: str) -> None:
    """A button of an earlier question: say so, and show the current question as a new message."""
    ctx.answer(ctx.t("qn-stale-question"), alert=True)
    show_current(ctx, draft, audience, notice=ctx.t("qn-stale-question"), edit=False)


# --- navigation -----------------------------------------------------------------------------------

def on_navigation_button(ctx: Context) -> None:
    """The "qn" buttons: open, back, skip, done, next, pause, review, resume, submit, consent."""
    _, argument = parse(ctx.event.callback_data)
    action, _, value = argument.partition(":")
    if action == "go":
        family_id = parse_id(value)
        if family_id is None:
            ctx.answer(ctx.t("stale-button"), alert=True)
            return
        ctx.answer()
        open_for(ctx, family_id)
        return
    if action == "dc":
        on_door_answer(ctx, value)
        return
    if action in ("skip", "done", "next") or (action == "back" and value != "last"):
        checked = _checked(ctx)
        if checked is not None:
            _on_step_action(ctx, action, *checked[:3])
        return
    if ctx.state not in (STATE, PAUSED) or not ctx.data.get("rid"):
        ctx.answer(ctx.t("stale-button"), alert=True)
        return
    opened = _open_draft(ctx)
    if opened is None:
        return
    draft, audience = opened
    if action == "back":
        _back(ctx, draft, audience)
    elif action == "pause":
        ctx.answer()
        ctx.go(PAUSED, rid=draft.record.id, fid=draft.family.id, aud=audience)
    elif action == "review":
        ctx.answer()
        show_review(ctx, draft, audience)
    elif action == "resume":
        ctx.answer()
        show_current(ctx, draft, audience)
    elif action == "pick":
        ctx.answer()
        show_edit_list(ctx, draft, audience, parse_id(value) or 0)
    elif action == "edit":
        _reopen(ctx, draft, audience, value)
    elif action == "add":
        _add_member(ctx, draft, audience, value)
    elif action == "rm":
        ctx.answer()
        show_remove_list(ctx, draft, audience, value)
    elif action in ("del", "delok"):
        _remove_member(ctx, draft, audience, value, confirmed=action == "delok")
    elif action == "submit":
        _submit(ctx, draft, audience, consent=False)
    elif action == "consent" and audience == ENUMERATOR:
        _submit(ctx, draft, audience, consent=True)
    else:
        ctx.answer(ctx.t("stale-button"), alert=True)


def _on_step_action(ctx: Context, action: str, draft: Draft, audience: str, item: Any) -> None:
    key = str(ctx.data.get("q"))  # the step shown, checked by _checked: name, or name[n] in a roster
    if action == "back":
        _back(ctx, draft, audience)
    elif action == "skip":
        _answer(ctx, draft, audience, key, "", edit=True)
    elif action == "done" and item.kind == "select_multiple":
        ticked = [n for n in ctx.data.get("multi") or [] if isinstance(n, str)]
        _answer(ctx, draft, audience, key, ticked, edit=True)
    elif action == "next" and item.kind == "note":
        _answer(ctx, draft, audience, key, "", edit=True)
    elif action == "done" and item.kind in TRACE_KINDS:
        _answer_trace(ctx, draft, audience, key)
    else:
        _stale(ctx, draft, audience)


def _back(ctx: Context, draft: Draft, audience: str) -> None:
    result = service.go_back(ctx.uow, draft, ctx.now, audience=audience)
    if not result.ok:
        ctx.answer(_short(html.unescape(_message(ctx, result.error)), 190), alert=True)
        return
    ctx.answer()
    ctx.data = {k: v for k, v in ctx.data.items() if k not in ("q", "multi", capture.DATA_KEY, RANK_KEY,
                                                               capture.TRACE_KEY)}
    show_current(ctx, draft, audience)


EDIT_PAGE = 8


def show_edit_list(ctx: Context, draft: Draft, audience: str, page: int) -> None:
    """From the review: the answered questions this person may change, a page at a time, as buttons."""
    editable = set(draft.engine.editable(draft.state, audience))
    items = [item for item in draft.engine.review(draft.state, ctx.t.language) if item.name in editable]
    pages = max(1, -(-len(items) // EDIT_PAGE))
    page = min(max(page, 0), pages - 1)
    form = draft.engine.form
    rows = [[Button(_short(f"✏️ {page * EDIT_PAGE + n}. {html.unescape(_item_label(item))}", 60),
                    f"qn:edit:{_token(form, item.name)}")]
            for n, item in enumerate(items[page * EDIT_PAGE:(page + 1) * EDIT_PAGE], start=1)]
    rows.append(pager(Button("‹", f"qn:pick:{page - 1}") if page > 0 else None,
                      Button("›", f"qn:pick:{page + 1}") if page + 1 < pages else None))
    rows.append([Button(ctx.t("btn-qn-to-review"), "qn:review")])
    ctx.stay(STATE, rid=draft.record.id, fid=draft.family.id, aud=audience, q=None)
    ctx.show(ctx.t("qn-edit-pick", name=_esc(draft.family.head_name), page=page + 1, pages=pages),
             keyboard(rows))


def _reopen(ctx: Context, draft: Draft, audience: str, position: str) -> None:
    """``qn:edit:<i>``: ask question i again; the others keep their answers. A button of an older
    review (the question no longer relevant or answered) is stale: the review is shown as it is now."""
    name = _key(draft.engine.form, position)
    pending = draft.next_question(audience, ctx.t.language)  # where the person was before the change
    result = service.reopen(ctx.uow, draft, name, ctx.now, audience=audience) if name else None
    if result is None or not result.ok:
        ctx.answer(ctx.t("stale-button"), alert=True)
        show_review(ctx, draft, audience)
        return
    ctx.answer()
    ctx.data[REVIEW_AT] = pending.name if pending is not None else ""
    show_current(ctx, draft, audience)


# --- the roster: members added or removed from the review ------------------------------------------

def _roster_buttons(ctx: Context, draft: Draft, audience: str) -> list[list[Button]]:
    """For each repeat this person fills: add one (e.g. a family member), and remove one when there is any."""
    form = draft.engine.form
    counts = draft.engine.counts(draft.state) if form.repeats else {}
    rows = []
    for name, count in counts.items():
        item = form.field(name)
        if not may_answer(item, audience) or (count == 0 and item.count is not None):
            continue
        label = _short(form.text(item.labels, ctx.t.language) or name, 30)
        row = [Button(ctx.t("btn-qn-add-member", label=label), f"qn:add:{_index(form, name)}")]
        if count:
            row.append(Button(ctx.t("btn-qn-remove-member", label=label), f"qn:rm:{_index(form, name)}"))
        rows.append(row)
    return rows


def _repeat_of(form: Form, token: str) -> str | None:
    index = parse_id(token)
    item = form.fields[index] if index is not None and index < len(form.fields) else None
    return item.name if item is not None and item.kind == "repeat" else None


def _member(ctx: Context, draft: Draft, repeat: str, position: int) -> str:
    """How a person recognises an instance: its number, and its first text answer (the member's name)."""
    form = draft.engine.form
    label = form.text(form.field(repeat).labels, ctx.t.language) or repeat
    first = next((f for f in form.repeats[repeat] if f.kind == "text"), None)
    named = draft.state.get("values", {}).get(key_of(first.name, position), "") if first else ""
    return f"{label} {position}" + (f" ({named})" if named else "")


def show_remove_list(ctx: Context, draft: Draft, audience: str, token: str) -> None:
    """``qn:rm:<repeat>``: the instances as buttons; the one pressed is asked about before it goes."""
    form = draft.engine.form
    repeat = _repeat_of(form, token)
    if repeat is None:
        show_review(ctx, draft, audience)
        return
    count = draft.engine.counts(draft.state)[repeat]
    rows = [[Button(_short("🗑 " + _member(ctx, draft, repeat, p), 60), f"qn:del:{token}.{p}.{draft.rev}")]
            for p in range(1, count + 1)]
    rows.append([Button(ctx.t("btn-qn-to-review"), "qn:review")])
    label = form.text(form.field(repeat).labels, ctx.t.language) or repeat
    ctx.stay(STATE, rid=draft.record.id, fid=draft.family.id, aud=audience, q=None)
    ctx.show(ctx.t("qn-remove-pick", name=draft.family.head_name, label=label), keyboard(rows))


def _remove_member(ctx: Context, draft: Draft, audience: str, value: str, *, confirmed: bool) -> None:
    """``qn:del:<repeat>.<n>.<rev>`` asks, ``qn:delok:…`` removes. A press made before any other change
    (``rev``) is the only one honoured: positions move when a member goes, so an older button is stale."""
    token, position, rev = (value.split(".") + ["", "", ""])[:3]
    repeat = _repeat_of(draft.engine.form, token)
    number = parse_id(position)
    if repeat is None or number is None or parse_id(rev) != draft.rev:
        ctx.answer(ctx.t("stale-button"), alert=True)
        show_review(ctx, draft, audience)
        return
    member = _member(ctx, draft, repeat, number)
    if not confirmed:
        ctx.answer()
        ctx.show(ctx.t("qn-remove-confirm", member=member), keyboard([
            [Button(ctx.t("btn-qn-remove-yes"), f"qn:delok:{value}"), Button(ctx.t("btn-qn-remove-no"), "qn:review")]]))
        return
    result = service.remove_member(ctx.uow, draft, repeat, number, ctx.now, audience=audience,
                                   language=ctx.t.language)
    if not result.ok:
        ctx.answer(_short(html.unescape(_message(ctx, result.error)), 190), alert=True)
        show_review(ctx, draft, audience)
        return
    ctx.answer()
    show_review(ctx, draft, audience, notice=ctx.t("qn-member-removed", member=member))


def _add_member(ctx: Context, draft: Draft, audience: str, token: str) -> None:
    """``qn:add:<repeat>``: one more instance, its questions asked now, then back to the review."""
    repeat = _repeat_of(draft.engine.form, token)
    pending = draft.next_question(audience, ctx.t.language)  # where the person was before the change
    result = service.add_member(ctx.uow, draft, repeat, ctx.now, audience=audience,
                                language=ctx.t.language) if repeat else None
    if result is None or not result.ok:
        error = _message(ctx, result.error) if result is not None else ctx.t("stale-button")
        ctx.answer(_short(html.unescape(error), 190), alert=True)
        show_review(ctx, draft, audience)
        return
    ctx.answer()
    ctx.data[REVIEW_AT] = pending.name if pending is not None else ""
    form = draft.engine.form
    label = form.text(form.field(repeat).labels, ctx.t.language) or repeat
    number = draft.engine.counts(draft.state)[repeat]
    show_current(ctx, draft, audience, notice=ctx.t("qn-member-added", label=label, number=number))


def _submit(ctx: Context, draft: Draft, audience: str, *, consent: bool) -> None:
    family = draft.family
    if audience != ENUMERATOR:
        if draft.next_question(audience, ctx.t.language) is not None:
            ctx.answer(ctx.t("qn-review-more"), alert=True)
            show_current(ctx, draft, audience)
            return
        service.hand_over(ctx.uow, draft, ctx.now, audience=audience)
        ctx.answer()
        ctx.stay(State.IDLE)
        ctx.show(ctx.t("qn-handed-over-rt" if audience == RT_HEAD else "qn-handed-over", name=family.head_name))
        return
    if not consent and service.needs_consent(ctx.uow, draft.record):
        ctx.answer()
        ctx.show(ctx.t("qn-consent-ask", name=family.head_name), keyboard([
            [Button(ctx.t("btn-qn-consent"), "qn:consent")], [Button(ctx.t("btn-qn-resume"), "qn:review")]]))
        return
    try:
        service.submit(ctx.uow, draft, ctx.now, consent_version=current_notice(RESIDENT) if consent else None)
    except StillMissing as missing:
        ctx.answer(ctx.t("qn-still-missing", count=len(missing.names)), alert=True)
        show_current(ctx, draft, audience, notice=ctx.t("qn-still-missing", count=len(missing.names)))
        return
    except RecordIncomplete:
        ctx.answer()
        ctx.show(ctx.t("qn-consent-ask", name=family.head_name), keyboard([
            [Button(ctx.t("btn-qn-consent"), "qn:consent")], [Button(ctx.t("btn-qn-resume"), "qn:review")]]))
        return
    _audit_change(ctx, draft, audit.SUBMIT_QUESTIONNAIRE)
    ctx.answer()
    ctx.stay(State.IDLE)
    ctx.show(ctx.t("qn-submitted", name=family.head_name),
             keyboard([[Button(ctx.t("btn-qn-schedule"), "en:today")]]))


# --- the other question types: prompts, buttons, presses ----------------------------------------

def _how(ctx: Context, draft: Draft, step: Step) -> str:
    """How to answer ``step``: the catalog's line for its type, with what it needs to say."""
    if step.kind == "range":
        low, high, step_size = _range_limits(draft, step.name)
        return ctx.t("qn-how-range", low=low, high=high, step=step_size)
    if step.kind in MEDIA_KINDS:
        return ctx.t(HOW[step.kind], mb=media.max_megabytes(step.kind))
    if step.kind == "rank":
        ranked = _ranked(ctx, step)
        how = ctx.t("qn-how-rank", count=len(step.choices))
        if ranked:
            labels = dict(step.choices)
            order = ", ".join(f"{n}. {_esc(labels.get(name, name))}" for n, name in enumerate(ranked, start=1))
            how += "\n" + ctx.t("qn-rank-so-far", order=order)
        return how
    if step.kind in TRACE_KINDS:
        count = len(capture.trace_points(ctx))
        how = ctx.t(HOW[step.kind])
        return how + ("\n" + ctx.t("qn-trace-count", count=count) if count else "")
    return ctx.t(HOW[step.kind])


def _range_limits(draft: Draft, name: str) -> tuple[str, str, str]:
    start, end, step = range_numbers(draft.engine.form.field(name).parameters)
    return tuple(format(n.normalize(), "f") for n in (min(start, end), max(start, end), step))  # type: ignore[return-value]


def _range_values(draft: Draft, name: str) -> list[str]:
    values = range_values(draft.engine.form.field(name).parameters, RANGE_BUTTONS) or []
    return [format(v.normalize(), "f") for v in values]


def _ranked(ctx: Context, step: Step) -> list[str]:
    names = {name for name, _ in step.choices}
    ranked = ctx.data.get(RANK_KEY) if ctx.data.get("q") == step.name else None
    return [n for n in ranked if n in names] if isinstance(ranked, list) else []


def _kind_buttons(ctx: Context, draft: Draft, step: Step, index: int) -> list[Part]:
    """The buttons a question of the other types answers with (none: it is typed or sent)."""
    if step.kind in ("time", "datetime"):
        return [[Button(ctx.t("btn-qn-now"), f"qa:{index}:now")]]
    if step.kind == "acknowledge":
        return [[Button(("✔ " if step.value else "") + ctx.t("btn-qn-ok"), f"qa:{index}:ok")]]
    if step.kind == "range":
        values = _range_values(draft, step.name)
        return [choices([Button(("✔ " if value == step.value else "") + value, f"qa:{index}:r{n}")
                         for n, value in enumerate(values, start=1)])] if values else []
    if step.kind == "rank":
        ranked = _ranked(ctx, step)
        rows: list[Part] = [choices([Button(label, f"qa:{index}:o{n}")
                                     for n, (name, label) in enumerate(step.choices, start=1) if name not in ranked])]
        if ranked:
            rows.append([Button(ctx.t("btn-qn-rank-again"), f"qa:{index}:o0")])
        return rows
    if step.kind in TRACE_KINDS:
        count = len(capture.trace_points(ctx))
        if not count:
            return []
        return [[Button(ctx.t("btn-qn-trace-done", count=count), f"qn:done:{index}")],
                [Button(ctx.t("btn-qn-trace-undo"), f"qa:{index}:u")]]
    return []


def _kind_press(ctx: Context, draft: Draft, audience: str, item: Any, argument: str) -> bool:
    """A "qa" press of the other types' buttons; False if it is none of them (then it is stale)."""
    key = str(ctx.data.get("q") or item.name)  # name[n] inside a roster
    if item.kind in ("time", "datetime") and argument == "now":
        _answer(ctx, draft, audience, key, ctx.now, edit=True)
    elif item.kind == "acknowledge" and argument == "ok":
        _answer(ctx, draft, audience, key, True, edit=True)
    elif item.kind == "range" and argument.startswith("r") and _choice(tuple(_range_values(draft, item.name)), argument[1:]):
        _answer(ctx, draft, audience, key, _choice(tuple(_range_values(draft, item.name)), argument[1:]), edit=True)
    elif item.kind == "rank" and argument == "o0":
        ctx.data = {**ctx.data, RANK_KEY: []}
        ctx.answer()
        show_current(ctx, draft, audience)
    elif item.kind == "rank" and argument.startswith("o") and _choice(_offered(draft, key), argument[1:]):
        _rank_press(ctx, draft, audience, item, _choice(_offered(draft, key), argument[1:]).name)
    elif item.kind in TRACE_KINDS and argument == "u":
        capture.drop_trace_point(ctx)
        ctx.answer()
        show_current(ctx, draft, audience)
    else:
        return False
    return True


def _offered(draft: Draft, key: str) -> tuple[Any, ...]:
    """The choices as numbered on the buttons: a choice filter applied (see Questionnaire.choices)."""
    return draft.engine.choices(draft.state, key)


def _rank_press(ctx: Context, draft: Draft, audience: str, item: Any, name: str) -> None:
    """The next most important choice; once all but one are placed, the last one follows and the
    ranking is the answer."""
    ranked = [n for n in ctx.data.get(RANK_KEY) or [] if isinstance(n, str) and n != name] + [name]
    left = [c.name for c in _offered(draft, str(ctx.data.get("q") or item.name)) if c.name not in ranked]
    if len(left) <= 1:
        _answer(ctx, draft, audience, str(ctx.data.get("q") or item.name), ranked + left, edit=True)
        return
    ctx.data = {**ctx.data, RANK_KEY: ranked}
    ctx.answer()
    show_current(ctx, draft, audience)


def _trace_point(ctx: Context, draft: Draft, audience: str) -> None:
    """A location for a geotrace or geoshape: one more point (the question shown again with the count);
    a live location's later points are added without a word. Anything else: what is wanted."""
    event = ctx.event
    if event.is_callback:
        ctx.answer(ctx.t("stale-button"), alert=True)
        return
    if event.location is None:
        if not event.is_live_update:
            show_current(ctx, draft, audience, notice=ctx.t("qn-trace-wrong-input"), edit=False)
        return
    added = capture.add_trace_point(ctx)
    if event.is_live_update or not added:
        return  # live: a new point every few seconds, "done" is on the message shown; else capture said why
    notice = ctx.t("qn-trace-live" if event.location.live_period else "qn-trace-added",
                   count=len(capture.trace_points(ctx)))
    show_current(ctx, draft, audience, notice=notice, edit=False)


def _answer_trace(ctx: Context, draft: Draft, audience: str, name: str) -> None:
    """ "Done": the points collected answer the geotrace or geoshape; if they cannot (too few, a shape
    crossing itself), the reason is shown and the points are kept."""
    points = [Location(lat, lon, 0.0, accuracy) for lat, lon, accuracy in capture.trace_points(ctx)]
    result = service.save_answer(ctx.uow, draft, name, points, ctx.now, audience=audience, language=ctx.t.language)
    if not result.ok:
        error = _message(ctx, result.error)
        ctx.answer(_short(html.unescape(error), 190), alert=True)
        show_current(ctx, draft, audience, notice="⚠️ " + error, edit=False)
        return
    ctx.answer()
    ctx.send(ctx.t("qn-trace-saved", count=len(points)), RemoveKeyboard())  # the share-location keyboard goes
    ctx.data = {k: v for k, v in ctx.data.items() if k != capture.TRACE_KEY}
    show_current(ctx, draft, audience, edit=False)


def _shown(ctx: Context, kind: str, value: str, display: str | None) -> str:
    """A stored answer as the chat shows it: files by what they are, traces by their size."""
    if kind in KEPT:
        return ctx.t(KEPT[kind])
    if kind in TRACE_KINDS and value:
        count, metres, area = measure_points(value)
        if kind == "geoshape":
            return ctx.t("qn-shape-display", count=count, metres=_number(ctx, metres), area=_number(ctx, area))
        return ctx.t("qn-trace-display", count=count, metres=_number(ctx, metres))
    return display or value


def _number(ctx: Context, value: float) -> str:
    return format_decimal(round(value), format="#,##0", locale=ctx.t.language if ctx.t.language in ("id", "en") else "id")


# --- helpers --------------------------------------------------------------------------------------

def _audit_change(ctx: Context, draft: Draft, action: str) -> None:
    """Staff changing a family's record is logged (never the answer); a resident's own family is not."""
    audit.record(ctx.uow, ctx.user, action, ctx.now, family_id=draft.family.id, area_id=draft.family.sls_id)


def _index(form: Form, name: str) -> int:
    return next(i for i, item in enumerate(form.fields) if item.name == name)


def _token(form: Form, key: str) -> str:
    """A step's key in callback data: the field's position in the form, then the instance in a repeat
    ("12", "14.3", "11.+"), so a button of member 2's question never answers member 3's."""
    name, position = split_key(key)
    index = _index(form, name)
    return str(index) if position is None else f"{index}.{position}"


def _key(form: Form, token: str) -> str | None:
    """The key a callback token names; None when it names nothing in this form."""
    number, _, position = token.partition(".")
    index = parse_id(number)
    if index is None or index >= len(form.fields):
        return None
    item = form.fields[index]
    if not position:
        return item.name if item.repeat is None else None
    if item.repeat is None:
        return None
    if position == ADD:
        return key_of(item.name, ADD) if item.kind == "repeat" else None
    at = parse_id(position)
    return key_of(item.name, at) if at is not None and at >= 1 else None


def _item_label(item: Any) -> str:
    """A review line's question, with the member it belongs to inside a roster ("Anggota keluarga 2: NIK")."""
    return f"{item.groups[-1]}: {item.label}" if item.repeat and item.groups else item.label


def _esc(value: str) -> str:
    return html.escape(value, quote=False)


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def wants_file(ctx: Context) -> bool:
    """A file is downloaded only while the question shown takes one (a photo; later audio, video…)."""
    name = ctx.data.get("q")
    if not name:
        return False
    try:
        item = form_source(ctx.config.form_path or None).current().by_name.get(name)
    except FormError:
        return False
    return item is not None and item.kind in FILE_KINDS


def enter_question(ctx: Context) -> None:
    """The draft named in the data, at its next question (or its review)."""
    opened = _open_draft(ctx)
    if opened is not None:
        show_current(ctx, *opened)


# --- consent at the door ------------------------------------------------------------------------------

def _door_family(ctx: Context):  # type: ignore[no-untyped-def]
    """The family whose notice is being read out, while this enumerator may still fill its record."""
    family = ctx.uow.families.get(int(ctx.data.get("fid") or 0)) if ctx.data.get("fid") else None
    try:
        allowed = family is not None and service.audience_for(ctx.uow, ctx.user, family) == ENUMERATOR
    except NotAllowed:
        allowed = False
    return family if allowed else None


def enter_door_consent(ctx: Context) -> None:
    """The resident's notice, for the enumerator to read out; the family's answer is recorded."""
    family = _door_family(ctx)
    if family is None:
        ctx.stay(State.IDLE)
        ctx.show(ctx.t("qn-not-allowed"))
        return
    ctx.show(ctx.t("qn-door-read-out", name=family.head_name) + "\n\n" + notices.door_notice(ctx.t, ctx.config),
             keyboard([[Button(ctx.t("btn-qn-door-agreed"), f"qn:dc:y:{family.id}")],
                       [Button(ctx.t("btn-qn-door-refused"), f"qn:dc:n:{family.id}")],
                       [Button(ctx.t("btn-back"), "en:today")]]))


def on_door_answer(ctx: Context, value: str) -> None:
    """``qn:dc:y:<family>`` the family agreed: recorded, the questionnaire opens; ``qn:dc:n:<family>``
    it refused: the visit closes as refused, nothing is captured."""
    answer, _, family_arg = value.partition(":")
    family = _door_family(ctx) if ctx.state is DOOR_CONSENT else None
    if family is None or parse_id(family_arg) != family.id or answer not in ("y", "n"):
        ctx.answer(ctx.t("stale-button"), alert=True)
        return
    version = current_notice(RESIDENT)
    ctx.answer()
    if answer == "n":
        door_consent.refused(ctx.uow, ctx.user, family.id, ctx.now, ctx.config.media_dir)
        ctx.stay(State.IDLE)
        ctx.show(ctx.t("qn-door-refused", name=family.head_name),
                 keyboard([[Button(ctx.t("btn-qn-schedule"), "en:today")]]))
        return
    form = _form(ctx)
    if form is None:
        return
    enumerator = ctx.uow.enumerators.by_user(ctx.user.id)
    try:
        draft = service.open_draft(ctx.uow, form, family.id, ctx.now, audience=ENUMERATOR,
                                   enumerator_id=enumerator.id if enumerator else None)
    except AlreadyCompleted:
        ctx.stay(State.IDLE)
        ctx.show(ctx.t("qn-already-completed", name=family.head_name))
        return
    door_consent.agreed(ctx.uow, ctx.user, draft.record, version, ctx.now)
    # The notice stays as read, with who agreed and when; the questionnaire follows as a new message.
    ctx.show(ctx.t("qn-door-read-out", name=family.head_name) + "\n\n" + notices.door_notice(ctx.t, ctx.config)
             + "\n\n" + ctx.t("qn-door-agreed", name=family.head_name,
                               when=visit_when(ctx.now, sls_timezone(ctx.uow, family.sls_id), ctx.t)))
    audit.record(ctx.uow, ctx.user, audit.VIEW_QUESTIONNAIRE, ctx.now, family_id=family.id, area_id=family.sls_id)
    ctx.event = replace(ctx.event, message_id=None)
    _show_opened(ctx, draft, ENUMERATOR)


def enter_paused(ctx: Context) -> None:
    audience = str(ctx.data.get("aud") or RESIDENT)
    how = {RESIDENT: ctx.t("qn-resume-resident"), RT_HEAD: ctx.t("qn-resume-rt-head"),
           ENUMERATOR: ctx.t("qn-resume-enumerator", family=ctx.data.get("fid"))}[audience]
    ctx.show(ctx.t.raw("qn-paused", how=how), keyboard([[Button(ctx.t("btn-qn-resume"), "qn:resume")]]))


FLOW = Flow(
    name="questionnaire",
    doc="the questionnaire in the chat, one question at a time, with the house's location and photo",
    commands={"isi": on_fill_command, "fill": on_fill_command, "kunjungan": on_visit_command, "visit": on_visit_command},
    buttons={"qa": on_answer_button, "qn": on_navigation_button},
    states=(
        StateSpec(State.QUESTION, Accepts.TEXT | Accepts.BUTTON | Accepts.LOCATION | Accepts.MEDIA, enter=enter_question,
                  on_text=on_typed, on_input=on_event, presses=frozenset({capture.PREFIX}), wants_file=wants_file,
                  doc="an answer: typed, a choice, a location or a photo"),
        StateSpec(State.PAUSED, Accepts.BUTTON, enter=enter_paused, doc="resume"),
        StateSpec(DOOR_CONSENT, Accepts.BUTTON, enter=enter_door_consent, on_other=use_buttons,
                  doc="the notice read out at the door: the family agrees or refuses"),
    ),
    live_locations=capture.on_live_update,
)
