"""A questionnaire read from an XLSForm by pyxform, compiled once into what the engine walks.

pyxform does all the XLSForm work: reading the sheets, aliases (``select_one`` / ``image`` ...),
``${name}`` references, languages, checks with row numbers, and the XForm. From its results we take:

- the **JSON form** (``workbook_to_json``): per question its type, labels, hints and messages per
  language, choices, and custom columns such as ``pintu_audience``;
- the **XForm** (``survey.to_xml()``): the primary instance (the answer record the expressions run
  over) and the binds, whose ``relevant`` / ``constraint`` / ``calculate`` / ``required``
  expressions already have ``${name}`` replaced by instance paths (``/data/housing/floor``);
- the **sheet rows** as pyxform read them, to give row numbers to our own findings.

Expressions are parsed once here (forms.xpath) so a syntax error or an unknown function is reported
with its row when the form is checked, not when a resident reaches the question.
"""
from __future__ import annotations

import os
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from pyxform.builder import create_survey_element_from_dict
from pyxform.errors import PyXFormError
from pyxform.xls2json import workbook_to_json
from pyxform.xls2json_backends import get_xlsform

from forms.parameters import findings as parameter_findings
from forms.problems import ERROR, WARNING, FormError, Problem, from_pyxform
from forms.attachments import rows_as_xml, secondary_instances
from forms.kinds import EXTERNAL, METADATA, kind_of, preload_of
from forms.xpath import Expression, ExpressionError, compile_expression, node_tree

XFORMS = "http://www.w3.org/2002/xforms"
JR = "http://openrosa.org/javarosa"
MAX_REPEATS = 60  # instances of one repeat: a roster of 30 members with room to spare, never unbounded
AUDIENCE_COLUMN = "pintu_audience"
ANY = "any"
AUDIENCES = ("resident", "rt_head", "enumerator")
"""Who may answer: a cell holds one or more of these (space-separated) or ``any``; blank means any."""

# pyxform's type (after its aliases) -> the engine's kind
KINDS = {
    "text": "text", "integer": "integer", "decimal": "decimal", "date": "date",
    "select one": "select_one", "select all that apply": "select_multiple",
    "note": "note", "geopoint": "geopoint", "photo": "image",
    "calculate": "calculate", "hidden": "hidden", "group": "group", "repeat": "repeat",
    # the question types real forms use besides (see forms/parsing.py for what each stores)
    "time": "time", "dateTime": "datetime", "range": "range", "rank": "rank",
    "acknowledge": "acknowledge", "trigger": "acknowledge", "barcode": "barcode",
    "audio": "audio", "video": "video", "file": "file", "geotrace": "geotrace", "geoshape": "geoshape",
}
QUESTION_KINDS = frozenset({"text", "integer", "decimal", "date", "select_one", "select_multiple",
                            "geopoint", "image", "time", "datetime", "range", "rank", "acknowledge",
                            "barcode", "audio", "video", "file", "geotrace", "geoshape"})
MEDIA_KINDS = frozenset({"image", "audio", "video", "file"})  # answered with a file the chat receives
SUPPORTED_TYPES = ("text, integer, decimal, date, time, dateTime, range, select_one, select_multiple, rank, "
                   "note, acknowledge, trigger, barcode, geopoint, geotrace, geoshape, image, audio, video, "
                   "file, calculate, hidden, begin group/end group, begin repeat/end repeat (not nested)")

_LANGUAGE_CODE = re.compile(r"\(([A-Za-z]{2,3}(?:-[A-Za-z0-9]+)*)\)\s*$")
_LANGUAGE_NAMES = {"indonesian": "id", "bahasa indonesia": "id", "bahasa": "id", "english": "en"}
_EXPRESSION_COLUMNS = (("relevant", "relevant"), ("constraint", "constraint"),
                       ("calculate", "calculation"), ("required", "required"))


@dataclass(frozen=True, slots=True)
class Choice:
    name: str
    labels: Mapping[str, str]


