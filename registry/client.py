"""One delivery to the registry over httpx, and what its outcome means for the outbox row.

=====================================================  =====================================
the registry's answer                                  the row
=====================================================  =====================================
200, 201, 202 (JSON: 200 = already had this key;        delivered
OpenRosa: Central 201 / Kobo 202 for an identical
resend of the same instanceID)
408, 425, 429, 5xx, timeout, refused, reset, TLS, DNS   retried: exponential backoff + jitter
                                                        (Retry-After honoured), until delivered
401, 403 (and 404 on JSON: the URL is wrong)            a setting to fix (credentials, URL), for
                                                        every record, not this one: retried, one
                                                        probe at a time, and reported as a
                                                        setting by /healthz and `registry status`
OpenRosa 404 (form or version unknown to the server)    parked with the reason: publish the form
OpenRosa 409 (same instanceID, different XML)           (`pintu form publish`), then requeue
any other 4xx (400, 409 JSON, 413, 415, 422, ...)       parked with the status and the
                                                        registry's reason (no retry can fix it)
=====================================================  =====================================

TLS certificates are always verified (httpx's default; a private CA goes in SSL_CERT_FILE). Nothing
personal is logged: log lines name the record id, the status and the error class only. How the
request is authenticated is registry/auth.py's business.
"""
from __future__ import annotations

import asyncio
import email.utils
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import httpx

from registry.auth import Credentials, HeaderAuth, app_user_url
from registry.payload import Payload

FORMATS = ("json", "openrosa")
RETRY_4XX = {408, 425, 429}
SETTING_4XX = {401, 403}  # the credentials are wrong for every record (JSON: 404 too, the URL is)
SETTING_PREFIX = "setting: "  # starts the reason of an outcome that an operator's setting must fix


@dataclass(frozen=True)
class RegistryTarget:
    """Where and how to deliver. JSON: records go to ``{url}/v1/records``; OpenRosa: ``url`` is the
    form's submission URL (ODK Central ``…/v1/projects/N/submission``, Kobo ``…/api/v1/submissions``)."""

    url: str
    token: str = field(default="", repr=False)  # never printed
    format: str = "json"
    timeout: float = 30.0  # sending the request and waiting for the answer
    # Opening the connection is timed on its own: a dead host should fail fast (and start the outage
    # probe), while a registry that is busy storing a record deserves the full ``timeout``.
    connect_timeout: float = 10.0
    credentials: Credentials | None = None  # None: Bearer ``token`` (the reference registry)

    def __post_init__(self) -> None:
        if self.credentials is None:
            object.__setattr__(self, "credentials", Credentials("bearer", self.token))
        if self.format not in FORMATS:
            raise ValueError(f"registry format must be one of {FORMATS}, not {self.format!r}")
        if not self.url.startswith(("http://", "https://")):
            raise ValueError("the registry URL must start with http:// or https://")

    @property
    def records_url(self) -> str:
        return self.url.rstrip("/") + "/v1/records"

    @property
    def submission_url(self) -> str:
        """OpenRosa: the URL, with an ODK Central App User's token in its path when that is the scheme."""
        creds = self.credentials
        if creds is not None and creds.scheme == "central-app-user":
            return app_user_url(self.url, creds.token)
        return self.url


@dataclass(frozen=True)
class Outcome:
    kind: Literal["delivered", "retry", "park"]
    reason: str  # status code and the registry's short reason, or the transport error's class
    retry_after: float | None = None
    reachable: bool = True  # False: the registry was not reached at all (refused, timeout, reset)

    @property
    def setting(self) -> bool:
        """The registry refused our credentials or URL: a setting to fix, the same for every record."""
        return self.reason.startswith(SETTING_PREFIX)


def make_client(target: RegistryTarget, concurrency: int = 8) -> httpx.AsyncClient:
    """The one HTTP client of a worker: certificates verified, no redirects followed (a redirect of
    a POST would silently drop its body), a pool as large as the worker's concurrency."""
    return httpx.AsyncClient(
        verify=True,
        follow_redirects=False,
        timeout=httpx.Timeout(target.timeout, connect=target.connect_timeout),
        limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
        headers={"User-Agent": "pintu-registry-forwarder/1"},
    )


