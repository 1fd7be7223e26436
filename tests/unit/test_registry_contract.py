"""The registry contract, outcome classification, backoff, OpenRosa instances and settings, without a network."""
from __future__ import annotations

import datetime as dt
import io
import json
import uuid
import xml.etree.ElementTree as ET

import httpx
import pytest

from bot.config import Settings
from registry.client import RegistryTarget, classify
from registry.openrosa import FormError, FormLibrary
from registry.payload import Payload, PhotoFile, schema, validation_errors
from registry.worker import ForwardPolicy
from registry_support import xlsform

RID, OLD = str(uuid.uuid4()), str(uuid.uuid4())


def document(**changes):
    doc = {
        "schema": "pintu.record/1", "record_id": RID, "version": 2, "replaces": OLD,
        "form": {"id": "regsosek", "version": "2026.1"},
        "area": {"province": "64", "regency": "64.72", "district": "64.72.01", "village": "64.72.01.1001",
                 "sls": "64.72.01.1001.0001"},
        "family": {"id": 1, "kk_number": "6472010101010001", "head_name": "Budi", "members": 4, "address": None},
        "geotag": {"latitude": -0.55, "longitude": 117.1, "accuracy_m": 5.0, "source": "gps",
                   "captured_at": "2026-11-23T02:00:00Z"},
        "photos": [{"name": "rumah.jpg", "sha256": "a" * 64, "size": 10, "mime": "image/jpeg", "width": 640,
                    "height": 480, "taken_at": None, "sender": 42}],
        "answers": {"atap": "seng", "jumlah_art": 4, "anggota": [{"nama": "Budi"}, {"nama": "Sri"}],
                    "foto_rumah": "rumah.jpg"},
        "visit": {"appointment_id": 3, "enumerator_id": 2, "enumerator_name": "Rina"},
        "consent": {"version": "1", "at": "2026-11-20T01:00:00Z"},
        "timestamps": {"created_at": "2026-11-23T01:00:00Z", "completed_at": "2026-11-23T02:00:00Z"},
    }
    doc.update(changes)
    return doc


def test_the_schema_is_a_valid_versioned_document_and_accepts_a_full_record():
    import jsonschema

    jsonschema.Draft202012Validator.check_schema(schema())
    assert schema()["properties"]["schema"]["const"] == "pintu.record/1"
    assert validation_errors(document()) == []
    assert validation_errors(document(geotag=None, replaces=None, version=1, photos=[])) == []


@pytest.mark.parametrize("change, field", [
    ({"record_id": "not-a-uuid"}, "/record_id"),
    ({"family": {"id": 1, "kk_number": "123", "head_name": "Budi", "members": 4, "address": None}}, "/family/kk_number"),
    ({"geotag": {"latitude": 91, "longitude": 0, "accuracy_m": 1, "source": "gps", "captured_at": None}}, "/geotag/latitude"),
    ({"extra": 1}, "/"),
])
def test_violations_name_the_field_not_the_value(change, field):
    errors = validation_errors(document(**change))
    assert errors and errors[0].startswith(field)
    assert "Budi" not in " ".join(errors)


@pytest.mark.parametrize("status, fmt, kind", [
    (201, "json", "delivered"), (200, "json", "delivered"), (202, "openrosa", "delivered"),
    (409, "openrosa", "park"), (404, "openrosa", "park"), (409, "json", "park"), (422, "json", "park"),
    (400, "json", "park"), (413, "json", "park"), (500, "json", "retry"), (503, "json", "retry"),
    (429, "json", "retry"), (408, "json", "retry"), (401, "json", "retry"), (404, "json", "retry"),
    (403, "openrosa", "retry"),
])
def test_outcomes(status, fmt, kind):
    response = httpx.Response(status, json={"error": "why"}, headers={"Retry-After": "7"})
    outcome = classify(response, fmt)
    assert outcome.kind == kind
    # 401/403 (and 404 on JSON: the URL) are a setting to fix, not this record's fault nor an outage.
    assert outcome.setting == (status in (401, 403) or (status, fmt) == (404, "json"))
    if kind != "delivered":
        assert outcome.reason.removeprefix("setting: ").startswith(f"HTTP {status}: why")
    if status in (429, 503):
        assert outcome.retry_after == 7


def test_backoff_is_exponential_with_jitter_and_capped():
    policy = ForwardPolicy(backoff_base=2, backoff_cap=600)
    for attempts, (low, high) in {1: (1, 2), 2: (2, 4), 5: (16, 32), 30: (300, 600)}.items():
        samples = [policy.backoff(attempts) for _ in range(200)]
        assert all(low <= s <= high for s in samples) and len(set(samples)) > 100
    assert policy.backoff(1, retry_after=30) == 30


