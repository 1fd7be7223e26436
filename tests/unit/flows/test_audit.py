"""The audit log (domain/audit.py): staff viewing and changing a family, importing a list and redeeming an
invite are logged — who, what, which family or area, when, never the values; a resident's own steps are
not. The world: helpers.py."""
from __future__ import annotations

from domain import audit
from domain.family_import import MAX_ROWS, UnreadableFile, import_families
from chat.events import Attachment
from tests.unit.flows.helpers import ID, Person, rt_head

import pytest


def log(world, **filters):
    with world.uow_factory() as uow:
        return audit.entries(uow, **filters)


def test_an_rt_heads_views_changes_and_import_are_logged_without_values(world):
    pak_rt = rt_head(world)
    [joined] = log(world)
    assert (joined.action, joined.actor_role, joined.area_id) == (audit.ROLE_CHANGE, "rt_head", world.sls_ids[0])
    family = world.families_in(0)[0]
    pak_rt.press(f"rt:fam:{family.id}")
    pak_rt.press(f"fe:name:{family.id}")
    pak_rt.say("Ahmad Fauzi")
    pak_rt.press(f"rh:photo:{family.id}")
    pak_rt.press("rh:import")
    content = b"Nama Kepala Keluarga;Nomor KK;Jumlah Anggota\nSiti Rahmawati;6472010101200001;4\n"
    pak_rt.say(attachment=Attachment("document", "f1", None, "vk1.csv", None, len(content), content))
    entries = log(world, user_id=pak_rt.user().id)
    actions = [e.action for e in entries]
    assert actions.count(audit.VIEW_FAMILY) >= 2 and actions.count(audit.CHANGE_FAMILY) == 2
    assert {e.family_id for e in entries if e.action in (audit.VIEW_FAMILY, audit.CHANGE_FAMILY)} == {family.id}
    [imported] = [e for e in entries if e.action == audit.IMPORT]
    assert (imported.area_id, imported.count) == (world.sls_ids[0], 1)
    assert all(e.at == world.clock.now() and e.actor_user_id == pak_rt.user().id for e in entries)
    assert [e.action for e in log(world, family_id=family.id)] == [a for a in actions if a in (
        audit.VIEW_FAMILY, audit.CHANGE_FAMILY)]
    # Never a value: the entry has no field that could hold the new name.
    assert "Ahmad" not in " ".join(audit.describe(e) for e in entries)


def test_a_residents_own_steps_are_not_logged(world):
    wati = Person(world, 3001, "Wati")
    wati.register("Wati Lestari", "6472010101209999")
    wati.book()
    assert log(world) == []


def test_a_list_longer_than_the_cap_is_refused_before_anything_is_checked(world):
    rows = "".join(f"Nama {i};647201010120{i % 10000:04d};3\n" for i in range(MAX_ROWS + 1))
    content = ("Nama Kepala Keluarga;Nomor KK;Jumlah Anggota\n" + rows).encode()
    with world.uow_factory() as uow:
        with pytest.raises(UnreadableFile) as refused:
            import_families(uow, None, world.sls_ids[0], content, "vk1.csv", world.clock.now())
    assert refused.value.problem == "import-too-many-rows" and refused.value.values == {"max": MAX_ROWS}
    pak_rt = rt_head(world)
    pak_rt.press("rh:import")
    pak_rt.say(attachment=Attachment("document", "f1", None, "vk1.csv", None, len(content), content))
    assert pak_rt.screen == ID("import-too-many-rows", max=MAX_ROWS)
    assert pak_rt.conversation().state == "rt_head.import_list"  # a shorter list may follow
