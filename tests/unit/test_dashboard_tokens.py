"""The dashboard's sign-in tokens and CSRF tokens (domain/dashboard.py): signed, single use, expiring,
stored only as digests; the roles that may sign in are the chat's (domain/access.py)."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from domain import access, dashboard
from domain.dashboard import LinkProblem, LinkRefused
from storage.db import make_session_factory
from storage.tables import web_links, web_sessions
from storage.uow import SqlUnitOfWork
from tests.factories import make_user

SECRET = "k" * 48
NOW = dt.datetime(2026, 11, 23, 1, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def uow_factory(sqlite_engine):
    factory = make_session_factory(sqlite_engine)
    return lambda: SqlUnitOfWork(factory)


def user_with(uow_factory, role: str) -> int:
    with uow_factory() as uow:
        user = make_user(uow, NOW, role=role)
        uow.commit()
        return user.id


def issue(uow_factory, user_id: int, secret: str = SECRET, now: dt.datetime = NOW) -> str:
    with uow_factory() as uow:
        token = dashboard.issue_link(uow, secret, uow.users.get(user_id), now)
        uow.commit()
    return token


def redeem(uow_factory, token: str, now: dt.datetime = NOW, secret: str = SECRET) -> str:
    with uow_factory() as uow:
        try:
            session_token, _ = dashboard.redeem_link(uow, secret, token, now)
        finally:
            uow.commit()
    return session_token


def problem(uow_factory, token: str, **kwargs) -> LinkProblem:
    with pytest.raises(LinkRefused) as refused:
        redeem(uow_factory, token, **kwargs)
    return refused.value.problem


def test_a_link_opens_one_session_then_is_used(uow_factory):
    token = issue(uow_factory, user_with(uow_factory, "supervisor"))
    session_token = redeem(uow_factory, token, NOW + dt.timedelta(minutes=9))
    with uow_factory() as uow:
        assert dashboard.live_session(uow, session_token, NOW) is not None
    assert problem(uow_factory, token) is LinkProblem.USED


def test_a_link_expires_after_ten_minutes(uow_factory):
    token = issue(uow_factory, user_with(uow_factory, "coordinator"))
    assert problem(uow_factory, token, now=NOW + dashboard.LINK_TTL) is LinkProblem.EXPIRED
    # and stays unused: the refusal used nothing up
    with uow_factory() as uow:
        assert uow.session.execute(select(web_links.c.used_at)).scalar() is None


@pytest.mark.parametrize("change", [
    lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # the signature altered
    lambda t: ("A" if t[0] != "A" else "B") + t[1:],  # the nonce altered
    lambda t: t[:20],  # cut short
    lambda t: "x" * 5000,  # nonsense, long
    lambda t: "!!!",  # not base64
])
def test_a_forged_link_is_refused(uow_factory, change):
    token = issue(uow_factory, user_with(uow_factory, "admin"))
    assert problem(uow_factory, change(token)) is LinkProblem.FORGED


def test_a_link_signed_with_another_secret_is_forged(uow_factory):
    token = issue(uow_factory, user_with(uow_factory, "admin"), secret="z" * 48)
    assert problem(uow_factory, token) is LinkProblem.FORGED


def test_only_digests_are_stored(uow_factory):
    token = issue(uow_factory, user_with(uow_factory, "supervisor"))
    session_token = redeem(uow_factory, token)
    with uow_factory() as uow:
        links = uow.session.execute(select(web_links.c.token_hash)).scalars().all()
        sessions = uow.session.execute(select(web_sessions.c.token_hash)).scalars().all()
    assert links == [dashboard.digest(token)] and sessions == [dashboard.digest(session_token)]


@pytest.mark.parametrize("role", access.ROLES)
def test_who_may_sign_in_is_the_access_rule(uow_factory, role):
    user_id = user_with(uow_factory, role)
    if role in ("supervisor", "coordinator", "admin"):
        assert issue(uow_factory, user_id)
    else:
        with pytest.raises(LinkRefused) as refused:
            issue(uow_factory, user_id)
        assert refused.value.problem is LinkProblem.NOT_ALLOWED


def test_a_role_taken_back_closes_the_session(uow_factory):
    user_id = user_with(uow_factory, "supervisor")
    session_token = redeem(uow_factory, issue(uow_factory, user_id))
    with uow_factory() as uow:
        uow.users.get(user_id).role = "resident"
        uow.commit()
    with uow_factory() as uow:
        assert dashboard.live_session(uow, session_token, NOW) is None


def test_sessions_last_eight_hours_and_end_at_logout(uow_factory):
    user_id = user_with(uow_factory, "supervisor")
    first = redeem(uow_factory, issue(uow_factory, user_id))
    second = redeem(uow_factory, issue(uow_factory, user_id))
    with uow_factory() as uow:
        assert dashboard.live_session(uow, first, NOW + dt.timedelta(hours=7, minutes=59)) is not None
        assert dashboard.live_session(uow, first, NOW + dashboard.SESSION_TTL) is None
        dashboard.end_session(uow, second, NOW)
        uow.commit()
    with uow_factory() as uow:
        assert dashboard.live_session(uow, second, NOW) is None
        assert dashboard.live_session(uow, first, NOW) is not None  # the other browser stays signed in


def test_csrf_tokens_belong_to_their_session():
    mine, theirs = "session-a", "session-b"
    token = dashboard.csrf_token(SECRET, mine)
    assert dashboard.csrf_ok(SECRET, mine, token)
    assert not dashboard.csrf_ok(SECRET, theirs, token)
    assert not dashboard.csrf_ok(SECRET, mine, "")
    assert not dashboard.csrf_ok("q" * 48, mine, token)
