"""Delivery to ODK Central and KoboToolbox as their APIs answer (tests/central_fake.py): every auth
scheme, Central's session renewal, App User URLs, Digest's challenge, 404/409 parking, an empty
token, credentials refused as a setting, and `pintu form publish`."""
from __future__ import annotations

import datetime as dt
import io
import xml.etree.ElementTree as ET

import httpx
import pytest
from openpyxl import Workbook

from bot.config import Settings
from domain.records import correct_record
from forms import Form
from forms.default import DEFAULT_FORM
from registry.auth import Credentials
from registry.central import publish_form
from registry.client import RegistryTarget
from registry.openrosa import FormLibrary
from registry.status import delivery_status, format_status
from registry.worker import ForwardPolicy, RegistryWorker, worker_from_settings
from central_fake import APP_USER, EMAIL, KOBO_PASSWORD, KOBO_TOKEN, KOBO_USER, PASSWORD, FakeServer, Submission
from registry_support import make_completed, xlsform

POLICY = ForwardPolicy(batch=20, concurrency=4, probe_cap=30.0)

BUILT_IN_VERSION = Form.load(DEFAULT_FORM).version  # the built-in first-visit form as shipped


@pytest.fixture
def fake(fake_clock):
    server = FakeServer(now=fake_clock.now).start()
    yield server
    server.stop()


@pytest.fixture
def central():
    """The fake on the wall clock: `pintu form publish` runs on the system's clock, as in production."""
    server = FakeServer().start()
    yield server
    server.stop()


@pytest.fixture
def forms():
    library = FormLibrary()
    library.add_xlsform(io.BytesIO(xlsform()))
    return library


def publish_regsosek(fake, forms):
    """The form on Central, as `pintu form publish` puts it there (Basic auth, a web user)."""
    with httpx.Client(auth=httpx.BasicAuth(EMAIL, PASSWORD)) as client:
        return publish_form(client, fake.url, 1, "regsosek", "2026.1", forms.xform("regsosek"))


def worker(uow_factory, clock, url, forms, tmp_path, credentials):
    target = RegistryTarget(url, format="openrosa", timeout=5.0, credentials=credentials)
    return RegistryWorker(uow_factory, clock, target, media_dir=tmp_path, forms=forms, policy=POLICY)


def with_house_photo(uow_factory, ids):
    with uow_factory() as uow:  # the photo answers the form's image question, as field capture records it
        for rid in ids:
            record = uow.records.get(rid)
            record.answers = {**record.answers, "foto_rumah": uow.records.photos(rid)[0].path}
        uow.commit()


async def test_central_web_user_session_is_renewed_before_expiry_and_after_a_401(uow_factory, fake_clock, fake,
                                                                                   forms, tmp_path):
    assert publish_regsosek(fake, forms).action == "created"
    ids = make_completed(uow_factory, fake_clock.now(), 2, media_dir=tmp_path, photos=1)
    with_house_photo(uow_factory, ids)
    w = worker(uow_factory, fake_clock, f"{fake.url}/v1/projects/1/submission", forms, tmp_path,
               Credentials("central", user=EMAIL, password=PASSWORD))
    assert (await w.run_once()).delivered == 2
    assert fake.state.logins == 1  # one session for both records
    stored = fake.state.submissions[f"uuid:{ids[0]}"]
    assert list(stored.attachments) == [ET.fromstring(stored.xml).findtext("rumah/foto_rumah")]

    fake.expire_sessions()  # Central restarted, or the session was revoked: the next request gets 401
    fake_clock.advance(dt.timedelta(minutes=5))
    with uow_factory() as uow:
        correction = correct_record(uow, ids[0], {"jumlah_art": 5}, fake_clock.now()).id
        uow.commit()
    assert (await w.run_once()).delivered == 1
    assert fake.state.logins == 2
    assert fake.state.submissions[f"uuid:{correction}"].deprecated == f"uuid:{ids[0]}"  # an edit in Central

    fake_clock.advance(dt.timedelta(hours=23, minutes=30))  # the session ends in 30 min: renewed first
    make_completed(uow_factory, fake_clock.now(), 1)
    before = len(fake.state.requests)
    assert (await w.run_once()).delivered == 1
    await w.aclose()
    assert fake.state.logins == 3
    assert [(m, p) for m, p, _ in fake.state.requests[before:]] == [("POST", "/v1/sessions"),
                                                                    ("POST", "/v1/projects/1/submission")]


async def test_central_app_user_token_travels_in_the_path_not_a_header(uow_factory, fake_clock, fake, forms, tmp_path):
    publish_regsosek(fake, forms)
    make_completed(uow_factory, fake_clock.now(), 1)
    w = worker(uow_factory, fake_clock, f"{fake.url}/v1/projects/1/submission", forms, tmp_path,
               Credentials("central-app-user", token=APP_USER))
    assert (await w.run_once()).delivered == 1
    await w.aclose()
    assert fake.state.requests[-1] == ("POST", f"/v1/key/{APP_USER}/projects/1/submission", "")


