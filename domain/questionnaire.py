"""The questionnaire of a family: one draft record, filled answer by answer, then completed.

Who fills what is the form's ``pintu_audience`` column (forms/form.py; see /work/notes/questionnaire.md):
``resident`` (self-report before the visit), ``rt_head`` (identification of a family without
Telegram), ``enumerator`` (at the door; the enumerator may answer every question and is the only one
who submits), or ``any``. A blank cell inherits the enclosing group's. :func:`audience_for` says which
of these a user is for a family, or refuses.

Storage. A family has at most one draft (``records.status = 'draft'``); everyone who fills the
family's questionnaire fills that one. While it is a draft, ``records.answers`` holds the engine's
state (forms/engine.py: values, history of the steps done, who gave each value) plus ``rev``, a
counter raised by every change. Every change locks the record row and applies to what is stored
now, so the resident and the enumerator answering at the same moment never overwrite each other,
and a restart or a closed app loses nothing: the next question is derived from the stored state.
On submit the record is completed (domain.records.complete_record: queued for the registry in the
same transaction) and ``answers`` becomes the flat record the registry receives (values by question
name, irrelevant ones dropped). A completed record is never changed here; a family with one gets no
new draft (a correction is domain.records.correct_record).

Known values come in without being asked again: hidden fields named like a family column
(``needs_photo``) are refreshed from the family at every step, and questions named ``head_name``
or ``members`` start with the family's registered values (shown as "keep" when asked); an answer
to those two updates the family row (the RT head's list, the enumerator's day show it). The roster's
first row (``member_name[1]``, the head) starts with the head's name until someone answers it, and
adding or removing a member from the review (:func:`add_member`, :func:`remove_member`) changes
``members``, and so the family's count, with it.

Services flush, never commit.
"""
from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from domain.booking import sls_timezone
from domain.errors import NotAllowed, PintuError, RecordIncomplete, RecordStateError
from domain.names import check_name, valid_name
from domain.model import Family, Record, User
from domain.ports import UnitOfWork
from domain.records import complete_record, set_consent, start_record
from forms import Form, Questionnaire, Result, Step
from forms.engine import PRELOAD
from forms.messages import Message

RESIDENT, RT_HEAD, ENUMERATOR = "resident", "rt_head", "enumerator"
SUBMITTER = ENUMERATOR  # only the enumerator completes a record; the others hand their part over

# Family columns that fill a question or hidden field of the same name.
FAMILY_VALUES: dict[str, Callable[[Family], Any]] = {
    "head_name": lambda f: f.head_name,
    "members": lambda f: f.members,
    "needs_photo": lambda f: "1" if getattr(f, "needs_photo", False) else "0",
}
# Family columns that start a roster's first row (the head's), by the question's name in the repeat:
# shown as the current answer ("keep"), still asked.
HEAD_ROW_VALUES: dict[str, Callable[[Family], Any]] = {
    "member_name": lambda f: f.head_name,
}


class AlreadyCompleted(RecordStateError):
    """The family's questionnaire was completed; it is not filled again."""


class StillMissing(PintuError):
    """Submitting a record with questions left; ``names`` are the steps still to do."""

    def __init__(self, names: list[str]) -> None:
        super().__init__(f"{len(names)} question(s) left")
        self.names = names


class _Now:
    """The engine's clock for one update: the update's instant (domain.clock is the source)."""

    def __init__(self, now: dt.datetime) -> None:
        self._now = now

    def now(self) -> dt.datetime:
        return self._now


def engine_for(form: Form, now: dt.datetime) -> Questionnaire:
    return Questionnaire(form, _Now(now))


@dataclass
class Draft:
    """A family's draft record and its engine state (a copy: change it through the functions below)."""

    record: Record
    state: dict[str, Any]
    engine: Questionnaire
    family: Family

    @property
    def rev(self) -> int:
        return int(self.state.get("rev", 0))

    def next_question(self, audience: str, language: str) -> Step | None:
        return self.engine.next_question(self.state, audience, language)


# --- who ------------------------------------------------------------------------------------------

def audience_for(uow: UnitOfWork, user: User, family: Family) -> str:
    """The part of ``family``'s questionnaire ``user`` fills; NotAllowed if none.

    A resident fills their own family's self-report; an RT head the identification of a family of
    their RT; an enumerator the whole questionnaire of a family in an SLS assigned to them.
    """
    if user.role == "enumerator":
        enumerator = uow.enumerators.by_user(user.id)
        if enumerator is not None and family.sls_id in {a.id for a in uow.enumerators.assigned_sls(enumerator.id)}:
            return ENUMERATOR
    elif user.role == "rt_head":
        # The RT head identifies a family without Telegram; a family with a consenting resident of its
        # own answers for itself (the RT head's screen offers the button only then, and so does this).
        if user.sls_id is not None and user.sls_id == family.sls_id and not _has_own_resident(uow, family):
            return RT_HEAD
    elif user.role == "resident":
        if user.family_id == family.id:
            return RESIDENT
    raise NotAllowed("questionnaire")


