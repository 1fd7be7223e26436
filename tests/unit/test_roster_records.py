"""A household roster leaving Pintu: the engine's submission and registry/openrosa's instance validate
against the XForm pyxform makes of the built-in form, and the JSON contract carries it as arrays
(pintu.record/2), while a record without a repeat stays pintu.record/1."""
from __future__ import annotations

import datetime as dt
import types
import uuid
import xml.etree.ElementTree as ET

import pytest
from pyxform.xls2xform import convert

from domain.clock import FakeClock
from forms import Attachment, Form, Location, Questionnaire
from forms.default import DEFAULT_FORM
from registry.openrosa import FormLibrary
from registry.payload import Payload, PayloadBuilder, validation_errors
from tests.factories import roster_answers

XFORMS = "{http://www.w3.org/2002/xforms}"
JR_TEMPLATE = "{http://openrosa.org/javarosa}template"
NOW = dt.datetime(2026, 11, 23, 2, tzinfo=dt.timezone.utc)
NAMES = ["Wati Lestari", "Joko Susilo", "Rina"]


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def instance_problems(xform: str, submitted: str | bytes) -> list[str]:
    """What ODK Central would refuse: an element the XForm's primary instance does not have at that
    place, children out of the instance's order, a non-repeat element twice, a jr:template copy, a root
    whose id/version differ, or no instanceID. (ODK Validate itself needs Java; this checks the structure.)"""
    model = ET.fromstring(xform).find(f".//{XFORMS}model")
    template = model.find(f"{XFORMS}instance")[0]
    repeats = {b.get("nodeset") for b in ET.fromstring(xform).iter(f"{XFORMS}repeat")}
    root = ET.fromstring(submitted)
    problems = []
    if _local(root.tag) != _local(template.tag):
        problems.append(f"root {root.tag}")
    for attribute in ("id", "version"):
        if root.get(attribute) != template.get(attribute):
            problems.append(f"root {attribute} {root.get(attribute)!r}")
    if not (root.findtext("meta/instanceID") or "").startswith("uuid:"):
        problems.append("no instanceID")

    def walk(element: ET.Element, model_element: ET.Element, path: str) -> None:
        order = [_local(c.tag) for c in model_element]
        seen: list[str] = []
        for child in element:
            name, child_path = _local(child.tag), f"{path}/{_local(child.tag)}"
            if JR_TEMPLATE in child.attrib:
                problems.append(f"{child_path}: a jr:template copy was submitted")
            if name not in order:
                problems.append(f"{child_path}: not in the XForm's instance")
                continue
            if seen and order.index(name) < order.index(seen[-1]):
                problems.append(f"{child_path}: out of order")
            if name in seen and seen[-1] != name or (name in seen and child_path not in repeats):
                problems.append(f"{child_path}: repeated but not a repeat")
            seen.append(name)
            walk(child, next(c for c in model_element if _local(c.tag) == name), child_path)
    walk(root, template, f"/{_local(root.tag)}")
    return problems


@pytest.fixture(scope="module")
def xform() -> str:
    return convert(xlsform=str(DEFAULT_FORM)).xform


@pytest.fixture(scope="module")
def completed() -> tuple[Questionnaire, dict]:
    engine = Questionnaire(Form.load(DEFAULT_FORM), FakeClock(NOW))
    state = engine.start(zone="Asia/Makassar", preload={"needs_photo": "1"}, instance_id=f"uuid:{uuid.uuid4()}")
    answers = {"head_name": "Wati Lestari", "members": "3", **roster_answers(NAMES), "member_nik[3]": "",
               "floor_area": "36", "visit_date": "23-11-2026", "geotag": Location(-0.5021, 117.1536), "house_photo": Attachment("rumah.jpg")}
    while (step := engine.next_question(state, "enumerator")) is not None:
        raw = answers.get(step.name, "" if step.kind == "note" else "1")
        result = engine.answer(state, step.name, raw, audience="enumerator")
        assert result.ok, (step.name, result.error)
        state = result.state
    assert engine.is_complete(state)
    return engine, state


