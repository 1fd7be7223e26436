"""Form engine: load time, time per answer, memory per questionnaire in progress.

    .venv/bin/python -m bench form_engine [--runs N] [--states N]

Figures:

- **load**: ``Form.load`` of the default first-visit form and of a generated 40-question form,
  cold (pyxform reading and converting the .xlsx, expressions compiled) and cached (the same file
  again: a stat and a dictionary lookup);
- **per answer**: ``--runs`` questionnaires (30 by default) of the generated 40-question form filled
  from start to end as the bot would, one ``next_question`` and one ``answer`` per step; p50/p99 of
  each call and of the whole step (the state goes through JSON between steps, as it does through
  the database, but that is not timed);
- **memory**: ``--states`` questionnaires (1,000) half filled and held as the bot would hold them
  after loading them from the database (parsed JSON dicts); tracemalloc's difference divided by
  their number, and the JSON size that is stored per questionnaire.

The generated form has integer, decimal, text, date, select_one and select_multiple questions,
skip logic on a fifth of them, constraints on a third, four calculates and two groups.
"""
from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from zoneinfo import ZoneInfo

try:
    import forms  # noqa: F401 - installed (pip install -e .) or run from the repository root
except ImportError:  # run as a plain script from a checkout that is not installed
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from openpyxl import Workbook  # noqa: E402

from domain.clock import FakeClock  # noqa: E402
from forms import Form, Questionnaire  # noqa: E402
from forms.default import DEFAULT_FORM  # noqa: E402
from forms.form import _load_cached  # noqa: E402

NOW = dt.datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Makassar"))
ID, EN = "Indonesian (id)", "English (en)"
QUESTIONS = 40
KINDS = ("integer", "select_one level", "decimal", "select_multiple items", "text", "date")
ANSWERS = {"integer": "7", "select_one level": "2", "decimal": "12,5", "select_multiple items": "1, 3",
           "text": "Jl. Pramuka No. 5", "date": "17-08-2020"}


def generated_form(path: Path) -> Path:
    """A 40-question XLSForm shaped like a survey: two groups, skip logic, constraints, calculates."""
    book = Workbook()
    survey = book.active
    survey.title = "survey"
    survey.append(["type", "name", f"label::{ID}", f"label::{EN}", "relevant", "constraint",
                   f"constraint_message::{ID}", f"constraint_message::{EN}", "calculation", "required"])
    for number in range(1, QUESTIONS + 1):
        if number in (1, QUESTIONS // 2 + 1):
            survey.append(["begin group", f"g{number}", f"Bagian {number}", f"Part {number}"])
        survey.append(_question(number))
        if number % 10 == 0:
            survey.append(["calculate", f"c{number}", None, None, None, None, None, None,
                           f"coalesce(${{q{number - 9}}}, 0) + string-length(${{q{number - 5}}})"])
        if number in (QUESTIONS // 2, QUESTIONS):
            survey.append(["end group"])
    choices = book.create_sheet("choices")
    choices.append(["list_name", "name", f"label::{ID}", f"label::{EN}"])
    for list_name in ("level", "items"):
        for index in range(1, 6):
            choices.append([list_name, f"{list_name}{index}", f"Pilihan {index}", f"Choice {index}"])
    settings = book.create_sheet("settings")
    settings.append(["form_id", "version", "default_language"])
    settings.append(["bench_40", "1", ID])
    book.save(path)
    return path


def _question(number: int) -> list[str | None]:
    kind = KINDS[(number - 1) % len(KINDS)]
    relevant = f"${{q{number - 1}}} != ''" if number % 5 == 0 else None
    constraint = {"integer": ". >= 0 and . < 1000", "decimal": ". > 0", "date": ". <= today()",
                  "text": "string-length(.) < 200"}.get(kind) if number % 3 == 0 else None
    return [kind, f"q{number}", f"Pertanyaan {number}", f"Question {number}", relevant, constraint,
            "Di luar batas." if constraint else None, "Out of range." if constraint else None, None, "yes"]


def load_figures(path: Path) -> tuple[float, float]:
    """(cold seconds, cached seconds) of Form.load."""
    _load_cached.cache_clear()
    started = time.perf_counter()
    Form.load(path)
    cold = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(100):
        Form.load(path)
    return cold, (time.perf_counter() - started) / 100


def fill(engine: Questionnaire, timings: dict[str, list[float]] | None = None, stop_after: int | None = None) -> dict:
    """One questionnaire from start to end (or ``stop_after`` steps), timing each call."""
    state = engine.start(zone="Asia/Makassar")
    kinds = {f"q{n}": KINDS[(n - 1) % len(KINDS)] for n in range(1, QUESTIONS + 1)}
    steps = 0
    while stop_after is None or steps < stop_after:
        started = time.perf_counter()
        step = engine.next_question(state, "enumerator")
        asked = time.perf_counter()
        if step is None:
            break
        result = engine.answer(state, step.name, ANSWERS[kinds[step.name]], audience="enumerator")
        done = time.perf_counter()
        assert result.ok, (step.name, result.error)
        if timings is not None:
            timings["next_question"].append(asked - started)
            timings["answer"].append(done - asked)
            timings["step"].append(done - started)
        state = json.loads(json.dumps(result.state))  # through the database, untimed
        steps += 1
    return state


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def memory_figures(engine: Questionnaire, count: int) -> tuple[float, float]:
    """(bytes per held state, bytes of its JSON) for half-filled questionnaires."""
    saved = json.dumps(fill(engine, stop_after=QUESTIONS // 2))
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    held = [json.loads(saved) for _ in range(count)]
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    grown = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    assert len(held) == count
    return grown / count, len(saved.encode())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="questionnaires filled for the timings")
    parser.add_argument("--states", type=int, default=1000, help="questionnaires held for the memory figure")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = generated_form(Path(folder) / "bench_40.xlsx")
        load_figures(path)  # warm-up: pyxform's and elementpath's first-use costs are not the form's
        default_cold, default_cached = load_figures(DEFAULT_FORM)
        cold, cached = load_figures(path)
        form = Form.load(path)
        engine = Questionnaire(form, FakeClock(NOW))
        timings: dict[str, list[float]] = {"next_question": [], "answer": [], "step": []}
        fill(engine)  # warm-up: imports, caches
        for _ in range(args.runs):
            fill(engine, timings)
        per_state, json_bytes = memory_figures(engine, args.states)
    questions = sum(f.is_question for f in form.fields)
    print(f"form load, default first-visit form ({len(Form.load(DEFAULT_FORM).fields)} fields): "
          f"cold {default_cold * 1000:.0f} ms, cached {default_cached * 1e6:.0f} µs")
    print(f"form load, generated form ({questions} questions, {len(form.fields)} fields): "
          f"cold {cold * 1000:.0f} ms, cached {cached * 1e6:.0f} µs")
    print(f"per call over {args.runs} questionnaires ({len(timings['step'])} steps):")
    for name, values in timings.items():
        print(f"  {name:<14} p50 {percentile(values, 0.5) * 1000:6.2f} ms   p99 {percentile(values, 0.99) * 1000:6.2f} ms"
              f"   mean {statistics.fmean(values) * 1000:6.2f} ms")
    print(f"memory per questionnaire in progress (half filled, {args.states} held): {per_state / 1024:.1f} KiB "
          f"in memory, {json_bytes} bytes of JSON stored")
    return 0


if __name__ == "__main__":
    sys.exit(main())
