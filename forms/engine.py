"""The questionnaire engine: which question comes next, what an answer means, what gets submitted.

It is pure: a :class:`~forms.form.Form` (immutable, shared), a clock (for ``today()``/``now()``)
and the questionnaire's **state**, a plain JSON-serialisable dict that the bot saves after every
answer and hands back after a restart::

    {"form": "pintu_regsosek_first_visit", "version": "2026112201",
     "zone": "Asia/Makassar", "instance_id": "uuid:…",
     "values": {"members": "4", "aid": "pkh bpnt", "needs_photo": "1"},   # as the instance stores them
     "history": ["head_name", "members", …],                            # steps done, in order
     "by": {"members": "resident", "needs_photo": "preload", …}}         # who gave each value

Every call works on a fresh copy of the form's primary instance with the state's values in it,
then settles relevance and calculations (see :class:`_Round`), so nothing derived is ever stored
and a state can never disagree with its form. Calls never change the state they are given; ``answer``
and ``back`` return a new one.

Like ODK: a value stays in the state when its question becomes irrelevant (it comes back if the
question does), but counts as blank in every expression and is dropped from :meth:`record` and
:meth:`submission_xml`.
"""
from __future__ import annotations

import copy
import datetime as dt
import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from babel.dates import format_date
from babel.numbers import format_decimal

from forms import messages as m
from forms.form import ANY, Choice, Field, Form
from forms.kinds import METADATA
from forms.messages import Message
from forms.parsing import is_blank, parse_answer
from forms.xpath import OdkContext, iter_elements, make_context, node_tree

DEFAULT_ZONE = "Asia/Jakarta"
ENUMERATOR = "enumerator"
PRELOAD = "preload"
_REFERENCE = re.compile(r"\$\{([^}\s]+)\}")


class Clock(Protocol):
    """What domain.clock's clocks offer; the engine never reads the wall clock."""

    def now(self) -> dt.datetime: ...


@dataclass(frozen=True, slots=True)
class Step:
    """What to show next: a question to answer, or a note to read (``display_only``)."""

    name: str
    kind: str
    label: str
    hint: str
    required: bool
    choices: tuple[tuple[str, str], ...]   # (name, label) in the requested language
    value: str | None                      # the stored value, e.g. after going back
    display: str | None                    # that value as a person reads it
    groups: tuple[str, ...]                # labels of the enclosing groups, outermost first
    progress: tuple[int, int]              # (steps done, relevant steps) for this audience

    @property
    def display_only(self) -> bool:
        return self.kind == "note"


@dataclass(frozen=True, slots=True)
class Result:
    """The outcome of answer()/back(): the new state, or the unchanged one and what was wrong."""

    ok: bool
    state: dict[str, Any]
    error: Message | None = None


@dataclass(frozen=True, slots=True)
class ReviewItem:
    name: str
    kind: str
    label: str
    display: str     # "" when skipped; for an image, the stored reference
    value: str
    groups: tuple[str, ...] = field(default=())


def may_answer(item: Field, audience: str) -> bool:
    """The enumerator may answer anything; others what the form's pintu_audience gives them."""
    return audience == ENUMERATOR or ANY in item.audience or audience in item.audience


