"""The flow tests' fixture: ``world``, the demo kelurahan on Monday 23 November 2026, 08.00 WITA
(the world and the people in it: helpers.py)."""
from __future__ import annotations

import pytest

from tests.unit.flows.helpers import MONDAY_8_WITA, World, make_world


@pytest.fixture
def world() -> World:
    return make_world(MONDAY_8_WITA)
