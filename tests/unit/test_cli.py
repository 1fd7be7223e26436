"""The administrator's command line, as an operator would use it."""
from __future__ import annotations

import datetime as dt
import os
import re

import pytest

from bot.cli import main
from bot.config import Settings
from bot.wiring import build
from domain.invites import InviteKind, read_invite
from domain.reminders import policy_for
from domain.slots import WorkWeek


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("PINTU_INVITE_SECRET", "4CM2Y1PkdRpYxi-1KW3D6XvfwFUM-LQgcrGX2lPw5EI")
    monkeypatch.setenv("PINTU_BOT_USERNAME", "PintuSamarindaBot")
    assert main(["db", "upgrade"]) == 0
    assert main(["seed", "demo"]) == 0
    return Settings.from_env()


def _token(output: str) -> str:
    return re.search(r"t\.me/PintuSamarindaBot\?start=([A-Za-z0-9_-]+)", output).group(1)


def test_rt_head_invite_prints_a_deep_link_and_the_demo_page_link(env, capsys):
    assert main(["invite", "rt-head", "64.72.01.1001.0002", "--days", "3"]) == 0
    out = capsys.readouterr().out
    token = _token(out)
    assert len(token) <= 64
    assert f"start={token}" in out.split("demo page:")[1]
    invite = read_invite("4CM2Y1PkdRpYxi-1KW3D6XvfwFUM-LQgcrGX2lPw5EI", token, dt.datetime.now(dt.timezone.utc))
    assert invite.kind is InviteKind.RT_HEAD
    assert "RT 002" in out


def test_enumerator_invite_by_name(env, capsys):
    assert main(["invite", "enumerator", "agus"]) == 0
    token = _token(capsys.readouterr().out)
    invite = read_invite("4CM2Y1PkdRpYxi-1KW3D6XvfwFUM-LQgcrGX2lPw5EI", token, dt.datetime.now(dt.timezone.utc))
    assert invite.kind is InviteKind.ENUMERATOR


def test_unknown_sls_is_a_clear_error_not_a_traceback(env, capsys):
    assert main(["invite", "rt-head", "99.99"]) == 1
    assert "no SLS with code" in capsys.readouterr().err


def test_invite_without_a_secret_is_refused(env, monkeypatch, capsys):
    monkeypatch.setenv("PINTU_INVITE_SECRET", "")
    assert main(["invite", "resident", "64.72.01.1001.0001"]) == 1
    assert "PINTU_INVITE_SECRET" in capsys.readouterr().err


def test_working_hours_change_per_enumerator(env, capsys):
    assert main(["enumerator", "hours", "Rina", "--days", "mon-fri", "--from", "07:30", "--to", "15:30",
                 "--visit-minutes", "45"]) == 0
    pintu = build(env)
    with pintu.uow() as uow:
        rina = next(e for e in uow.enumerators.all() if e.name == "Rina")
        week = WorkWeek.from_json(rina.work_week)
    assert rina.visit_minutes == 45
    assert sorted(week.hours) == [0, 1, 2, 3, 4]
    assert week.hours[0] == ((dt.time(7, 30), dt.time(15, 30)),)
    assert main(["enumerator", "list"]) == 0
    assert "45 min" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args, message",
    [
        (["--from", "16:00", "--to", "08:00"], "start before it ends"),
        (["--visit-minutes", "20"], "multiple of 15"),
        (["--from", "08:10"], "15-minute mark"),
    ],
)
def test_working_hours_reject_nonsense(env, capsys, args, message):
    assert main(["enumerator", "hours", "Rina", *args]) == 1
    assert message in capsys.readouterr().err


def test_reminder_times_per_area_are_inherited_below(env, capsys):
    assert main(["reminders", "set", "64.72", "--evening", "18.30", "--before", "90"]) == 0
    assert "evening_at=18:30" in capsys.readouterr().out
    pintu = build(env)
    with pintu.uow() as uow:
        rt = uow.areas.by_code("64.72.01.1001.0001")
        found = policy_for(uow, rt.id)
    assert (found.evening, found.before) == (dt.time(18, 30), dt.timedelta(minutes=90))
    assert found.confirm_by == dt.time(21, 0)  # not set anywhere: the default stays


@pytest.mark.parametrize("args", [["--evening", "25:00"], ["--before", "5"], []])
def test_reminder_times_reject_nonsense(env, capsys, args):
    assert main(["reminders", "set", "64.72", *args]) == 1
    assert "error:" in capsys.readouterr().err


def test_invite_links_name_the_bot_that_answers_them(env, monkeypatch, capsys):
    monkeypatch.delenv("PINTU_BOT_USERNAME")
    assert main(["invite", "rt-head", "64.72.01.1001.0002"]) == 1
    assert "PINTU_BOT_USERNAME" in capsys.readouterr().err, "no link to somebody else's bot"
    build(Settings.from_env()).learn_bot_username("RegsosekSmdBot")  # the bot started: getMe's answer
    assert main(["invite", "rt-head", "64.72.01.1001.0002"]) == 0
    assert "https://t.me/RegsosekSmdBot?start=" in capsys.readouterr().out

def test_secret_new_makes_a_secret_the_bot_accepts(capsys):
    from domain.invites import secret_problem

    assert main(["secret", "new"]) == 0
    assert secret_problem(capsys.readouterr().out.strip()) is None


def test_a_weak_secret_is_refused_with_the_command_that_makes_a_good_one(env, monkeypatch, capsys):
    monkeypatch.setenv("PINTU_INVITE_SECRET", "x")
    assert main(["invite", "--role", "supervisor", "--area", "64.72.01.1001"]) == 1
    assert "pintu secret new" in capsys.readouterr().err