def test_the_engines_submission_of_a_roster_validates_against_the_pyxform_xform(xform, completed) -> None:
    engine, state = completed
    submitted = engine.submission_xml(state)
    assert instance_problems(xform, submitted) == []
    root = ET.fromstring(submitted)
    assert [m.findtext("member_name") for m in root.findall("roster")] == NAMES
    assert root.find("roster[3]/member_nik") is not None and root.findtext("roster[3]/member_nik") in (None, "")
    assert root.findtext("meta/instanceID") == state["instance_id"]


def test_the_checker_catches_what_odk_would_refuse(xform, completed) -> None:
    engine, state = completed
    root = ET.fromstring(engine.submission_xml(state))
    root.find("roster").set(JR_TEMPLATE, "")
    ET.SubElement(root.find("roster"), "nickname")
    root.append(ET.fromstring("<housing/>"))
    problems = " ".join(instance_problems(xform, ET.tostring(root)))
    assert "jr:template" in problems and "nickname" in problems and "housing: repeated" in problems


def _payload(record_answers: dict) -> Payload:
    record = types.SimpleNamespace(
        id=str(uuid.uuid4()), status="completed", latitude=-0.5, longitude=117.1, geo_accuracy_m=5.0,
        geo_source="telegram", geo_captured_at=NOW, version=1, replaces_id=None,
        form_id="pintu_regsosek_first_visit", form_version=Form.load(DEFAULT_FORM).version, answers=record_answers,
        appointment_id=None, enumerator_id=None, consent_version="1", consent_at=NOW, created_at=NOW, completed_at=NOW)
    family = types.SimpleNamespace(id=7, kk_number="6472010101010001", head_name="Wati Lestari", members=3,
                                   address=None)
    area = {level: "64" for level in ("province", "regency", "district", "village", "sls")}
    return PayloadBuilder("/tmp").build(record, family, area, [])


def test_a_roster_record_travels_as_pintu_record_2_with_arrays(completed) -> None:
    engine, state = completed
    payload = _payload(engine.record(state))
    assert payload.document["schema"] == "pintu.record/2" and validation_errors(payload.document) == []
    members = payload.document["answers"]["roster"]
    assert [m["member_name"] for m in members] == NAMES and members[0]["relation"] == "head"
    assert "member_nik" not in members[2]  # skipped: left out, as every blank answer


def test_a_record_without_a_repeat_stays_pintu_record_1() -> None:
    payload = _payload({"head_name": "Budi", "members": "2"})
    assert payload.document["schema"] == "pintu.record/1" and validation_errors(payload.document) == []


@pytest.mark.parametrize("answers", [{"roster": [{"age": None}]}, {"roster": [[]]}, {"members": None},
                                     {"roster": [{"member": {"name": "x"}}]}, {"roster": [{"jobs": [{"a": "b"}]}]},
                                     {"1st": "x"}])
def test_version_2_refuses_answers_that_are_not_values_or_lists_of_flat_objects(completed, answers) -> None:
    engine, state = completed
    document = dict(_payload(engine.record(state)).document, answers=answers)
    errors = validation_errors(document)
    assert errors and all(e.startswith("/answers") for e in errors)


def test_the_openrosa_instance_of_a_roster_record_validates_against_the_xform(xform, completed) -> None:
    engine, state = completed
    payload = _payload(engine.record(state))
    library = FormLibrary()
    library.add_xform(xform, payload.form_id)
    body, _ = library.instance(types.SimpleNamespace(**{**payload.__dict__, "photos": (
        types.SimpleNamespace(name="rumah.jpg"),)}))
    assert instance_problems(xform, body) == []
    root = ET.fromstring(body)
    assert [m.findtext("member_name") for m in root.findall("roster")] == NAMES
    assert root.findtext("meta/instanceID") == f"uuid:{payload.record_id}"
    engine_root = ET.fromstring(engine.submission_xml(state))
    assert [m.findtext("relation") for m in root.findall("roster")] == [
        m.findtext("relation") for m in engine_root.findall("roster")]
