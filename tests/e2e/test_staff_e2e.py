"""Taking a role back, end to end through python-telegram-bot and aiogram on the simulator: a supervisor
joins by invite and has the supervisor's menu; `pintu role revoke` makes them a resident again, and at
their next message the menu and the supervisor's commands are gone. An invite withdrawn before use
opens nothing."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning")

from bot.cli import main  # noqa: E402
from domain.invites import InviteKind  # noqa: E402
from e2e_support import BOT_ID, SECRET, Env  # noqa: E402


@pytest.fixture
def admin_cli(env: Env, monkeypatch: pytest.MonkeyPatch):
    """`pintu ...` on the bot's own database, as the administrator runs it beside the bot."""
    monkeypatch.setenv("DATABASE_URL", env.pintu.settings.database_url)
    monkeypatch.setenv("PINTU_INVITE_SECRET", SECRET)
    monkeypatch.setattr("bot.cli.configure_logging", lambda *args: None)  # keep the bot's logging as it is
    return main


def menu(env: Env, user_id: int) -> list[str]:
    return [c["command"] for c in env.sim.commands(BOT_ID, user_id, "")]


def test_a_revoked_supervisor_loses_the_menu_and_the_commands(env: Env, admin_cli, capsys) -> None:
    pak = env.person(3101, "Pak Budi")
    token = env.invite(InviteKind.SUPERVISOR, env.area.village_id)
    consent = pak.say(f"/start {token}", "Selamat datang di Pintu")
    pak.press(consent, f"cs:y:{token}", "pengawas (PML)")
    pak.say("/progres", "Progres Kelurahan/Desa Rawa Makmur")
    env.sim.wait_for(lambda: "progres" in menu(env, 3101))

    assert admin_cli(["staff", "list"]) == 0
    assert "3101\tsupervisor\tPak Budi" in capsys.readouterr().out
    assert admin_cli(["role", "revoke", "3101"]) == 0
    assert "no longer supervisor" in capsys.readouterr().out
    assert admin_cli(["audit"]) == 0
    assert "role.change" in capsys.readouterr().out  # the revocation is in the audit log

    refused = pak.say("/progres", "tidak berwenang")
    assert "Rawa Makmur" not in refused["text"]
    env.sim.wait_for(lambda: "progres" not in menu(env, 3101) and "menu" in menu(env, 3101))
    assert admin_cli(["staff", "list"]) == 0
    assert "3101" not in capsys.readouterr().out


def test_a_withdrawn_invite_opens_nothing(env: Env, admin_cli, capsys) -> None:
    # The CLI reads the invite on the system clock, the bot on the test's fake one: valid for both.
    token = env.invite(InviteKind.SUPERVISOR, env.area.village_id, days=90)
    assert admin_cli(["role", "revoke", "--invite", token]) == 0
    assert "supervisor invite withdrawn" in capsys.readouterr().out
    eve = env.person(3102, "Eve")
    consent = eve.say(f"/start {token}", "Selamat datang di Pintu")
    eve.press(consent, f"cs:y:{token}", "tidak sah")
    eve.say("/progres", "tidak berwenang")
    assert env.query(lambda uow: uow.users.by_telegram_id(3102).role) == "resident"
