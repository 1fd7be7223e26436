"""`pintu ranking run | show | export` on the demo kelurahan, as an operator would use them."""
from __future__ import annotations

import csv
import datetime as dt
import io
import uuid

import pytest

from bot.cli import main
from bot.config import Settings
from bot.wiring import build
from domain.model import Record

NOW = dt.datetime(2027, 5, 1, 2, 0, tzinfo=dt.timezone.utc)


def answers(members: int, floor_area: int, floor: str) -> dict:
    """A completed record of the default form, as forms/engine.py ``record`` stores it."""
    roster = [{"member_name": f"A{n}", "member_nik": "6472015501810001", "relation": "head" if n == 0 else "child",
               "works": "yes" if n == 0 else "no", "disability": "no", "education": "sd"} for n in range(members)]
    return {"members": str(members), "roster": roster, "floor_area": str(floor_area), "tenure": "own",
            "floor": floor, "wall": "masonry", "roof": "clay_tile", "water": "piped", "lighting": "pln_meter",
            "power": "900", "cooking": "lpg_3", "toilet": "own",
            **{f"asset_{a}": "no" for a in ("fridge", "motorcycle", "car", "gas", "ac", "tv", "smartphone", "gold")}}


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("PINTU_INVITE_SECRET", "4CM2Y1PkdRpYxi-1KW3D6XvfwFUM-LQgcrGX2lPw5EI")
    assert main(["db", "upgrade"]) == 0
    assert main(["seed", "demo"]) == 0
    settings = Settings.from_env()
    pintu = build(settings)
    with pintu.uow() as uow:
        village = uow.areas.by_code("64.72.01.1001")
        sls = uow.areas.children(village.id)
        families = [f for s in sls for f, _ in uow.families.in_sls_with_appointment(s.id, 0, 100)]
        # 20 of the 30 families completed: bigger households on smaller, earthen floors are poorer
        for n, family in enumerate(sorted(families, key=lambda f: f.id)[:20]):
            uow.records.add(Record(id=str(uuid.UUID(int=n + 1)), family_id=family.id, form_id="f", form_version="1",
                                   answers=answers(1 + n % 6, 20 + 5 * n, "earth" if n % 3 == 0 else "ceramic"),
                                   status="completed", completed_at=NOW, version=1, created_at=NOW, updated_at=NOW))
        uow.commit()
    return settings


def test_run_ranks_the_completed_records_and_lists_the_others_as_not_ranked(env, capsys) -> None:
    assert main(["ranking", "run", "--area", "64.72"]) == 0
    out = capsys.readouterr().out
    assert "ILLUSTRATIVE" in out
    assert "20 families ranked with pintu-demo-illustrative@2026.1#" in out
    # 20 ranked: 10% = 2 in group 1, 20% = 4 in groups 1-2, 40% = 8 in groups 1-3
    assert "model groups: 1 Sangat Miskin: 2  2 Miskin: 2  3 Rentan Miskin: 4  4 Tidak Miskin: 12" in out
    assert "10 families not ranked (no completed record):" in out

    first = _rows(env)
    assert main(["ranking", "run", "--area", "64.72"]) == 0  # rerun: the same rows
    assert _rows(env) == first


def test_a_kecamatan_is_not_ranked_on_its_own(env, capsys) -> None:
    assert main(["ranking", "run", "--area", "64.72.01"]) == 1
    assert "runs per kabupaten/kota" in capsys.readouterr().err


def test_a_bad_model_file_is_refused_with_its_problems(env, capsys, tmp_path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("format: pintu.pmt/1\nname: x\nversion: 1\nintercept: 1\nvariables:\n  - {name: a, answer: b}\n")
    assert main(["ranking", "run", "--area", "64.72", "--model", str(bad)]) == 1
    assert "coefficient required" in capsys.readouterr().err


def test_show_and_export_the_final_list_without_the_score(env, capsys, tmp_path) -> None:
    assert main(["ranking", "run", "--area", "64.72"]) == 0
    pintu = build(env)
    with pintu.uow() as uow:
        moved = uow.rankings.ranks_in_area("64.72.01.1001")[0]
        uow.rankings.override(moved.family_id, 1 if moved.final_group != 1 else 2, "fkp:1:1")
        uow.commit()
    capsys.readouterr()
    assert main(["ranking", "show", "--area", "64.72.01.1001"]) == 0
    assert "20 families ranked, 10 not ranked" in capsys.readouterr().out

    out = tmp_path / "daftar.csv"
    assert main(["ranking", "export", "--area", "64.72.01.1001", "--out", str(out)]) == 0
    rows = list(csv.DictReader(io.StringIO(out.read_bytes().decode("utf-8-sig"))))
    assert len(rows) == 20
    assert list(rows[0]) == ["kode_sls", "sls", "kelurahan", "kecamatan", "id_keluarga", "kepala_keluarga",
                             "kelompok", "nama_kelompok", "diubah_fkp"]
    assert [r["diubah_fkp"] for r in rows].count("1") == 1
    assert {r["nama_kelompok"] for r in rows} <= {"Sangat Miskin", "Miskin", "Rentan Miskin", "Tidak Miskin"}
    assert rows[0]["kelurahan"] == "Rawa Makmur" and rows[0]["kecamatan"] == "Palaran"

    xlsx = tmp_path / "list.xlsx"
    assert main(["ranking", "export", "--area", "64.72", "--format", "xlsx", "--lang", "en", "--out", str(xlsx)]) == 0
    from openpyxl import load_workbook

    book = load_workbook(xlsx, read_only=True)
    assert book.sheetnames == ["final_list", "summary"]
    header = next(book["final_list"].iter_rows(values_only=True))
    assert "score" not in " ".join(header) and header[6] == "group"
    summary = list(book["summary"].iter_rows(values_only=True))
    assert summary[1][0] == "64.72.01.1001" and summary[1][-1] == 1
    with pintu.uow() as uow:
        exports = [e for e in uow.audit.entries() if e.action == "export"]
    assert [e.count for e in exports] == [20, 20]


def _rows(settings: Settings) -> list[tuple]:
    with build(settings).uow() as uow:
        return [(v.family_id, v.score, v.decile, v.model_group, v.final_group)
                for v in uow.rankings.ranks_in_area("64.72")]
