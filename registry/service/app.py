"""The reference registry's HTTP handlers (aiohttp) and its database access."""
from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import hashlib
import hmac
import json
import logging
import queue
import threading
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterable
from typing import Any

from aiohttp import web

from domain.clock import SystemClock
from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from registry.payload import schema_of, validation_errors
from registry.service.models import RegistryBase, StoredFkpDecision, StoredPhoto, StoredRecord, StoredSubmission
from storage.db import make_engine, make_session_factory

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024 * 1024
ENGINE = web.AppKey("engine", Engine)
SESSIONS = web.AppKey("sessions", sessionmaker)
TOKEN = web.AppKey("token", str)
READ_TOKEN = web.AppKey("read_token", str)
WRITES = web.AppKey("writes", object)
WRITER = web.AppKey("writer", object)
GROUP_MAX = 500  # records committed together at most


def _now() -> dt.datetime:
    # The reference service stamps what it receives with the wall clock on purpose: it stands in for
    # another organisation's server, not for Pintu's own (injected) time.
    return SystemClock().now()


def _error(status: int, error: str, details: Iterable[str] = ()) -> web.Response:
    body: dict[str, Any] = {"error": error}
    details = list(details)
    if details:
        body["details"] = details[:20]
    return web.json_response(body, status=status)


def create_app(engine: Engine, token: str, *, read_token: str = "", middlewares: Iterable[Any] = ()) -> web.Application:
    """The service over ``engine`` (its tables are created if missing). ``token`` may only write
    (what a Pintu forwarder holds); ``read_token`` may only read records back (an analyst's). Two
    credentials, so that the forwarder on every Pintu host cannot read every record; without a
    ``read_token`` nothing can be read over HTTP."""
    if not token:
        raise ValueError("the registry needs a token (PINTU_REGISTRY_TOKEN or --token)")
    if read_token and hmac.compare_digest(read_token.encode(), token.encode()):
        raise ValueError("the read token must differ from the write token")
    RegistryBase.metadata.create_all(engine)
    app = web.Application(client_max_size=MAX_BODY, middlewares=list(middlewares))
    app[ENGINE] = engine
    app[SESSIONS] = make_session_factory(engine)
    app[TOKEN] = token
    app[READ_TOKEN] = read_token
    # SQLite has one writer: queue writers on a lock here instead of in SQLite's sleeping busy handler.
    app[WRITES] = threading.Lock() if engine.dialect.name == "sqlite" else contextlib.nullcontext()
    writer = RecordWriter(app[SESSIONS], app[WRITES])
    app[WRITER] = writer

    async def _stop_writer(_app: web.Application) -> None:
        await asyncio.to_thread(writer.close)

    app.on_cleanup.append(_stop_writer)
    app.router.add_post("/v1/records", post_record)
    app.router.add_get("/v1/records/{key}", get_record)
    app.router.add_post("/v1/erasures", post_erasure)
    app.router.add_post("/v1/fkp-decisions", post_fkp_decision)
    app.router.add_post("/submission", post_submission)
    app.router.add_head("/submission", head_submission)
    app.router.add_get("/healthz", healthz)
    return app


def _authorized(request: web.Request, key: web.AppKey[str] = TOKEN) -> bool:
    """The request carries ``key``'s token (Bearer or Token): the write token by default."""
    expected = request.app[key]
    header = request.headers.get("Authorization", "")
    scheme, _, presented = header.partition(" ")
    return bool(expected) and scheme.lower() in ("bearer", "token") and \
        hmac.compare_digest(presented.encode(), expected.encode())


async def healthz(request: web.Request) -> web.Response:
    """200 while the service's database answers (the container's HEALTHCHECK asks this), else 503."""
    def _ping() -> None:
        with request.app[ENGINE].connect() as connection:
            connection.exec_driver_sql("SELECT 1")

    try:
        await asyncio.to_thread(_ping)
    except Exception as error:
        return web.json_response({"ok": False, "database": f"unreachable: {type(error).__name__}"}, status=503)
    return web.json_response({"ok": True, "database": "ok"})


