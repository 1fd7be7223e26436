"""Fixtures for the form engine tests: forms written on the fly and a clock standing still."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from form_sheets import NOW, Rows, write_xlsform

from domain.clock import FakeClock
from forms import Form, Questionnaire


@pytest.fixture
def xlsform(tmp_path: Path) -> Callable[..., Path]:
    """make(survey_rows, choices_rows=(), settings=None) -> the path of a new .xlsx."""
    counter = iter(range(1000))

    def make(survey: Rows, choices: Rows = (), settings: dict[str, str] | None = None) -> Path:
        return write_xlsform(tmp_path / f"form{next(counter)}.xlsx", survey, choices, settings)
    return make


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def engine_for(xlsform: Callable[..., Path], clock: FakeClock) -> Callable[..., Questionnaire]:
    """engine_for(survey_rows, choices_rows=()) -> a Questionnaire on a new form and the fixed clock."""
    def make(survey: Rows, choices: Rows = (), settings: dict[str, str] | None = None) -> Questionnaire:
        return Questionnaire(Form.load(xlsform(survey, choices, settings)), clock)
    return make