def test_targets_and_settings():
    with pytest.raises(ValueError):
        RegistryTarget("ftp://x")
    with pytest.raises(ValueError):
        RegistryTarget("https://x", format="csv")
    settings = Settings.from_env({"PINTU_REGISTRY_URL": "https://registry.example/api", "PINTU_REGISTRY_TOKEN": "t",
                                  "PINTU_REGISTRY_FORMAT": "OpenRosa", "PINTU_REGISTRY_TIMEOUT": "12",
                                  "PINTU_MEDIA_DIR": "/srv/media"})
    assert (settings.registry_url, settings.registry_format, settings.registry_timeout, settings.media_dir) == \
        ("https://registry.example/api", "openrosa", 12.0, "/srv/media")
    assert Settings.from_env({}).registry_format == "json"
    with pytest.raises(ValueError):
        Settings.from_env({"PINTU_REGISTRY_FORMAT": "xml"})
    with pytest.raises(ValueError):
        Settings.from_env({"PINTU_REGISTRY_CONNECT_TIMEOUT": "0"})


def test_a_dead_host_fails_fast_while_a_busy_registry_gets_the_full_answer_time():
    from registry.client import make_client

    settings = Settings.from_env({"PINTU_REGISTRY_TIMEOUT": "45", "PINTU_REGISTRY_CONNECT_TIMEOUT": "4"})
    target = RegistryTarget("https://registry.example", timeout=settings.registry_timeout,
                            connect_timeout=settings.registry_connect_timeout)
    timeout = make_client(target).timeout
    assert (timeout.connect, timeout.read, timeout.write) == (4.0, 45.0, 45.0)
    assert make_client(RegistryTarget("https://registry.example")).timeout.connect == 10.0


def payload(doc):
    photo = PhotoFile("rumah.jpg", "a" * 64, 10, "image/jpeg", path=None)  # type: ignore[arg-type]
    return Payload(doc["record_id"], doc["form"]["id"], doc["form"]["version"], doc,
                   json.dumps(doc).encode(), (photo,))


def test_openrosa_instance_from_the_xlsform():
    library = FormLibrary()
    assert library.add_xlsform(io.BytesIO(xlsform())) == "regsosek"
    xml, names = library.instance(payload(document()))
    root = ET.fromstring(xml)
    assert root.get("id") == "regsosek" and root.get("version") == "2026.1"
    assert root.findtext("atap") == "seng" and root.findtext("jumlah_art") == "4"
    assert [a.findtext("nama") for a in root.findall("anggota")] == ["Budi", "Sri"]
    assert root.findtext("rumah/foto_rumah") == "rumah.jpg" and names == ["rumah.jpg"]
    assert root.findtext("meta/instanceID") == f"uuid:{RID}"
    assert root.findtext("meta/deprecatedID") == f"uuid:{OLD}"
    with pytest.raises(FormError):
        library.instance(payload(document(form={"id": "regsosek", "version": "2025.9"})))
    with pytest.raises(FormError):
        library.instance(payload(document(form={"id": "unknown", "version": "1"})))


@pytest.mark.parametrize("change", [
    {"record_id": "not-a-uuid"}, {"version": 0}, {"replaces": "x"}, {"form": {"id": "", "version": "1"}},
    {"area": {"province": "64"}}, {"family": {"id": 1, "kk_number": "123", "head_name": "B", "members": 4, "address": None}},
    {"geotag": {"latitude": 91, "longitude": 0, "accuracy_m": 1, "source": "gps", "captured_at": None}},
    {"geotag": {"latitude": 1, "longitude": 0, "accuracy_m": -1, "source": "gps", "captured_at": None}},
    {"geotag": {"latitude": 1, "longitude": 0, "accuracy_m": 1, "source": "guess", "captured_at": None}},
    {"photos": [{"name": "a.jpg", "sha256": "xyz", "size": 1, "mime": "image/jpeg", "width": 1, "height": 1,
                 "taken_at": None, "sender": None}]},
    {"consent": {"version": "1", "at": "yesterday"}}, {"timestamps": {"created_at": "x", "completed_at": "y"}},
    {"visit": {"appointment_id": "3", "enumerator_id": 2, "enumerator_name": None}}, {"extra": 1}, {"schema": "pintu.record/3"},
])
def test_the_fast_validator_refuses_whatever_jsonschema_refuses(change):
    """The reference service validates with fastjsonschema first; it must never accept what the schema forbids."""
    import fastjsonschema

    from registry.payload import fast_validator, validator

    doc = document(**change)
    with pytest.raises(fastjsonschema.JsonSchemaException):
        fast_validator()(doc)
    errors = validation_errors(doc)
    assert errors and all(e.startswith("/") for e in errors)
    assert not any(v in " ".join(errors) for v in ("not-a-uuid", "yesterday", "guess", "xyz", "Budi"))
    if "consent" not in change and "timestamps" not in change:  # jsonschema checks date-time only with an extra
        assert list(validator().iter_errors(doc))


def test_recordings_videos_and_files_answering_a_question_travel_with_the_photos():
    media = [{"name": f"a.{suffix}", "sha256": "b" * 64, "size": 10, "mime": mime, "width": None, "height": None,
              "taken_at": None, "sender": 42}
             for suffix, mime in (("ogg", "audio/ogg"), ("mp4", "video/mp4"), ("pdf", "application/pdf"))]
    assert validation_errors(document(photos=media)) == []
    assert validation_errors(document(photos=[{**media[0], "mime": "nonsense"}]))
