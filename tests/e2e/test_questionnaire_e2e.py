"""The questionnaire end to end through python-telegram-bot and aiogram polling the simulator: the
resident's self-report with bad input and a stale button, resumed after the bot process is stopped
and a new one started on the same database; the enumerator's geotag and house photo at the door and
the submitted record queued for the registry."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.transports import make_transport
from bot.wiring import build
from domain.invites import InviteKind
from domain.questionnaire import ENUMERATOR, open_draft, save_answer
from e2e_support import BOT_ID, Env, bot_on_simulator, button, buttons
from forms import Form
from forms.default import DEFAULT_FORM
from simulator.testing import make_png
from storage.seed import DEMO_CENTRE
from test_story import KK_WATI, no_crash, register_and_book
from tests.factories import roster_answers

FORM = Form.load(DEFAULT_FORM)
INDEX = {f.name: i for i, f in enumerate(FORM.fields)}


@pytest.fixture(params=["ptb", "aiogram"])
def qenv(request: pytest.FixtureRequest, tmp_path) -> Iterator[Env]:
    """As conftest's ``env``, but the running bot can be replaced (``restart``) and photos go to tmp_path."""
    with bot_on_simulator(request.param, tmp_path) as env:
        yield env


def restart(env: Env) -> None:
    """Stop the bot (transport and database engine) and start a new one on the same database file."""
    env.loop.run(env.transport.stop())
    env.pintu.engine.dispose()
    env.pintu = build(env.pintu.settings, clock=env.clock)
    env.transport = make_transport(env.pintu)
    env.loop.run(env.transport.start())


def test_resident_self_report_survives_a_restart_of_the_bot(qenv: Env) -> None:
    env = qenv
    wati = env.person(1001, "Wati")
    booked = register_and_book(env, wati, "Wati Lestari", KK_WATI)

    first = wati.say("/isi", "Nama kepala keluarga")
    assert "Pertanyaan 1 dari" in first["text"]
    screen, _ = wati.press(first, f"qa:{INDEX['head_name']}:k", "Jumlah anggota keluarga")
    assert screen["message_id"] == first["message_id"], "a button answer edits the question in place"
    wati.say("empat", "“empat” bukan angka")
    sticker_free = wati.say("45", "Jumlah anggota keluarga antara 1 dan 30.")
    assert "Jumlah anggota keluarga" in sticker_free["text"]
    document = env.sim.send_document(BOT_ID, wati.user_id, b"%PDF-1.4 KK scan", "kk.pdf")
    wati.wait("tidak dijawab dengan foto", newer_than=document["message_id"])
    tenure = wati.say("4", "Status kepemilikan")
    rent = next(data for text, data in buttons(tenure) if text.endswith("Kontrak/sewa"))
    floor_area, _ = wati.press(tenure, rent, "Luas lantai")

    # The tenure button on a message that has moved on: told, and the open question shown again.
    _, answer = wati.press(floor_area, f"qa:{INDEX['tenure']}:1", force=True)
    assert answer["show_alert"] and "pertanyaan sebelumnya" in answer["text"]
    again = wati.wait("Luas lantai", newer_than=floor_area["message_id"])
    assert "pertanyaan sebelumnya" in again["text"]

    # The bot process goes away mid-questionnaire; a new one on the same database carries on.
    restart(env)
    floor = wati.say("36", "Jenis lantai")
    assert "Pertanyaan 5 dari" in floor["text"]
    resumed = wati.say("/isi", "Melanjutkan")
    assert "Jenis lantai" in resumed["text"]
    review, _ = wati.press(resumed, "qn:review", "Jawaban untuk keluarga Wati Lestari")
    assert "Kontrak/sewa" in review["text"] and "36" in review["text"]
    draft = env.query(lambda uow: uow.questionnaires.draft_of(booked.family_id))
    assert draft.answers["values"]["floor_area"] == "36" and draft.answers["values"]["tenure"] == "rent"

    # From the review: change the floor area, and come back to the review with every other answer kept.
    picker, _ = wati.press(review, "qn:pick:0", "pertanyaan mana yang ingin diubah")
    assert f"qn:edit:{INDEX['floor_area']}" in {data for _, data in buttons(picker)}
    asked, _ = wati.press(picker, f"qn:edit:{INDEX['floor_area']}", "Luas lantai")
    changed = wati.say("40", "Jawaban untuk keluarga Wati Lestari")
    assert "40" in changed["text"] and "Kontrak/sewa" in changed["text"]
    values = env.query(lambda uow: uow.questionnaires.draft_of(booked.family_id)).answers["values"]
    assert (values["floor_area"], values["tenure"], values["members"]) == ("40", "rent", "4")
    no_crash(wati)


