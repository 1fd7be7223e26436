"""Real XLSForms written by others run end to end, or `pintu form check` says why not (bench/forms_corpus.py).

The corpus is tests/forms_corpus/ (sources and licences in its SOURCES.md). Each form pyxform converts
is filled in with automatic answers as the enumerator would fill it in the chat; one that cannot be
run must be explained by check_form with its sheet and row. The share that runs may only go up.
"""
from __future__ import annotations

import re
import warnings

import pytest

from bench.forms_corpus import BROKEN, CORPUS, EXPLAINED, NOT_XLSFORM, RUNS, corpus_forms, run_form, summary

# Forms that run today; raise it when more do (never lower it: that is a regression).
RUNS_AT_LEAST = 54  # of 63 with repeat groups and the new question types (43 before them)


@pytest.fixture(scope="module")
def outcomes():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openpyxl's notes about Excel extensions in others' files
        return [run_form(path) for path in corpus_forms()]


def test_the_corpus_has_at_least_30_forms_each_with_its_source_and_licence() -> None:
    sources = (CORPUS / "SOURCES.md").read_text(encoding="utf-8")
    forms = corpus_forms()
    assert len(forms) >= 30
    for path in forms:
        assert f"| {path.parent.name}/{path.name} |" in sources, f"{path.name} is not in SOURCES.md"
    assert sources.count("Licence:") == len({p.parent for p in forms})


def test_every_form_runs_or_is_explained_by_form_check(outcomes) -> None:
    broken = [f"{o.name}: {o.detail}" for o in outcomes if o.status == BROKEN]
    assert broken == []


def test_every_explanation_names_its_sheet_and_row(outcomes) -> None:
    for outcome in (o for o in outcomes if o.status == EXPLAINED):
        for error in outcome.errors:
            assert re.match(r"error: sheet '\w+', row \d+: ", str(error)), (outcome.name, str(error))


def test_the_share_that_runs_does_not_go_down(outcomes) -> None:
    figures = summary(outcomes)
    assert figures["runs"] >= RUNS_AT_LEAST, [o.name for o in outcomes if o.status != RUNS]


def test_forms_pyxform_refuses_are_not_counted(outcomes) -> None:
    refused = {o.name for o in outcomes if o.status == NOT_XLSFORM}
    assert refused == {"pyxform/calculate_without_calculation.xls"}


@pytest.mark.parametrize("name, needs", [
    ("onadata/nested_repeats.xls", "nested repeats"), ("osm_fieldwork/toilets.xls", "attachments"),
])
def test_what_a_form_waits_for_is_counted(outcomes, name: str, needs: str) -> None:
    outcome = next(o for o in outcomes if o.name == name)
    assert outcome.status == EXPLAINED and outcome.needs == needs, outcome


@pytest.mark.parametrize("name", [
    "pyxform/sms_info.xls",            # start, end, today, deviceid, phonenumber
    "pyxform/gps.xls",                 # the gps alias
    "pyxform/choice_filter_test.xlsx",  # cascading selects
    "pyxform/pull_data.xlsx",          # pulldata() from fruits.csv
    "pyxform/loop.xlsx",               # a loop over a list: the same name in several groups
    "pyxform/choice_name_as_type.xls",  # select_one external from the external_choices sheet
    "pyxform/tutorial.xls",            # a repeat group
    "pyxform/repeat_date_test.xls",    # dates inside a repeat
    "pyxform/widgets.xls",             # time, dateTime, barcode, audio, video, acknowledge…
    "pyxform/flat_xlsform_test.xlsx",  # a flat group (no node of its own)
])
def test_forms_using_what_odk_offers_run(outcomes, name: str) -> None:
    outcome = next(o for o in outcomes if o.name == name)
    assert outcome.status == RUNS and outcome.steps > 0, outcome


@pytest.mark.parametrize("strategy", ["last", "blank"])
def test_other_branches_of_the_forms_that_run_run_too(outcomes, strategy: str) -> None:
    """The last choices and largest numbers first, or every optional question left blank first."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        again = [run_form(o.path, strategy) for o in outcomes if o.status == RUNS]
    assert [f"{o.name}: {o.detail}" for o in again if o.status != RUNS] == []
