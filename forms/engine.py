"""The questionnaire engine: which question comes next, what an answer means, what gets submitted.

It is pure: a :class:`~forms.form.Form` (immutable, shared), a clock (for ``today()``/``now()``)
and the questionnaire's **state**, a plain JSON-serialisable dict that the bot saves after every
answer and hands back after a restart::

    {"form": "pintu_regsosek_first_visit", "version": "2026112201",
     "zone": "Asia/Makassar", "instance_id": "uuid:…",
     "values": {"members": "4", "aid": "pkh bpnt", "needs_photo": "1"},   # as the instance stores them
     "history": ["head_name", "members", …],                            # steps done, in order
     "by": {"members": "resident", "needs_photo": "preload", …},        # who gave each value
     "repeats": {"pets": 2}}                                            # instances of an uncounted repeat

Inside a repeat (a household roster) a value is kept by name and instance, ``"member_name[2]"``
(1-based, as ODK's ``position(..)``), in values, history and by alike; outside by name as before, so
a state saved before repeats existed loads unchanged. A counted repeat has as many instances as its
``repeat_count`` says (``members``); one without a count has ``repeats[name]`` (1 to begin with) and
asks ``name[+]`` ("add another?") after the last. Removing an instance moves later ones up.

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

from babel.dates import format_date, format_time
from babel.numbers import format_decimal

from forms import messages as m
from forms import nik
from forms.form import ANY, JR, MAX_REPEATS, Choice, Field, Form
from forms.kinds import METADATA
from forms.messages import Message
from forms.parsing import is_blank, parse_answer
from forms.xpath import OdkContext, iter_elements, make_context, node_tree

DEFAULT_ZONE = "Asia/Jakarta"
ENUMERATOR = "enumerator"
PRELOAD = "preload"
_REFERENCE = re.compile(r"\$\{([^}\s]+)\}")
_TEMPLATE = f"{{{JR}}}template"


class Clock(Protocol):
    """What domain.clock's clocks offer; the engine never reads the wall clock."""

    def now(self) -> dt.datetime: ...


@dataclass(frozen=True, slots=True)
class Step:
    """What to show next: a question to answer, or a note to read (``display_only``).

    ``name`` is the step's key: the question's name, or ``name[n]`` for member n of a repeat; a
    repeat without a count asks ``roster[+]`` ("add another?", kind ``repeat_add``) after its last one.
    """

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
    position: int | None = None            # the repeat instance (1-based); for "add another?", how many so far
    repeat: str | None = None              # the enclosing repeat's name

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
    name: str        # the key: "floor", or "member_name[2]"
    kind: str
    label: str
    display: str     # "" when skipped; for an image, the stored reference
    value: str
    groups: tuple[str, ...] = field(default=())
    position: int | None = None
    repeat: str | None = None


def may_answer(item: Field, audience: str) -> bool:
    """The enumerator may answer anything; others what the form's pintu_audience gives them."""
    return audience == ENUMERATOR or ANY in item.audience or audience in item.audience


# --- keys: a value outside repeats is kept by name, one inside by name and instance ---------------

ADD = "+"
REPEAT_ADD = "repeat_add"
_KEY = re.compile(r"^(?P<name>[^\[\]]+)\[(?P<position>[1-9]\d*|\+)\]$")
_YES = frozenset({"yes", "y", "ya", "1", "true"})
_NO = frozenset({"no", "n", "tidak", "0", "false"})


def key_of(name: str, position: int | str | None = None) -> str:
    """The state's key of a value: ``name`` outside repeats, ``name[2]`` in a repeat's 2nd instance."""
    return name if position is None else f"{name}[{position}]"


def split_key(key: str) -> tuple[str, int | str | None]:
    """``"age[3]"`` -> ("age", 3); ``"roster[+]"`` -> ("roster", "+"); ``"floor"`` -> ("floor", None)."""
    match = _KEY.match(key)
    if match is None:
        return key, None
    position = match["position"]
    return match["name"], ADD if position == ADD else int(position)


