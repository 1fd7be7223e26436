"""The ranking's rows on SQLite and PostgreSQL: replacing a kab/kota's ranking keeps the forum's
overrides, areas are found by code prefix, counts and unranked families (storage/repositories/rankings.py)."""
from __future__ import annotations

import datetime as dt

from domain.model import Area, Family
from domain.ranking import RankEntry

NOW = dt.datetime(2027, 5, 1, 2, 0, tzinfo=dt.timezone.utc)


def build(uow_factory) -> dict[str, list[int]]:
    """Kota 64.72 with two kelurahan (1001: RT 0001 and 0002; 1002: RT 0001), 3 families per RT, and a
    kab/kota 64.7 whose prefix must not catch 64.72."""
    families: dict[str, list[int]] = {}
    with uow_factory() as uow:
        def area(code: str, level: str, parent: Area | None) -> Area:
            return uow.areas.add(Area(code=code, level=level, name=code, timezone="Asia/Makassar",
                                      parent_id=parent.id if parent else None))
        city = area("64.72", "regency", None)
        other = area("64.7", "regency", None)
        district = area("64.72.01", "district", city)
        for village_code, rts in (("64.72.01.1001", ("0001", "0002")), ("64.72.01.1002", ("0001",))):
            village = area(village_code, "village", district)
            for rt in rts:
                sls = area(f"{village_code}.{rt}", "sls", village)
                families[sls.code] = [uow.families.add(Family(sls_id=sls.id, head_name=f"K {sls.code} {i}",
                                                              members=3, created_at=NOW)).id for i in range(3)]
        other_sls = area("64.7.01.1001.0001", "sls", other)
        families["other"] = [uow.families.add(Family(sls_id=other_sls.id, head_name="X", members=1,
                                                     created_at=NOW)).id]
        uow.commit()
    return families


def entries(family_ids: list[int], group: int = 4) -> list[RankEntry]:
    return [RankEntry(fid, float(fid), 5, group) for fid in family_ids]


def test_replacing_a_kabkota_keeps_the_forums_overrides(uow_factory) -> None:
    fam = build(uow_factory)
    city = [f for code, ids in fam.items() if code != "other" for f in ids]
    with uow_factory() as uow:
        assert uow.rankings.replace_kabkota("64.72", entries(city, 4), model_version="demo-1", ranked_at=NOW) == 9
        assert uow.rankings.override(city[0], 1, "fkp:1:7")
        uow.commit()
    with uow_factory() as uow:  # a re-run puts everyone in group 3: the moved family stays in group 1
        uow.rankings.replace_kabkota("64.72", entries(city, 3), model_version="demo-2", ranked_at=NOW)
        uow.commit()
    with uow_factory() as uow:
        views = uow.rankings.ranks_for_families(city[:2])
        assert (views[city[0]].model_group, views[city[0]].final_group, views[city[0]].overridden) == (3, 1, True)
        assert views[city[0]].override_source == "fkp:1:7"
        assert (views[city[1]].final_group, views[city[1]].overridden) == (3, False)
        assert views[city[1]].model_version == "demo-2"
        assert uow.rankings.counts_by_group("64.72", final=True) == {1: 1, 2: 0, 3: 8, 4: 0}
        assert uow.rankings.counts_by_group("64.72", final=False) == {1: 0, 2: 0, 3: 9, 4: 0}
        assert uow.rankings.clear_override(city[0])
        assert uow.rankings.counts_by_group("64.72") == {1: 0, 2: 0, 3: 9, 4: 0}
        assert not uow.rankings.override(fam["other"][0], 2, "fkp:1:8")  # not ranked: nothing to move