def test_enumerator_geotags_photographs_and_submits_at_the_door(qenv: Env) -> None:
    env = qenv
    wati = env.person(1001, "Wati")
    booked = register_and_book(env, wati, "Wati Lestari", KK_WATI)
    _self_report_done(env, booked.family_id)  # the resident filled her part before the visit

    enumerator_id = env.query(lambda uow: uow.appointments.active_for_family(booked.family_id).enumerator_id)
    officer = env.query(lambda uow: uow.enumerators.get(enumerator_id).name)
    ppl = env.person(3001, officer)
    token = env.invite(InviteKind.ENUMERATOR, enumerator_id)
    consent = ppl.say(f"/start {token}", "Selamat datang di Pintu")
    ppl.press(consent, f"cs:y:{token}", "terdaftar sebagai petugas pendataan")
    schedule = ppl.say("/jadwal", f"Jadwal {officer}")
    opened, _ = ppl.press(schedule, button(schedule, "qn:go:")[1], "Tanggal kunjungan")
    assert "Melanjutkan" in opened["text"] and opened["message_id"] > schedule["message_id"]
    question = ppl.say("23-11-2026", "Lokasi rumah")
    ppl.wait("Nyalakan GPS", newer_than=question["message_id"])  # capture's request, with its keyboard
    keyboard = env.sim.keyboard(BOT_ID, ppl.user_id)
    assert "request_location" in str(keyboard), keyboard
    hint = ppl.say("di depan masjid", "lokasi")
    location = env.sim.share_location(BOT_ID, ppl.user_id, DEMO_CENTRE[0] + 0.001, DEMO_CENTRE[1],
                                      horizontal_accuracy=15)
    assert hint["message_id"] < location["message_id"]
    ppl.wait("Foto tampak depan rumah", newer_than=location["message_id"])
    photo = env.sim.send_photo(BOT_ID, ppl.user_id, make_png(320, 240))
    review = ppl.wait("Kirim data", newer_than=photo["message_id"])
    assert "Jawaban untuk keluarga Wati Lestari" in review["text"]
    done, _ = ppl.press(review, "qn:submit", "masuk antrean pengiriman")

    record = env.query(lambda uow: uow.questionnaires.completed_of(booked.family_id))
    assert record is not None and record.answers["tenure"] == "own" and record.answers["visit_date"] == "2026-11-23"
    assert record.answers["house_photo"].endswith(".png") and record.latitude is not None
    deliveries = env.query(lambda uow: [d.status for d in uow.deliveries.for_record(record.id)])
    assert deliveries == ["pending"]
    no_crash(ppl)


def _self_report_done(env: Env, family_id: int, *, roster: bool = True) -> None:
    """Every resident question answered (as /isi would), and the family flagged for a house photo; with
    ``roster``, the member roster taken at the door already (the roster test fills it in the chat)."""
    answers = {"head_name": "Wati Lestari", "members": "4", "tenure": "own", "floor_area": "36", "floor": "ceramic",
               "wall": "masonry", "roof": "clay_tile", "water": "piped", "lighting": "pln_meter", "power": "900",
               "cooking": "lpg_3", "toilet": "own", "aid": "pkh", "assets_intro": "",
               **{f.name: "no" for f in FORM.fields if f.name.startswith("asset_") and f.kind == "select_one"},
               "assets_summary": ""}
    with env.pintu.uow() as uow:
        uow.families.get(family_id).needs_photo = True
        now = env.clock.now()
        draft = open_draft(uow, FORM, family_id, now, audience="resident")
        for name, value in answers.items():
            assert save_answer(uow, draft, name, value, now, audience="resident", language="id").ok, name
        assert draft.next_question("resident", "id") is None
        if roster:
            names = ["Wati Lestari", "Joko Susilo", "Rina", "Dimas"]
            for key, value in {**roster_answers(names), "roster_summary": ""}.items():
                assert save_answer(uow, draft, key, value, now, audience=ENUMERATOR, language="id").ok, key
            assert draft.next_question(ENUMERATOR, "id").name == "visit_date"
        uow.commit()


# --- the household roster at the door ------------------------------------------------------------------

ROSTER = [("Wati Lestari", "head", "female", "12-03-1984"), ("Joko Susilo", "spouse", "male", "02-07-1980"),
          ("Rina", "child", "female", "20-05-2010"), ("Dimas", "child", "male", "01-09-2022")]
# Their NIKs as Dukcapil issues them (Palaran, Samarinda; DDMMYY of birth, 40 added to the day for women)
NIKS = ["6472015203840001", "6472010207800002", "6472016005100003", "6472010109220004"]


def _choose(person, screen: dict, name: str, position: int, choice: str, expect: str) -> dict:
    number = [c.name for c in FORM.field(name).choices].index(choice) + 1
    screen, _ = person.press(screen, f"qa:{INDEX[name]}.{position}:{number}", expect)
    return screen


def _member_from_relation(person, screen: dict, position: int, following: str) -> dict:
    """Relationship … disability of a member whose name and NIK are given; ``following``: the next screen."""
    name, relation, sex, born = ROSTER[position - 1]
    screen = _choose(person, screen, "relation", position, relation, f"Jenis kelamin {name}")
    screen = _choose(person, screen, "sex", position, sex, f"Tanggal lahir {name}")
    if position == 4:  # Dimas is 4: neither marital status, education nor work is asked
        screen = person.say(born, f"Apakah {name} memiliki disabilitas")
    else:
        screen = person.say(born, f"Status perkawinan {name}")
        screen = _choose(person, screen, "marital", position, "married" if position < 3 else "single",
                         f"Pendidikan tertinggi yang ditamatkan {name}")
        screen = _choose(person, screen, "education", position, "sma", f"Apakah {name} bekerja")
        screen = _choose(person, screen, "works", position, "yes" if position < 3 else "no",
                         f"Apakah {name} memiliki disabilitas")
    return _choose(person, screen, "disability", position, "no", following)