class _Round:
    """One evaluation of a state: its instance, with relevance and calculations settled.

    Expressions may look at later questions and calculations at later calculations: fields are
    evaluated in the form's dependency order (Form.order), once; when that order is unknown,
    passes in document order repeat until nothing changes. Irrelevant nodes are blanked, as ODK
    evaluates them.
    """

    def __init__(self, form: Form, values: Mapping[str, str], now: dt.datetime, seed: str = "",
                 last_saved: Mapping[str, str] | None = None) -> None:
        self.form = form
        document = ET.ElementTree(ET.fromstring(form.template))
        root = document.getroot()
        self.elements = {f.name: root.find(f.path.split("/", 2)[2]) for f in form.fields}
        self.given = {f.name: values.get(f.name, self.elements[f.name].text or "")
                      for f in form.fields if f.kind != "group"}
        self.document = document
        tree = node_tree(document)
        nodes = {n.value: n for n in iter_elements(tree)}
        self.nodes = {name: nodes[element] for name, element in self.elements.items()}
        self.last_saved = last_saved
        instances = form.instance_trees
        if last_saved and LAST_SAVED in instances:
            instances = {**instances, LAST_SAVED: _last_saved_tree(form, last_saved)}
        self.base = make_context(tree, tree, now, self.choice_label, instances)
        self.base.form_version = form.version
        self.base.random_seed = seed  # randomize() without a seed: one order per questionnaire
        self.relevant = {f.name: True for f in form.fields}
        for name, text in self.given.items():
            self.elements[name].text = text or None
        self.settle()

    def context(self, name: str) -> OdkContext:
        context = copy.copy(self.base)
        context.item = context.current_node = self.nodes[name]
        return context

    def choices(self, item: Field) -> tuple[Choice, ...]:
        """The choices a person may pick now: all of them, or those the choice filter keeps."""
        if item.itemset is None:
            return item.choices
        kept = item.itemset.value(self.context(item.name))
        positions = [_position(node) for node in (kept if isinstance(kept, list) else [kept])]
        return tuple(item.choices[i] for i in positions if i is not None and i < len(item.choices))

    def settle(self) -> None:
        """One pass in dependency order when the form's is known, else passes until nothing changes."""
        if self.form.one_pass:
            self.one_pass()
            return
        for _ in range(len(self.form.fields) + 1):
            if not self.one_pass():
                return
        raise RuntimeError("relevance and calculations do not settle (a cycle in the form?)")

    def one_pass(self) -> bool:
        changed = False
        for item in self.form.order:
            relevant = all(self.relevant[a] for a in item.ancestors) and (
                item.relevant is None or item.relevant.boolean(self.context(item.name)))
            changed |= relevant != self.relevant[item.name]
            self.relevant[item.name] = relevant
            if item.kind != "group":
                changed |= self.set(item.name, self.value_of(item, relevant))
        return changed

    def value_of(self, item: Field, relevant: bool) -> str:
        if not relevant:
            return ""
        if item.kind == "calculate" and item.calculation is not None:
            return item.calculation.string(self.context(item.name))
        return self.given[item.name]

    def set(self, name: str, text: str) -> bool:
        element = self.elements[name]
        if (element.text or "") == text:
            return False
        element.text = text or None
        return True

    def value(self, name: str) -> str:
        return self.elements[name].text or ""

    def check(self, item: Field, attribute: str) -> bool:
        expression = getattr(item, attribute)
        return expression is not None and expression.boolean(self.context(item.name))

    def choice_label(self, path: str, value: str) -> str:
        """For jr:choice-name: the label in the form's default language."""
        item = self.form.by_path.get(path)
        choice = item.choice(value) if item else None
        return self.form.text(choice.labels, self.form.default_language) if choice else ""