class _Round:
    """One evaluation of a state: its instance, with relevance and calculations settled.

    Each repeat has as many instances as ``counts`` says (copies of pyxform's jr:template, which
    itself is not part of the instance), and every node has a key (see :func:`key_of`). ``layout``
    lists the keys in document order, a repeat's instances one after the other, each with its
    fields, and an uncounted repeat's "add another?" key after its last instance.

    Expressions may look at later questions and calculations at later calculations: fields are
    evaluated in the form's dependency order (Form.order), once, every instance of a field in turn;
    when that order is unknown, passes in document order repeat until nothing changes. Irrelevant
    nodes are blanked, as ODK evaluates them.
    """

    def __init__(self, form: Form, values: Mapping[str, str], now: dt.datetime,
                 counts: Mapping[str, int], seed: str = "",
                 last_saved: Mapping[str, str] | None = None) -> None:
        self.form = form
        self.counts = {name: counts.get(name, 0) for name in form.repeats}
        root = ET.fromstring(form.template)
        self.document = ET.ElementTree(root)
        self.elements: dict[str, ET.Element] = {}
        self.positions: dict[str, int | None] = {}
        self.keys: dict[str, list[str]] = {f.name: [] for f in form.fields}
        self.layout: list[tuple[str, Field]] = []
        self._lay_out(root, self._expand(root))
        self.given = {key: values.get(key, self.elements[key].text or "")
                      for key, item in self.layout if item.kind not in ("group", "repeat")}
        tree = node_tree(self.document)
        nodes = {n.value: n for n in iter_elements(tree)}
        self.nodes = {key: nodes[element] for key, element in self.elements.items()}
        self.last_saved = last_saved
        instances = form.instance_trees
        if last_saved and LAST_SAVED in instances:
            instances = {**instances, LAST_SAVED: _last_saved_tree(form, last_saved)}
        self.base = make_context(tree, tree, now, self.choice_label, instances)
        self.base.form_version = form.version
        self.base.random_seed = seed  # randomize() without a seed: one order per questionnaire
        self.relevant = {key: True for key, _ in self.layout}
        for key, text in self.given.items():
            self.elements[key].text = text or None
        self.settle()

    def _expand(self, root: ET.Element) -> dict[str, list[ET.Element]]:
        """Replace each repeat's template and copies in the instance by ``counts`` fresh copies."""
        instances: dict[str, list[ET.Element]] = {}
        for name in self.form.repeats:
            path = _relative(self.form.field(name).path)
            parent = root.find(path.rpartition("/")[0] or ".")
            assert parent is not None
            tag = self.form.field(name).path.rpartition("/")[2]  # its key may be a path (a name used twice)
            found = [c for c in parent if c.tag == tag]
            template = next((c for c in found if c.get(_TEMPLATE) is not None), found[0])
            at = list(parent).index(found[0])
            for child in found:
                parent.remove(child)
            copies = [copy.deepcopy(template) for _ in range(self.counts[name])]
            for number, element in enumerate(copies):
                element.attrib.pop(_TEMPLATE, None)
                parent.insert(at + number, element)
            instances[name] = copies
        return instances

    def _lay_out(self, root: ET.Element, instances: Mapping[str, list[ET.Element]]) -> None:
        for item in self.form.fields:
            if item.repeat is None:
                found = root.find(_relative(item.path))
                assert found is not None
                self._place(item.name, None, item, found)
            elif item.kind == "repeat":
                for position, element in enumerate(instances[item.name], start=1):
                    self._place(item.name, position, item, element)
                    for inner in self.form.repeats[item.name]:
                        found = element.find(inner.path[len(item.path) + 1:])
                        assert found is not None
                        self._place(inner.name, position, inner, found)
                if item.count is None:
                    self.layout.append((key_of(item.name, ADD), item))

    def _place(self, name: str, position: int | None, item: Field, element: ET.Element) -> None:
        key = key_of(name, position)
        self.elements[key] = element
        self.positions[key] = position
        self.keys[name].append(key)
        self.layout.append((key, item))

    def context(self, key: str) -> OdkContext:
        context = copy.copy(self.base)
        context.item = context.current_node = self.nodes[key]
        context.current_item = self.nodes[key]  # type: ignore[attr-defined] - current(), also in predicates
        return context

    def choices(self, item: Field, key: str | None = None) -> tuple[Choice, ...]:
        """The choices a person may pick now at ``key`` (the field's own name outside repeats): all of
        them, or those the choice filter keeps (read in that instance, as current() there)."""
        if item.itemset is None:
            return item.choices
        key = key or item.name
        if key not in self.nodes:
            return item.choices
        kept = item.itemset.value(self.context(key))
        positions = [_position(node) for node in (kept if isinstance(kept, list) else [kept])]
        return tuple(item.choices[i] for i in positions if i is not None and i < len(item.choices))

    def settle(self) -> None:
        """One pass in dependency order when the form's is known, else passes until nothing changes."""
        if self.form.one_pass:
            self.one_pass()
            return
        for _ in range(len(self.layout) + 1):
            if not self.one_pass():
                return
        raise RuntimeError("relevance and calculations do not settle (a cycle in the form?)")

    def one_pass(self) -> bool:
        changed = False
        for item in self.form.order:
            for key in self.keys[item.name]:
                relevant = self.ancestors_relevant(item, self.positions[key]) and (
                    item.relevant is None or item.relevant.boolean(self.context(key)))
                changed |= relevant != self.relevant[key]
                self.relevant[key] = relevant
                if item.kind not in ("group", "repeat"):
                    changed |= self.set(key, self.value_of(item, key, relevant))
            if item.kind == "repeat" and item.count is None:
                self.relevant[key_of(item.name, ADD)] = self.ancestors_relevant(item, None)
        return changed

    def ancestors_relevant(self, item: Field, position: int | None) -> bool:
        return all(self.relevant[key_of(a, position if self.form.field(a).repeat else None)]
                   for a in item.ancestors)

    def value_of(self, item: Field, key: str, relevant: bool) -> str:
        if not relevant:
            return ""
        if item.kind == "calculate" and item.calculation is not None:
            return item.calculation.string(self.context(key))
        return self.given[key]

    def set(self, key: str, text: str) -> bool:
        element = self.elements[key]
        if (element.text or "") == text:
            return False
        element.text = text or None
        return True

    def value(self, key: str) -> str:
        element = self.elements.get(key)
        return (element.text or "") if element is not None else ""

    def check(self, item: Field, attribute: str, key: str) -> bool:
        expression = getattr(item, attribute)
        return expression is not None and expression.boolean(self.context(key))

    def wanted_counts(self, state: Mapping[str, Any]) -> dict[str, int]:
        """The instances each repeat should have by this evaluation: its jr:count's value (blank or
        irrelevant: none), or, without a count, the number the state keeps (one to start with)."""
        counts = {}
        for name in self.form.repeats:
            item = self.form.field(name)
            if item.count is None:
                wanted = _whole(state.get("repeats", {}).get(name, 1))
            elif not self.ancestors_relevant(item, None):
                wanted = 0
            else:
                context = copy.copy(self.base)
                wanted = _whole(item.count.string(context))
            counts[name] = min(max(wanted, 0), MAX_REPEATS)
        return counts

    def choice_label(self, path: str, value: str) -> str:
        """For jr:choice-name: the label in the form's default language."""
        item = self.form.by_path.get(path)
        choice = item.choice(value) if item else None
        return self.form.text(choice.labels, self.form.default_language) if choice else ""


