"""The proxy-means-test (PMT) model file, and a family's score from its completed record.

The file format (``pintu.pmt/1``, YAML or JSON) is documented in docs/ranking.md; in short:

    format: pintu.pmt/1
    name: demo
    version: "2026.1"
    illustrative: true                    # a demo model, not BPS's weights (the CLI says so)
    variables:
      - name: log_members                 # the term's own name (for errors and the docs)
        answer: members                   # a top-level answer by XLSForm name ...
        transform: log
        coefficient: -0.30
      - name: share_working
        roster: roster                    # ... or an aggregate over a repeat's instances
        aggregate: share                  # count | share | sum | mean | min | max
        where: {works: "yes"}
        coefficient: 0.20
      - name: floor_area_per_capita
        answer: floor_area
        per_capita: members               # divided by this answer before the transform
        transform: log
        coefficient: 0.10
      - name: earth_floor
        answer: floor
        transform: indicator              # 1 if the answer (or one of a select_multiple's) is one of
        values: [earth, bamboo]           #   these choices, else 0
        coefficient: -0.15
    intercept:
      default: 13.0
      regions: {"64": 13.1, "64.72": 13.25}   # the longest prefix of the family's SLS code wins
    cutoffs:
      default: {groups: [0.10, 0.20, 0.40]}   # cumulative shares: group 1, groups 1–2, groups 1–3
      regions: {"64.72": {groups: [0.08, 0.18, 0.38], deciles: [...9 cumulative shares...]}}

score = intercept(region) + Σ coefficient × transform(value). It models log consumption per capita, so a
lower score is a poorer family. Answers are read as the completed record stores them (forms/engine.py
``record``: values by XLSForm name, a repeat as a list of objects; a draft's ``name[n]`` keys work too).
A value the model needs that is blank or not a number makes the family *not scored* (with the reason),
unless the term gives ``missing:``, the value to use then.
"""
from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from domain.ranking import DEFAULT_GROUP_CUTOFFS, check_group_cutoffs

FORMAT = "pintu.pmt/1"
TRANSFORMS = ("none", "log", "log1p", "sqrt", "square", "indicator")
AGGREGATES = ("count", "share", "sum", "mean", "min", "max")
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
REGION = re.compile(r"^\d+(\.\d+)*$")
DEFAULT_DECILES = tuple(n / 10 for n in range(1, 10))
TOP_KEYS = {"format", "name", "version", "illustrative", "description", "variables", "intercept", "cutoffs"}
TERM_KEYS = {"name", "answer", "roster", "aggregate", "of", "where", "per_capita", "transform", "values",
             "coefficient", "missing", "note"}


class PmtModelError(ValueError):
    """The model file is not usable; ``problems`` lists every reason, each naming where it is."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("the PMT model file has problems:\n" + "\n".join(f"  - {p}" for p in self.problems))


class NotScored(Exception):
    """A family's record lacks what the model needs (``reason`` names the term and the answer)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class Term:
    name: str
    coefficient: float
    answer: str | None = None
    roster: str | None = None
    aggregate: str | None = None
    of: str | None = None
    where: tuple[tuple[str, frozenset[str]], ...] = ()
    per_capita: str | None = None
    transform: str = "none"
    values: frozenset[str] = frozenset()
    missing: float | None = None


@dataclass(frozen=True)
class Cutoffs:
    groups: tuple[float, float, float] = DEFAULT_GROUP_CUTOFFS  # type: ignore[assignment]
    deciles: tuple[float, ...] = DEFAULT_DECILES


@dataclass(frozen=True)
class PmtModel:
    name: str
    version: str
    terms: tuple[Term, ...]
    intercept: float
    intercepts: tuple[tuple[str, float], ...] = ()  # (region code prefix, intercept), longest first
    cutoffs: Cutoffs = field(default_factory=Cutoffs)
    region_cutoffs: tuple[tuple[str, Cutoffs], ...] = ()
    illustrative: bool = False
    digest: str = ""  # sha256 of the file's text: two files with the same name and version still differ

    @property
    def model_version(self) -> str:
        """What each rank row stores: the name, the version and the file's digest (first 12 hex)."""
        return f"{self.name}@{self.version}#{self.digest[:12]}"[:80]

    def intercept_for(self, area_code: str) -> float:
        return next((value for prefix, value in self.intercepts if _below(area_code, prefix)), self.intercept)

    def cutoffs_for(self, kabkota_code: str) -> Cutoffs:
        return next((value for prefix, value in self.region_cutoffs if _below(kabkota_code, prefix)), self.cutoffs)

    def score(self, answers: Mapping[str, Any], area_code: str) -> float:
        """intercept + Σ coefficient × term value, the terms in file order (the same sum every time);
        NotScored when an answer the model needs is missing."""
        total = self.intercept_for(area_code)
        rosters: dict[str, list[Mapping[str, Any]]] = {}  # each repeat's instances, gathered once
        for term in self.terms:
            total += term.coefficient * term_value(term, answers, rosters)
        return total