class Questionnaire:
    """The engine for one form: ``Questionnaire(Form.load(path), clock)``; share it freely."""

    def __init__(self, form: Form, clock: Clock) -> None:
        self.form = form
        self.clock = clock

    # -- state -------------------------------------------------------------------------------------

    def start(self, *, zone: str = DEFAULT_ZONE, preload: Mapping[str, Any] | None = None,
              instance_id: str | None = None, device: Mapping[str, str] | None = None,
              last_saved: Mapping[str, str] | None = None) -> dict[str, Any]:
        """A new state. ``preload`` gives hidden values (e.g. needs_photo) or answers known already.

        ``device`` fills the form's metadata fields as ODK Collect's device would: ``deviceid`` (the
        bot), ``username`` (the enumerator), ``phonenumber`` (the one the person shared), ``email``…;
        start, end and today come from the clock, anything else stays blank. ``last_saved``: the
        values (by name) of the last record this enumerator sent with this form, which
        ``${last-saved#name}`` reads; blank without one, as on a phone's first form.
        """
        ZoneInfo(zone)  # an unknown zone fails now, not at the first today()
        state: dict[str, Any] = {
            "form": self.form.form_id, "version": self.form.version, "zone": zone,
            "instance_id": instance_id or f"uuid:{uuid.uuid4()}",
            "values": {}, "history": [], "by": {}}
        now = self.clock.now().astimezone(ZoneInfo(zone))
        for item in self.form.fields:
            if item.kind == METADATA:
                state["values"][item.name] = metadata_value(item.preload or "", now, device or {})
                state["by"][item.name] = PRELOAD
        if last_saved:
            state["last_saved"] = dict(last_saved)
        self._set_values(state, None)
        for name, raw in (preload or {}).items():
            self._preload(state, self.form.field(name), raw)
        return state

    def with_device(self, state: Mapping[str, Any], device: Mapping[str, str]) -> dict[str, Any]:
        """The state with blank metadata fields filled from ``device`` (e.g. the enumerator who takes
        over a questionnaire the resident began); values already there are kept."""
        new = copy.deepcopy(dict(state))
        for item in self.form.fields:
            if item.kind == METADATA and not new["values"].get(item.name):
                value = metadata_value(item.preload or "", self.clock.now(), device)
                if value and item.preload not in ("start", "end", "today"):
                    new["values"][item.name] = value
                    new["by"][item.name] = PRELOAD
        return new

    def choices(self, state: Mapping[str, Any], name: str) -> tuple[Choice, ...]:
        """The choices of ``name`` a person may pick now: its choice filter applied, in the order shown."""
        return self._round(state).choices(self.form.field(name))

    def _preload(self, state: dict[str, Any], item: Field, raw: Any) -> None:
        if item.kind in ("calculate", "group", "note"):
            raise ValueError(f"'{item.name}' is a {item.kind}; only questions and hidden fields take values")
        if item.kind == "hidden":
            value = ("1" if raw else "0") if isinstance(raw, bool) else str(raw)
        else:
            value = parse_answer(item.kind, raw, item.choices)
            if isinstance(value, Message):
                raise ValueError(f"preloaded '{item.name}': {value.key} {dict(value.args)}")
            state["history"].append(item.name)
        state["values"][item.name] = value
        state["by"][item.name] = PRELOAD

    def _round(self, state: Mapping[str, Any], values: Mapping[str, str] | None = None) -> _Round:
        if state.get("form") != self.form.form_id:
            raise ValueError(f"this state belongs to form {state.get('form')!r}, not {self.form.form_id!r}")
        now = self.clock.now().astimezone(ZoneInfo(state.get("zone") or DEFAULT_ZONE))
        return _Round(self.form, state["values"] if values is None else values, now, str(state.get("instance_id", "")),
                      state.get("last_saved"))

    # -- asking ------------------------------------------------------------------------------------

    def next_question(self, state: Mapping[str, Any], audience: str, language: str = "id") -> Step | None:
        """The first relevant step not done yet that ``audience`` may answer; None when none is left."""
        evaluation = self._round(state)
        done = set(state["history"])
        steps = [f for f in self._steps(evaluation) if may_answer(f, audience)]
        progress = (sum(f.name in done for f in steps), len(steps))
        item = next((f for f in steps if f.name not in done), None)
        return None if item is None else self._step(evaluation, item, language, progress)

    def _steps(self, evaluation: _Round) -> list[Field]:
        return [f for f in self.form.fields if f.is_step and evaluation.relevant[f.name]]

    def _step(self, evaluation: _Round, item: Field, language: str, progress: tuple[int, int]) -> Step:
        value = evaluation.value(item.name) if item.is_question else ""
        return Step(
            name=item.name, kind=item.kind, label=self._text(evaluation, item.labels, language),
            hint=self._text(evaluation, item.hints, language),
            required=evaluation.check(item, "required"),
            choices=tuple((c.name, self.form.text(c.labels, language) or c.name)
                          for c in evaluation.choices(item)),
            value=value or None, display=self._display(item, value, language) if value else None,
            groups=self._groups(evaluation, item, language), progress=progress)

    def _text(self, evaluation: _Round, texts: Mapping[str, str], language: str) -> str:
        """A label or hint in ``language`` with ${name} replaced by that answer as a person reads it."""
        def shown(match: re.Match[str]) -> str:
            item = self.form.by_name.get(match[1])
            return self._display(item, evaluation.value(item.name), language) if item else match[0]
        return _REFERENCE.sub(shown, self.form.text(texts, language)) if texts else ""

    def _groups(self, evaluation: _Round, item: Field, language: str) -> tuple[str, ...]:
        labels = (self._text(evaluation, self.form.field(g).labels, language) for g in item.ancestors)
        return tuple(label for label in labels if label)

    # -- answering ---------------------------------------------------------------------------------

    def answer(self, state: Mapping[str, Any], name: str, raw: Any, *, audience: str,
               language: str = "id") -> Result:
        """Parse, validate and store the answer to ``name`` (the current step, or an earlier one)."""
        item = self.form.by_name.get(name)
        if item is None or not item.is_step:
            return Result(False, dict(state), Message(m.NOT_RELEVANT))
        if not may_answer(item, audience):
            return Result(False, dict(state), Message(m.NOT_ALLOWED))
        evaluation = self._round(state)
        if not evaluation.relevant[name]:
            return Result(False, dict(state), Message(m.NOT_RELEVANT))
        value = self._value(evaluation, item, raw, language)
        if isinstance(value, Message):
            return Result(False, dict(state), value)
        new = _stored(state, name, value, audience)
        self._set_values(new, name)
        return Result(True, self._after_answer(new, evaluation.base.current_dt))

    def _set_values(self, state: dict[str, Any], trigger: str | None) -> None:
        """Run the <setvalue>s of the form's opening (trigger None) or of an answer to ``trigger``."""
        actions = [s for s in self.form.setvalues if s.trigger == trigger]
        if not actions:
            return
        evaluation = self._round(state)
        for action in actions:
            value = action.value.string(evaluation.context(action.target)) if action.value is not None else ""
            state["values"][action.target] = value

    def _after_answer(self, state: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
        """``end`` is the time of the last answer; a calculation in once() keeps its first value."""
        for item in self.form.fields:
            if item.kind == METADATA and item.preload == "end":
                state["values"][item.name] = now.isoformat(timespec="milliseconds")
        once = [f for f in self.form.fields if f.calculation is not None and "once(" in f.calculation.source]
        if once:
            evaluation = self._round(state)
            for item in once:
                if not state["values"].get(item.name) and (value := evaluation.value(item.name)):
                    state["values"][item.name] = value
        return state

    def _value(self, evaluation: _Round, item: Field, raw: Any, language: str) -> str | Message:
        """The value to store, or the message that refuses it (required, type, constraint)."""
        if item.kind == "note":
            return ""
        if is_blank(raw):
            if evaluation.check(item, "required"):
                return self._message(item.required_messages, language, m.REQUIRED)
            return ""
        value = parse_answer(item.kind, raw, evaluation.choices(item))
        if isinstance(value, Message) or item.constraint is None:
            return value
        after = _Round(self.form, {**evaluation.given, item.name: value}, evaluation.base.current_dt,
                       evaluation.base.random_seed, evaluation.last_saved)
        if not after.check(item, "constraint"):
            return self._message(item.constraint_messages, language, m.CONSTRAINT_FAILED)
        return value

    def _message(self, texts: Mapping[str, str], language: str, key: str) -> Message:
        """The form's own message in the user's language (or the form's), else the catalog's."""
        text = self.form.text(texts, language) if texts else ""
        return Message(text=text) if text else Message(key)

    def back(self, state: Mapping[str, Any], audience: str) -> Result:
        """Undo the last step ``audience`` did: it will be asked again, its answer shown as current.

        Steps that have become irrelevant since are dropped on the way; preloaded values and steps
        done by someone ``audience`` may not answer for are never undone.
        """
        evaluation = self._round(state)
        history = list(state["history"])
        while history and not evaluation.relevant.get(history[-1], False):
            history.pop()
        if not history or state["by"].get(history[-1]) == PRELOAD \
                or not may_answer(self.form.field(history[-1]), audience):
            return Result(False, dict(state), Message(m.NOTHING_TO_GO_BACK))
        history.pop()
        return Result(True, {**copy.deepcopy(dict(state)), "history": history})

    def editable(self, state: Mapping[str, Any], audience: str) -> list[str]:
        """The answered questions ``audience`` may change from the review, in form order: relevant,
        answered by a person (not preloaded), and theirs to answer."""
        evaluation = self._round(state)
        done = set(state["history"])
        return [f.name for f in self._steps(evaluation) if f.is_question and f.name in done
                and state["by"].get(f.name) != PRELOAD and may_answer(f, audience)]

    def reopen(self, state: Mapping[str, Any], name: str, audience: str) -> Result:
        """Ask ``name`` again (from the review): it leaves the steps done, its answer kept as current.

        The next question is then the first one not done in form order, so ``name`` is asked (when
        everything before it is done); once answered, any question its new answer made relevant comes
        next, before the review. Answers it made irrelevant stay stored but count for nothing, as in ODK.
        """
        if name not in self.editable(state, audience):
            return Result(False, dict(state), Message(m.NOT_RELEVANT))
        return Result(True, {**copy.deepcopy(dict(state)), "history": [n for n in state["history"] if n != name]})

    # -- reading the result ------------------------------------------------------------------------

    def review(self, state: Mapping[str, Any], language: str = "id") -> list[ReviewItem]:
        """The answers so far, in form order, as a person reads them (for the summary before sending)."""
        evaluation = self._round(state)
        done = set(state["history"])
        return [ReviewItem(f.name, f.kind, self._text(evaluation, f.labels, language),
                           self._display(f, evaluation.value(f.name), language),
                           evaluation.value(f.name), self._groups(evaluation, f, language))
                for f in self._steps(evaluation) if f.is_question and f.name in done]

    def missing(self, state: Mapping[str, Any]) -> list[str]:
        """Relevant steps not done, and answers now wrong (blank but required, or failing a constraint)."""
        evaluation = self._round(state)
        done = set(state["history"])
        return [f.name for f in self._steps(evaluation) if f.name not in done or (
            f.is_question and not self._still_valid(evaluation, f))]

    def _still_valid(self, evaluation: _Round, item: Field) -> bool:
        """Answers checked when given can break when an earlier one changes; ODK checks again at the end."""
        if not evaluation.value(item.name):
            return not evaluation.check(item, "required")
        if item.itemset is not None and not _still_offered(evaluation.value(item.name), evaluation.choices(item)):
            return False  # a city chosen before its province changed: no longer one of the choices
        return item.constraint is None or evaluation.check(item, "constraint")

    def is_complete(self, state: Mapping[str, Any]) -> bool:
        return not self.missing(state)

    def record(self, state: Mapping[str, Any]) -> dict[str, str]:
        """The submitted record: relevant, non-blank values by name (answers, calculates, hidden)."""
        evaluation = self._round(state)
        return {f.name: evaluation.value(f.name) for f in self.form.fields
                if f.kind not in ("group", "note") and evaluation.relevant[f.name]
                and evaluation.value(f.name)}

    def submission_xml(self, state: Mapping[str, Any]) -> str:
        """The ODK submission: the instance with irrelevant nodes removed and instanceID set."""
        evaluation = self._round(state)
        root = evaluation.document.getroot()
        for item in reversed(self.form.fields):  # children before their groups
            if not evaluation.relevant[item.name]:
                parent = root.find(item.path.split("/", 2)[2].rpartition("/")[0] or ".")
                parent.remove(evaluation.elements[item.name])
        if (instance_id := root.find("meta/instanceID")) is not None:
            instance_id.text = state.get("instance_id")
        return ET.tostring(root, encoding="unicode")

    # -- display -----------------------------------------------------------------------------------

    def _display(self, item: Field, value: str, language: str) -> str:
        """A stored value as a person reads it: choice labels, a local date, a decimal comma."""
        if not value:
            return ""
        if item.kind in ("select_one", "select_multiple"):
            return ", ".join(self._choice_label(item, name, language) for name in value.split())
        if item.kind == "date":
            return _local_date(value, language)
        if item.kind == "decimal":
            return format_decimal(Decimal(value), format="#,##0.##########", locale=_locale(language))
        if item.kind == "geopoint":
            return ", ".join(value.split()[:2])
        return value

    def _choice_label(self, item: Field, name: str, language: str) -> str:
        choice = item.choice(name)
        return (self.form.text(choice.labels, language) or name) if choice else name


def _stored(state: Mapping[str, Any], name: str, value: str, audience: str) -> dict[str, Any]:
    """A new state with the answer stored and the step moved to the end of the history."""
    new = copy.deepcopy(dict(state))
    new["values"][name] = value
    new["history"] = [n for n in new["history"] if n != name] + [name]
    new["by"][name] = audience
    return new


def metadata_value(preload: str, now: dt.datetime, device: Mapping[str, str]) -> str:
    """What a metadata field holds at the start: a time from the clock, or what the device gives."""
    if preload in ("start", "end"):
        return now.isoformat(timespec="milliseconds")
    if preload == "today":
        return now.date().isoformat()
    return str(device.get(preload.removeprefix("uri:"), "") or "")


LAST_SAVED = "__last-saved"  # pyxform's id for jr://instance/last-saved


def _last_saved_tree(form: Form, values: Mapping[str, str]) -> Any:
    """The form's instance holding the last record's values: what ${last-saved#name} reads."""
    root = ET.fromstring(form.template)
    for item in form.fields:
        if item.kind != "group" and (node := root.find(item.path.split("/", 2)[2])) is not None:
            node.text = values.get(item.name) or None
    return node_tree(ET.ElementTree(root))


def _still_offered(value: str, choices: tuple[Choice, ...]) -> bool:
    offered = {c.name for c in choices}
    return all(name in offered for name in value.split())


def _position(node: Any) -> int | None:
    """The 0-based position of an itemset's <item> among its siblings (the order of Field.choices)."""
    parent = getattr(node, "parent", None)
    if parent is None:
        return None
    items = [child for child in parent.children if getattr(child, "node_kind", "") == "element"]
    return next((i for i, child in enumerate(items) if child is node), None)


def _locale(language: str) -> str:
    return language if language in ("id", "en") else "id"


def _local_date(value: str, language: str) -> str:
    try:
        return format_date(dt.date.fromisoformat(value), format="long", locale=_locale(language))
    except ValueError:
        return value
