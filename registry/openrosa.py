"""A record as an OpenRosa XForm instance, the way ODK Central and KoboToolbox take submissions.

The instance is the primary instance of the form's XForm, which pyxform makes from the XLSForm
(found by its form id: ``{forms_dir}/{form_id}.xlsx``, else any XLSForm in ``forms_dir`` or given as
``extra`` whose settings name that id, else Pintu's built-in first-visit form), filled from the record's answers (keyed by question name; repeats
are lists of objects, select_multiple lists, geopoints ``{"lat","lon","alt","acc"}``), with
``meta/instanceID = uuid:<record id>`` and, for a correction, ``meta/deprecatedID = uuid:<replaced id>``
(ODK's convention for an edited submission). Photos go as media parts named by their file names.
"""
from __future__ import annotations

import copy
import logging
import threading
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from registry.payload import Payload

log = logging.getLogger(__name__)

XFORMS = "http://www.w3.org/2002/xforms"
JR = "http://openrosa.org/javarosa"
ORX = "http://openrosa.org/xforms"


class FormError(Exception):
    """The form is missing or does not match the record (wrong version): no retry can fix it."""


class FormLibrary:
    def __init__(self, forms_dir: str | Path = "forms", extra: Any = ()) -> None:
        from forms.default import DEFAULT_FORM

        self.forms_dir = Path(forms_dir)
        # Looked through when no file is named after the form id: the questionnaire's own XLSForm
        # (PINTU_FORM) and the built-in one, whose file names are not their form ids.
        self.extra = [Path(path) for path in extra] + [DEFAULT_FORM]
        self._scanned = False
        self._templates: dict[str, ET.Element] = {}
        self._versions: dict[tuple[str, str], ET.Element] = {}  # every version seen, for older records
        self._xforms: dict[str, str] = {}  # form id -> its XForm (what `pintu form publish` uploads)
        self._sources: dict[str, Path] = {}  # form id -> the XLSForm file it came from
        self._media: dict[str, list[str]] = {}  # form id -> paths of its binary (image, audio, file) fields
        self._lock = threading.Lock()

    def add_xlsform(self, source: Any, form_id: str | None = None) -> str:
        """Convert an XLSForm (path, bytes, file or pyxform dict) and keep its instance; returns the form id."""
        from pyxform.xls2xform import convert

        found = self.add_xform(convert(xlsform=source).xform, form_id)
        if isinstance(source, (str, Path)):
            self._sources[found] = Path(source)
        return found

    def add_xform(self, xform: str, form_id: str | None = None) -> str:
        template = _primary_instance(xform)
        form_id = form_id or template.get("id") or _local(template.tag)
        with self._lock:
            self._templates[form_id] = template
            self._versions[(form_id, template.get("version") or "")] = template
            self._media[form_id] = _binary_paths(xform, _local(template.tag))
            self._xforms[form_id] = xform
        return form_id

    def template(self, form_id: str, version: str | None = None) -> ET.Element:
        """The form's instance (of ``version`` when one was seen, else the newest read)."""
        found = self._known(form_id, version)
        if found is not None and (version is None or found.get("version") in (version, None)):
            return found
        for suffix in (".xlsx", ".xls"):
            path = self.forms_dir / f"{form_id}{suffix}"
            if found is None and path.exists():
                self.add_xlsform(str(path), form_id)
                found = self._known(form_id, version)
        if found is None or (version is not None and found.get("version") != version):
            self._scan()  # another file may hold this form id, or this older version of it
            found = self._known(form_id, version)
        if found is not None:
            return found
        raise FormError(f"no XLSForm for form {form_id!r} in {self.forms_dir} (nor PINTU_FORM, nor the built-in form)")

    def xform(self, form_id: str) -> str:
        """The XForm of the form (what the server must hold to accept its submissions)."""
        self.template(form_id)
        return self._xforms[form_id]

    def source(self, form_id: str) -> Path | None:
        """The XLSForm file the form was read from, when it came from one."""
        self.template(form_id)
        return self._sources.get(form_id)

    def _known(self, form_id: str, version: str | None) -> ET.Element | None:
        with self._lock:
            if version is not None and (form_id, version) in self._versions:
                return self._versions[(form_id, version)]
            return self._templates.get(form_id)

    def _scan(self) -> None:
        """Read every XLSForm in ``forms_dir`` and the extra files once, each under its own form id."""
        if self._scanned:
            return
        self._scanned = True
        files = sorted(self.forms_dir.glob("*.xls*")) if self.forms_dir.is_dir() else []
        for path in [*files, *self.extra]:
            if not path.is_file() or path.suffix not in (".xlsx", ".xls"):
                continue
            try:
                self.add_xlsform(str(path))
            except Exception as error:  # one broken spreadsheet must not hide the others
                log.warning("the XLSForm %s cannot be read for the registry: %s", path.name, type(error).__name__)

    def instance(self, payload: Payload) -> tuple[bytes, list[str]]:
        """The submission XML and the media file names to attach (in the order of payload.photos)."""
        template = self.template(payload.form_id, payload.form_version)
        version = template.get("version")
        if version and version != payload.form_version:
            raise FormError(f"record has form version {payload.form_version!r}, the XLSForm {version!r}")
        root = copy.deepcopy(template)
        _fill(root, payload.document["answers"])
        _set_meta(root, payload.record_id, payload.document.get("replaces"))
        names = [photo.name for photo in payload.photos]
        # Each file the instance names in a media field travels as a part of that name (as ODK Collect
        # sends them); a named file the record does not have would reach the registry as a hole.
        for path in self._media.get(payload.form_id, []):
            for element in root.findall(path):
                if element.text and element.text not in names:
                    raise FormError(f"the form's media field {path} names a file the record has no photo for")
        return ET.tostring(root, encoding="utf-8", xml_declaration=True), names

    def media_fields(self, form_id: str) -> list[str]:
        """Paths (relative to the instance root) of the form's binary fields: image, audio, video, file."""
        self.template(form_id)
        return list(self._media.get(form_id, []))


