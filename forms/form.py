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
from forms.xpath import Expression, ExpressionError, compile_expression

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
    by_name: Mapping[str, Field] = field(init=False, repr=False)
    by_path: Mapping[str, Field] = field(init=False, repr=False)
    order: tuple[Field, ...] = field(init=False, repr=False)
    one_pass: bool = field(init=False, repr=False)
    repeats: Mapping[str, tuple[Field, ...]] = field(init=False, repr=False)  # repeat -> fields inside

    def __post_init__(self) -> None:
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
    survey = create_survey_element_from_dict(data)
    xform = survey.to_xml(validate=False, pretty_print=False, warnings=warnings)
    return data, xform, warnings


def _row_numbers(survey_rows: Any) -> tuple[dict[str, list[int]], dict[str, int]]:
    """Spreadsheet rows by name (every row with that name) and by type (the first), as pyxform counts."""
    by_name: dict[str, list[int]] = {}
    by_type: dict[str, int] = {}
    for number, row in enumerate(survey_rows, start=2):
        if name := str(row.get("name", "")).strip():
            by_name.setdefault(name, []).append(number)
        if kind := str(row.get("type", "")).strip():
            by_type.setdefault(kind, number)
            by_type.setdefault(kind.split()[0], number)
    return by_name, by_type


def _with(form: Form, **changes: Any) -> Form:
    values = {k: getattr(form, k) for k in form.__dataclass_fields__ if form.__dataclass_fields__[k].init}
    return Form(**{**values, **changes})


def _build(data: dict[str, Any], xform: str, rows: Mapping[str, list[int]],
           source: str) -> tuple[Form, list[Problem]]:
    model = next(ET.fromstring(xform).iter(f"{{{XFORMS}}}model"), None)
    assert model is not None, "pyxform always writes a model"
    binds = {b.get("nodeset", ""): dict(b.attrib) for b in model.iter(f"{{{XFORMS}}}bind")}
    template = _primary_instance(model)
    default = language_code(str(data.get("default_language") or "default"), "id")
    counts = {r.get("nodeset", ""): r.get(f"{{{JR}}}count", "") for r in ET.fromstring(xform).iter(f"{{{XFORMS}}}repeat")}
    builder = _Builder(binds, rows, default, counts)
    root = str(data.get("name") or "data")
    builder.walk(data.get("children", []), f"/{root}", (), frozenset({ANY}))
    form = Form(
        form_id=str(data.get("id_string") or root), version=str(data.get("version") or ""),
        title=_texts(data.get("title", ""), default), default_language=default,
        languages=tuple(sorted(builder.languages or {default})), root=root, template=template,
        fields=tuple(builder.fields), source=source)
    builder.problems += _translation_warnings(form)
    return form, builder.problems


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
                 default_language: str, counts: Mapping[str, str] | None = None) -> None:
        self.binds, self.default = binds, default_language
        self.counts = counts or {}
        self.rows = {name: list(numbers) for name, numbers in rows.items()}  # consumed in sheet order
        self.fields: list[Field] = []
        self.problems: list[Problem] = []
        self.languages: set[str] = set()
        self.seen: set[str] = set()

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
        kind = KINDS.get(str(element.get("type", "")))
        if kind is None:
            self.error(row, f"The type '{_row_type(element)}' of '{name}' is not supported by the chat "
                            f"questionnaire. Supported types: {SUPPORTED_TYPES}.")
            return
        if element.get("choice_filter") or element.get("itemset", "").endswith((".csv", ".xml", ".geojson")):
            self.error(row, f"'{name}' filters its choices or takes them from a file; the chat "
                            "questionnaire needs its choices on the choices sheet, unfiltered.")
        if name in self.seen:
            self.error(row, f"The name '{name}' is used twice; answers are kept by name, so every "
                            "question, group and calculate needs its own name in the whole form.")
        self.seen.add(name)
        self.check_parameters(element, kind, row)
        path = f"{parent_path}/{name}"
        audience = self.audience(element, row, inherited)
        if kind == "repeat" and repeat is not None:
            self.error(row, f"The repeat '{name}' is inside the repeat '{repeat}'; the chat questionnaire "
                            "asks one level of repeats (a roster), not a repeat within a repeat.")
            return
        if kind == "repeat":
            repeat = name
        item = self.field(element, kind, name, path, row, ancestors, audience)
        if repeat is not None:
            item = replace(item, repeat=repeat, count=self.expression(self.counts.get(path), row, "repeat_count")
                            if kind == "repeat" else None)
        self.fields.append(item)
        if kind in ("group", "repeat"):
            self.walk(element.get("children", []), path, (*ancestors, name), audience, repeat)

    def field(self, element: dict[str, Any], kind: str, name: str, path: str, row: int | None,
              ancestors: tuple[str, ...], audience: frozenset[str]) -> Field:
        bind = self.binds.get(path, {})
        expressions = {attr: self.expression(bind.get(attr), row, column)
                       for attr, column in _EXPRESSION_COLUMNS}
        if bind.get("required", "").strip() == "false()":
            expressions["required"] = None
        choices = tuple(Choice(str(c["name"]), self.texts(c.get("label", "")))
                        for c in element.get("choices", []) or ())
        element_bind = element.get("bind", {}) or {}
        return Field(
            name=name, kind=kind, path=path, row=row, ancestors=ancestors,
            labels=self.texts(element.get("label", "")), hints=self.texts(element.get("hint", "")),
            choices=choices, audience=audience, relevant=expressions["relevant"],
            constraint=expressions["constraint"], calculation=expressions["calculate"],
            required=expressions["required"],
            constraint_messages=self.texts(element_bind.get("jr:constraintMsg", "")),
            required_messages=self.texts(element_bind.get("jr:requiredMsg", "")),
            parameters=_parameters(element))

    def check_parameters(self, element: dict[str, Any], kind: str, row: int | None) -> None:
        """Parameters the chat does not apply are named (a warning); a range that cannot work is an error."""
        for is_error, message in parameter_findings(kind, _parameters(element)):
            self.problems.append(Problem(message, "survey", row, ERROR if is_error else WARNING))

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
            self.error(row, f"The '{column}' expression cannot be evaluated: {error}", )
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
