"""The command menu (the "/" list and the menu button) of each role, as plain data.

Everyone starts with the default menu, the resident's, set once at start for the whole bot. A user who
becomes an RT head, an enumerator, a supervisor or a coordinator gets their chat's own menu (a chat
scope, in Indonesian and English); one who is given back the resident role gets the resident's menu
again. A command is in a role's menu exactly when the access rules let that role use it
(domain/access.py), so the menu never offers what would answer "not allowed".

Which role's menu a chat has is kept in ``users.menu_role``; ``menu_update`` compares it with the
user's role after every update, so a role changed anywhere (an invite, the admin CLI) reaches the menu
on the user's next message.
"""
from __future__ import annotations

from typing import Any

from domain.access import role_may_use
from chat.events import SetChatMenu
from chat.i18n import Translator

# (Indonesian name, English name), in menu order; the description is the catalog's cmd-<Indonesian name>.
MENU: tuple[tuple[str, str], ...] = (
    ("start", "start"),
    ("menu", "menu"),
    ("janji", "appointment"),
    ("pindah", "move"),
    ("batal", "cancel"),
    ("keluarga", "families"),
    ("jadwal", "schedule"),
    ("jamkerja", "hours"),
    ("kunjungan", "visit"),
    ("isi", "fill"),
    ("progres", "progress"),
    ("tinjau", "review"),
    ("ekspor", "export"),
    ("fkp", "fkp"),
    ("dasbor", "dashboard"),
    ("dataku", "mydata"),
    ("privasi", "privacy"),
    ("bahasa", "language"),
    ("bantuan", "help"),
)

# Commands the access rules allow more widely than a menu should suggest them: /kunjungan (the visit
# record, with a family id) is the enumerator's tool; others may still type it.
MENU_ROLES: dict[str, frozenset[str]] = {"kunjungan": frozenset({"enumerator"}),
                                         # the consultation is the RT heads' task; others are led there by
                                         # an invite or a notice, and may still type it
                                         "fkp": frozenset({"rt_head"})}

DEFAULT_ROLE = "resident"
# Menus by language code: "" is everyone else (Indonesian first), "en" English-language clients.
MENU_LANGUAGES: tuple[tuple[str, str], ...] = (("", "id"), ("en", "en"))


def commands_for(role: str, language: str) -> list[tuple[str, str]]:
    """``[(command, description)]`` of ``role``'s menu; English command names for "en"."""
    t = Translator(language)
    return [(english if language == "en" else indonesian, t(f"cmd-{indonesian}"))
            for indonesian, english in MENU
            if role_may_use(role, indonesian) and role in MENU_ROLES.get(indonesian, {role})]


def chat_menu(chat_id: int, role: str) -> SetChatMenu:
    return SetChatMenu(chat_id, tuple((code, tuple(commands_for(role, language))) for code, language in MENU_LANGUAGES))


def menu_update(user: Any, chat_id: int) -> SetChatMenu | None:
    """The chat's new menu when the user's role is not the one their chat's menu was made for."""
    if user is None or user.role == (user.menu_role or DEFAULT_ROLE):
        return None
    user.menu_role = user.role
    return chat_menu(chat_id, user.role)