@dataclass(frozen=True, slots=True, eq=False)
class Field:
    """One survey row that has a node in the instance: a question, note, calculate, hidden or group."""

    name: str
    kind: str
    path: str                      # its node in the instance, e.g. /data/housing/floor
    row: int | None                # row on the survey sheet
    ancestors: tuple[str, ...]     # names of the enclosing groups, outermost first
    labels: Mapping[str, str] = field(default_factory=dict)
    hints: Mapping[str, str] = field(default_factory=dict)
    choices: tuple[Choice, ...] = ()
    audience: frozenset[str] = frozenset({ANY})
    relevant: Expression | None = None
    constraint: Expression | None = None
    calculation: Expression | None = None
    required: Expression | None = None
    constraint_messages: Mapping[str, str] = field(default_factory=dict)
    required_messages: Mapping[str, str] = field(default_factory=dict)
    repeat: str | None = None      # the enclosing repeat (for a repeat: itself); its values are per instance
    count: Expression | None = None  # a repeat's jr:count (repeat_count); None: "add another?" instead
    parameters: Mapping[str, str] = field(default_factory=dict)  # the "parameters" column, e.g. a range's
    itemset: Expression | None = None   # the choices' nodeset when filtered or from a file (choices in its order)
    preload: str | None = None          # a metadata field's source: start, end, today, deviceid, username…

    @property
    def is_question(self) -> bool:
        return self.kind in QUESTION_KINDS

    @property
    def is_step(self) -> bool:
        """Shown to a person: a question to answer or a note to read."""
        return self.kind in QUESTION_KINDS or self.kind == "note"

    def choice(self, name: str) -> Choice | None:
        return next((c for c in self.choices if c.name == name), None)


@dataclass(frozen=True, eq=False)
class Form:
    """An immutable compiled form; share one between all questionnaires (see :meth:`load`)."""

    form_id: str
    version: str
    title: Mapping[str, str]
    default_language: str
    languages: tuple[str, ...]
    root: str                      # the instance's root element, "data" unless the form names it
    template: bytes                # the primary instance as XML, defaults filled in, no namespace
    fields: tuple[Field, ...]      # document order
    source: str = ""
    load_seconds: float = 0.0
    warnings: tuple[Problem, ...] = ()
    instances: Mapping[str, bytes] = field(default_factory=dict)  # secondary instances by id (choices, CSVs)
    setvalues: tuple[SetValue, ...] = ()   # dynamic defaults and triggers (XForms <setvalue>)
    by_name: Mapping[str, Field] = field(init=False, repr=False)
    by_path: Mapping[str, Field] = field(init=False, repr=False)
    order: tuple[Field, ...] = field(init=False, repr=False)
    one_pass: bool = field(init=False, repr=False)
    repeats: Mapping[str, tuple[Field, ...]] = field(init=False, repr=False)  # repeat -> fields inside
    instance_trees: Mapping[str, Any] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # parsed once per form, read-only afterwards: instance('id') in every expression reads these
        object.__setattr__(self, "instance_trees", {
            key: node_tree(ET.ElementTree(ET.fromstring(xml))) for key, xml in self.instances.items()})
        object.__setattr__(self, "by_name", {f.name: f for f in self.fields})
        object.__setattr__(self, "by_path", {f.path: f for f in self.fields})
        object.__setattr__(self, "repeats", {r.name: tuple(f for f in self.fields if f.repeat == r.name
                                                            and f is not r)
                                             for r in self.fields if r.kind == "repeat"})
        order = evaluation_order(self.fields, self.by_path)
        object.__setattr__(self, "order", order or self.fields)
        object.__setattr__(self, "one_pass", order is not None)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Form:
        """Read and compile an XLSForm; cached per file until the file changes. Raises FormError."""
        resolved = Path(path).resolve()
        stat = resolved.stat()
        return _load_cached(str(resolved), stat.st_mtime_ns, stat.st_size)

    def field(self, name: str) -> Field:
        """The field called ``name``; KeyError if the form has none."""
        return self.by_name[name]

    def text(self, texts: Mapping[str, str], language: str) -> str:
        """A text in ``language``, else in the form's default language, else any there is."""
        return texts.get(language) or texts.get(self.default_language) or next(iter(texts.values()), "")


@dataclass(frozen=True, slots=True)
class SetValue:
    """An XForms ``<setvalue>``: when the form opens (a default such as ``today()`` or
    ``${last-saved#village}``) or when ``trigger`` is answered (the ``trigger`` column), ``target``
    gets the value of ``value``."""

    target: str                   # the field's name
    value: Expression | None      # None: the target is cleared
    trigger: str | None = None    # the field whose answer fires it; None: when the form opens


_PATH = re.compile(r"/[A-Za-z_][\w.\-]*(?:/[A-Za-z_][\w.\-]*)*")
_UNTRACEABLE = re.compile(r"\.\.|//|/\*|\bcurrent\s*\(|\binstance\s*\(")
# pyxform writes ${sibling} inside a repeat as "../sibling" (or current()/../sibling): a sibling in
# the same instance, traceable like an absolute path; position(..) reads no answer at all.
_SIBLING = re.compile(r"(?:\bcurrent\s*\(\s*\)\s*/\s*)?\.\./([A-Za-z_][\w.\-]*)")
_POSITION = re.compile(r"\bposition\s*\(\s*\.\.\s*\)")