@pytest.mark.parametrize("credentials", [Credentials("token", token=KOBO_TOKEN),
                                         Credentials("basic", user=KOBO_USER, password=KOBO_PASSWORD),
                                         Credentials("digest", user=KOBO_USER, password=KOBO_PASSWORD)],
                         ids=["token", "basic", "digest"])
async def test_kobo_accepts_token_basic_and_digest_and_a_resend_is_still_delivered(
        uow_factory, fake_clock, fake, forms, tmp_path, credentials):
    ids = make_completed(uow_factory, fake_clock.now(), 2)
    w = worker(uow_factory, fake_clock, f"{fake.url}/api/v1/submissions", forms, tmp_path, credentials)
    report = await w.run_once()
    assert report.delivered == 2, report.reasons
    schemes = {scheme for _, _, scheme in fake.state.requests}
    assert schemes == ({"", "Digest"} if credentials.scheme == "digest" else {credentials.scheme.capitalize()})
    with uow_factory() as uow:  # the acknowledgement was lost: sent again, Kobo answers 202 Duplicate
        from sqlalchemy import update

        from domain.model import RecordDelivery
        uow.session.execute(update(RecordDelivery).values(status="pending", delivered_at=None))
        uow.commit()
    report = await w.run_once()
    await w.aclose()
    assert report.delivered == 2 and set(report.reasons) == {"202"}
    assert {k for k in fake.state.submissions} == {f"uuid:{i}" for i in ids}


async def test_a_form_version_central_lacks_is_parked_not_retried(uow_factory, fake_clock, fake, forms, tmp_path):
    make_completed(uow_factory, fake_clock.now(), 1)  # the form was never published
    w = worker(uow_factory, fake_clock, f"{fake.url}/v1/projects/1/submission", forms, tmp_path,
               Credentials("basic", user=EMAIL, password=PASSWORD))
    report = await w.run_once()
    await w.aclose()
    assert (report.parked, report.retried, report.delivered) == (1, 0, 0)
    with uow_factory() as uow:
        (_, reason, _), = delivery_status(uow, fake_clock.now()).parked_rows
    assert reason.startswith("HTTP 404") and "publish" in reason


async def test_same_instance_id_with_different_xml_is_parked_not_counted_delivered(uow_factory, fake_clock, fake,
                                                                                   forms, tmp_path):
    publish_regsosek(fake, forms)
    rid, = make_completed(uow_factory, fake_clock.now(), 1)
    # Central already holds this instanceID with other content (what a lost edit or a bug would leave).
    fake.state.submissions[f"uuid:{rid}"] = Submission(b"<other/>", "regsosek", "2026.1", {})
    w = worker(uow_factory, fake_clock, f"{fake.url}/v1/projects/1/submission", forms, tmp_path,
               Credentials("basic", user=EMAIL, password=PASSWORD))
    report = await w.run_once()
    await w.aclose()
    assert (report.parked, report.delivered) == (1, 0)
    assert "different XML" in next(iter(report.reasons))


async def test_an_empty_token_sends_no_header_and_the_refusal_is_reported_as_a_setting(uow_factory, fake_clock, fake,
                                                                                       forms, tmp_path, capsys):
    publish_regsosek(fake, forms)
    make_completed(uow_factory, fake_clock.now(), 5)
    w = worker(uow_factory, fake_clock, f"{fake.url}/v1/projects/1/submission", forms, tmp_path,
               Credentials("bearer", token=""))
    report = await w.run_once()
    # The sends already in flight learnt it; the rest were handed back untouched (no storm of refusals).
    assert report.parked == 0 and report.retried <= POLICY.concurrency and report.retried + report.released == 5
    assert fake.state.requests[-1][2] == ""  # no "Authorization: Bearer " with nothing after it
    assert w.refused and w.refused.startswith("setting: HTTP 401")
    with uow_factory() as uow:
        status = delivery_status(uow, fake_clock.now())
    assert status.refused.startswith("HTTP 401") and status.refused_count == report.retried
    assert "SETTING TO FIX" in format_status(status)
    assert (await w.run_once()).claimed == 0  # the next probe waits for its time
    await w.aclose()
    # Fixed: the first probe drains every waiting record at once.
    w = worker(uow_factory, fake_clock, f"{fake.url}/v1/projects/1/submission", forms, tmp_path,
               Credentials("central", user=EMAIL, password=PASSWORD))
    total = await w.drain()
    await w.aclose()
    assert total.delivered == 5
    with uow_factory() as uow:
        assert delivery_status(uow, fake_clock.now()).refused is None


