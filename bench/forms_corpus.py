"""Real XLSForms run end to end with automatic answers: the share of the corpus the chat can run.

    .venv/bin/python -m bench forms_corpus [--verbose] [--strategy first|last|blank] [FOLDER]

Every form under ``tests/forms_corpus/`` (written by others: pyxform's test forms, humanitarian
field forms; tests/forms_corpus/SOURCES.md says where each comes from) is

1. checked: pyxform converts it (else it is no XLSForm ODK could use, and not counted), then
   ``pintu form check`` (forms.check) compiles it for the chat;
2. run as the bot runs it, as the enumerator: ``next_question`` / ``answer`` until nothing is left,
   each answer found automatically (for a choice, the choices in order; for a number, small numbers
   until the constraint holds; a blank when nothing else is accepted and the question is optional);
3. finished: complete, ``record()`` and ``submission_xml()`` written.

A form **runs** when all three succeed. A form that does not run must be **explained** by
``pintu form check`` (an error with its sheet and row); anything else — a crash, a question no
answer gets past — is **broken**, a bug to fix. Explained forms are counted by what they need
(a repeat within a repeat, attachments not published with the form, other).

``--strategy`` walks other branches of the same forms: ``last`` tries the candidates from the end
(the last choice, the largest number first), ``blank`` skips every optional question first.

Prints one line per form and the figures: the share of the forms pyxform converts that run.
The same run is a unit test (tests/unit/forms/test_forms_corpus.py).
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
import traceback
import warnings
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

try:
    import forms  # noqa: F401 - installed (pip install -e .) or run from the repository root
except ImportError:  # run as a plain script from a checkout that is not installed
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pyxform.xls2xform import convert  # noqa: E402

from domain.clock import FakeClock  # noqa: E402
from forms import Attachment, Location, Questionnaire  # noqa: E402
from forms.check import in_order  # noqa: E402
from forms.form import compile_form  # noqa: E402
from forms.problems import Problem  # noqa: E402

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "forms_corpus"
FORM_SUFFIXES = (".xlsx", ".xls")
NOW = dt.datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Makassar"))
DEVICE = {"deviceid": "pintu-bot:corpus", "username": "petugas-rina", "phonenumber": "+6281234567890"}
MAX_STEPS = 2000

RUNS, EXPLAINED, BROKEN, NOT_XLSFORM = "runs", "explained", "broken", "not an XLSForm"
# what an explained form waits for, by the words of its errors (first match wins)
NEEDS = (("nested repeats", ("inside the repeat",)),
         ("attachments", ("needs the file",)))


@dataclass(frozen=True)
class Outcome:
    path: Path
    status: str                 # RUNS, EXPLAINED, BROKEN or NOT_XLSFORM
    detail: str = ""            # the first error, or what broke
    needs: str = ""             # for EXPLAINED: nested repeats, attachments, other
    steps: int = 0              # questions and notes gone through
    seconds: float = 0.0
    errors: tuple[Problem, ...] = ()  # for EXPLAINED: every error of pintu form check

    @property
    def name(self) -> str:
        return f"{self.path.parent.name}/{self.path.name}"


def corpus_forms(folder: Path = CORPUS) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in FORM_SUFFIXES)


STRATEGIES: dict[str, Callable[[list[Any]], list[Any]]] = {
    "first": lambda found: found,
    "last": lambda found: [*reversed(found[:-1]), None],
    "blank": lambda found: [None, *found[:-1]],
}


def run_form(path: Path, strategy: str = "first") -> Outcome:
    """Check ``path``, then fill it in as the enumerator with automatic answers (never raises)."""
    started = time.perf_counter()
    try:
        form, problems = compile_form(path)
    except Exception as error:  # noqa: BLE001 - the harness reports any crash as a bug
        return Outcome(path, BROKEN, f"compiling crashed: {_crash(error)}", seconds=time.perf_counter() - started)
    if form is None:
        return _not_run(path, in_order(problems), started)
    try:
        steps = _fill(Questionnaire(form, FakeClock(NOW)), STRATEGIES[strategy])
    except _Stuck as stuck:
        return Outcome(path, BROKEN, str(stuck), seconds=time.perf_counter() - started)
    except Exception as error:  # noqa: BLE001
        return Outcome(path, BROKEN, f"running crashed: {_crash(error)}", seconds=time.perf_counter() - started)
    return Outcome(path, RUNS, steps=steps, seconds=time.perf_counter() - started)


def _not_run(path: Path, problems: list[Problem], started: float) -> Outcome:
    """A form the chat cannot run: pyxform's refusal (not counted), or check_form's explanation
    (``problems``: what check_form gives, from the same compilation)."""
    try:
        convert(str(path), validate=False, pretty_print=False)
    except Exception as error:  # noqa: BLE001 - pyxform refuses it: no XLSForm ODK could use either
        return Outcome(path, NOT_XLSFORM, f"pyxform: {' '.join(str(error).split())[:160]}",
                       seconds=time.perf_counter() - started)
    errors = [p for p in problems if p.is_error]
    if not errors:
        return Outcome(path, BROKEN, "not usable, but pintu form check gives no error",
                       seconds=time.perf_counter() - started)
    words = " ".join(p.message for p in errors)
    needs = next((need for need, marks in NEEDS if all(any(m in p.message for m in marks) for p in errors)), "")
    if not needs:
        needs = next((need for need, marks in NEEDS if any(m in words for m in marks)), "other")
        needs = needs if needs == "other" else f"{needs} and more"
    return Outcome(path, EXPLAINED, str(errors[0]), needs, seconds=time.perf_counter() - started,
                   errors=tuple(errors))


class _Stuck(Exception):
    """No automatic answer is accepted at a question: the form cannot be finished."""


def _fill(engine: Questionnaire, order: Callable[[list[Any]], list[Any]]) -> int:
    """Answer every step the enumerator is given; the number of steps. Raises _Stuck or a crash."""
    state = engine.start(zone="Asia/Makassar", device=DEVICE)
    steps = 0
    seen: Counter[str] = Counter()
    while (step := engine.next_question(state, "enumerator", "en")) is not None:
        steps += 1
        if steps > MAX_STEPS:
            raise _Stuck(f"more than {MAX_STEPS} steps: the questionnaire never ends (at '{step.name}')")
        seen[step.name] += 1
        # a step asked again and again (a repeat's "add another?") gets the other end of its
        # choices from the third time on, so a roster gets two entries and then ends
        state = _answered(engine, state, step, order if seen[step.name] < 3 else _reversed(order))
    if not engine.is_complete(state):
        raise _Stuck(f"no question left but not complete: {engine.missing(state)[:5]}")
    engine.record(state)
    engine.submission_xml(state)
    return steps


def _answered(engine: Questionnaire, state: dict[str, Any], step: Any,
              order: Callable[[list[Any]], list[Any]]) -> dict[str, Any]:
    last = None
    for raw in order(_candidates(step)):
        result = engine.answer(state, step.name, raw, audience="enumerator", language="en")
        if result.ok:
            return result.state
        last = result.error
    reason = last.text or last.key if last is not None else "no candidate"
    raise _Stuck(f"no automatic answer accepted at '{step.name}' ({step.kind}): {reason}")


_TODAY = NOW.date()
_BY_KIND: dict[str, Callable[[Any], Iterable[Any]]] = {
    "note": lambda step: [None],
    "text": lambda step: ["Siti Aminah", "1", "abc", "12345678", "a@b.id"],
    "integer": lambda step: ["1", "2", "3", "5", "10", "0", "18", "25", "40", "100", "1000", "-1"],
    "decimal": lambda step: ["1.5", "1", "2", "10", "0", "0.5", "100", "-1"],
    "date": lambda step: [_TODAY.isoformat(), (_TODAY - dt.timedelta(days=1)).isoformat(), "2000-01-01",
                          "1980-01-01", (_TODAY + dt.timedelta(days=1)).isoformat(), "2030-01-01"],
    "select_one": lambda step: [name for name, _ in step.choices],
    "select_multiple": lambda step: [name for name, _ in step.choices] + (
        [" ".join(n for n, _ in step.choices[:2])] if len(step.choices) > 1 else []),
    "geopoint": lambda step: [Location(-0.5021, 117.1536, 10.0, 5.0)],
    "image": lambda step: [Attachment("corpus-photo")],
}
# kinds other parts of Pintu add (time, dateTime, media, geotrace, acknowledge, repeats…): plausible
# answers of every shape, and the step's own choices (an "add another?" is a choice too)
_ANY_KIND = ["10:00", f"{_TODAY.isoformat()}T10:00:00", "1", "OK", "yes", "no",
             Attachment("corpus-file"), "-0.5 117.1 0 0;-0.6 117.2 0 0;-0.5 117.1 0 0", "abc"]


def _reversed(order: Callable[[list[Any]], list[Any]]) -> Callable[[list[Any]], list[Any]]:
    return lambda found: [*reversed(order(found)[:-1]), None]


def _candidates(step: Any) -> list[Any]:
    found = list(_BY_KIND.get(step.kind, lambda s: [n for n, _ in s.choices] + _ANY_KIND)(step))
    return found + [None]   # blank, when the question is optional and nothing else fits


def _crash(error: BaseException) -> str:
    where = traceback.extract_tb(error.__traceback__)[-1]
    return f"{type(error).__name__}: {error} ({Path(where.filename).name}:{where.lineno})"


# --------------------------------------------------------------------------------------------------
# figures

def summary(outcomes: list[Outcome]) -> dict[str, Any]:
    counted = [o for o in outcomes if o.status != NOT_XLSFORM]
    runs = sum(o.status == RUNS for o in counted)
    return {"forms": len(outcomes), "converted": len(counted), "runs": runs,
            "share": runs / len(counted) if counted else 0.0,
            "explained": Counter(o.needs for o in counted if o.status == EXPLAINED),
            "broken": [o for o in counted if o.status == BROKEN],
            "not_xlsform": len(outcomes) - len(counted)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", nargs="?", default=str(CORPUS))
    parser.add_argument("--verbose", action="store_true", help="also print the first error of each form")
    parser.add_argument("--strategy", choices=sorted(STRATEGIES), default="first",
                        help="which automatic answer is tried first (default: the first candidate)")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", module="openpyxl")  # its notes on Excel extensions in others' files
    started = time.perf_counter()
    outcomes = [run_form(path, args.strategy) for path in corpus_forms(Path(args.folder))]
    for outcome in outcomes:
        label = outcome.status if outcome.status != EXPLAINED else f"needs {outcome.needs}"
        print(f"{outcome.name:48} {label:28} {outcome.steps:4} steps {outcome.seconds * 1000:6.0f} ms")
        if outcome.detail and (args.verbose or outcome.status == BROKEN):
            print(f"    {outcome.detail}")
    figures = summary(outcomes)
    print()
    print(f"forms: {figures['forms']}; pyxform converts {figures['converted']}; "
          f"{figures['not_xlsform']} refused by pyxform (not counted)")
    print(f"run end to end: {figures['runs']} of {figures['converted']} ({figures['share']:.0%})")
    explained = ", ".join(f"{n} {need}" for need, n in sorted(figures["explained"].items()))
    print(f"explained by pintu form check: {sum(figures['explained'].values())} ({explained or 'none'})")
    print(f"broken (neither runs nor explained): {len(figures['broken'])}")
    print(f"total time: {time.perf_counter() - started:.1f} s")
    return 1 if figures["broken"] else 0


if __name__ == "__main__":
    sys.exit(main())
