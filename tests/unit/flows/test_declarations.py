"""The flows as declared (handlers/flows/, handlers/flow.py): every state belongs to one flow, has an
entry and can be reached; every command and button prefix has one owner and every command is in the
role matrix; no flow imports another; a conversation left in a state that no longer exists goes home."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from domain.access import COMMAND_ACTIONS
from handlers.app import Router
from handlers.flow import Accepts, Flow, StateSpec
from handlers.flowgraph import HOME, edges, mermaid
from handlers.flows import FLOWS
from handlers.states import State
from domain.model import Conversation
from tests.unit.flows.helpers import ID, Person

FLOW_DIR = Path(__file__).resolve().parents[3] / "handlers" / "flows"
DECLARED = [spec for flow in FLOWS for spec in flow.states]


def test_every_state_is_declared_by_exactly_one_flow_with_an_entry():
    declared = [spec.state for spec in DECLARED]
    assert sorted(declared) == sorted(set(State) - {State.IDLE}), "a state without a flow, or one declared twice"
    assert [spec.state for spec in DECLARED if spec.enter is None] == []


def test_every_state_can_be_reached_from_a_command_a_button_or_another_state():
    reached = {edge.target for flow in FLOWS for edge in edges(flow)}
    assert HOME in reached
    assert [spec.state for spec in DECLARED if spec.state.value not in reached] == []


def test_where_a_step_leads_is_read_from_its_own_module():
    booking = next(flow for flow in FLOWS if flow.name == "booking")
    onboarding = next(flow for flow in FLOWS if flow.name == "onboarding")
    assert {e.target for e in edges(booking) if e.source == "button tm"} >= {State.CONFIRM.value, State.PICK_TIME.value}
    # Registering the family leads into the booking flow without importing it.
    assert {e.target for e in edges(onboarding) if e.source == "button mb"} == {State.FAMILY_ADDRESS.value}
    assert {e.target for e in edges(onboarding) if e.source == State.FAMILY_LOCATION.value} >= {
        State.PICK_DAY.value, State.FAMILY_ADDRESS.value, State.FAMILY_KK.value}


def test_every_command_and_button_prefix_has_one_owner():
    router = Router(FLOWS)  # raises on a name declared twice
    assert set(router.commands) == {name for flow in FLOWS for name in flow.commands}
    prefixes = [prefix for flow in FLOWS for prefix in flow.buttons] + sorted(router.presses)
    assert len(prefixes) == len(set(prefixes))
    twice = Flow(name="twice", doc="", commands={"menu": lambda ctx: None})
    with pytest.raises(ValueError, match="'menu' is declared by two flows"):
        Router([*FLOWS, twice])


def test_every_command_is_in_the_role_matrix():
    commands = {name for flow in FLOWS for name in (*flow.commands, *flow.group_commands)} - {"grup", "group"}
    assert commands - set(COMMAND_ACTIONS) == set()


def test_a_state_declares_what_it_reads():
    with pytest.raises(ValueError, match="typed text exactly when"):
        StateSpec(State.PICK_DAY, Accepts.TEXT)
    with pytest.raises(ValueError, match="belongs to booking"):
        Flow(name="onboarding", doc="", states=(StateSpec(State.PICK_DAY, Accepts.BUTTON),))


def test_no_flow_module_imports_another():
    flows = {path.stem for path in FLOW_DIR.glob("*.py") if path.stem != "__init__"}
    found = []
    for path in sorted(FLOW_DIR.glob("*.py")):
        if path.stem == "__init__":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = {node.module.rpartition(".")[2]} | {a.name for a in node.names} if node.module.startswith("handlers.flows") or node.module == "handlers" else set()
                found += [(path.stem, n) for n in names & flows if n != path.stem]
    assert found == []


def test_the_state_graph_is_printed_as_mermaid():
    text = mermaid(FLOWS)
    assert text.startswith("flowchart LR")
    for flow in FLOWS:
        assert f"subgraph {flow.name}[" in text
    assert "onboarding_family_location -->|input| booking_pick_day" in text


def test_a_conversation_in_a_state_that_no_longer_exists_goes_home_and_keeps_the_family(world):
    wati = Person(world, 1001)
    wati.agree_and_choose_rt()
    wati.say("Wati Suryani")
    with world.session_factory() as session:  # a state an older Pintu stored, gone after an upgrade
        session.get(Conversation, 1001).state = "family_nickname"
        session.commit()
    wati.say("hello")
    assert wati.screen.startswith(ID("state-gone"))
    assert ID("ask-family-name") in wati.screen and wati.conversation().state == State.FAMILY_NAME
    assert wati.user().sls_id is not None  # what she gave before is kept


def test_the_architecture_guide_shows_the_state_graph_as_pintu_flows_prints_it():
    readme = (FLOW_DIR.parents[1] / "docs" / "architecture.md").read_text()
    shown = readme.split("<!-- flows:begin -->\n```mermaid\n", 1)[1].split("\n```\n<!-- flows:end -->", 1)[0]
    assert shown == mermaid(FLOWS), "run `pintu flows` and paste its output into docs/architecture.md"