def evaluation_order(fields: tuple[Field, ...], by_path: Mapping[str, Field]) -> tuple[Field, ...] | None:
    """Fields ordered so that each comes after what its relevance and calculation read, or None.

    In that order one pass settles a whole instance, as JavaRosa's dependency graph does. The paths
    are found in pyxform's output (it writes every ${name} as an absolute path); an expression
    that reaches nodes another way (``..``, ``//``, ``*``, ``current()``) makes the order unknown,
    and the engine then repeats document-order passes until nothing changes.
    """
    needs: dict[str, set[str]] = {}
    for item in fields:
        sources = [e.source for e in (item.relevant, item.calculation, item.count) if e is not None]
        parent = item.path.rpartition("/")[0]
        siblings = {f"{parent}/{name}" for source in sources for name in _SIBLING.findall(source)}
        sources = [_POSITION.sub("1", _SIBLING.sub("0", source)) for source in sources]
        if any(_UNTRACEABLE.search(source) for source in sources):
            return None
        paths = {p for source in sources for p in _PATH.findall(source)} | siblings
        needs[item.name] = {by_path[p].name for p in paths if p in by_path} | set(item.ancestors)
        # count(/data/roster[works = 'yes']) reads the repeat's fields through a predicate
        repeats = {by_path[p].name for p in paths if p in by_path and by_path[p].kind == "repeat"}
        needs[item.name] |= {f.name for f in fields if f.repeat in repeats and f.repeat != item.repeat}
        needs[item.name].discard(item.name)
    return _topological(fields, needs)


def _topological(fields: tuple[Field, ...], needs: dict[str, set[str]]) -> tuple[Field, ...] | None:
    """Document order wherever dependencies allow it; None on a cycle."""
    placed: set[str] = set()
    order: list[Field] = []
    pending = list(fields)
    while pending:
        ready = next((f for f in pending if needs[f.name] <= placed), None)
        if ready is None:
            return None
        pending.remove(ready)
        placed.add(ready.name)
        order.append(ready)
    return tuple(order)


@lru_cache(maxsize=32)
def _load_cached(path: str, mtime_ns: int, size: int) -> Form:
    form, problems = compile_form(path)
    if form is None:
        raise FormError(problems)
    return form


# --------------------------------------------------------------------------------------------------
# compiling

def compile_form(path: str | os.PathLike[str]) -> tuple[Form | None, list[Problem]]:
    """The compiled form (None if it has errors) and every problem found, errors and warnings."""
    started = time.perf_counter()
    try:
        definition = get_xlsform(str(path))
    except PyXFormError as error:
        return None, [Problem(f"The file cannot be read as an XLSForm: {error}")]
    except OSError as error:
        return None, [Problem(f"The file cannot be read: {error}")]
    rows, types = _row_numbers(definition.survey or ())
    first_rows = {name: numbers[0] for name, numbers in rows.items()}
    try:
        data, xform, warnings = _convert(definition)
    except PyXFormError as error:
        return None, [from_pyxform(str(error), first_rows, types)]
    except Exception as error:  # noqa: BLE001 - a checker must report any form, however broken
        return None, [Problem(f"pyxform could not convert the form: {type(error).__name__}: {error}")]
    problems = [from_pyxform(w, first_rows, types, WARNING) for w in warnings]
    form, found = _build(data, xform, rows, str(path))
    found = [_placed(p, definition.survey or ()) for p in found]
    problems += found
    if any(p.is_error for p in problems):
        return None, problems
    seconds = time.perf_counter() - started
    return _with(form, load_seconds=seconds, warnings=tuple(problems)), problems


def _convert(definition: Any) -> tuple[dict[str, Any], str, list[str]]:
    """pyxform's own conversion (what ``xls2xform.convert`` does, keeping the JSON form)."""
    warnings: list[str] = []
    data = workbook_to_json(workbook_dict=definition, fallback_form_name=definition.fallback_form_name,
                            warnings=warnings)
    external = getattr(definition, "external_choices", None)
    survey = create_survey_element_from_dict(data)
    xform = survey.to_xml(validate=False, pretty_print=False, warnings=warnings)
    if external:
        data = {**data, "external_choices": external}  # for select_one external (pyxform writes a CSV)
    return data, xform, warnings


