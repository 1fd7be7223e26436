"""A local fake of ODK Central's and KoboToolbox's submission APIs, answering as their docs say.

Central (https://docs.getodk.org/central-api/): ``POST /v1/sessions`` {email, password} → {token,
expiresAt}; Bearer session tokens, HTTPS Basic, or an App User's token in the path
(``/v1/key/{token}/…``); OpenRosa ``POST /v1/projects/{p}/submission`` (201; an identical resend of
an instanceID 201 again; different XML 409; a form or version it lacks 404; ``deprecatedID`` makes
an edit); forms ``GET/POST /v1/projects/{p}/forms[/{id}]`` (``?publish=true``), drafts, draft
attachments and ``/draft/publish?version=``.

Kobo (https://support.kobotoolbox.org/api.html, KoBoCAT's OpenRosa ``/submission``): ``Token``,
Basic or Digest (a 401 with a ``WWW-Authenticate: Digest`` challenge first); 201 new, 202 duplicate.
"""
from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import re
import secrets
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from registry_support import free_port

EMAIL, PASSWORD = "admin@bps.example", "rahasia-central"
APP_USER = "appuserTOKEN0123456789abcdefghijklmnopqrstuvwxyzAB"
KOBO_USER, KOBO_PASSWORD, KOBO_TOKEN = "enumerator", "rahasia-kobo", "0123456789abcdef0123456789abcdef01234567"
REALM = "DJANGO"


@dataclass
class Submission:
    xml: bytes
    form_id: str
    version: str
    attachments: dict[str, bytes]
    deprecated: str | None = None
    resends: int = 0


@dataclass
class FakeState:
    forms: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> {version, xml, draft, attachments}
    submissions: dict[str, Submission] = field(default_factory=dict)  # instanceID -> submission
    sessions: dict[str, dt.datetime] = field(default_factory=dict)  # token -> expiresAt
    logins: int = 0
    requests: list[tuple[str, str, str]] = field(default_factory=list)  # method, path, Authorization scheme
    session_ttl: dt.timedelta = dt.timedelta(hours=24)
    nonces: set[str] = field(default_factory=set)
    login_down: bool = False  # /v1/sessions answers 503 (Central restarting)


def _problem(status: int, code: float, message: str) -> web.Response:
    return web.json_response({"code": code, "message": message}, status=status)


def _openrosa(status: int, message: str) -> web.Response:
    body = f'<OpenRosaResponse xmlns="http://openrosa.org/http/response"><message>{message}</message></OpenRosaResponse>'
    return web.Response(status=status, text=body, content_type="text/xml", headers={"X-OpenRosa-Version": "1.0"})


def _meta(root: ET.Element, name: str) -> str | None:
    for element in root.iter():
        if element.tag.split("}")[-1] == name and element.text:
            return element.text.strip()
    return None


def _form_meta(xform: bytes) -> tuple[str, str]:
    """(id, version) of an XForm: its primary instance's root attributes."""
    doc = ET.fromstring(xform)
    instance = next(e for e in doc.iter() if e.tag.endswith("}instance"))
    root = instance[0]
    return root.get("id") or "", root.get("version") or ""