def _name_and_nik(person, screen: dict, position: int) -> dict:
    name = ROSTER[position - 1][0]
    assert f"Anggota keluarga {position}" in screen["text"]
    if position == 1:  # the head's row starts from the family's registered name
        assert "Wati Lestari" in screen["text"]
        screen, _ = person.press(screen, f"qa:{INDEX['member_name']}.1:k", f"NIK {name}")
    else:
        screen = person.say(name, f"NIK {name}")
    if position == 3:
        person.say("1234", "NIK harus 16 angka")  # the rule it breaks, in the member's question
    return person.say(NIKS[position - 1], f"Hubungan {name}")


def test_enumerator_fills_the_household_roster_changes_it_from_the_review_and_resumes_mid_roster(qenv: Env) -> None:
    env = qenv
    wati = env.person(1001, "Wati")
    booked = register_and_book(env, wati, "Wati Lestari", KK_WATI)
    _self_report_done(env, booked.family_id, roster=False)  # members: 4, from the self-report

    enumerator_id = env.query(lambda uow: uow.appointments.active_for_family(booked.family_id).enumerator_id)
    ppl = env.person(3001, "Petugas")
    token = env.invite(InviteKind.ENUMERATOR, enumerator_id)
    consent = ppl.say(f"/start {token}", "Selamat datang di Pintu")
    ppl.press(consent, f"cs:y:{token}", "terdaftar sebagai petugas pendataan")
    schedule = ppl.say("/jadwal", "Jadwal")
    screen, _ = ppl.press(schedule, button(schedule, "qn:go:")[1], "Nama anggota keluarga")

    screen = _name_and_nik(ppl, screen, 1)
    screen = _member_from_relation(ppl, screen, 1, "Anggota keluarga 2")
    screen = _name_and_nik(ppl, screen, 2)
    screen = _member_from_relation(ppl, screen, 2, "Anggota keluarga 3")
    screen = _name_and_nik(ppl, screen, 3)
    screen = _member_from_relation(ppl, screen, 3, "Anggota keluarga 4")
    screen = _name_and_nik(ppl, screen, 4)

    # The bot goes away in the middle of member 4; a new process resumes at member 4's next question.
    restart(env)
    screen = ppl.say(f"/kunjungan {booked.family_id}", "Melanjutkan")
    assert "Anggota keluarga 4" in screen["text"] and "Hubungan Dimas" in screen["text"]
    screen = _member_from_relation(ppl, screen, 4, "Tercatat 4 anggota keluarga; 2 bekerja, 1 balita.")

    # The review shows the roster member by member, one line each.
    review, _ = ppl.press(screen, "qn:review", "Jawaban untuk keluarga Wati Lestari")
    text = review["text"]
    assert "Anggota keluarga 2: Joko Susilo · 6472010207800002 · Istri/suami · Laki-laki" in text
    assert "Anggota keluarga 4: Dimas" in text and text.index("Joko Susilo") < text.index("Rina")

    # Change member 2's name from the review: asked again, then straight back to the review.
    picker, _ = ppl.press(review, "qn:pick:0", "pertanyaan mana yang ingin diubah")
    edit = f"qn:edit:{INDEX['member_name']}.2"
    page = 1
    while edit not in {data for _, data in buttons(picker)}:  # member 2's name is on a later page
        forward = next(data for label, data in buttons(picker) if label == "›")
        page += 1
        picker, _ = ppl.press(picker, forward, f"({page}/")
    asked, _ = ppl.press(picker, edit, "Nama anggota keluarga")
    assert "Joko Susilo" in asked["text"]
    review = ppl.say("Joko Santoso", "Jawaban untuk keluarga Wati Lestari")
    assert "Anggota keluarga 2: Joko Santoso" in review["text"]

    # Remove Rina (member 3): asked first, then Dimas moves up and the family has 3 members.
    chooser, _ = ppl.press(review, f"qn:rm:{INDEX['roster']}", "mana yang dihapus")
    rina = next(data for label, data in buttons(chooser) if "Rina" in label)
    confirm, _ = ppl.press(chooser, rina, "beserta semua jawabannya")
    review, _ = ppl.press(confirm, button(confirm, "qn:delok:")[1], "dihapus")
    assert "Anggota keluarga 3: Dimas" in review["text"] and "Rina" not in review["text"].split("dihapus")[1]
    values = env.query(lambda uow: uow.questionnaires.draft_of(booked.family_id)).answers["values"]
    assert (values["members"], values["member_name[2]"], values["member_name[3]"]) == ("3", "Joko Santoso", "Dimas")
    assert env.query(lambda uow: uow.families.get(booked.family_id).members) == 3
    no_crash(ppl)
