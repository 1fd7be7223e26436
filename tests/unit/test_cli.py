"""The administrator's command line, as an operator would use it."""
from __future__ import annotations

import datetime as dt
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
    monkeypatch.setenv("PINTU_INVITE_SECRET", "cli-secret")
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
    invite = read_invite("cli-secret", token, dt.datetime.now(dt.timezone.utc))
    assert invite.kind is InviteKind.RT_HEAD
    assert "RT 002" in out


def test_enumerator_invite_by_name(env, capsys):
    assert main(["invite", "enumerator", "agus"]) == 0
    token = _token(capsys.readouterr().out)
    invite = read_invite("cli-secret", token, dt.datetime.now(dt.timezone.utc))
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
    assert week.hours[0] == (dt.time(7, 30), dt.time(15, 30))
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