def test_areas_by_prefix_and_the_unranked(uow_factory) -> None:
    fam = build(uow_factory)
    rt1 = fam["64.72.01.1001.0001"]
    ranked = rt1 + fam["64.72.01.1002.0001"][:1]
    with uow_factory() as uow:
        uow.rankings.replace_kabkota("64.72", entries(ranked, 2), model_version="demo-1", ranked_at=NOW)
        uow.rankings.replace_kabkota("64.7", entries(fam["other"], 1), model_version="demo-1", ranked_at=NOW)
        uow.commit()
    with uow_factory() as uow:
        assert [v.family_id for v in uow.rankings.ranks_in_area("64.72.01.1001")] == rt1
        assert [v.family_id for v in uow.rankings.ranks_in_area("64.72.01.1001.0001")] == rt1
        assert uow.rankings.counts_by_group("64.72") == {1: 0, 2: 4, 3: 0, 4: 0}
        assert uow.rankings.counts_by_group("64.7") == {1: 1, 2: 0, 3: 0, 4: 0}
        unranked = uow.rankings.unranked_families("64.72")
        assert [f.id for f in unranked] == fam["64.72.01.1001.0002"] + fam["64.72.01.1002.0001"][1:]
        by_sls = uow.rankings.counts_by_sls("64.72.01")
        assert sorted(sum(c.values()) for c in by_sls.values()) == [1, 3]


def test_a_family_dropped_from_the_ranking_loses_its_row_unless_the_forum_moved_it(uow_factory) -> None:
    fam = build(uow_factory)
    rt1 = fam["64.72.01.1001.0001"]
    with uow_factory() as uow:
        uow.rankings.replace_kabkota("64.72", entries(rt1, 4), model_version="v1", ranked_at=NOW)
        uow.rankings.override(rt1[0], 2, "fkp:3:1")
        uow.commit()
    with uow_factory() as uow:
        uow.rankings.replace_kabkota("64.72", entries(rt1[2:], 4), model_version="v2", ranked_at=NOW)
        uow.commit()
    with uow_factory() as uow:
        assert set(uow.rankings.ranks_for_families(rt1)) == {rt1[0], rt1[2]}


def test_running_the_model_reads_the_newest_completed_record_with_its_niks_sealed(uow_factory) -> None:
    import uuid

    from domain.model import Record
    from domain.pmt import parse_model
    from domain.ranking_run import run_ranking

    fam = build(uow_factory)
    ids = fam["64.72.01.1001.0001"] + fam["64.72.01.1001.0002"]
    seen: list[dict] = []
    with uow_factory() as uow:
        for n, family_id in enumerate(ids):
            for version, members in ((1, 9), (2, n + 1)):  # the correction (version 2) is what counts
                uow.records.add(Record(id=str(uuid.uuid4()), family_id=family_id, form_id="f", form_version="1",
                                       answers={"members": str(members),
                                                "roster": [{"member_nik": "6472015501810001"}]},
                                       status="completed", completed_at=NOW, version=version, created_at=NOW,
                                       updated_at=NOW))
        uow.records.add(Record(id=str(uuid.uuid4()), family_id=fam["64.72.01.1002.0001"][0], form_id="f",
                               form_version="1", answers={"members": "2"}, status="draft", version=1,
                               created_at=NOW, updated_at=NOW))
        uow.commit()
    model = parse_model({"format": "pintu.pmt/1", "name": "t", "version": "1", "intercept": 0,
                         "variables": [{"name": "m", "answer": "members", "coefficient": -1.0}],
                         "cutoffs": {"default": {"groups": [0.2, 0.4, 0.6]}}})
    with uow_factory() as uow:
        seen = [answers for _, _, answers in uow.rankings.completed_answers("64.72")]
        result = run_ranking(uow, model, "64.72", NOW)
        uow.commit()
    assert all("sealed" in answers["roster"][0]["member_nik"] for answers in seen)  # never decrypted
    # 6 ranked, cut-offs at round(1.2) = 1, round(2.4) = 2, round(3.6) = 4 families
    assert result.ranked == 6 and result.model_counts == {1: 1, 2: 1, 3: 2, 4: 2}
    with uow_factory() as uow:
        views = uow.rankings.ranks_for_families(ids)
        # the most members (6, the last family) is the poorest: group 1; one member: group 4
        assert views[ids[-1]].model_group == 1 and views[ids[0]].model_group == 4
        assert len(result.unranked) == 3  # kelurahan 1002: a draft is not a completed record