def _row_numbers(survey_rows: Any) -> tuple[dict[str, list[int]], dict[str, int]]:
    """Spreadsheet rows by name (every row with that name) and by type (the first), as pyxform counts.

    Column headers are matched without regard to case, as pyxform reads them (``NAME``, ``Type``).
    """
    by_name: dict[str, list[int]] = {}
    by_type: dict[str, int] = {}
    for number, row in enumerate(survey_rows, start=2):
        cells = {str(k).strip().lower(): v for k, v in row.items()}
        if name := str(cells.get("name", "") or "").strip():
            by_name.setdefault(name, []).append(number)
        if kind := str(cells.get("type", "") or "").strip():
            by_type.setdefault(kind, number)
            by_type.setdefault(kind.split()[0], number)
    return by_name, by_type


def _placed(problem: Problem, survey_rows: Any) -> Problem:
    """A finding about a file or an instance that no walked row reads (inside a repeat, in an
    appearance) placed at the first row that mentions it."""
    if problem.row is not None:
        return problem
    words = tuple(re.findall(r"'([^']+)'", problem.message)[:2])
    row = _first_row_mentioning(survey_rows, words) if words else None
    return Problem(problem.message, problem.sheet, row, problem.severity) if row else problem


def _first_row_mentioning(survey_rows: Any, words: tuple[str, ...]) -> int | None:
    """The first survey row with one of ``words`` in a cell (to place a finding pyxform gives no row)."""
    for number, row in enumerate(survey_rows, start=2):
        if any(word in str(value) for value in row.values() for word in words):
            return number
    return None


def _with(form: Form, **changes: Any) -> Form:
    values = {k: getattr(form, k) for k in form.__dataclass_fields__ if form.__dataclass_fields__[k].init}
    return Form(**{**values, **changes})


def _build(data: dict[str, Any], xform: str, rows: Mapping[str, list[int]],
           source: str) -> tuple[Form, list[Problem]]:
    document = ET.fromstring(xform)
    model = next(document.iter(f"{{{XFORMS}}}model"), None)
    assert model is not None, "pyxform always writes a model"
    binds = {b.get("nodeset", ""): dict(b.attrib) for b in model.iter(f"{{{XFORMS}}}bind")}
    template = _primary_instance(model)
    default = language_code(str(data.get("default_language") or "default"), "id")
    counts = {r.get("nodeset", ""): r.get(f"{{{JR}}}count", "") for r in document.iter(f"{{{XFORMS}}}repeat")}
    instances = secondary_instances(model, Path(source).parent)
    builder = _Builder(binds, rows, default, counts, _itemsets(document), instances)
    builder.external_choices = _external_choices(data)
    builder.lists = dict(data.get("choices", {}) or {})
    root = str(data.get("name") or "data")
    children = _expand_loops(data.get("children", []))
    builder.duplicates = _duplicate_names(children)
    builder.walk(children, f"/{root}", (), frozenset({ANY}))
    builder.problems += _attachment_problems(instances, builder.fields, builder.uses, builder.extra_instances)
    xml = dict(instances.xml)
    xml.update(builder.extra_instances)
    setvalues = _setvalues(document, {f.path: f for f in builder.fields}, builder)
    form = Form(
        form_id=str(data.get("id_string") or root), version=str(data.get("version") or ""),
        title=_texts(data.get("title", ""), default), default_language=default,
        languages=tuple(sorted(builder.languages or {default})), root=root, template=template,
        fields=tuple(builder.fields), source=source, instances=xml, setvalues=setvalues)
    builder.problems += _translation_warnings(form)
    return form, builder.problems


@dataclass(frozen=True, slots=True)
class _Itemset:
    """A select's ``<itemset>`` in the XForm body: the nodeset of its choices and their value/label refs."""

    nodeset: str
    value: str = "name"
    label: str = "label"

    @property
    def instance_id(self) -> str | None:
        match = re.search(r"instance\(\s*'([^']+)'\s*\)", self.nodeset)
        return match[1] if match else None

    @property
    def filtered(self) -> bool:
        """More than ``instance('x')/root/item``: a choice filter, randomize() or another nodeset."""
        return self.nodeset.strip() != f"instance('{self.instance_id}')/root/item"


