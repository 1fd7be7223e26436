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
|            | (answering a question reopened from the review: REVIEW_AT)  |                                         |
| PAUSED     | rid, fid, aud                                               | "qn:resume", /isi, /kunjungan           |
| idle       |                                                             | commands                                |

Callback data (``i`` is the question's position in the form, so a button of an earlier question,
or of an older version of the form, never answers the current one: it is stale):

    qa:<i>:<n>   the n-th choice of select_one i        qn:back:<i>  one step back from question i
    qa:<i>:t<n>  tick/untick a select_multiple choice   qn:skip:<i>  leave optional question i blank
    qa:<i>:k     keep the answer shown                  qn:done:<i>  the ticked choices answer i
    qn:next:<i>  a note was read                        qn:go:<family>  open (or resume) a family's
    qn:pause  qn:review  qn:resume  qn:submit  qn:consent                questionnaire
    qn:pick:<page>  the answered questions, to change one   qn:edit:<i>  ask question i again (from the review)

Message economy: a button edits its message in place; a typed answer gets the next question as one
new message. Bad input (letters for a number, out of range, a photo where text is expected, a
sticker) gets the reason and the same question again in the same message; nothing is lost.
"""
from __future__ import annotations

import html
from dataclasses import replace
from pathlib import Path
from typing import Any

from domain import questionnaire as service
from domain.errors import NotAllowed, RecordIncomplete
from domain.questionnaire import ENUMERATOR, RESIDENT, RT_HEAD, AlreadyCompleted, Draft, StillMissing
from forms import Attachment, Form, FormError, Location, Message, Step
from forms.source import form_source
from handlers import capture
from handlers.context import Context
from handlers.flow import Accepts, Flow, StateSpec
from handlers.states import State
from chat.keyboard import Button, Keyboard, Part, choices, keyboard, pager, parse, parse_id

STATE = State.QUESTION
PAUSED = State.PAUSED
MAX_REVIEW_CHARS = 3500  # Telegram's limit is 4096; the buttons' explanation must fit too

# The engine's messages (forms/messages.py): rendered from this catalog (questionnaire.po).
ENGINE_KEYS = (
    "form-required", "form-constraint-failed", "form-not-a-number", "form-not-an-integer",
    "form-number-too-large", "form-not-a-date", "form-not-a-choice", "form-not-a-location",
    "form-send-a-photo", "form-not-relevant", "form-not-allowed", "form-nothing-to-go-back",
)
HOW = {"text": "qn-how-text", "integer": "qn-how-integer", "decimal": "qn-how-decimal", "date": "qn-how-date",
       "select_one": "qn-how-select-one", "select_multiple": "qn-how-select-multiple", "note": "qn-how-note",
       "geopoint": "qn-how-geopoint", "image": "qn-how-image"}
CAPTURE_KINDS = ("geopoint", "image")
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
    """/kunjungan FAMILY_ID, /visit FAMILY_ID: the enumerator's questionnaire for a family."""
    _open_by_argument(ctx)


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
    enumerator = ctx.uow.enumerators.by_user(ctx.user.id) if audience == ENUMERATOR else None
    try:
        draft = service.open_draft(ctx.uow, form, family.id, ctx.now, audience=audience,
                                   enumerator_id=enumerator.id if enumerator else None)
    except AlreadyCompleted:
        ctx.stay(State.IDLE)
        ctx.send(ctx.t("qn-already-completed", name=family.head_name))
        return
    key = "qn-resuming" if draft.state.get("history") else "qn-starting"
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


def _question_text(ctx: Context, draft: Draft, step: Step, notice: str | None) -> str:
    done, total = step.progress
    progress = ctx.t("qn-progress", number=min(done + 1, total), total=total)
    group = f"{_esc(' › '.join(step.groups))}\n" if step.groups else ""
    hint = f"\n<i>{_esc(step.hint)}</i>" if step.hint else ""
    current = ""
    if step.display and step.kind not in ("select_one", "select_multiple"):
        shown = ctx.t("qn-photo-kept") if step.kind == "image" else step.display
        current = "\n" + ctx.t("qn-current", value=shown)
    how = ctx.t(HOW[step.kind])
    if not step.required and step.kind != "note":
        how += " " + ctx.t("qn-optional")
    text = ctx.t.raw("qn-question", progress=progress, group=group, label=_esc(step.label), hint=hint,
                     current=current, how=how)
    return f"{notice}\n\n{text}" if notice else text