async def test_a_wrong_central_password_is_a_setting_to_fix_not_parked(uow_factory, fake_clock, fake, forms, tmp_path):
    publish_regsosek(fake, forms)
    make_completed(uow_factory, fake_clock.now(), 3)
    w = worker(uow_factory, fake_clock, f"{fake.url}/v1/projects/1/submission", forms, tmp_path,
               Credentials("central", user=EMAIL, password="salah"))
    report = await w.run_once()
    await w.aclose()
    assert report.parked == 0 and report.delivered == 0 and report.retried >= 1
    assert w.refused.startswith("setting: HTTP 401") and fake.state.logins == 0
    assert [p for _, p, _ in fake.state.requests].count("/v1/sessions") == 1  # one try, not one per send
    assert fake.state.submissions == {}


async def test_central_login_answering_503_is_an_outage_not_a_wrong_password(uow_factory, fake_clock, fake, forms,
                                                                             tmp_path):
    publish_regsosek(fake, forms)
    make_completed(uow_factory, fake_clock.now(), 2)
    fake.state.login_down = True
    w = worker(uow_factory, fake_clock, f"{fake.url}/v1/projects/1/submission", forms, tmp_path,
               Credentials("central", user=EMAIL, password=PASSWORD))
    report = await w.run_once()
    assert report.retried >= 1 and w.unreachable and w.refused is None
    fake.state.login_down = False
    fake_clock.advance(dt.timedelta(seconds=POLICY.probe_cap + 1))
    total = await w.drain()
    await w.aclose()
    assert total.delivered == 2


def test_health_says_setting_when_the_registry_refuses_pintu(engine, uow_factory, fake_clock):
    from types import SimpleNamespace

    from bot.ops import Metrics, check_health

    ids = make_completed(uow_factory, fake_clock.now(), 1)
    with uow_factory() as uow:
        row = uow.deliveries.claim_due("registry", fake_clock.now(), 1, dt.timedelta(minutes=5))[0]
        uow.deliveries.mark_retry(row.id, fake_clock.now(), "setting: HTTP 403: forbidden", lease=row.claimed_until)
        uow.commit()
    pintu = SimpleNamespace(engine=engine, uow=uow_factory, clock=fake_clock, metrics=Metrics(),
                            settings=Settings())
    healthy, report = check_health(pintu, None, dispatching=False)
    assert healthy and report["registry"] == "setting" and "HTTP 403" in report["registry_setting"]
    assert ids


def test_the_built_in_form_is_found_with_the_default_settings(fake_clock):
    settings = Settings.from_env({"PINTU_REGISTRY_URL": "https://central.example/v1/projects/1/submission",
                                  "PINTU_REGISTRY_FORMAT": "openrosa", "PINTU_REGISTRY_AUTH": "central",
                                  "PINTU_REGISTRY_USER": EMAIL, "PINTU_REGISTRY_PASSWORD": PASSWORD})
    w = worker_from_settings(settings, lambda: None, fake_clock)  # type: ignore[arg-type]
    template = w.forms.template("pintu_regsosek_first_visit", BUILT_IN_VERSION)
    assert (template.get("id"), template.get("version")) == ("pintu_regsosek_first_visit", BUILT_IN_VERSION)
    assert PASSWORD not in repr(settings) and PASSWORD not in repr(w.target)


def test_publish_uploads_the_xform_and_its_attachments_then_says_already_published(central, tmp_path):
    book = Workbook()
    survey = book.active
    survey.title = "survey"
    survey.append(("type", "name", "label", "media::image"))
    survey.append(("note", "lihat", "Lihat gambar", "contoh_rumah.jpg"))
    survey.append(("text", "atap", "Atap", ""))
    settings_sheet = book.create_sheet("settings")
    settings_sheet.append(("form_id", "version"))
    settings_sheet.append(("rumah_foto", "7"))
    path = tmp_path / "rumah_foto.xlsx"
    book.save(path)
    (tmp_path / "contoh_rumah.jpg").write_bytes(b"\xff\xd8jpeg")
    env = {"PINTU_REGISTRY_URL": f"{central.url}/v1/projects/1/submission", "PINTU_REGISTRY_AUTH": "central",
           "PINTU_REGISTRY_USER": EMAIL, "PINTU_REGISTRY_PASSWORD": PASSWORD, "PINTU_FORMS_DIR": str(tmp_path)}
    assert run_cli(["form", "publish", str(path)], env) == 0
    form = central.state.forms["rumah_foto"]
    assert (form["published"], form["version"]) == (True, "7")
    assert form["attachments"] == {"contoh_rumah.jpg": b"\xff\xd8jpeg"}
    assert b'id="rumah_foto"' in form["xml"]
    paths = [p for m, p, _ in central.state.requests if m == "POST"]
    assert paths == ["/v1/sessions", "/v1/projects/1/forms", "/v1/projects/1/forms/rumah_foto/draft/attachments/contoh_rumah.jpg",
                     "/v1/projects/1/forms/rumah_foto/draft/publish"]
    assert run_cli(["form", "publish", str(path)], env) == 0  # nothing changes the second time
    assert central.state.forms["rumah_foto"]["version"] == "7"