def _itemsets(document: ET.Element) -> dict[str, _Itemset]:
    """The itemset of every select in the body (and the query of a select_one external), by ref."""
    found: dict[str, _Itemset] = {}
    for control in document.iter():
        ref = control.get("ref")
        if not ref:
            continue
        if (itemset := control.find(f"{{{XFORMS}}}itemset")) is not None:
            value = itemset.find(f"{{{XFORMS}}}value")
            label = itemset.find(f"{{{XFORMS}}}label")
            found[ref] = _Itemset(itemset.get("nodeset", ""),
                                  value.get("ref", "name") if value is not None else "name",
                                  label.get("ref", "label") if label is not None else "label")
        elif control.get("query"):
            found[ref] = _Itemset(control.get("query", ""))
    return found


def _setvalues(document: ET.Element, by_path: Mapping[str, Field], builder: Any) -> tuple[SetValue, ...]:
    """The form's <setvalue>s: in the model (when the form opens) and inside a control (when its
    question is answered). odk:setgeopoint (the phone's position when the form opens) is left out:
    the chat asks for a location with a geopoint question instead."""
    found = []
    for parent in document.iter():
        for element in parent:
            if element.tag != f"{{{XFORMS}}}setvalue" or element.get("ref") not in by_path:
                continue
            target = by_path[element.get("ref", "")]
            trigger = by_path.get(parent.get("ref", "")) if "value-changed" in element.get("event", "") else None
            if "first-load" not in element.get("event", "") and trigger is None:
                continue  # other events (odk-new-repeat) belong to repeats
            source = element.get("value") or (f"'{element.text}'" if element.text else "")
            value = builder.expression(source, target.row, "default") if source.strip() else None
            builder.note_uses(target.row, source)
            found.append(SetValue(target.name, value, trigger.name if trigger else None))
    return tuple(found)


def _external_choices(data: Mapping[str, Any]) -> dict[str, list[dict[str, str]]]:
    """The external_choices sheet by list name (pyxform passes it through as ``external_choices``)."""
    lists: dict[str, list[dict[str, str]]] = {}
    for row in data.get("external_choices", []) or []:
        row = {str(k).lower() if str(k).lower() in ("list_name", "name", "label") else str(k): str(v)
               for k, v in row.items()}
        lists.setdefault(row.get("list_name", ""), []).append(row)
    return lists