def _relative(path: str) -> str:
    """/data/housing/floor -> housing/floor (ElementTree's find from the root)."""
    return path.split("/", 2)[2]


def _whole(value: Any) -> int:
    try:
        return int(float(str(value).strip()))
    except (TypeError, ValueError, OverflowError):
        return 0


class Questionnaire:
    """The engine for one form: ``Questionnaire(Form.load(path), clock)``; share it freely."""

    def __init__(self, form: Form, clock: Clock) -> None:
        self.form = form
        self.clock = clock

    # -- state -------------------------------------------------------------------------------------

    def start(self, *, zone: str = DEFAULT_ZONE, preload: Mapping[str, Any] | None = None,
              instance_id: str | None = None, device: Mapping[str, str] | None = None,
              last_saved: Mapping[str, str] | None = None) -> dict[str, Any]:
        """A new state. ``preload`` gives hidden values (e.g. needs_photo) or answers known already
        (by key: ``member_name[1]`` for the first member of a roster).

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
            if item.kind == METADATA and item.repeat is None:
                state["values"][item.name] = metadata_value(item.preload or "", now, device or {})
                state["by"][item.name] = PRELOAD
        if last_saved:
            state["last_saved"] = dict(last_saved)
        self._set_values(state, None)
        for key, raw in (preload or {}).items():
            name, _ = split_key(key)
            self._preload(state, key, self.form.field(name), raw)
        return state

    def with_device(self, state: Mapping[str, Any], device: Mapping[str, str]) -> dict[str, Any]:
        """The state with blank metadata fields filled from ``device`` (e.g. the enumerator who takes
        over a questionnaire the resident began); values already there are kept."""
        new = copy.deepcopy(dict(state))
        for item in self.form.fields:
            if item.kind == METADATA and item.repeat is None and not new["values"].get(item.name):
                value = metadata_value(item.preload or "", self.clock.now(), device)
                if value and item.preload not in ("start", "end", "today"):
                    new["values"][item.name] = value
                    new["by"][item.name] = PRELOAD
        return new

    def choices(self, state: Mapping[str, Any], key: str) -> tuple[Choice, ...]:
        """The choices of ``key`` (``crop`` or ``crop[2]``) a person may pick now: its choice filter
        applied, in the order shown."""
        return self._round(state).choices(self.form.field(split_key(key)[0]), key)

    def _preload(self, state: dict[str, Any], key: str, item: Field, raw: Any) -> None:
        if item.kind in ("calculate", "group", "note", "repeat"):
            raise ValueError(f"'{item.name}' is a {item.kind}; only questions and hidden fields take values")
        if (item.repeat is None) != (split_key(key)[1] is None):
            raise ValueError(f"'{key}': a value in a repeat is preloaded as name[position], others by name")
        if item.kind == "hidden":
            value = ("1" if raw else "0") if isinstance(raw, bool) else str(raw)
        else:
            now = self.clock.now().astimezone(ZoneInfo(state.get("zone") or DEFAULT_ZONE))
            value = parse_answer(item.kind, raw, item.choices, parameters=item.parameters, now=now)
            if isinstance(value, Message):
                raise ValueError(f"preloaded '{key}': {value.key} {dict(value.args)}")
            state["history"].append(key)
        state["values"][key] = value
        state["by"][key] = PRELOAD

    def _round(self, state: Mapping[str, Any], values: Mapping[str, str] | None = None) -> _Round:
        if state.get("form") != self.form.form_id:
            raise ValueError(f"this state belongs to form {state.get('form')!r}, not {self.form.form_id!r}")
        now = self.clock.now().astimezone(ZoneInfo(state.get("zone") or DEFAULT_ZONE))
        values = state["values"] if values is None else values
        counts = self._guessed_counts(state, values)
        seed, last_saved = str(state.get("instance_id", "")), state.get("last_saved")
        evaluation = _Round(self.form, values, now, counts, seed, last_saved)
        for _ in range(3):  # a count read from a calculate (or an irrelevant one) may differ from the guess
            wanted = evaluation.wanted_counts(state)
            if wanted == evaluation.counts:
                break
            evaluation = _Round(self.form, values, now, wanted, seed, last_saved)
        return evaluation

    def _guessed_counts(self, state: Mapping[str, Any], values: Mapping[str, str]) -> dict[str, int]:
        """Each repeat's count as the stored answer it names says (right whenever it is relevant)."""
        counts = {}
        for name in self.form.repeats:
            item = self.form.field(name)
            if item.count is None:
                counts[name] = _whole(state.get("repeats", {}).get(name, 1))
            else:
                source = self.form.by_path.get(item.count.source.strip())
                counts[name] = _whole(values.get(source.name, "")) if source is not None else 0
            counts[name] = min(max(counts[name], 0), MAX_REPEATS)
        return counts

    def field_of(self, key: str) -> Field | None:
        """The field a key names (``member_name[2]`` -> member_name; ``roster[+]`` -> the repeat)."""
        return self.form.by_name.get(split_key(key)[0])

    def counts(self, state: Mapping[str, Any]) -> dict[str, int]:
        """The instances each repeat has now (e.g. {"roster": 4})."""
        return dict(self._round(state).counts)

    # -- asking ------------------------------------------------------------------------------------

    def next_question(self, state: Mapping[str, Any], audience: str, language: str = "id") -> Step | None:
        """The first relevant step not done yet that ``audience`` may answer; None when none is left."""
        evaluation = self._round(state)
        done = set(state["history"])
        steps = [(k, f) for k, f in self._steps(evaluation) if may_answer(f, audience)]
        progress = (sum(k in done for k, _ in steps), len(steps))
        found = next(((k, f) for k, f in steps if k not in done), None)
        return None if found is None else self._step(evaluation, *found, language, progress)

    def _steps(self, evaluation: _Round) -> list[tuple[str, Field]]:
        """Relevant questions, notes and "add another?" prompts by key, in the order they are asked."""
        return [(k, f) for k, f in evaluation.layout if evaluation.relevant.get(k, False)
                and (f.is_step or split_key(k)[1] == ADD)]

    def _step(self, evaluation: _Round, key: str, item: Field, language: str,
              progress: tuple[int, int]) -> Step:
        position = evaluation.positions.get(key)
        if split_key(key)[1] == ADD:
            return Step(name=key, kind=REPEAT_ADD, label=self._text(evaluation, item.labels, language),
                        hint="", required=True, choices=(), value=None, display=None,
                        groups=self._groups(evaluation, item, language, None), progress=progress,
                        position=evaluation.counts[item.name], repeat=item.name)
        value = evaluation.value(key) if item.is_question else ""
        return Step(
            name=key, kind=item.kind, label=self._text(evaluation, item.labels, language, position),
            hint=self._text(evaluation, item.hints, language, position),
            required=evaluation.check(item, "required", key),
            choices=tuple((c.name, self.form.text(c.labels, language) or c.name)
                          for c in evaluation.choices(item, key)),
            value=value or None, display=self._display(item, value, language) if value else None,
            groups=self._groups(evaluation, item, language, position), progress=progress,
            position=position, repeat=item.repeat)

    def _text(self, evaluation: _Round, texts: Mapping[str, str], language: str,
              position: int | None = None) -> str:
        """A label or hint in ``language`` with ${name} replaced by that answer as a person reads it
        (inside a repeat, a sibling's answer in the same instance)."""
        def shown(match: re.Match[str]) -> str:
            item = self.form.by_name.get(match[1])
            if item is None:
                return match[0]
            key = key_of(item.name, position if item.repeat else None)
            return self._display(item, evaluation.value(key), language)
        return _REFERENCE.sub(shown, self.form.text(texts, language)) if texts else ""

    def _groups(self, evaluation: _Round, item: Field, language: str, position: int | None) -> tuple[str, ...]:
        """Labels of the enclosing groups; a repeat's label with the instance's number: "Anggota 2"."""
        labels = []
        for name in item.ancestors:
            group = self.form.field(name)
            label = self._text(evaluation, group.labels, language, position)
            if label and group.kind == "repeat" and position is not None:
                label = f"{label} {position}"
            labels.append(label)
        return tuple(label for label in labels if label)

    # -- answering ---------------------------------------------------------------------------------

    def answer(self, state: Mapping[str, Any], name: str, raw: Any, *, audience: str,
               language: str = "id") -> Result:
        """Parse, validate and store the answer to the step ``name`` (a key: the current step, or an
        earlier one). For ``roster[+]``, yes adds an instance and no closes the repeat."""
        item = self.field_of(name)
        _, position = split_key(name)
        if item is None or not (item.is_step or (item.kind == "repeat" and position == ADD)) \
                or (item.repeat is None) != (position is None):
            return Result(False, dict(state), Message(m.NOT_RELEVANT))
        if not may_answer(item, audience):
            return Result(False, dict(state), Message(m.NOT_ALLOWED))
        evaluation = self._round(state)
        if not evaluation.relevant.get(name, False):
            return Result(False, dict(state), Message(m.NOT_RELEVANT))
        if position == ADD:
            return self._answer_add(state, evaluation, item, raw, audience)
        value = self._value(evaluation, name, item, raw, language)
        if isinstance(value, Message):
            return Result(False, dict(state), value)
        new = _stored(state, name, value, audience)
        self._set_values(new, name)
        return Result(True, self._after_answer(new, evaluation.base.current_dt))

    def _set_values(self, state: dict[str, Any], trigger: str | None) -> None:
        """Run the <setvalue>s of the form's opening (trigger None) or of an answer to ``trigger`` (a
        key: a trigger inside a repeat sets the target of its own instance)."""
        name, position = split_key(trigger) if trigger is not None else (None, None)
        actions = [s for s in self.form.setvalues if s.trigger == name]
        if not actions:
            return
        evaluation = self._round(state)
        for action in actions:
            in_repeat = self.form.field(action.target).repeat is not None
            key = key_of(action.target, position if in_repeat else None)
            if key not in evaluation.nodes:
                continue  # a repeat's field when the form opens: set with its instance, not here
            value = action.value.string(evaluation.context(key)) if action.value is not None else ""
            state["values"][key] = value

    def _after_answer(self, state: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
        """``end`` is the time of the last answer; a calculation in once() keeps its first value."""
        for item in self.form.fields:
            if item.kind == METADATA and item.preload == "end" and item.repeat is None:
                state["values"][item.name] = now.isoformat(timespec="milliseconds")
        once = [f for f in self.form.fields if f.calculation is not None and "once(" in f.calculation.source]
        if once:
            evaluation = self._round(state)
            for item in once:
                for key in evaluation.keys[item.name]:
                    if not state["values"].get(key) and (value := evaluation.value(key)):
                        state["values"][key] = value
        return state

    def _answer_add(self, state: Mapping[str, Any], evaluation: _Round, item: Field, raw: Any,
                    audience: str) -> Result:
        word = ("yes" if raw else "no") if isinstance(raw, bool) else str(raw).strip().casefold()
        key = key_of(item.name, ADD)
        if word in _NO:
            new = copy.deepcopy(dict(state))
            new["history"] = [k for k in new["history"] if k != key] + [key]
            new["by"][key] = audience
            return Result(True, new)
        if word not in _YES:
            return Result(False, dict(state), Message(m.NOT_A_CHOICE, {"value": str(raw).strip(), "count": 2}))
        return self._set_count(state, evaluation, item, evaluation.counts[item.name] + 1, audience, "id")

    def _value(self, evaluation: _Round, key: str, item: Field, raw: Any, language: str) -> str | Message:
        """The value to store, or the message that refuses it (required, type, constraint)."""
        if item.kind == "note":
            return ""
        if is_blank(raw):
            if evaluation.check(item, "required", key):
                return self._message(item.required_messages, language, m.REQUIRED)
            return ""
        value = parse_answer(item.kind, raw, evaluation.choices(item, key), parameters=item.parameters,
                             now=evaluation.base.current_dt)
        if isinstance(value, Message) or item.constraint is None:
            return value
        after = _Round(self.form, {**evaluation.given, key: value}, evaluation.base.current_dt, evaluation.counts,
                       evaluation.base.random_seed, evaluation.last_saved)
        if not after.check(item, "constraint", key):
            return self._constraint_refusal(item, value, language, after.base.current_dt.date())
        return value

    def _constraint_refusal(self, item: Field, value: str, language: str, today: dt.date) -> Message:
        """Why a constraint refuses: for a NIK the rule it breaks (people need to know which digits
        to look at), else the form's own message or the catalog's."""
        if "nik-valid(" in item.constraint.source:
            problem = nik.nik_problem(value, today)
            if problem is not None:
                return Message(m.NIK_PROBLEMS[problem])
        return self._message(item.constraint_messages, language, m.CONSTRAINT_FAILED)

    def _message(self, texts: Mapping[str, str], language: str, key: str) -> Message:
        """The form's own message in the user's language (or the form's), else the catalog's."""
        text = self.form.text(texts, language) if texts else ""
        return Message(text=text) if text else Message(key)

    # -- repeat instances --------------------------------------------------------------------------

    def add_instance(self, state: Mapping[str, Any], repeat: str, *, audience: str,
                     language: str = "id") -> Result:
        """One more instance of ``repeat`` (a member added from the review); its questions come next.

        For a counted repeat the count's question is answered one higher (its constraint applies:
        the roster cannot outgrow what the form allows); a calculated count cannot be changed here.
        """
        item = self.form.by_name.get(repeat)
        if item is None or item.kind != "repeat":
            return Result(False, dict(state), Message(m.NOT_RELEVANT))
        evaluation = self._round(state)
        return self._set_count(state, evaluation, item, evaluation.counts[repeat] + 1, audience, language)

    def remove_instance(self, state: Mapping[str, Any], repeat: str, position: int, *, audience: str,
                        language: str = "id") -> Result:
        """Remove instance ``position`` of ``repeat`` with its answers; later ones move up one place."""
        item = self.form.by_name.get(repeat)
        if item is None or item.kind != "repeat":
            return Result(False, dict(state), Message(m.NOT_RELEVANT))
        evaluation = self._round(state)
        if not 1 <= position <= evaluation.counts[repeat]:
            return Result(False, dict(state), Message(m.NOT_RELEVANT))
        result = self._set_count(state, evaluation, item, evaluation.counts[repeat] - 1, audience, language)
        if not result.ok:
            return result
        names = {f.name for f in self.form.repeats[repeat]}
        return Result(True, _without_instance(result.state, names, position))

    def _set_count(self, state: Mapping[str, Any], evaluation: _Round, item: Field, count: int,
                   audience: str, language: str) -> Result:
        if not may_answer(item, audience):
            return Result(False, dict(state), Message(m.NOT_ALLOWED))
        if not 0 <= count <= MAX_REPEATS:
            return Result(False, dict(state), Message(m.CONSTRAINT_FAILED))
        if item.count is None:
            new = copy.deepcopy(dict(state))
            new.setdefault("repeats", {})[item.name] = count
            return Result(True, new)
        source = self.form.by_path.get(item.count.source.strip())
        if source is None or not source.is_question or source.repeat is not None \
                or not evaluation.relevant.get(source.name, False):
            return Result(False, dict(state), Message(m.NOT_ALLOWED))
        if not may_answer(source, audience):
            return Result(False, dict(state), Message(m.NOT_ALLOWED))
        value = self._value(evaluation, source.name, source, str(count), language)
        if isinstance(value, Message):
            return Result(False, dict(state), value)
        new = copy.deepcopy(dict(state))  # the count's place in the history stays: back still undoes the last answer
        new["values"][source.name] = value
        new["by"][source.name] = audience
        if source.name not in new["history"]:
            new["history"].append(source.name)
        return Result(True, new)

    # -- going back, changing ----------------------------------------------------------------------

    def back(self, state: Mapping[str, Any], audience: str) -> Result:
        """Undo the last step ``audience`` did: it will be asked again, its answer shown as current.

        Steps that have become irrelevant since are dropped on the way; preloaded values and steps
        done by someone ``audience`` may not answer for are never undone. Going back crosses members
        of a roster like any other step.
        """
        evaluation = self._round(state)
        history = list(state["history"])
        while history and not evaluation.relevant.get(history[-1], False):
            history.pop()
        if not history or state["by"].get(history[-1]) == PRELOAD \
                or not may_answer(self.field_of(history[-1]) or self.form.fields[0], audience):
            return Result(False, dict(state), Message(m.NOTHING_TO_GO_BACK))
        history.pop()
        return Result(True, {**copy.deepcopy(dict(state)), "history": history})

    def editable(self, state: Mapping[str, Any], audience: str) -> list[str]:
        """The answered questions ``audience`` may change from the review, by key in form order:
        relevant, answered by a person (not preloaded), and theirs to answer."""
        evaluation = self._round(state)
        done = set(state["history"])
        return [k for k, f in self._steps(evaluation) if f.is_question and k in done
                and state["by"].get(k) != PRELOAD and may_answer(f, audience)]

    def reopen(self, state: Mapping[str, Any], name: str, audience: str) -> Result:
        """Ask ``name`` (a key) again (from the review): it leaves the steps done, its answer kept as current.

        The next question is then the first one not done in form order, so ``name`` is asked (when
        everything before it is done); once answered, any question its new answer made relevant comes
        next, before the review. Answers it made irrelevant stay stored but count for nothing, as in ODK.
        """
        if name not in self.editable(state, audience):
            return Result(False, dict(state), Message(m.NOT_RELEVANT))
        return Result(True, {**copy.deepcopy(dict(state)), "history": [n for n in state["history"] if n != name]})

    # -- reading the result ------------------------------------------------------------------------

    def review(self, state: Mapping[str, Any], language: str = "id") -> list[ReviewItem]:
        """The answers so far, in form order (a roster member by member), as a person reads them."""
        evaluation = self._round(state)
        done = set(state["history"])
        items = []
        for key, item in self._steps(evaluation):
            if not item.is_question or key not in done:
                continue
            position = evaluation.positions.get(key)
            items.append(ReviewItem(key, item.kind, self._text(evaluation, item.labels, language, position),
                                    self._display(item, evaluation.value(key), language),
                                    evaluation.value(key), self._groups(evaluation, item, language, position),
                                    position, item.repeat))
        return items

    def missing(self, state: Mapping[str, Any]) -> list[str]:
        """Relevant steps not done, and answers now wrong (blank but required, or failing a constraint)."""
        evaluation = self._round(state)
        done = set(state["history"])
        return [k for k, f in self._steps(evaluation) if k not in done or (
            f.is_question and not self._still_valid(evaluation, k, f))]

    def _still_valid(self, evaluation: _Round, key: str, item: Field) -> bool:
        """Answers checked when given can break when an earlier one changes; ODK checks again at the end."""
        if not evaluation.value(key):
            return not evaluation.check(item, "required", key)
        if item.itemset is not None and not _still_offered(evaluation.value(key), evaluation.choices(item, key)):
            return False  # a city chosen before its province changed: no longer one of the choices
        return item.constraint is None or evaluation.check(item, "constraint", key)

    def is_complete(self, state: Mapping[str, Any]) -> bool:
        return not self.missing(state)

    def record(self, state: Mapping[str, Any]) -> dict[str, Any]:
        """The submitted record: relevant, non-blank values by name (answers, calculates, hidden); a
        repeat is a list with one object per relevant instance, its values by name likewise."""
        evaluation = self._round(state)

        def values(fields: Any, position: int | None) -> dict[str, str]:
            keys = ((f, key_of(f.name, position)) for f in fields if f.kind not in ("group", "note", "repeat"))
            return {f.name: evaluation.value(k) for f, k in keys if evaluation.relevant[k] and evaluation.value(k)}

        record: dict[str, Any] = {}
        for item in self.form.fields:
            if item.kind == "repeat":
                record[item.name] = [values(self.form.repeats[item.name], p)
                                     for p in range(1, evaluation.counts[item.name] + 1)
                                     if evaluation.relevant[key_of(item.name, p)]]
            elif item.repeat is None:
                record.update(values((item,), None))
        return record

    def submission_xml(self, state: Mapping[str, Any]) -> str:
        """The ODK submission: the instance with irrelevant nodes removed and instanceID set; a repeat
        has one element per instance and no jr:template (what ODK Collect sends)."""
        evaluation = self._round(state)
        root = evaluation.document.getroot()
        parents = {child: parent for parent in root.iter() for child in parent}
        for key, _item in reversed(evaluation.layout):  # children before their groups
            element = evaluation.elements.get(key)
            if element is not None and not evaluation.relevant[key] and element in parents:
                parents[element].remove(element)
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
        return _display_more(item, value, language, self._choice_label) or value

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


def _without_instance(state: dict[str, Any], names: set[str], position: int) -> dict[str, Any]:
    """The state with instance ``position`` of the repeat whose fields are ``names`` gone: its keys
    dropped, those of later instances one position lower (in values, history and who gave them)."""
    def moved(key: str) -> str | None:
        name, at = split_key(key)
        if name not in names or not isinstance(at, int) or at < position:
            return key
        return None if at == position else key_of(name, at - 1)

    new = copy.deepcopy(state)
    for part in ("values", "by"):
        new[part] = {moved(k): v for k, v in new[part].items() if moved(k) is not None}
    new["history"] = [moved(k) for k in new["history"] if moved(k) is not None]
    return new


def _display_more(item: Field, value: str, language: str, label: Any) -> str | None:
    """The other question types as a person reads them (None: the stored value itself reads well)."""
    locale = _locale(language)
    try:
        if item.kind == "time":
            return format_time(dt.time.fromisoformat(value), format="short", locale=locale)
        if item.kind == "datetime":
            moment = dt.datetime.fromisoformat(value)
            return (f"{format_date(moment.date(), format='long', locale=locale)} "
                    f"{format_time(moment.timetz(), format='short', locale=locale)}")
    except ValueError:
        return None
    if item.kind == "range":
        return format_decimal(Decimal(value), format="#,##0.##########", locale=locale)
    if item.kind == "rank":
        return ", ".join(f"{n}. {label(item, name, language)}" for n, name in enumerate(value.split(), start=1))
    if item.kind in ("geotrace", "geoshape"):
        points = value.split(";")
        first, last = (", ".join(p.split()[:2]) for p in (points[0], points[-1]))
        return f"{len(points)} × ({first} … {last})"
    return None


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
        if item.kind != "group" and item.repeat is None and (node := root.find(item.path.split("/", 2)[2])) is not None:
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
