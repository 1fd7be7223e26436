"""/dasbor in the chat: a supervisor gets a one-time sign-in link to the web dashboard; other roles do not."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from chat.keyboard import Keyboard
from domain import dashboard
from domain.invites import InviteKind
from handlers.app import PintuHandlers
from handlers.context import HandlerConfig
from storage.tables import web_links
from tests.unit.flows.helpers import ID, SECRET, Person

WEB = "https://pintu.example.go.id/dasbor"


def with_dashboard(world, web_url: str = WEB) -> None:
    world.handlers = PintuHandlers(lambda: world.uow_factory(), world.clock,
                                   HandlerConfig(invite_secret=SECRET, web_url=web_url))


def supervisor(world) -> Person:
    token = world.invite(InviteKind.SUPERVISOR, world.village_id)
    person = Person(world, 3001, "Bu Sri")
    person.say(f"/start {token}")
    person.press(f"cs:y:{token}")
    return person


def link_url(person: Person) -> str:
    markup = person.messages[person.last_id][1]
    assert isinstance(markup, Keyboard)
    urls = [b.url for b in markup.buttons if b.url]
    assert len(urls) == 1
    return urls[0]


def test_a_supervisor_gets_a_link_that_signs_in_once(world):
    with_dashboard(world)
    sri = supervisor(world)
    sri.say("/dasbor")
    assert "10 menit" in sri.screen
    url = link_url(sri)
    assert url.startswith(f"{WEB}/masuk/")
    token = url.rsplit("/", 1)[1]
    with world.uow_factory() as uow:
        assert dashboard.check_link(uow, SECRET, token, world.clock.now()).telegram_id == 3001
        dashboard.redeem_link(uow, SECRET, token, world.clock.now())
        uow.commit()
    with world.uow_factory() as uow, pytest.raises(dashboard.LinkRefused) as refused:
        dashboard.redeem_link(uow, SECRET, token, world.clock.now())
    assert refused.value.problem is dashboard.LinkProblem.USED


def test_the_progress_screen_offers_the_dashboard(world):
    with_dashboard(world)
    sri = supervisor(world)
    sri.say("/progres")
    button = next(data for data in sri.buttons() if data.startswith("sv:d:"))
    progress_screen = sri.last_id
    sri.press(button)
    assert sri.last_id != progress_screen  # the link comes as a new message; the progress screen stays
    assert link_url(sri).startswith(f"{WEB}/masuk/")


def test_without_a_dashboard_url_the_command_says_so(world):
    sri = supervisor(world)
    sri.say("/dashboard")
    assert sri.screen == ID("web-chat-off")
    sri.say("/progres")
    assert not [data for data in sri.buttons() if data.startswith("sv:d:")]


def test_a_resident_may_not_ask_for_a_link(world):
    with_dashboard(world)
    wati = Person(world, 4001)
    wati.agree_by_invite()
    with world.uow_factory() as uow:
        before = uow.session.execute(select(func.count()).select_from(web_links)).scalar()
    wati.say("/dasbor")
    assert wati.screen == ID("not-allowed")
    with world.uow_factory() as uow:
        assert uow.session.execute(select(func.count()).select_from(web_links)).scalar() == before


def test_an_expired_link_is_refused(world):
    with_dashboard(world)
    sri = supervisor(world)
    sri.say("/dasbor")
    token = link_url(sri).rsplit("/", 1)[1]
    with world.uow_factory() as uow, pytest.raises(dashboard.LinkRefused) as refused:
        dashboard.check_link(uow, SECRET, token, world.clock.now() + dt.timedelta(minutes=10))
    assert refused.value.problem is dashboard.LinkProblem.EXPIRED
