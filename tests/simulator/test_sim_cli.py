"""``python -m simulator`` command line."""

from __future__ import annotations

import pytest

import simulator.__main__ as cli


def test_bots_and_settings_reach_the_server(monkeypatch):
    seen = {}
    monkeypatch.setattr(cli, "run", lambda host, port, config, bots: seen.update(locals()))
    cli.main(["--port", "9000", "--bot", "1:a=first_bot", "--bot", "2:b=second_bot", "--no-rate-limits"])
    assert (seen["host"], seen["port"]) == ("127.0.0.1", 9000)
    assert seen["bots"] == [("1:a", "first_bot"), ("2:b", "second_bot")]
    assert seen["config"].rate_limits is False


def test_a_bot_needs_a_username(monkeypatch):
    monkeypatch.setattr(cli, "run", lambda *args: None)
    with pytest.raises(SystemExit):
        cli.main(["--bot", "1:a"])