def test_publish_without_a_web_user_says_what_to_set(central, capsys):
    env = {"PINTU_REGISTRY_URL": f"{central.url}/v1/projects/1/submission", "PINTU_REGISTRY_AUTH": "central-app-user",
           "PINTU_REGISTRY_TOKEN": APP_USER}
    assert run_cli(["form", "publish"], env) == 1
    assert "PINTU_REGISTRY_AUTH=central" in capsys.readouterr().err
    assert central.state.forms == {}


def test_publish_of_the_built_in_form_by_default(central, capsys):
    env = {"PINTU_REGISTRY_URL": f"{central.url}/v1/projects/3/submission", "PINTU_REGISTRY_AUTH": "basic",
           "PINTU_REGISTRY_USER": EMAIL, "PINTU_REGISTRY_PASSWORD": PASSWORD}
    assert run_cli(["form", "publish"], env) == 0
    assert central.state.forms["pintu_regsosek_first_visit"]["version"] == BUILT_IN_VERSION
    assert f"pintu_regsosek_first_visit version {BUILT_IN_VERSION}: created" in capsys.readouterr().out


def run_cli(argv, env):
    import os

    from bot.cli import main

    saved = dict(os.environ)
    os.environ.update(env)
    try:
        return main(argv)
    finally:
        os.environ.clear()
        os.environ.update(saved)


def test_settings_of_the_auth_schemes():
    assert Settings.from_env({}).registry_auth == "bearer"
    assert Settings.from_env({"PINTU_REGISTRY_AUTH": "Digest"}).registry_auth == "digest"
    with pytest.raises(ValueError, match="PINTU_REGISTRY_AUTH"):
        Settings.from_env({"PINTU_REGISTRY_AUTH": "oauth"})
    assert Credentials("central").problem() and Credentials("central", user="a", password="b").problem() is None
    assert "s3cr3t" not in repr(Credentials("token", token="s3cr3t"))


def test_each_record_gets_the_form_version_it_was_filled_with(tmp_path):
    for version, stem in (("1", "survei_lama"), ("2", "survei")):  # neither file is named after the form id
        book = Workbook()
        book.active.title = "survey"
        book.active.append(("type", "name", "label"))
        book.active.append(("text", "atap" if version == "1" else "dinding", "Pertanyaan"))
        book.create_sheet("settings").append(("form_id", "version"))
        book["settings"].append(("survei_rumah", version))
        book.save(tmp_path / f"{stem}.xlsx")
    library = FormLibrary(tmp_path)
    assert [c.tag for c in library.template("survei_rumah", "1")][0] == "atap"
    assert [c.tag for c in library.template("survei_rumah", "2")][0] == "dinding"


async def test_with_the_default_settings_a_record_of_the_built_in_form_reaches_central(uow_factory, central):
    """The issue's report: `PINTU_FORMS_DIR=forms` did not find the built-in form, so every record parked."""
    from domain.clock import SystemClock
    from domain.records import complete_record, start_record
    from registry_support import make_family, make_sls

    clock = SystemClock()  # the wall clock, as `pintu form publish` and a production worker use
    env = {"PINTU_REGISTRY_URL": f"{central.url}/v1/projects/1/submission", "PINTU_REGISTRY_FORMAT": "openrosa",
           "PINTU_REGISTRY_AUTH": "central", "PINTU_REGISTRY_USER": EMAIL, "PINTU_REGISTRY_PASSWORD": PASSWORD}
    assert run_cli(["form", "publish"], env) == 0
    with uow_factory() as uow:
        sls_id, enumerator_id = make_sls(uow)
        family_id = make_family(uow, sls_id, clock.now())
        record = start_record(uow, family_id, "pintu_regsosek_first_visit", BUILT_IN_VERSION, clock.now(),
                              enumerator_id=enumerator_id, answers={})
        complete_record(uow, record.id, clock.now())
        uow.commit()
    w = worker_from_settings(Settings.from_env(env), uow_factory, clock)
    report = await w.run_once()
    await w.aclose()
    assert report.delivered == 1, report.reasons
    stored = central.state.submissions[f"uuid:{record.id}"]
    assert (stored.form_id, stored.version) == ("pintu_regsosek_first_visit", BUILT_IN_VERSION)