def _local(tag: str) -> str:
    return tag.split("}", 1)[-1]


def _binary_paths(xform: str, root_name: str) -> list[str]:
    """The nodesets of ``type="binary"`` binds, relative to the instance root (``rumah/foto_rumah``)."""
    doc = ET.fromstring(xform)
    paths = []
    for bind in doc.iter(f"{{{XFORMS}}}bind"):
        if bind.get("type") == "binary" and bind.get("nodeset", "").startswith(f"/{root_name}/"):
            paths.append(bind.get("nodeset", "").removeprefix(f"/{root_name}/"))
    return paths


def _primary_instance(xform: str) -> ET.Element:
    doc = ET.fromstring(xform)
    instance = doc.find(f".//{{{XFORMS}}}model/{{{XFORMS}}}instance")
    if instance is None or len(instance) == 0:
        raise FormError("the XForm has no primary instance")
    root = copy.deepcopy(instance[0])
    for element in root.iter():  # submissions carry plain names, like ODK Collect's
        element.tag = _local(element.tag)
    for element in root.iter():
        for child in element:
            child.text = None if len(child) else child.text
    return root


def _fill(element: ET.Element, answers: dict[str, Any]) -> None:
    """Fill leaves from ``answers``; a repeat (its jr:template) becomes one copy per item of its list."""
    children = list(element)
    templates = {c.tag: c for c in children if c.get(f"{{{JR}}}template") is not None}
    for child in children:
        element.remove(child)
    placed: set[str] = set()
    for child in children:
        name = child.tag
        if name in templates:
            if name in placed:
                continue
            placed.add(name)
            for item in answers.get(name) or []:
                clone = copy.deepcopy(templates[name])
                clone.attrib.pop(f"{{{JR}}}template", None)
                _fill(clone, item if isinstance(item, dict) else {})
                element.append(clone)
            continue
        if name != "meta":
            if len(child):
                _fill(child, answers)
            else:
                child.text = _text(answers.get(name))
        element.append(child)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return " ".join(str(v) for v in value)
    if isinstance(value, dict) and "lat" in value:
        return " ".join(str(value.get(k, 0)) for k in ("lat", "lon", "alt", "acc"))
    return str(value)


def _set_meta(root: ET.Element, record_id: str, replaces: str | None) -> None:
    meta = root.find("meta")
    if meta is None:
        meta = ET.SubElement(root, "meta")
    instance_id = meta.find("instanceID")
    if instance_id is None:
        instance_id = ET.SubElement(meta, "instanceID")
    instance_id.text = f"uuid:{record_id}"
    if replaces:
        deprecated = meta.find("deprecatedID")
        if deprecated is None:
            deprecated = ET.SubElement(meta, "deprecatedID")
        deprecated.text = f"uuid:{replaces}"
