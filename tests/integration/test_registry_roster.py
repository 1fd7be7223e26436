"""The reference registry takes both versions of the contract: pintu.record/1 and, for a record with
a household roster, pintu.record/2 (answers typed; a repeat an array of objects)."""
from __future__ import annotations

import json
import uuid

import httpx
import pytest

from registry_support import TOKEN, RegistryServer


@pytest.fixture
def server(tmp_path):
    srv = RegistryServer(f"sqlite:///{tmp_path / 'registry.db'}").start()
    yield srv
    srv.close()


def document(schema: str, answers: dict) -> dict:
    return {
        "schema": schema, "record_id": str(uuid.uuid4()), "version": 1, "replaces": None,
        "form": {"id": "pintu_regsosek_first_visit", "version": "2026120202"},
        "area": {"province": "64", "regency": "64.72", "district": "64.72.01", "village": "64.72.01.1001",
                 "sls": "64.72.01.1001.0001"},
        "family": {"id": 1, "kk_number": None, "head_name": "Wati", "members": 2, "address": None},
        "geotag": None, "photos": [], "answers": answers,
        "visit": {"appointment_id": None, "enumerator_id": None, "enumerator_name": None},
        "consent": {"version": "1", "at": "2026-11-20T01:00:00Z"},
        "timestamps": {"created_at": "2026-11-23T01:00:00Z", "completed_at": "2026-11-23T02:00:00Z"},
    }


async def test_the_registry_accepts_version_1_and_a_roster_in_version_2(server) -> None:
    roster = {"members": "2", "roster": [{"member_name": "Wati", "relation": "head"},
                                         {"member_name": "Joko", "relation": "spouse"}]}
    v1, v2 = document("pintu.record/1", {"members": "2"}), document("pintu.record/2", roster)
    wrong = document("pintu.record/2", {"roster": [{"age": {"years": 40}}]})

    async def post(http: httpx.AsyncClient, doc: dict) -> httpx.Response:
        return await http.post(server.url + "/v1/records", content=json.dumps(doc), headers={
            "Idempotency-Key": doc["record_id"], "Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})

    async with httpx.AsyncClient() as http:
        assert (await post(http, v1)).status_code == 201
        assert (await post(http, v2)).status_code == 201
        refused = await post(http, wrong)
    assert refused.status_code == 422 and "pintu.record/2" in refused.text and "/answers/roster/0/age" in refused.text
    assert set(server.keys()) == {v1["record_id"], v2["record_id"]}