async def post_record(request: web.Request) -> web.Response:
    if not _authorized(request):
        return _error(401, "unauthorized")
    key = request.headers.get("Idempotency-Key", "")
    if not key or len(key) > 64:
        return _error(400, "Idempotency-Key header missing or too long")
    photos: dict[str, tuple[bytes, str]] = {}
    try:
        if request.content_type == "multipart/form-data":
            raw = None
            reader = await request.multipart()
            async for part in reader:
                if part.name == "record":
                    raw = await part.read()
                elif part.name == "photo":
                    photos[part.filename or ""] = (bytes(await part.read()), part.headers.get("Content-Type", ""))
                else:
                    return _error(400, f"unexpected part {part.name!r}")
            if raw is None:
                return _error(400, "multipart without a 'record' part")
        elif request.content_type == "application/json":
            raw = await request.read()
        else:
            return _error(415, "send application/json or multipart/form-data")
        document = json.loads(raw)
    except web.HTTPRequestEntityTooLarge:
        return _error(413, "request too large")
    except (ValueError, UnicodeDecodeError):
        return _error(400, "body is not JSON")
    errors = validation_errors(document)
    if errors:
        return _error(422, f"document does not match {schema_of(document)}", errors)
    if document["record_id"] != key:
        return _error(422, "Idempotency-Key differs from record_id")
    problems = _check_photos(document["photos"], photos)
    if problems:
        return _error(422, "photos do not match the document", problems)
    digest = hashlib.sha256(json.dumps(document, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    status, body = await request.app[WRITER].store(key, document, digest, photos)
    return web.json_response(body, status=status)


class RecordWriter:
    """Group commit: one thread stores every record waiting at that moment in one transaction.

    A commit per request (a sync of the database's log each) caps the service at a few hundred
    records per second; under load the requests that arrive while one transaction commits are
    stored together by the next. Each request still gets its own answer (201, 200 or 409), only
    after the transaction that holds its record has committed.
    """

    def __init__(self, sessions: sessionmaker[Session], lock: Any) -> None:
        self.sessions = sessions
        self.lock = lock
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start = threading.Lock()

    async def store(self, key: str, document: dict[str, Any], digest: str,
                    photos: dict[str, tuple[bytes, str]]) -> tuple[int, dict[str, Any]]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[tuple[int, dict[str, Any]]] = loop.create_future()
        with self._start:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="registry-writer", daemon=True)
                self._thread.start()
        self._queue.put((key, document, digest, photos, future, loop))
        return await future

    def close(self) -> None:
        with self._start:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join(30)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            batch = [item]
            while len(batch) < GROUP_MAX:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._queue.put(None)  # stop after this batch
                    break
                batch.append(more)
            try:
                with self.lock:
                    results = _store_records(self.sessions, [entry[:4] for entry in batch])
            except IntegrityError:  # another service process stored one of these keys meanwhile
                results = [self._one(entry) for entry in batch]
            except Exception as error:
                log.error("storing %d records failed: %s", len(batch), type(error).__name__)
                results = [(503, {"error": "storage failed, try again"})] * len(batch)
            for entry, result in zip(batch, results):
                future, loop = entry[4], entry[5]
                loop.call_soon_threadsafe(_resolve, future, result)

    def _one(self, entry: Any) -> tuple[int, dict[str, Any]]:
        try:
            with self.lock:
                return _store_record(self.sessions, *entry[:4])
        except Exception as error:
            log.error("storing a record failed: %s", type(error).__name__)
            return 503, {"error": "storage failed, try again"}


def _resolve(future: asyncio.Future[Any], result: Any) -> None:
    if not future.done():  # the client may have gone away meanwhile
        future.set_result(result)


def _store_records(sessions: sessionmaker[Session], items: list[tuple[str, dict[str, Any], str, dict[str, tuple[bytes, str]]]]
                   ) -> list[tuple[int, dict[str, Any]]]:
    """Store a group of records in one transaction; a key seen before (in the database or earlier in
    the group) is a duplicate (200) with the same document, a conflict (409) with another."""
    now = _now()
    with sessions() as session:
        keys = list({item[0] for item in items})
        known = dict(session.execute(select(StoredRecord.key, StoredRecord.document_sha256)
                                     .where(StoredRecord.key.in_(keys))).all())
        results: list[tuple[int, dict[str, Any]]] = []
        rows: list[dict[str, Any]] = []
        photos: dict[str, tuple[bytes, str]] = {}
        duplicates: Counter[str] = Counter()
        for key, document, digest, item_photos in items:
            if key in known:
                if known[key] != digest:
                    results.append((409, {"error": "this Idempotency-Key was stored with a different document"}))
                else:
                    duplicates[key] += 1
                    results.append((200, {"status": "duplicate", "key": key}))
                continue
            known[key] = digest
            photos.update(item_photos)
            rows.append({"key": key, "version": document["version"], "replaces": document["replaces"],
                         "form_id": document["form"]["id"], "form_version": document["form"]["version"],
                         "sls_code": document["area"]["sls"], "document": document, "document_sha256": digest,
                         "received_at": now, "duplicates": 0})
            results.append((201, {"status": "stored", "key": key}))
        if photos:
            have = set(session.scalars(select(StoredPhoto.sha256).where(StoredPhoto.sha256.in_(list(photos)))))
            new = [{"sha256": sha, "size": len(content), "mime": mime or "image/jpeg", "content": content,
                    "received_at": now} for sha, (content, mime) in photos.items() if sha not in have]
            if new:
                session.execute(insert(StoredPhoto), new)
        if rows:
            session.execute(insert(StoredRecord), rows)
        for key, count in duplicates.items():
            session.execute(update(StoredRecord).where(StoredRecord.key == key)
                            .values(duplicates=StoredRecord.duplicates + count))
        session.commit()
    return results


def _locked(lock: Any, function: Any, *args: Any) -> Any:
    with lock:
        return function(*args)


def _check_photos(listed: list[dict[str, Any]], received: dict[str, tuple[bytes, str]]) -> list[str]:
    problems = []
    wanted = {p["sha256"]: p for p in listed}
    for sha, photo in wanted.items():
        if sha not in received:
            problems.append(f"photo {sha[:12]} missing")
            continue
        content = received[sha][0]
        if len(content) != photo["size"]:
            problems.append(f"photo {sha[:12]} size {len(content)} != {photo['size']}")
        elif hashlib.sha256(content).hexdigest() != sha:
            problems.append(f"photo {sha[:12]} hash mismatch")
    problems += [f"photo part {name[:12]} not in the document" for name in received.keys() - wanted.keys()]
    return problems


def _store_record(sessions: sessionmaker[Session], key: str, document: dict[str, Any], digest: str,
                  photos: dict[str, tuple[bytes, str]]) -> tuple[int, dict[str, Any]]:
    now = _now()
    for attempt in range(3):
        with sessions() as session:
            existing = session.get(StoredRecord, key)
            if existing is not None:
                if existing.document_sha256 != digest:
                    return 409, {"error": "this Idempotency-Key was stored with a different document"}
                session.execute(update(StoredRecord).where(StoredRecord.key == key)
                                .values(duplicates=StoredRecord.duplicates + 1))
                session.commit()
                return 200, {"status": "duplicate", "key": key}
            try:
                for sha, (content, mime) in photos.items():
                    if session.get(StoredPhoto, sha) is None:
                        session.add(StoredPhoto(sha256=sha, size=len(content), mime=mime or "image/jpeg",
                                                content=content, received_at=now))
                session.add(StoredRecord(
                    key=key, version=document["version"], replaces=document["replaces"],
                    form_id=document["form"]["id"], form_version=document["form"]["version"],
                    sls_code=document["area"]["sls"], document=document, document_sha256=digest,
                    received_at=now, duplicates=0))
                session.commit()
                return 201, {"status": "stored", "key": key}
            except IntegrityError:
                session.rollback()  # a concurrent request with the same key (or photo) won: look again
    return 503, {"error": "busy, try again"}


async def get_record(request: web.Request) -> web.Response:
    if not request.app[READ_TOKEN]:
        return _error(403, "reading records is off: start the service with a read token (--read-token)")
    if not _authorized(request, READ_TOKEN):
        return _error(401, "unauthorized (reading needs the read token)")

    def _get() -> dict[str, Any] | None:
        with request.app[SESSIONS]() as session:
            row = session.get(StoredRecord, request.match_info["key"])
            return None if row is None else {"key": row.key, "document": row.document, "duplicates": row.duplicates,
                                             "received_at": row.received_at.isoformat()}

    found = await asyncio.to_thread(_get)
    return web.json_response(found) if found else _error(404, "no such key")


async def post_erasure(request: web.Request) -> web.Response:
    """A resident withdrew consent (pintu.erasure/1): delete the record named by ``record_id`` and every
    stored version of it. Idempotent: erasing what is not (or no longer) here answers 200 as well."""
    if not _authorized(request):
        return _error(401, "unauthorized")
    try:
        document = json.loads(await request.read())
        key = document["record_id"] if document.get("schema") == "pintu.erasure/1" else None
    except (ValueError, UnicodeDecodeError, TypeError, KeyError, AttributeError):
        key = None
    if not isinstance(key, str) or not key or len(key) > 64:
        return _error(422, "expected a pintu.erasure/1 document with a record_id")

    def _erase() -> int:
        with request.app[SESSIONS]() as session:
            rows = session.query(StoredRecord).filter((StoredRecord.key == key) | (StoredRecord.replaces == key)).all()
            for row in rows:
                session.delete(row)
            session.commit()
            return len(rows)

    erased = await asyncio.to_thread(_locked, request.app[WRITES], _erase)
    return web.json_response({"status": "erased", "key": key, "records": erased})


FKP_SCHEMA = "pintu.fkp-decision/1"


@functools.cache
def _fkp_validator() -> Any:
    import jsonschema

    from registry.payload import SCHEMA_PATH

    document = json.loads((SCHEMA_PATH.parent / "fkp-decision-v1.json").read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(document)
    return cls(document, format_checker=cls.FORMAT_CHECKER)


async def post_fkp_decision(request: web.Request) -> web.Response:
    """A public-consultation decision (pintu.fkp-decision/1), stored once per decision_id: 201 the first
    time, 200 for an identical resend, 409 for a different document under a key already held."""
    if not _authorized(request):
        return _error(401, "unauthorized")
    try:
        document = json.loads(await request.read())
    except (ValueError, UnicodeDecodeError):
        return _error(400, "body is not JSON")
    errors = [f"/{'/'.join(str(p) for p in e.absolute_path)}: {e.validator}"
              for e in _fkp_validator().iter_errors(document)]
    if errors:
        return _error(422, f"not a valid {FKP_SCHEMA} document", errors)
    key = document["decision_id"]
    if request.headers.get("Idempotency-Key", f"fkp-{key}") != f"fkp-{key}":
        return _error(400, "Idempotency-Key must be fkp-<decision_id>")
    digest = hashlib.sha256(json.dumps(document, sort_keys=True, separators=(",", ":")).encode()).hexdigest()

    def _store() -> tuple[int, str]:
        with request.app[SESSIONS]() as session:
            held = session.get(StoredFkpDecision, key)
            if held is not None:
                if held.document_sha256 != digest:
                    return 409, "a different decision is stored under this decision_id"
                held.duplicates += 1
                session.commit()
                return 200, "duplicate"
            session.add(StoredFkpDecision(key=key, sls_code=document["area"]["sls"], document=document,
                                          document_sha256=digest, received_at=_now(), duplicates=0))
            try:
                session.commit()
            except IntegrityError:  # a concurrent copy of the same decision got in first
                session.rollback()
                return 200, "duplicate"
            return 201, "stored"

    status, outcome = await asyncio.to_thread(_locked, request.app[WRITES], _store)
    if status == 409:
        return _error(409, outcome)
    return web.json_response({"status": outcome, "decision_id": key}, status=status)


# --- OpenRosa ----------------------------------------------------------------------------------------

def _openrosa(status: int, message: str) -> web.Response:
    body = (f'<OpenRosaResponse xmlns="http://openrosa.org/http/response"><message nature="">{message}'
            "</message></OpenRosaResponse>")
    return web.Response(status=status, text=body, content_type="text/xml",
                        headers={"X-OpenRosa-Version": "1.0", "X-OpenRosa-Accept-Content-Length": str(MAX_BODY)})


async def head_submission(request: web.Request) -> web.Response:
    return web.Response(status=204, headers={"X-OpenRosa-Version": "1.0",
                                             "X-OpenRosa-Accept-Content-Length": str(MAX_BODY)})


async def post_submission(request: web.Request) -> web.Response:
    if not _authorized(request):
        return _openrosa(401, "unauthorized")
    if request.content_type != "multipart/form-data":
        return _openrosa(400, "multipart/form-data expected")
    xml = None
    attachments: dict[str, str] = {}
    async for part in await request.multipart():
        content = bytes(await part.read())
        if part.name == "xml_submission_file":
            xml = content
        else:
            attachments[part.filename or part.name or ""] = hashlib.sha256(content).hexdigest()
    if xml is None:
        return _openrosa(400, "xml_submission_file missing")
    try:
        root = ET.fromstring(xml)
    except ET.ParseError:
        return _openrosa(400, "submission is not well-formed XML")
    instance_id = _find_meta(root, "instanceID")
    if not instance_id:
        return _openrosa(400, "meta/instanceID missing")
    status, message = await asyncio.to_thread(
        _locked, request.app[WRITES], _store_submission, request.app[SESSIONS], instance_id, root.get("id") or root.tag,
        _find_meta(root, "deprecatedID"), xml.decode("utf-8"), attachments)
    return _openrosa(status, message)


def _find_meta(root: ET.Element, name: str) -> str | None:
    for meta in root.iter():
        if meta.tag.split("}")[-1] == "meta":
            for child in meta:
                if child.tag.split("}")[-1] == name:
                    return (child.text or "").strip() or None
    return None


def _store_submission(sessions: sessionmaker[Session], instance_id: str, form_id: str, deprecated: str | None,
                      xml: str, attachments: dict[str, str]) -> tuple[int, str]:
    """As ODK Central does: an identical resend of a known instanceID is accepted again (201), the same
    instanceID with different XML is a conflict (409)."""
    with sessions() as session:
        existing = session.get(StoredSubmission, instance_id)
        if existing is None:
            try:
                session.add(StoredSubmission(instance_id=instance_id, form_id=form_id, deprecated_id=deprecated,
                                             xml=xml, attachments=attachments, received_at=_now(), duplicates=0))
                session.commit()
                return 201, "Form Received!"
            except IntegrityError:  # a concurrent resend won: compare with what it stored
                session.rollback()
                existing = session.get(StoredSubmission, instance_id)
        if existing is None or existing.xml != xml:
            return 409, "A submission already exists with this ID, but with different XML"
        session.execute(update(StoredSubmission).where(StoredSubmission.instance_id == instance_id)
                        .values(duplicates=StoredSubmission.duplicates + 1))
        session.commit()
    return 201, "Form Received! (identical resend)"


# --- running it ----------------------------------------------------------------------------------------

def stored_keys(engine: Engine) -> dict[str, int]:
    """Every stored key with how many duplicates it absorbed (for tests, benchmarks and operators)."""
    with make_session_factory(engine)() as session:
        return dict(session.execute(select(StoredRecord.key, StoredRecord.duplicates)).all())


def serve(host: str, port: int, database_url: str, token: str, read_token: str = "") -> None:
    engine = make_engine(database_url)
    app = create_app(engine, token, read_token=read_token)
    log.info("reference registry on http://%s:%d (database %s)", host, port, engine.url.render_as_string())
    web.run_app(app, host=host, port=port, print=None, access_log=None)
