"""`pintu form publish`: put the form Pintu fills onto ODK Central, so that both hold the same form id
and version (Central answers 404 to a submission of a form or version it lacks).

Central's form API (https://docs.getodk.org/central-api-form-management/), as a web user:

- ``GET /v1/projects/{p}/forms/{xmlFormId}``: 404 unknown; else its published ``version``;
- unknown form, no attachments: ``POST /v1/projects/{p}/forms?publish=true`` with the XForm;
- otherwise a draft: ``POST /v1/projects/{p}/forms`` (new form) or ``POST …/forms/{id}/draft`` (a new
  version), then each attachment the draft expects (``GET …/draft/attachments``) with
  ``POST …/draft/attachments/{name}``, then ``POST …/draft/publish?version={version}``.

Attachments are looked for next to the XLSForm and in its ``{name}-media`` folder (pyxform's habit).
Publishing what Central already has (same id and version) changes nothing.
"""
from __future__ import annotations

import mimetypes
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import httpx

PROJECT_IN_URL = re.compile(r"/v1/(?:key/[^/]+/)?projects/(\d+)(?:/|$)")
XML = {"Content-Type": "application/xml"}


class PublishError(Exception):
    """Central refused a step; the message names the step and Central's answer."""


@dataclass
class PublishReport:
    form_id: str
    version: str
    action: str = ""  # "created", "new version", "already published"
    attachments: list[str] = field(default_factory=list)  # uploaded
    missing: list[str] = field(default_factory=list)  # expected by the form, not found next to it

    def summary(self) -> str:
        text = f"{self.form_id} version {self.version}: {self.action}"
        if self.attachments:
            text += f"; attachments uploaded: {', '.join(self.attachments)}"
        if self.missing:
            text += f"; attachments NOT found (upload them in Central): {', '.join(self.missing)}"
        return text


def project_from_url(url: str) -> int | None:
    """The project number in a Central URL (``…/v1/projects/3/submission`` → 3)."""
    found = PROJECT_IN_URL.search(url)
    return int(found.group(1)) if found else None


def publish_form(client: httpx.Client, server: str, project: int, form_id: str, version: str, xform: str,
                 media_dirs: list[Path] = ()) -> PublishReport:  # type: ignore[assignment]
    """Make ``form_id`` at ``version`` the published form of ``project`` on Central at ``server``."""
    forms = f"{server.rstrip('/')}/v1/projects/{project}/forms"
    form = f"{forms}/{quote(form_id, safe='')}"
    report = PublishReport(form_id, version)
    known = client.get(form)
    if known.status_code == 200 and str(known.json().get("version") or "") == version:
        report.action = "already published"
        return report
    if known.status_code not in (200, 404):
        raise PublishError(_problem("looking the form up", known))
    if known.status_code == 404:
        expected = _expected_media(xform)
        if not expected:
            _check("creating and publishing the form", client.post(forms, params={"publish": "true"},
                                                                   content=xform.encode(), headers=XML))
            report.action = "created"
            return report
        _check("creating the form's draft", client.post(forms, content=xform.encode(), headers=XML))
        report.action = "created"
    else:
        _check("creating a draft of the new version", client.post(f"{form}/draft", content=xform.encode(), headers=XML))
        report.action = "new version"
    _upload_attachments(client, form, media_dirs, report)
    _check("publishing the draft", client.post(f"{form}/draft/publish", params={"version": version}))
    return report


def _upload_attachments(client: httpx.Client, form: str, media_dirs: list[Path], report: PublishReport) -> None:
    listed = client.get(f"{form}/draft/attachments")
    _check("listing the draft's attachments", listed)
    for item in listed.json():
        name = str(item.get("name", ""))
        path = next((d / name for d in media_dirs if (d / name).is_file()), None)
        if path is None:
            report.missing.append(name)
            continue
        mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
        _check(f"uploading the attachment {name}", client.post(f"{form}/draft/attachments/{quote(name, safe='')}",
                                                               content=path.read_bytes(), headers={"Content-Type": mime}))
        report.attachments.append(name)


def _expected_media(xform: str) -> bool:
    """Whether the XForm names media or external files (jr://images/…, jr://file/…, jr://file-csv/…)."""
    return bool(re.search(r"jr://(?:images|audio|video|file|file-csv)/", xform))


def media_dirs_for(source: Path | None) -> list[Path]:
    if source is None:
        return []
    return [source.parent / f"{source.stem}-media", source.parent]


def _check(step: str, response: httpx.Response) -> None:
    if response.status_code >= 300:
        raise PublishError(_problem(step, response))


def _problem(step: str, response: httpx.Response) -> str:
    try:
        message = str(response.json().get("message", ""))
    except ValueError:
        message = ""
    hint = " (check PINTU_REGISTRY_AUTH=central and the web user's email and password)" \
        if response.status_code in (401, 403) else ""
    return f"{step}: Central answered HTTP {response.status_code}{': ' + message if message else ''}{hint}"