def test_keys_new_prints_a_key_the_keyring_reads(capsys):
    from storage.crypto import Keyring

    assert main(["keys", "new", "--id", "k2"]) == 0
    assert Keyring.parse(capsys.readouterr().out.strip()).current.key_id == "k2"


def test_keys_rotate_moves_the_families_to_the_first_key(env, monkeypatch, capsys):
    from storage.crypto import Keyring

    old = os.environ["PINTU_DATA_KEY"]
    monkeypatch.setenv("PINTU_DATA_KEY", Keyring.generate("k2").spec() + "," + old)
    assert main(["keys", "rotate"]) == 0
    assert "30 values re-encrypted under key k2" in capsys.readouterr().out
    assert main(["keys", "rotate"]) == 0
    assert "0 values re-encrypted under key k2 (found before, by key: k2: 30)" in capsys.readouterr().out


def test_revoking_someone_without_a_role_is_refused(env, capsys):
    assert main(["role", "revoke", "424242"]) == 1
    assert "no user with Telegram id 424242" in capsys.readouterr().err
    assert main(["role", "revoke"]) == 1


def test_run_on_postgresql_without_a_data_key_refuses_to_start(monkeypatch, capsys):
    from domain.invites import new_secret

    monkeypatch.delenv("PINTU_DATA_KEY", raising=False)
    monkeypatch.setenv("DATABASE_URL", "postgresql://pintu@127.0.0.1:1/pintu")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "1:abc")
    monkeypatch.setenv("PINTU_INVITE_SECRET", new_secret())
    assert main(["run"]) == 1
    assert "PINTU_DATA_KEY is not set" in capsys.readouterr().err


def test_run_with_a_weak_invite_secret_refuses_to_start(monkeypatch):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "1:abc")
    monkeypatch.setenv("PINTU_INVITE_SECRET", "x")
    with pytest.raises(SystemExit, match="pintu secret new"):
        main(["run"])

def test_requests_lists_open_privacy_requests_with_their_age_and_closes_one(env, capsys):
    from domain.model import PrivacyRequest

    pintu = build(env)
    long_ago = pintu.clock.now() - dt.timedelta(days=9, hours=1)
    with pintu.uow() as uow:
        uow.privacy.add(PrivacyRequest(kind="correction", telegram_id=5551, sls_id=7, text="KK salah: 6472…",
                                       created_at=long_ago))
        uow.privacy.add(PrivacyRequest(kind="erasure", telegram_id=5552, detail={"forwarded": 2, "records": ["r1", "r2"]},
                                       created_at=long_ago))
        uow.privacy.add(PrivacyRequest(kind="erasure", status="done", telegram_id=5553, created_at=long_ago))
        uow.commit()
    capsys.readouterr()
    assert main(["requests"]) == 0
    listed = capsys.readouterr().out
    assert "2 open request(s)" in listed and "correction" in listed and "9 days" in listed
    assert "KK salah" not in listed and "r1" not in listed, "the list names no personal data"
    assert main(["requests", "close", "1"]) == 0
    assert "closed" in capsys.readouterr().out
    assert main(["requests"]) == 0
    assert "1 open request(s)" in capsys.readouterr().out
    assert main(["requests", "close", "99"]) == 1


def test_hours_several_windows_a_sunday_an_opened_holiday_and_the_areas_limits(env, capsys):
    assert main(["hours", "set", "--enumerator", "Rina", "--day", "mon-fri", "--windows", "08:00-12:00,16:00-20:00"]) == 0
    assert main(["hours", "set", "--enumerator", "Rina", "--day", "sun", "--windows", "09:00-11:00"]) == 0
    assert main(["hours", "open-date", "--enumerator", "Rina", "--date", "2026-03-20", "--windows", "16:00-18:00"]) == 0
    assert "Cuti Bersama Hari Raya Idul Fitri" in capsys.readouterr().out
    assert main(["hours", "limits", "--area", "64.72", "--earliest", "06:30", "--cuti-bersama", "open"]) == 0
    assert main(["hours", "show", "--enumerator", "Rina"]) == 0
    out = capsys.readouterr().out
    assert "mon  08:00–12:00, 16:00–20:00" in out and "sun  09:00–11:00" in out and "sat  08:00–16:00" in out
    assert "2026-03-20  16:00–18:00  (opened)" in out and "limits 06:30-21:00, cuti bersama open" in out
    pintu = build(env)
    with pintu.uow() as uow:
        week = WorkWeek.from_json(next(e for e in uow.enumerators.all() if e.name == "Rina").work_week)
    assert week.hours[6] == ((dt.time(9), dt.time(11)),) and dt.date(2026, 3, 20) in week.dates
    assert main(["hours", "close-date", "--enumerator", "Rina", "--date", "2026-03-20"]) == 0


@pytest.mark.parametrize("args, message", [
    (["set", "--enumerator", "Rina", "--day", "mon", "--windows", "12:00-08:00"], "start before it ends"),
    (["set", "--enumerator", "Rina", "--day", "funday", "--windows", "08:00-12:00"], "unknown day"),
    (["set", "--enumerator", "Rina", "--day", "mon", "--windows", "08:00-12:00,11:00-13:00"], "overlaps"),
    (["open-date", "--enumerator", "Rina", "--date", "2026-03-22"], "give the date's windows"),  # a Sunday off
    (["close-date", "--enumerator", "Rina", "--date", "2026-03-22"], "was not opened"),
    (["limits", "--area", "99"], "no area"),
    (["limits", "--area", "64.72"], "nothing to change"),
])
def test_hours_reject_nonsense(env, capsys, args, message):
    assert main(["hours", *args]) == 1
    assert message in capsys.readouterr().err
