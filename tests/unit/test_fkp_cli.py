"""`pintu fkp plan | list | show`: the forums of a kelurahan, their invites, and what an operator sees."""
from __future__ import annotations

import datetime as dt
import re

import pytest

from bot.cli import main
from domain.invites import InviteKind, read_invite

SECRET = "4CM2Y1PkdRpYxi-1KW3D6XvfwFUM-LQgcrGX2lPw5EI"


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("PINTU_INVITE_SECRET", SECRET)
    monkeypatch.setenv("PINTU_BOT_USERNAME", "PintuSamarindaBot")
    assert main(["db", "upgrade"]) == 0
    assert main(["seed", "demo"]) == 0


def test_plan_prints_one_invite_per_seat_and_list_and_show_describe_the_forum(env, capsys):
    capsys.readouterr()
    assert main(["fkp", "plan", "--area", "64.72.01.1001", "--at", "2027-05-04 09:00", "--place", "Aula Kelurahan",
                 "--figures", "2"]) == 0
    out = capsys.readouterr().out
    assert "2027-05-04 09:00 Asia/Makassar" in out and "2027-04-27 09:00" in out  # local time; prep 7 days
    assert "SLS (3)" in out
    tokens = re.findall(r"t\.me/PintuSamarindaBot\?start=([A-Za-z0-9_-]+)", out)
    assert len(tokens) == 6  # facilitator, 2 assistants, administrator, 2 figures
    invite = read_invite(SECRET, tokens[0], dt.datetime(2027, 1, 1, tzinfo=dt.timezone.utc))
    assert invite.kind is InviteKind.FKP_SEAT
    assert invite.expires_at == dt.datetime(2027, 5, 5, 1, 0, tzinfo=dt.timezone.utc)  # the day after, 09.00 WITA

    assert main(["fkp", "list", "--area", "64.72.01"]) == 0
    listed = capsys.readouterr().out
    assert "64.72.01.1001" in listed and "planned" in listed and "3 SLS" in listed
    forum_id = listed.split()[0]
    assert main(["fkp", "show", forum_id]) == 0
    shown = capsys.readouterr().out
    assert "facilitator" in shown and "(invite not used)" in shown and "0 moves" in shown


@pytest.mark.parametrize(("args", "message"), [
    (["--area", "64.72.01.1001", "--at", "4 May 2027"], "YYYY-MM-DD HH:MM"),
    (["--area", "64.72.01", "--at", "2027-05-04 09:00"], "not a kelurahan"),
    (["--area", "99.99", "--at", "2027-05-04 09:00"], "no area"),
    (["--area", "64.72.01.1001", "--at", "2020-05-04 09:00"], "has passed"),
])
def test_plan_refuses_nonsense_with_a_clear_message(env, capsys, args, message):
    assert main(["fkp", "plan", *args]) == 1
    assert message in capsys.readouterr().err


def test_a_kelurahan_is_planned_once(env, capsys):
    assert main(["fkp", "plan", "--area", "64.72.01.1001", "--at", "2027-05-04 09:00"]) == 0
    assert main(["fkp", "plan", "--area", "64.72.01.1001", "--at", "2027-05-05 09:00"]) == 1
    assert "planned already" in capsys.readouterr().err