def classify(response: httpx.Response, fmt: str) -> Outcome:
    status = response.status_code
    if status in (200, 201, 202):
        return Outcome("delivered", str(status))
    reason = f"HTTP {status}{_short_reason(response)}"
    if status in SETTING_4XX or (status == 404 and fmt == "json"):
        return Outcome("retry", SETTING_PREFIX + reason, retry_after=_retry_after(response))
    if status == 404:  # OpenRosa: the server does not have this form id or version
        return Outcome("park", f"{reason} (form or version unknown to the server: publish it, then requeue)")
    if status == 409 and fmt == "openrosa":  # identical resends get 201/202: this one differs
        return Outcome("park", f"{reason} (same instanceID, different XML)")
    if status >= 500 or status in RETRY_4XX:
        return Outcome("retry", reason, retry_after=_retry_after(response))
    if 400 <= status < 500:
        return Outcome("park", reason)
    return Outcome("retry", reason)  # 1xx/3xx: unexpected; do not lose the record


def transport_failure(error: Exception) -> Outcome:
    return Outcome("retry", type(error).__name__, reachable=False)


async def send_json(client: httpx.AsyncClient, target: RegistryTarget, payload: Payload,
                    auth: httpx.Auth | None = None) -> Outcome:
    headers = {"Idempotency-Key": payload.record_id}
    auth = auth if auth is not None else header_auth(target)
    try:
        if payload.photos:
            files = [("record", ("record.json", payload.body, "application/json"))]
            for photo, content in zip(payload.photos, await _read_photos(payload)):
                files.append(("photo", (photo.sha256, content, photo.mime)))
            response = await client.post(target.records_url, headers=headers, files=files, auth=auth)
        else:
            headers["Content-Type"] = "application/json"
            response = await client.post(target.records_url, headers=headers, content=payload.body, auth=auth)
    except httpx.HTTPError as error:
        return transport_failure(error)
    except PhotoMissing as error:
        return Outcome("park", str(error))
    return classify(response, "json")


async def send_openrosa(client: httpx.AsyncClient, target: RegistryTarget, payload: Payload,
                        instance_xml: bytes, media_names: list[str], auth: httpx.Auth | None = None) -> Outcome:
    headers = {"X-OpenRosa-Version": "1.0", "Date": email.utils.formatdate(time.time(), usegmt=True)}
    auth = auth if auth is not None else header_auth(target)
    try:
        files = [("xml_submission_file", ("submission.xml", instance_xml, "text/xml"))]
        for photo, name, content in zip(payload.photos, media_names, await _read_photos(payload)):
            files.append((name, (name, content, photo.mime)))
        response = await client.post(target.submission_url, headers=headers, files=files, auth=auth)
    except httpx.HTTPError as error:
        return transport_failure(error)
    except PhotoMissing as error:
        return Outcome("park", str(error))
    return classify(response, "openrosa")


def header_auth(target: RegistryTarget) -> httpx.Auth | None:
    """The auth of the schemes that need no state (a fixed header); the worker passes the others."""
    creds = target.credentials
    if creds is None or creds.scheme not in ("bearer", "token") or not creds.token:
        return None
    return HeaderAuth(creds.scheme.capitalize(), creds.token)


class PhotoMissing(Exception):
    """A photo's file is gone or no longer matches its hash: no retry brings it back."""


async def _read_photos(payload: Payload) -> list[bytes]:
    return await asyncio.to_thread(_read_photo_files, payload)


def _read_photo_files(payload: Payload) -> list[bytes]:
    import hashlib

    contents = []
    for photo in payload.photos:
        try:
            content = Path(photo.path).read_bytes()
        except OSError as error:
            raise PhotoMissing(f"photo {photo.sha256[:12]} unreadable: {type(error).__name__}") from None
        if hashlib.sha256(content).hexdigest() != photo.sha256:
            raise PhotoMissing(f"photo {photo.sha256[:12]} changed on disk (hash differs)")
        contents.append(content)
    return contents


def _short_reason(response: httpx.Response) -> str:
    """The registry's own short reason (JSON ``error``/``message``, or an OpenRosa message), clipped."""
    text = ""
    try:
        data = response.json()
        if isinstance(data, dict):
            text = str(data.get("error") or data.get("message") or "")
            details = data.get("details")
            if isinstance(details, list) and details:
                text += " (" + "; ".join(str(d) for d in details[:5]) + ")"
    except (ValueError, UnicodeDecodeError):
        body = response.text
        if "<message" in body:
            text = body.split("<message", 1)[1].split(">", 1)[-1].split("</message", 1)[0]
    text = " ".join(text.split())[:400]
    return f": {text}" if text else ""


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value)
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None