def _below(code: str, prefix: str) -> bool:
    return code == prefix or code.startswith(prefix + ".")


# --- evaluating a term ------------------------------------------------------------------------------

def term_value(term: Term, answers: Mapping[str, Any],
               rosters: dict[str, list[Mapping[str, Any]]] | None = None) -> float:
    if term.roster is not None:
        members = rosters.get(term.roster) if rosters is not None else None
        if members is None:
            members = instances(answers, term.roster)
            if rosters is not None:
                rosters[term.roster] = members
        value: float | None = _aggregate(term, members)
    elif term.transform == "indicator":
        return 1.0 if _is_one_of(answers.get(term.answer or ""), term.values) else 0.0
    else:
        value = _number(answers.get(term.answer or ""))
    if value is None:
        return _missing(term, f"answer {term.answer!r} is blank or not a number")
    if term.per_capita is not None:
        size = _number(answers.get(term.per_capita))
        if size is None or size <= 0:
            return _missing(term, f"per-capita answer {term.per_capita!r} is blank or not above 0")
        value /= size
    return _transform(term, value)


def _missing(term: Term, reason: str) -> float:
    if term.missing is None:
        raise NotScored(f"{term.name}: {reason}")
    return term.missing


def _transform(term: Term, value: float) -> float:
    if term.transform in ("none", "indicator"):
        return value
    if term.transform == "log":
        if value <= 0:
            return _missing(term, f"log of {value:g} (the value must be above 0; use log1p for counts)")
        return math.log(value)
    if term.transform == "log1p":
        if value <= -1:
            return _missing(term, f"log1p of {value:g} (the value must be above -1)")
        return math.log1p(value)
    if term.transform == "sqrt":
        if value < 0:
            return _missing(term, f"square root of {value:g}")
        return math.sqrt(value)
    return value * value  # square


def instances(answers: Mapping[str, Any], repeat: str) -> list[Mapping[str, Any]]:
    """A repeat's instances: the completed record's list under the repeat's name, or a draft's
    ``field[n]`` keys gathered per position n."""
    listed = answers.get(repeat)
    if isinstance(listed, list):
        return [item for item in listed if isinstance(item, Mapping)]
    by_position: dict[int, dict[str, Any]] = {}
    for key, value in answers.items():
        match = re.fullmatch(r"([^\[\]]+)\[(\d+)\]", str(key))
        if match:
            by_position.setdefault(int(match.group(2)), {})[match.group(1)] = value
    return [by_position[n] for n in sorted(by_position)]


def _aggregate(term: Term, members: list[Mapping[str, Any]]) -> float | None:
    matching = [m for m in members if all(_is_one_of(m.get(name), wanted) for name, wanted in term.where)]
    if term.aggregate == "count":
        return float(len(matching))
    if term.aggregate == "share":
        return len(matching) / len(members) if members else None
    numbers = [n for n in (_number(m.get(term.of or "")) for m in matching) if n is not None]
    if not numbers:
        return None
    if term.aggregate == "sum":
        return float(sum(numbers))
    if term.aggregate == "mean":
        return sum(numbers) / len(numbers)
    return float(min(numbers) if term.aggregate == "min" else max(numbers))