def _has_own_resident(uow: UnitOfWork, family: Family) -> bool:
    return any(u.consent_at for u in uow.users.residents_of_family(family.id))


# --- opening --------------------------------------------------------------------------------------

def open_draft(uow: UnitOfWork, form: Form, family_id: int, now: dt.datetime, *, audience: str,
               enumerator_id: int | None = None) -> Draft:
    """The family's draft, started now if there is none; AlreadyCompleted after completion.

    The enumerator who opens it is recorded on it, with their active visit to the family.
    """
    family = uow.questionnaires.lock_family(family_id)
    if family is None:
        raise NotAllowed("family")
    if uow.questionnaires.completed_of(family_id) is not None:
        raise AlreadyCompleted(f"family {family_id}")
    record = uow.questionnaires.draft_of(family_id)
    engine = engine_for(form, now)
    if record is None:
        zone = sls_timezone(uow, family.sls_id).key
        record = start_record(uow, family.id, form.form_id, form.version, now)
        state = engine.start(zone=zone, instance_id=f"uuid:{record.id}", device=_device(uow, enumerator_id))
        state["rev"] = 0
        record.answers = state
        uow.flush()
    if audience == ENUMERATOR and enumerator_id is not None and record.enumerator_id is None:
        record.enumerator_id = enumerator_id
        record.answers = engine.with_device(record.answers, _device(uow, enumerator_id))
        appointment = (uow.appointments.active_for_family(family.id)
                       or uow.appointments.last_visited_for_family(family.id))  # "done" recorded first
        if appointment is not None and appointment.enumerator_id == enumerator_id:
            record.appointment_id = appointment.id
    return _draft(uow, record, form, family, now)


def load_draft(uow: UnitOfWork, form: Form, record_id: str, now: dt.datetime, *, lock: bool = False) -> Draft | None:
    """A draft by id (locked for a change when ``lock``); None once it is not a draft any more."""
    record = uow.records.lock(record_id) if lock else uow.records.get(record_id)
    if record is None or record.status != "draft":
        return None
    return _draft(uow, record, form, uow.families.get(record.family_id), now)


DEVICE_ID = "pintu-bot"


def _device(uow: UnitOfWork, enumerator_id: int | None) -> dict[str, str]:
    """What fills a form's metadata fields (deviceid, username…): the bot is the device and the
    enumerator, once known, the user; no phone number or SIM is known, so those stay blank."""
    enumerator = uow.enumerators.get(enumerator_id) if enumerator_id is not None else None
    return {"deviceid": DEVICE_ID, **({"username": enumerator.name} if enumerator is not None else {})}


def _draft(uow: UnitOfWork, record: Record, form: Form, family: Family, now: dt.datetime) -> Draft:
    state = copy.deepcopy(dict(record.answers or {}))
    state.setdefault("values", {})
    state.setdefault("history", [])
    state.setdefault("by", {})
    state.setdefault("zone", sls_timezone(uow, family.sls_id).key)
    state.setdefault("instance_id", f"uuid:{record.id}")
    if state.get("form") != form.form_id or state.get("version") != form.version:
        # The form file changed (a new version, or another form): answers are kept by question name.
        state["form"], state["version"] = form.form_id, form.version
        record.form_id, record.form_version = form.form_id, form.version
    for name, read in FAMILY_VALUES.items():
        item = form.by_name.get(name)
        if item is None:
            continue
        if item.kind == "hidden":
            state["values"][name] = str(read(family))
            state["by"][name] = PRELOAD
        elif item.is_question and name not in state["values"] and read(family) not in (None, ""):
            state["values"][name] = str(read(family))  # shown as the current answer; still asked
    for name, read in HEAD_ROW_VALUES.items():
        item = form.by_name.get(name)
        key = f"{name}[1]"  # follows the head's name (as answered, or registered) until someone answers it
        if item is not None and item.repeat and item.is_question and key not in state["history"] \
                and read(family) not in (None, ""):
            state["values"][key] = str(read(family))
    return Draft(record, state, engine_for(form, now), family)


# --- changing -------------------------------------------------------------------------------------

def _save(draft: Draft, state: dict[str, Any], now: dt.datetime) -> None:
    state["rev"] = draft.rev + 1
    draft.state = state
    draft.record.answers = copy.deepcopy(state)  # a new object: the JSON column sees the change
    draft.record.updated_at = now