def _question_keyboard(ctx: Context, draft: Draft, step: Step, ticked: list[str] | None) -> Keyboard:
    index = _index(draft.engine.form, step.name)
    rows: list[Part] = []
    if step.kind == "select_one":
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
    elif step.value:
        shown = ctx.t("qn-photo-kept") if step.kind == "image" else (step.display or step.value)
        rows.append([Button(ctx.t("btn-qn-keep", value=_short(shown)), f"qa:{index}:k")])
    navigation = []
    if step.progress[0] > 0:
        navigation.append(Button(ctx.t("btn-qn-back"), f"qn:back:{index}"))
    if not step.required and step.kind not in ("note", "select_multiple"):
        navigation.append(Button(ctx.t("btn-qn-skip"), f"qn:skip:{index}"))
    rows.append(navigation)
    rows.append([Button(ctx.t("btn-qn-review"), "qn:review"), Button(ctx.t("btn-qn-pause"), "qn:pause")])
    return keyboard(rows)


def show_review(ctx: Context, draft: Draft, audience: str, notice: str | None = None, *, edit: bool = True) -> None:
    """Everything answered so far, and what can be done now: submit, hand over, or go on."""
    language = ctx.t.language
    engine = draft.engine
    items = engine.review(draft.state, language)
    lines: list[str] = []
    group: tuple[str, ...] = ()
    for item in items:
        if item.groups and item.groups != group:
            group = item.groups
            lines.append(f"\n<b>{_esc(' › '.join(group))}</b>")
        if item.kind == "image" and item.value:
            value = ctx.t("qn-photo-kept")
        else:
            value = item.display or ctx.t("qn-review-skipped")
        lines.append(ctx.t("qn-review-line", label=item.label, value=value))
    body = "\n".join(lines).strip() or ctx.t("qn-review-empty")
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
    return draft, str(ctx.data.get("aud") or RESIDENT)


def on_typed(ctx: Context) -> None:
    """Typed text in QUESTION answers the question shown (a location or photo question says what it wants)."""
    opened = _open_draft(ctx)
    if opened is None:
        return
    draft, audience = opened
    name = ctx.data.get("q")
    item = draft.engine.form.by_name.get(name) if name else None
    if item is None:  # the review is open (or the form changed under the question): show where we are
        show_current(ctx, draft, audience, notice=ctx.t("qn-use-buttons") if not name else None, edit=False)
        return
    if item.kind in CAPTURE_KINDS:
        _capture(ctx, draft, audience, item.kind)
        return
    if item.kind == "note":
        show_current(ctx, draft, audience, notice=ctx.t("qn-how-note"), edit=False)
        return
    _answer(ctx, draft, audience, item.name, ctx.event.text, edit=False)


def on_event(ctx: Context) -> None:
    """Non-text events in QUESTION, and capture's "gc" presses (the geofence's "is this right?")."""
    opened = _open_draft(ctx)
    if opened is None:
        return
    draft, audience = opened
    name = ctx.data.get("q")
    item = draft.engine.form.by_name.get(name) if name else None
    if item is not None and item.kind in CAPTURE_KINDS:
        _capture(ctx, draft, audience, item.kind)
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
    else:
        if not capture.on_photo_for_record(ctx, record):
            return
        photos = ctx.uow.records.photos(record.id)
        raw = Attachment(Path(photos[-1].path).name)
    ctx.data.pop(capture.DATA_KEY, None)
    _answer(ctx, draft, audience, str(ctx.data.get("q")), raw, edit=False)


def _answer(ctx: Context, draft: Draft, audience: str, name: str, raw: Any, *, edit: bool) -> None:
    """Store one answer and show the next question, or say what is wrong and ask again."""
    result = service.save_answer(ctx.uow, draft, name, raw, ctx.now, audience=audience, language=ctx.t.language)
    if not result.ok:
        error = _message(ctx, result.error)
        ctx.answer(_short(html.unescape(error), 190))
        show_current(ctx, draft, audience, notice="⚠️ " + error, edit=edit)
        return
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
    choices = draft.engine.choices(draft.state, item.name)  # as numbered on the buttons: filtered
    if argument == "k":
        stored = draft.state.get("values", {}).get(item.name, "")
        value = Attachment(stored) if item.kind == "image" and stored else stored
        _answer(ctx, draft, audience, item.name, value, edit=True)
    elif item.kind == "select_multiple" and argument.startswith("t") and _choice(choices, argument[1:]):
        choice = _choice(choices, argument[1:])
        ticked = [n for n in ctx.data.get("multi") or [] if isinstance(n, str)]
        ticked = [n for n in ticked if n != choice.name] if choice.name in ticked else [*ticked, choice.name]
        ctx.data = {**ctx.data, "multi": ticked}
        ctx.answer()
        show_current(ctx, draft, audience)
    elif item.kind == "select_one" and _choice(choices, argument):
        _answer(ctx, draft, audience, item.name, _choice(choices, argument).name, edit=True)
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
    form = draft.engine.form
    index = parse_id(position)
    item = form.fields[index] if index is not None and index < len(form.fields) else None
    if ctx.state != STATE or item is None or item.name != ctx.data.get("q"):
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
    elif action == "submit":
        _submit(ctx, draft, audience, consent=False)
    elif action == "consent" and audience == ENUMERATOR:
        _submit(ctx, draft, audience, consent=True)
    else:
        ctx.answer(ctx.t("stale-button"), alert=True)