def _is_one_of(value: Any, wanted: frozenset[str]) -> bool:
    """The answer holds one of the choices: a select_one's value, or any of a select_multiple's
    (space-separated). The common case, one word, is one set lookup (259,000 families × 20 terms)."""
    if value is None:
        return False
    if isinstance(value, str):
        return value in wanted or (" " in value and not wanted.isdisjoint(value.split()))
    if isinstance(value, (list, tuple)):
        return not wanted.isdisjoint(str(v) for v in value)
    return str(value) in wanted


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(str(value).strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None


# --- reading the file --------------------------------------------------------------------------------

def load_model(text: str) -> PmtModel:
    """Parse and check a model file (YAML or JSON); PmtModelError lists every problem at once."""
    import yaml

    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise PmtModelError([f"not valid YAML or JSON: {error}"]) from None
    model = parse_model(document)
    return PmtModel(**{**model.__dict__, "digest": hashlib.sha256(text.encode("utf-8")).hexdigest()})


def parse_model(document: Any) -> PmtModel:
    problems: list[str] = []
    if not isinstance(document, Mapping):
        raise PmtModelError(["the file must be a mapping with format, name, version, variables, intercept"])
    if document.get("format") != FORMAT:
        problems.append(f"format: must be {FORMAT!r}, got {document.get('format')!r}")
    for key in sorted(set(document) - TOP_KEYS):
        problems.append(f"{key}: unknown key; the keys are {', '.join(sorted(TOP_KEYS))}")
    name, version = document.get("name"), document.get("version")
    if not isinstance(name, str) or not name.strip():
        problems.append("name: required, a text (e.g. demo-samarinda)")
    if not isinstance(version, (str, int, float)) or isinstance(version, bool) or not str(version).strip():
        problems.append('version: required (e.g. "2026.1")')
    terms = _terms(document.get("variables"), problems)
    intercept, intercepts = _intercepts(document.get("intercept"), problems)
    cutoffs, region_cutoffs = _all_cutoffs(document.get("cutoffs"), problems)
    if problems:
        raise PmtModelError(problems)
    return PmtModel(name=str(name).strip(), version=str(version).strip(), terms=terms, intercept=intercept,
                    intercepts=intercepts, cutoffs=cutoffs, region_cutoffs=region_cutoffs,
                    illustrative=bool(document.get("illustrative", False)))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _terms(raw: Any, problems: list[str]) -> tuple[Term, ...]:
    if not isinstance(raw, list) or not raw:
        problems.append("variables: required, a list of at least one term")
        return ()
    terms: list[Term] = []
    seen: set[str] = set()
    for index, item in enumerate(raw):
        where = f"variables[{index}]"
        if not isinstance(item, Mapping):
            problems.append(f"{where}: must be a mapping (name, answer or roster, coefficient, ...)")
            continue
        where = f"variables[{index}] ({item.get('name', '?')})"
        term = _term(item, where, problems)
        if term is not None:
            if term.name in seen:
                problems.append(f"{where}: the name {term.name!r} is used twice")
            seen.add(term.name)
            terms.append(term)
    return tuple(terms)


def _term(item: Mapping[str, Any], where: str, problems: list[str]) -> Term | None:
    before = len(problems)
    for key in sorted(set(item) - TERM_KEYS):
        problems.append(f"{where}: unknown key {key!r}; a term has {', '.join(sorted(TERM_KEYS))}")
    name = item.get("name")
    if not isinstance(name, str) or not NAME.match(name):
        problems.append(f"{where}: name required (letters, digits, _)")
    if not _is_number(item.get("coefficient")):
        problems.append(f"{where}: coefficient required, a number")
    answer, roster = item.get("answer"), item.get("roster")
    if (answer is None) == (roster is None):
        problems.append(f"{where}: give exactly one of answer (an XLSForm name) or roster (a repeat's name)")
    for key in ("answer", "roster", "of", "per_capita"):
        if item.get(key) is not None and (not isinstance(item[key], str) or not NAME.match(item[key])):
            problems.append(f"{where}: {key} must be an XLSForm name, got {item[key]!r}")
    transform = item.get("transform", "none")
    if transform not in TRANSFORMS:
        problems.append(f"{where}: transform {transform!r} unknown; one of {', '.join(TRANSFORMS)}")
    values = item.get("values")
    if transform == "indicator":
        if roster is not None:
            problems.append(f"{where}: indicator applies to an answer; for a roster use aggregate with where")
        if isinstance(values, (str, int)):
            values = [values]
        if not isinstance(values, list) or not values or not all(isinstance(v, (str, int)) for v in values):
            problems.append(f"{where}: indicator needs values, the choice names that count as 1")
    elif values is not None:
        problems.append(f"{where}: values belongs to transform: indicator")
    aggregate = item.get("aggregate")
    if roster is not None:
        if aggregate not in AGGREGATES:
            problems.append(f"{where}: aggregate required with roster, one of {', '.join(AGGREGATES)}")
        elif aggregate not in ("count", "share") and item.get("of") is None:
            problems.append(f"{where}: aggregate {aggregate} needs of (the member answer to add up)")
    elif aggregate is not None or item.get("where") is not None or item.get("of") is not None:
        problems.append(f"{where}: aggregate, of and where belong to a roster term")
    conditions = _where(item.get("where"), where, problems)
    missing = item.get("missing")
    if missing is not None and not _is_number(missing):
        problems.append(f"{where}: missing must be a number (the value used when the answer is blank)")
    if len(problems) > before:
        return None
    return Term(name=name, coefficient=float(item["coefficient"]), answer=answer, roster=roster,
                aggregate=aggregate, of=item.get("of"), where=conditions, per_capita=item.get("per_capita"),
                transform=transform, values=frozenset(str(v) for v in values or ()),
                missing=float(missing) if missing is not None else None)


def _where(raw: Any, where: str, problems: list[str]) -> tuple[tuple[str, frozenset[str]], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, Mapping) or not raw:
        problems.append(f"{where}: where must map member answers to a choice or a list of choices")
        return ()
    conditions = []
    for key, wanted in raw.items():
        choices = [wanted] if isinstance(wanted, (str, int)) and not isinstance(wanted, bool) else wanted
        if not isinstance(choices, list) or not choices or not all(isinstance(c, (str, int)) for c in choices):
            problems.append(f"{where}: where {key!r} must be a choice name or a list of them "
                            "(quote yes/no: YAML reads a bare yes as true)")
            continue
        conditions.append((str(key), frozenset(str(c) for c in choices)))
    return tuple(conditions)


def _region_keys(raw: Any, where: str, problems: list[str]) -> list[tuple[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, Mapping):
        problems.append(f"{where}: must map area code prefixes (\"64\", \"64.72\") to values")
        return []
    found = []
    for code, value in raw.items():
        if not isinstance(code, str) or not REGION.match(code):
            problems.append(f"{where}: {code!r} is not an area code prefix; quote it (\"64.72\")")
            continue
        found.append((code, value))
    return found


def _intercepts(raw: Any, problems: list[str]) -> tuple[float, tuple[tuple[str, float], ...]]:
    if _is_number(raw):
        return float(raw), ()
    if not isinstance(raw, Mapping) or not _is_number(raw.get("default")):
        problems.append("intercept: required, a number or {default: number, regions: {code: number}}")
        return 0.0, ()
    for key in sorted(set(raw) - {"default", "regions"}):
        problems.append(f"intercept: unknown key {key!r} (default, regions)")
    regions = []
    for code, value in _region_keys(raw.get("regions"), "intercept.regions", problems):
        if not _is_number(value):
            problems.append(f"intercept.regions.{code}: must be a number")
        else:
            regions.append((code, float(value)))
    return float(raw["default"]), tuple(sorted(regions, key=lambda r: -len(r[0])))


def _cutoff(raw: Any, where: str, problems: list[str]) -> Cutoffs:
    if not isinstance(raw, Mapping):
        problems.append(f"{where}: must be {{groups: [3 cumulative shares], deciles: [9, optional]}}")
        return Cutoffs()
    for key in sorted(set(raw) - {"groups", "deciles"}):
        problems.append(f"{where}: unknown key {key!r} (groups, deciles)")
    groups: tuple[float, float, float] = DEFAULT_GROUP_CUTOFFS  # type: ignore[assignment]
    try:
        groups = check_group_cutoffs(raw.get("groups", DEFAULT_GROUP_CUTOFFS))
    except (TypeError, ValueError) as error:
        problems.append(f"{where}.groups: {error}")
    deciles = raw.get("deciles", DEFAULT_DECILES)
    if (not isinstance(deciles, (list, tuple)) or len(deciles) != 9 or not all(_is_number(d) for d in deciles)
            or not 0 < deciles[0] or not deciles[-1] < 1
            or not all(a < b for a, b in zip(deciles, deciles[1:]))):
        problems.append(f"{where}.deciles: 9 cumulative shares, increasing, between 0 and 1")
        deciles = DEFAULT_DECILES
    return Cutoffs(groups=groups, deciles=tuple(float(d) for d in deciles))


def _all_cutoffs(raw: Any, problems: list[str]) -> tuple[Cutoffs, tuple[tuple[str, Cutoffs], ...]]:
    if raw is None:
        return Cutoffs(), ()
    if not isinstance(raw, Mapping):
        problems.append("cutoffs: must be {default: {...}, regions: {code: {...}}}")
        return Cutoffs(), ()
    for key in sorted(set(raw) - {"default", "regions"}):
        problems.append(f"cutoffs: unknown key {key!r} (default, regions)")
    default = _cutoff(raw["default"], "cutoffs.default", problems) if "default" in raw else Cutoffs()
    regions = [(code, _cutoff(value, f"cutoffs.regions.{code}", problems))
               for code, value in _region_keys(raw.get("regions"), "cutoffs.regions", problems)]
    return default, tuple(sorted(regions, key=lambda r: -len(r[0])))