def save_answer(uow: UnitOfWork, draft: Draft, name: str, raw: Any, now: dt.datetime, *, audience: str,
                language: str) -> Result:
    """Check and store one answer; on a refusal (Result.error) nothing changes."""
    result = draft.engine.answer(draft.state, name, raw, audience=audience, language=language)
    problem = _new_name_problem(draft, str(result.state["values"].get(name, ""))) if result.ok and name == "head_name" else None
    if problem is not None:
        return Result(False, dict(draft.state), Message(key=problem))
    if result.ok:
        _save(draft, dict(result.state), now)
        _update_family(draft.family, name, result.state["values"].get(name, ""))
        uow.flush()
    return result


def _new_name_problem(draft: Draft, value: str) -> str | None:
    """What is wrong with a new head's name (a name-* catalog key), or None. The family's name in the
    list, the registry and the RT head's screens is checked as at registration (domain/names.py),
    whoever answers (the form's own constraint may be looser); keeping the name the family already has
    is no change."""
    if " ".join(value.split()) == draft.family.head_name:
        return None
    return check_name(value).problem


def _update_family(family: Family, name: str, value: str) -> None:
    """The identification answered in the questionnaire is the family's too (its list, its visits)."""
    if name == "head_name" and valid_name(value) is not None:
        family.head_name = valid_name(value)
    elif name == "members" and value.isdigit() and int(value) > 0:
        family.members = int(value)


def add_member(uow: UnitOfWork, draft: Draft, repeat: str, now: dt.datetime, *, audience: str,
               language: str) -> Result:
    """One more instance of a repeat (a family member added from the review); its questions come next."""
    result = draft.engine.add_instance(draft.state, repeat, audience=audience, language=language)
    return _save_count(uow, draft, result, now)


def remove_member(uow: UnitOfWork, draft: Draft, repeat: str, position: int, now: dt.datetime, *,
                  audience: str, language: str) -> Result:
    """Remove instance ``position`` of a repeat with its answers; later members move up one number."""
    result = draft.engine.remove_instance(draft.state, repeat, position, audience=audience, language=language)
    return _save_count(uow, draft, result, now)


def _save_count(uow: UnitOfWork, draft: Draft, result: Result, now: dt.datetime) -> Result:
    """Save a change of a repeat's size; a roster counted by ``members`` changed that answer, which the
    family's member count follows (as when ``members`` is answered)."""
    if result.ok:
        _save(draft, dict(result.state), now)
        _update_family(draft.family, "members", result.state["values"].get("members", ""))
        uow.flush()
    return result


def go_back(uow: UnitOfWork, draft: Draft, now: dt.datetime, *, audience: str) -> Result:
    """One step back: the last question ``audience`` answered is asked again (its answer kept as current)."""
    result = draft.engine.back(draft.state, audience)
    if result.ok:
        _save(draft, dict(result.state), now)
        uow.flush()
    return result


def reopen(uow: UnitOfWork, draft: Draft, name: str, now: dt.datetime, *, audience: str) -> Result:
    """Ask an answered question again, from the review (forms.engine.Questionnaire.reopen)."""
    result = draft.engine.reopen(draft.state, name, audience)
    if result.ok:
        _save(draft, dict(result.state), now)
        uow.flush()
    return result


def hand_over(uow: UnitOfWork, draft: Draft, now: dt.datetime, *, audience: str) -> None:
    """A resident or RT head says their part is done: noted on the draft, which stays a draft."""
    state = copy.deepcopy(draft.state)
    state.setdefault("handed_over", {})[audience] = now.isoformat()
    _save(draft, state, now)
    uow.flush()


def submit(uow: UnitOfWork, draft: Draft, now: dt.datetime, *, consent_version: str | None = None) -> Record:
    """Complete the record (the enumerator, after reviewing): queued for the registry in this transaction.

    StillMissing when a relevant question is unanswered or an answer no longer holds; RecordIncomplete
    ("consent") when the family never agreed to the privacy notice in the chat and ``consent_version``
    (the enumerator confirming consent given at the door) is not given.
    """
    missing = draft.engine.missing(draft.state)
    if missing:
        raise StillMissing(missing)
    flat = draft.engine.record(draft.state)
    if consent_version is not None and not draft.record.consent_at:
        set_consent(uow, draft.record.id, consent_version, now, now)
    record = complete_record(uow, draft.record.id, now)  # raises before changing anything
    record.answers = flat
    uow.flush()
    return record


def needs_consent(uow: UnitOfWork, record: Record) -> bool:
    """Whether completing would fail for want of consent (nobody of the family agreed in the chat)."""
    if record.consent_version and record.consent_at:
        return False
    return not any(u.consent_version and u.consent_at for u in uow.users.residents_of_family(record.family_id))


__all__ = [
    "AlreadyCompleted", "Draft", "ENUMERATOR", "RESIDENT", "RT_HEAD", "RecordIncomplete", "StillMissing",
    "add_member", "audience_for", "engine_for", "go_back", "hand_over", "load_draft", "needs_consent", "open_draft",
    "remove_member", "save_answer", "submit",
]