def _on_step_action(ctx: Context, action: str, draft: Draft, audience: str, item: Any) -> None:
    if action == "back":
        _back(ctx, draft, audience)
    elif action == "skip":
        _answer(ctx, draft, audience, item.name, "", edit=True)
    elif action == "done" and item.kind == "select_multiple":
        ticked = [n for n in ctx.data.get("multi") or [] if isinstance(n, str)]
        _answer(ctx, draft, audience, item.name, ticked, edit=True)
    elif action == "next" and item.kind == "note":
        _answer(ctx, draft, audience, item.name, "", edit=True)
    else:
        _stale(ctx, draft, audience)


def _back(ctx: Context, draft: Draft, audience: str) -> None:
    result = service.go_back(ctx.uow, draft, ctx.now, audience=audience)
    if not result.ok:
        ctx.answer(_short(html.unescape(_message(ctx, result.error)), 190), alert=True)
        return
    ctx.answer()
    ctx.data = {k: v for k, v in ctx.data.items() if k not in ("q", "multi", capture.DATA_KEY)}
    show_current(ctx, draft, audience)


EDIT_PAGE = 8


def show_edit_list(ctx: Context, draft: Draft, audience: str, page: int) -> None:
    """From the review: the answered questions this person may change, a page at a time, as buttons."""
    editable = set(draft.engine.editable(draft.state, audience))
    items = [item for item in draft.engine.review(draft.state, ctx.t.language) if item.name in editable]
    pages = max(1, -(-len(items) // EDIT_PAGE))
    page = min(max(page, 0), pages - 1)
    form = draft.engine.form
    rows = [[Button(_short(f"✏️ {page * EDIT_PAGE + n}. {html.unescape(item.label)}", 60),
                    f"qn:edit:{_index(form, item.name)}")]
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
    index = parse_id(position)
    fields = draft.engine.form.fields
    name = fields[index].name if index is not None and index < len(fields) else None
    pending = draft.next_question(audience, ctx.t.language)  # where the person was before the change
    result = service.reopen(ctx.uow, draft, name, ctx.now, audience=audience) if name else None
    if result is None or not result.ok:
        ctx.answer(ctx.t("stale-button"), alert=True)
        show_review(ctx, draft, audience)
        return
    ctx.answer()
    ctx.data[REVIEW_AT] = pending.name if pending is not None else ""
    show_current(ctx, draft, audience)


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
        service.submit(ctx.uow, draft, ctx.now, consent_version=ctx.config.consent_version if consent else None)
    except StillMissing as missing:
        ctx.answer(ctx.t("qn-still-missing", count=len(missing.names)), alert=True)
        show_current(ctx, draft, audience, notice=ctx.t("qn-still-missing", count=len(missing.names)))
        return
    except RecordIncomplete:
        ctx.answer()
        ctx.show(ctx.t("qn-consent-ask", name=family.head_name), keyboard([
            [Button(ctx.t("btn-qn-consent"), "qn:consent")], [Button(ctx.t("btn-qn-resume"), "qn:review")]]))
        return
    ctx.answer()
    ctx.stay(State.IDLE)
    ctx.show(ctx.t("qn-submitted", name=family.head_name),
             keyboard([[Button(ctx.t("btn-qn-schedule"), "en:today")]]))


# --- helpers --------------------------------------------------------------------------------------

def _index(form: Form, name: str) -> int:
    return next(i for i, item in enumerate(form.fields) if item.name == name)


def _esc(value: str) -> str:
    return html.escape(value, quote=False)


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def enter_question(ctx: Context) -> None:
    """The draft named in the data, at its next question (or its review)."""
    opened = _open_draft(ctx)
    if opened is not None:
        show_current(ctx, *opened)


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
                  on_text=on_typed, on_input=on_event, presses=frozenset({capture.PREFIX}),
                  doc="an answer: typed, a choice, a location or a photo"),
        StateSpec(State.PAUSED, Accepts.BUTTON, enter=enter_paused, doc="resume"),
    ),
    live_locations=capture.on_live_update,
)