class FakeServer:
    """Central and Kobo on one loopback port (the paths differ), each with its documented auth."""

    def __init__(self, now: Any = None) -> None:
        self.now = now or (lambda: dt.datetime.now(dt.timezone.utc))  # the tests' clock, shared with Pintu's
        self.port = free_port()
        self.state = FakeState()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- Central auth ------------------------------------------------------------------------------

    def _central_user(self, request: web.Request) -> bool:
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        if scheme == "Bearer":
            expires = self.state.sessions.get(value)
            return expires is not None and self.now() < expires
        if scheme == "Basic":
            return base64.b64decode(value).decode() == f"{EMAIL}:{PASSWORD}"
        return False

    async def sessions(self, request: web.Request) -> web.Response:
        if self.state.login_down:
            return _problem(503, 503, "Service unavailable")
        body = await request.json()
        if (body.get("email"), body.get("password")) != (EMAIL, PASSWORD):
            return _problem(401, 401.2, "Could not authenticate with the provided credentials.")
        token = secrets.token_urlsafe(48)
        expires = self.now() + self.state.session_ttl
        self.state.sessions[token] = expires
        self.state.logins += 1
        return web.json_response({"token": token, "csrf": secrets.token_urlsafe(16),
                                  "expiresAt": expires.isoformat().replace("+00:00", "Z"),
                                  "createdAt": self.now().isoformat()})

    def expire_sessions(self) -> None:
        """Every session ends at once (what Central's 24 h, or a restart, does to a token)."""
        self.state.sessions.clear()

    # --- Kobo auth -----------------------------------------------------------------------------------

    def _kobo_user(self, request: web.Request) -> bool:
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        if scheme == "Token":
            return value == KOBO_TOKEN
        if scheme == "Basic":
            return base64.b64decode(value).decode() == f"{KOBO_USER}:{KOBO_PASSWORD}"
        if scheme == "Digest":
            return self._digest_ok(request, value)
        return False

    def _digest_ok(self, request: web.Request, value: str) -> bool:
        fields = dict(re.findall(r'(\w+)="?([^",]*)"?', value))
        if fields.get("username") != KOBO_USER or fields.get("nonce") not in self.state.nonces:
            return False
        md5 = lambda text: hashlib.md5(text.encode()).hexdigest()  # noqa: E731 - RFC 2617's MD5
        ha1 = md5(f"{KOBO_USER}:{REALM}:{KOBO_PASSWORD}")
        ha2 = md5(f"{request.method}:{fields.get('uri', '')}")
        expected = md5(f"{ha1}:{fields['nonce']}:{fields.get('nc', '')}:{fields.get('cnonce', '')}:"
                       f"{fields.get('qop', '')}:{ha2}")
        return secrets.compare_digest(expected, fields.get("response", ""))

    def _challenge(self) -> web.Response:
        nonce = secrets.token_hex(16)
        self.state.nonces.add(nonce)
        response = _openrosa(401, "Authentication required")
        response.headers["WWW-Authenticate"] = f'Digest realm="{REALM}", qop="auth", nonce="{nonce}", algorithm=MD5'
        return response

    # --- submissions -------------------------------------------------------------------------------------

    async def _read_submission(self, request: web.Request) -> tuple[bytes | None, dict[str, bytes]]:
        xml, attachments = None, {}
        async for part in await request.multipart():
            content = bytes(await part.read())
            if part.name == "xml_submission_file":
                xml = content
            else:
                attachments[part.filename or part.name or ""] = content
        return xml, attachments

    async def central_submission(self, request: web.Request) -> web.Response:
        key = request.match_info.get("key")
        if not (key == APP_USER if key is not None else self._central_user(request)):
            return _problem(401, 401.2, "Could not authenticate with the provided credentials.")
        if "X-OpenRosa-Version" not in request.headers:
            return _problem(400, 400.6, "Required header X-OpenRosa-Version missing.")
        xml, attachments = await self._read_submission(request)
        if xml is None:
            return _openrosa(400, "xml_submission_file missing")
        root = ET.fromstring(xml)
        form = self.state.forms.get(root.get("id") or "")
        if form is None or not form.get("published") or form["version"] != (root.get("version") or ""):
            return _openrosa(404, "Could not find the form you were looking for.")
        return self._store(root, xml, attachments, identical=201)

    async def kobo_submission(self, request: web.Request) -> web.Response:
        if not self._kobo_user(request):
            return self._challenge()
        xml, attachments = await self._read_submission(request)
        if xml is None:
            return _openrosa(400, "xml_submission_file missing")
        return self._store(ET.fromstring(xml), xml, attachments, identical=202)

    def _store(self, root: ET.Element, xml: bytes, attachments: dict[str, bytes], identical: int) -> web.Response:
        instance_id = _meta(root, "instanceID") or ""
        known = self.state.submissions.get(instance_id)
        if known is not None:
            if known.xml != xml:
                return _openrosa(409, "A submission already exists with this ID, but with different XML.")
            known.resends += 1
            known.attachments.update(attachments)
            return _openrosa(identical, "Duplicate submission" if identical == 202 else "full submission upload was successful!")
        self.state.submissions[instance_id] = Submission(xml, root.get("id") or "", root.get("version") or "",
                                                         attachments, _meta(root, "deprecatedID"))
        return _openrosa(201, "full submission upload was successful!")

    # --- forms -------------------------------------------------------------------------------------------

    async def get_form(self, request: web.Request) -> web.Response:
        if not self._central_user(request):
            return _problem(401, 401.2, "Could not authenticate with the provided credentials.")
        form = self.state.forms.get(request.match_info["form"])
        if form is None:
            return _problem(404, 404.1, "Could not find the resource you were looking for.")
        return web.json_response({"xmlFormId": request.match_info["form"],
                                  "version": form["version"] if form.get("published") else None})

    async def create_form(self, request: web.Request) -> web.Response:
        if not self._central_user(request):
            return _problem(401, 401.2, "Could not authenticate with the provided credentials.")
        xform = await request.read()
        form_id, version = _form_meta(xform)
        if form_id in self.state.forms:
            return _problem(409, 409.3, "A form with this ID already exists.")
        publish = request.query.get("publish") == "true"
        self.state.forms[form_id] = {"version": version, "xml": xform, "published": publish,
                                     "draft": None if publish else xform, "attachments": {}}
        return web.json_response({"xmlFormId": form_id, "version": version})

    async def create_draft(self, request: web.Request) -> web.Response:
        if not self._central_user(request):
            return _problem(401, 401.2, "Could not authenticate with the provided credentials.")
        form = self.state.forms[request.match_info["form"]]
        form["draft"] = await request.read()
        return web.json_response({"success": True})

    async def draft_attachments(self, request: web.Request) -> web.Response:
        form = self.state.forms[request.match_info["form"]]
        names = re.findall(rb"jr://(?:images|audio|video|file|file-csv)/([^\"'<\s]+)", form["draft"] or b"")
        return web.json_response([{"name": n.decode(), "type": "image", "exists": n.decode() in form["attachments"]}
                                  for n in dict.fromkeys(names)])

    async def upload_attachment(self, request: web.Request) -> web.Response:
        if not self._central_user(request):
            return _problem(401, 401.2, "Could not authenticate with the provided credentials.")
        form = self.state.forms[request.match_info["form"]]
        form["attachments"][request.match_info["name"]] = await request.read()
        return web.json_response({"success": True})

    async def publish_draft(self, request: web.Request) -> web.Response:
        if not self._central_user(request):
            return _problem(401, 401.2, "Could not authenticate with the provided credentials.")
        form = self.state.forms[request.match_info["form"]]
        if form["draft"] is None:
            return _problem(404, 404.1, "Could not find the resource you were looking for.")
        version = request.query.get("version") or _form_meta(form["draft"])[1]
        if form.get("published") and version == form["version"]:
            return _problem(409, 409.6, "The version you are trying to publish already exists.")
        form.update(version=version, xml=form["draft"], draft=None, published=True)
        return web.json_response({"success": True})

    # --- running -----------------------------------------------------------------------------------------

    @web.middleware
    async def _record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        scheme = request.headers.get("Authorization", "").partition(" ")[0]
        self.state.requests.append((request.method, request.path, scheme))
        return await handler(request)

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._record])
        r = app.router
        r.add_post("/v1/sessions", self.sessions)
        r.add_post("/v1/projects/{project}/submission", self.central_submission)
        r.add_post("/v1/key/{key}/projects/{project}/submission", self.central_submission)
        r.add_get("/v1/projects/{project}/forms/{form}", self.get_form)
        r.add_post("/v1/projects/{project}/forms", self.create_form)
        r.add_post("/v1/projects/{project}/forms/{form}/draft", self.create_draft)
        r.add_get("/v1/projects/{project}/forms/{form}/draft/attachments", self.draft_attachments)
        r.add_post("/v1/projects/{project}/forms/{form}/draft/attachments/{name}", self.upload_attachment)
        r.add_post("/v1/projects/{project}/forms/{form}/draft/publish", self.publish_draft)
        r.add_post("/api/v1/submissions", self.kobo_submission)
        r.add_post("/submission", self.kobo_submission)
        return app

    def start(self) -> "FakeServer":
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            runner = web.AppRunner(self.app(), access_log=None)
            loop.run_until_complete(runner.setup())
            loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", self.port).start())
            ready.set()
            loop.run_forever()
            loop.run_until_complete(runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        assert ready.wait(10), "fake Central did not start"
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
