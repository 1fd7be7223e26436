"""Each role's command menu offers exactly the commands the access rules let that role use."""
from __future__ import annotations

import pytest

from domain.access import ROLES, can_use_command
from handlers.app import COMMANDS
from handlers.menus import MENU, MENU_ROLES, chat_menu, commands_for, menu_update


class Someone:
    def __init__(self, role: str, menu_role: str | None = None) -> None:
        self.role, self.menu_role = role, menu_role


def names(role: str, language: str = "id") -> list[str]:
    return [name for name, _ in commands_for(role, language)]


@pytest.mark.parametrize("role", ROLES)
def test_a_menu_offers_exactly_what_the_role_may_use(role: str) -> None:
    offered = set(names(role))
    for indonesian, english in MENU:
        assert COMMANDS[indonesian] is COMMANDS[english]
        allowed = can_use_command(Someone(role), indonesian) and role in MENU_ROLES.get(indonesian, {role})  # type: ignore[arg-type]  # the router's own check
        assert (indonesian in offered) == allowed, (role, indonesian)


def test_what_each_role_sees_in_its_menu() -> None:
    assert names("resident") == ["start", "menu", "janji", "pindah", "batal", "isi", "dataku", "privasi", "bahasa",
                                 "bantuan"]
    assert all("dataku" in names(role) for role in ROLES)  # the privacy notice's rights are everyone's
    assert all("privasi" in names(role) for role in ROLES)  # and so is reading the notice again
    assert {"keluarga", "isi"} <= set(names("rt_head")) and not {"janji", "jadwal", "progres"} & set(names("rt_head"))
    assert {"jadwal", "kunjungan", "isi"} <= set(names("enumerator")) and "keluarga" not in names("enumerator")
    assert {"progres", "tinjau", "ekspor"} <= set(names("supervisor")) and "isi" not in names("supervisor")
    assert names("enumerator", "en")[:2] == ["start", "menu"] and "schedule" in names("enumerator", "en")
    assert all(0 < len(description) <= 256 for role in ROLES for lang in ("id", "en") for _, description in commands_for(role, lang))


def test_the_chat_menu_follows_a_changed_role_once() -> None:
    resident = Someone("resident")
    assert menu_update(resident, 1001) is None  # the bot's default menu is already the resident's
    officer = Someone("enumerator")
    action = menu_update(officer, 4001)
    assert action is not None and action.chat_id == 4001 and officer.menu_role == "enumerator"
    menus = dict(action.menus)
    assert [n for n, _ in menus[""]] == names("enumerator") and [n for n, _ in menus["en"]] == names("enumerator", "en")
    assert menu_update(officer, 4001) is None  # set once, not on every message
    officer.role = "resident"  # the admin took the role back: the resident's menu returns
    assert menu_update(officer, 4001) == chat_menu(4001, "resident")