def _expand_loops(children: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """pyxform's ``begin loop over list``: a group per choice of the list, its questions in each
    (as pyxform writes the XForm), "%(label)s" in their labels replaced by the choice's label."""
    expanded = []
    for element in children:
        if element.get("type") == "loop":
            groups = [{"type": "group", "name": column["name"], "label": column.get("label", ""),
                       "children": [_with_loop_label(child, column.get("label", "")) for child in
                                    _expand_loops(element.get("children", []))]}
                      for column in element.get("columns", [])]
            element = {**{k: v for k, v in element.items() if k not in ("columns", "children")},
                       "type": "group", "children": groups}
        elif element.get("children"):
            element = {**element, "children": _expand_loops(element["children"])}
        expanded.append(element)
    return expanded


def _with_loop_label(element: dict[str, Any], column_label: Any) -> dict[str, Any]:
    def fill(text: Any, language: str | None = None) -> Any:
        label = column_label.get(language, next(iter(column_label.values()), "")) \
            if isinstance(column_label, Mapping) else column_label
        return str(text).replace("%(label)s", str(label))
    label = element.get("label", "")
    label = {k: fill(v, k) for k, v in label.items()} if isinstance(label, Mapping) else fill(label)
    return {**element, "label": label}


def _duplicate_names(children: list[dict[str, Any]]) -> set[str]:
    """Names used more than once in the form (ODK allows the same name in different groups)."""
    seen: set[str] = set()
    twice: set[str] = set()
    stack = list(children)
    while stack:
        element = stack.pop()
        if element.get("control", {}).get("bodyless"):
            continue
        name = str(element.get("name", ""))
        (twice if name in seen else seen).add(name)
        stack.extend(element.get("children", []) or [])
    return twice


def _attachment_problems(instances: Any, fields: list[Field], uses: Mapping[str, int | None],
                         extra: Mapping[str, bytes]) -> list[Problem]:
    """A file the form names that is not next to it (or cannot be read), at the row that needs it."""
    problems = []
    for key, name in instances.missing.items():
        problems.append(Problem(
            f"The form needs the file '{name}' (its choices or pulldata() read it), but it is not in the "
            f"form's folder. Put '{name}' next to the form, as you would attach it to the form in ODK.",
            "survey", uses.get(key), ERROR))
    for key, why in instances.unreadable.items():
        problems.append(Problem(f"The attachment cannot be read: {why}", "survey", uses.get(key), ERROR))
    known = set(instances.xml) | set(instances.missing) | set(instances.unreadable) | set(extra)
    for key in sorted(set(uses) - known, key=lambda k: uses[k] or 0):
        problems.append(Problem(
            f"instance('{key}') or pulldata('{key}', …) names neither a choice list nor an attached file. "
            f"Use a list_name of the choices sheet, or declare the file with a csv-external row named '{key}'.",
            "survey", uses[key], ERROR))
    for item in fields:
        if item.kind == METADATA and item.preload in _BLANK_IN_CHAT:
            problems.append(Problem(
                f"'{item.name}' ({item.preload}) is recorded by ODK Collect on the phone; the chat leaves it "
                f"blank. {_BLANK_IN_CHAT[item.preload]}", "survey", item.row, WARNING))
    return problems


_BLANK_IN_CHAT = {
    "audit": "Pintu keeps its own record of who answered what and when.",
    "start-geopoint": "Add a geopoint question: the chat asks for the location.",
    "background-audio": "Add an audio question if a recording is needed.",
    "background-geopoint": "Add a geopoint question: the chat asks for the location.",
    "simserial": "", "subscriberid": "",
}


def _primary_instance(model: ET.Element) -> bytes:
    """The first <instance> of the model, without the XForms namespace (XPath paths have none)."""
    instance = model.find(f"{{{XFORMS}}}instance")
    assert instance is not None and len(instance), "pyxform always writes a primary instance"
    return ET.tostring(_strip_namespace(instance[0]))


def _strip_namespace(element: ET.Element) -> ET.Element:
    copy = ET.Element(element.tag.rpartition("}")[2], {k: v for k, v in element.attrib.items()})
    copy.text = element.text.strip() if element.text and element.text.strip() else None
    copy.extend(_strip_namespace(child) for child in element)
    return copy


def language_code(name: str, default: str) -> str:
    """"Indonesian (id)" -> "id"; "English" -> "en"; pyxform's "default" -> the form's default."""
    if name == "default":
        return default
    if match := _LANGUAGE_CODE.search(name):
        return match[1].lower()
    return _LANGUAGE_NAMES.get(name.strip().lower(), name.strip().lower())


def _texts(value: Any, default: str) -> dict[str, str]:
    """A label/hint/message from pyxform (a string, or a dict by language name) by language code."""
    if isinstance(value, Mapping):
        return {language_code(k, default): str(v) for k, v in value.items() if str(v).strip()}
    return {default: str(value)} if value and str(value).strip() else {}


class _Builder:
    """Walks pyxform's JSON children into Fields, collecting problems with their rows."""

    def __init__(self, binds: Mapping[str, Mapping[str, str]], rows: Mapping[str, list[int]],
                 default_language: str, counts: Mapping[str, str] | None = None,
                 itemsets: Mapping[str, _Itemset] | None = None, instances: Any = None) -> None:
        self.binds, self.default = binds, default_language
        self.counts = counts or {}
        self.rows = {name: list(numbers) for name, numbers in rows.items()}  # consumed in sheet order
        self.fields: list[Field] = []
        self.problems: list[Problem] = []
        self.languages: set[str] = set()
        self.itemsets = itemsets or {}
        self.instances = instances
        self.duplicates: set[str] = set()
        self.external_choices: dict[str, list[dict[str, str]]] = {}
        self.extra_instances: dict[str, bytes] = {}
        self.lists: dict[str, list[dict[str, Any]]] = {}  # the choices sheet by list name
        self.uses: dict[str, int | None] = {}   # instance id -> the first row that reads it

    def walk(self, children: list[dict[str, Any]], parent_path: str, ancestors: tuple[str, ...],
             audience: frozenset[str], repeat: str | None = None) -> None:
        for element in children:
            if element.get("control", {}).get("bodyless"):
                continue  # pyxform's meta group (instanceID): filled by the engine, never asked
            self.add(element, parent_path, ancestors, audience, repeat)

    def add(self, element: dict[str, Any], parent_path: str, ancestors: tuple[str, ...],
            inherited: frozenset[str], repeat: str | None = None) -> None:
        name = str(element.get("name", ""))
        numbers = self.rows.get(name)
        row = numbers.pop(0) if numbers else None  # pyxform keeps sheet order: the n-th "x" is row n
        kind = kind_of(str(element.get("type", "")), KINDS)
        if kind is not None and kind not in (EXTERNAL, METADATA):
            self.check_parameters(element, kind, row)
        path = f"{parent_path}/{name}"
        if kind == EXTERNAL:
            return
        if kind is None:
            self.error(row, _unsupported(element, name))
            return
        # The same name in two groups is allowed, as in ODK: such fields are known by their path
        key = path.split("/", 2)[2] if name in self.duplicates else name
        audience = self.audience(element, row, inherited)
        if kind == "group" and element.get("flat"):
            # pyxform's flat group has no node: its questions sit in its parent, its relevance in theirs
            self.walk(element.get("children", []), parent_path, ancestors, audience, repeat)
            return
        if kind == "repeat" and repeat is not None:
            self.error(row, f"The repeat '{name}' is inside the repeat '{repeat}'; the chat questionnaire "
                            "asks one level of repeats (a roster), not a repeat within a repeat.")
            return
        if kind == "repeat":
            repeat = key
        item = self.field(element, kind, key, path, row, ancestors, audience)
        if repeat is not None:
            item = replace(item, repeat=repeat, count=self.expression(self.counts.get(path), row, "repeat_count")
                            if kind == "repeat" else None)
        self.fields.append(item)
        if kind in ("group", "repeat"):
            self.walk(element.get("children", []), path, (*ancestors, key), audience, repeat)

    def field(self, element: dict[str, Any], kind: str, name: str, path: str, row: int | None,
              ancestors: tuple[str, ...], audience: frozenset[str]) -> Field:
        bind = self.binds.get(path, {})
        expressions = {attr: self.expression(bind.get(attr), row, column)
                       for attr, column in _EXPRESSION_COLUMNS}
        if bind.get("required", "").strip() == "false()":
            expressions["required"] = None
        self.note_uses(row, *(bind.get(attr, "") for attr, _ in _EXPRESSION_COLUMNS))
        choices, itemset = self.choices(element, path, row)
        element_bind = element.get("bind", {}) or {}
        return Field(
            name=name, kind=kind, path=path, row=row, ancestors=ancestors,
            labels=self.texts(element.get("label", "")), hints=self.texts(element.get("hint", "")),
            choices=choices, audience=audience, relevant=expressions["relevant"],
            constraint=expressions["constraint"], calculation=expressions["calculate"],
            required=expressions["required"],
            constraint_messages=self.texts(element_bind.get("jr:constraintMsg", "")),
            required_messages=self.texts(element_bind.get("jr:requiredMsg", "")),
            parameters=_parameters(element),
            itemset=itemset, preload=preload_of(str(element.get("type", ""))) if kind == METADATA else None)

    def check_parameters(self, element: dict[str, Any], kind: str, row: int | None) -> None:
        """Parameters the chat does not apply are named (a warning); a range that cannot work is an error."""
        for is_error, message in parameter_findings(kind, _parameters(element)):
            self.problems.append(Problem(message, "survey", row, ERROR if is_error else WARNING))

    def choices(self, element: dict[str, Any], path: str, row: int | None) -> tuple[tuple[Choice, ...], Expression | None]:
        """The choices in the order of their instance, and the nodeset that filters them (if any).

        Choices on the choices sheet come with the question; from a file (select_one_from_file) or
        the external_choices sheet (select_one external) they are read from its rows.
        """
        itemset = self.itemsets.get(path)
        listed = element.get("choices") or self.lists.get(str(element.get("itemset") or element.get("list_name") or ""))
        if itemset is None:
            return self.sheet_choices(listed or ()), None
        instance = itemset.instance_id or ""
        nodeset = itemset.nodeset
        if element.get("type") == "select one external":
            rows = self.external_choices.get(str(element.get("query") or element.get("itemset") or ""), [])
            instance = f"__external_{instance}"
            self.extra_instances[instance] = rows_as_xml(rows)
            nodeset = re.sub(r"instance\(\s*'[^']+'\s*\)", f"instance('{instance}')", nodeset, count=1)
            choices = self.row_choices(rows, "name", "label")
        elif self.instances is not None and instance in self.instances.rows:
            choices = self.row_choices(self.instances.rows[instance], itemset.value, itemset.label)
        else:
            choices = self.sheet_choices(listed or ())
        self.uses.setdefault(instance, row)
        if not itemset.filtered and element.get("type") != "select one external":
            return choices, None
        return choices, self.expression(nodeset, row, "choice_filter")

    def sheet_choices(self, rows: Any) -> tuple[Choice, ...]:
        return tuple(Choice(str(c["name"]), self.texts(c.get("label", ""))) for c in rows)

    def row_choices(self, rows: list[dict[str, str]], value: str, label: str) -> tuple[Choice, ...]:
        """Choices from a file's rows: the value column, the label column (and label::language ones)."""
        choices = []
        for item in rows:
            labels = {language_code(k.partition("::")[2], self.default): v for k, v in item.items()
                      if k.lower().startswith("label::") and v}
            if not labels and item.get(label):
                labels = {self.default: item[label]}
            self.languages.update(labels)
            choices.append(Choice(str(item.get(value, "")), labels))
        return tuple(choices)

    def note_uses(self, row: int | None, *sources: str) -> None:
        """Remember the first row whose expressions read an instance (instance('x'), pulldata('x', …))."""
        for source in sources:
            for match in re.finditer(r"(?:instance|pulldata)\(\s*'([^']+)'", source or ""):
                self.uses.setdefault(match[1], row)

    def texts(self, value: Any) -> dict[str, str]:
        texts = _texts(value, self.default)
        self.languages.update(texts)
        return texts

    def expression(self, source: str | None, row: int | None, column: str) -> Expression | None:
        if not source or not source.strip():
            return None
        try:
            return compile_expression(source)
        except ExpressionError as error:
            shown = " ".join(source.split())
            shown = shown if len(shown) <= 80 else shown[:77] + "..."
            self.error(row, f"The '{column}' expression {shown!r} cannot be evaluated: {error}. "
                            f"{_expression_advice(str(error))}")
            return None

    def audience(self, element: dict[str, Any], row: int | None,
                 inherited: frozenset[str]) -> frozenset[str]:
        """The ``pintu_audience`` cell, or the enclosing group's when blank."""
        words = frozenset(str(element.get(AUDIENCE_COLUMN, "") or "").replace(",", " ").split())
        unknown = words - {ANY, *AUDIENCES}
        if unknown:
            self.error(row, f"The {AUDIENCE_COLUMN} value '{' '.join(sorted(unknown))}' is unknown; "
                            f"use {', '.join(AUDIENCES)} or {ANY} (several separated by spaces).")
        return words - unknown or inherited

    def error(self, row: int | None, message: str) -> None:
        self.problems.append(Problem(message, "survey", row, ERROR))


def _parameters(element: dict[str, Any]) -> dict[str, str]:
    """The parameters cell: pyxform gives some types a dict, others the text as written ("a=1 b=2")."""
    parameters = element.get("parameters") or {}
    if isinstance(parameters, str):
        pairs = (part.split("=", 1) for part in re.split(r"[\s,;]+", parameters.strip()) if "=" in part)
        return {key.strip(): value.strip() for key, value in pairs}
    return {str(k): str(v) for k, v in parameters.items()} if isinstance(parameters, Mapping) else {}


def _unsupported(element: dict[str, Any], name: str) -> str:
    """Why a row's type cannot be asked in a chat, and what to do instead."""
    kind = str(element.get("type", ""))
    advice = _ADVICE.get(kind, f"Supported types: {SUPPORTED_TYPES}.")
    return f"The type '{_row_type(element)}' of '{name}' is not supported by the chat questionnaire. {advice}"


_ADVICE = {
    "osm": "OpenStreetMap tagging needs ODK Collect's map; use a geopoint and select_one questions for the tags.",
}


_EXPRESSION_ADVICE = (
    ("XPST0017", "Pintu knows the functions ODK lists (https://docs.getodk.org/form-operators-functions/): "
                 "check the function's name and its number of arguments."),
    ("XPST0010", "'::' cannot be used in an expression (a label column is not a field): compare the "
                 "choice's name, or another column of the choices sheet."),
    ("", "Check the brackets and quotes: a text is written in quotes ('ya'), an answer as ${name}."),
)


def _expression_advice(error: str) -> str:
    return next(advice for code, advice in _EXPRESSION_ADVICE if code in error)




def _row_type(element: dict[str, Any]) -> str:
    return str(element.get("type", "")).replace("select one", "select_one").replace(
        "select all that apply", "select_multiple")


def _translation_warnings(form: Form) -> Iterator[Problem]:
    """A label missing in one of the form's languages: the resident would see another language."""
    if len(form.languages) < 2:
        return
    for item in form.fields:
        if item.kind in ("calculate", "hidden") or not item.labels:
            continue
        for language in form.languages:
            if language not in item.labels:
                yield Problem(f"'{item.name}' has no label in language '{language}'.",
                              "survey", item.row, WARNING)
