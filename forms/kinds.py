"""Which engine kind a survey row's type is, pyxform's aliases included, read from pyxform's own table.

pyxform accepts many names for one question type (``gps`` for geopoint, ``string`` for text, ``int``
for integer, ``photo`` for image, ``phone number`` for a digits-only text…) and keeps the name as
written in its JSON form. Its ``QUESTION_TYPE_DICT`` says what each name becomes in the XForm (the
bind type and the control), so an alias is resolved by what it produces, never by a list of our own.
Metadata types (``start``, ``end``, ``today``, ``deviceid``, ``username``…) are never asked: the
engine fills them (forms.engine).
"""
from __future__ import annotations

from collections.abc import Mapping

from pyxform.question_type_dictionary import QUESTION_TYPE_DICT

METADATA = "metadata"
EXTERNAL = "external"   # csv-external / xml-external: declares an attachment, has no node to fill

# pyxform's bind type -> the canonical type name it comes from (looked up again in the engine's kinds)
_CANONICAL_BY_BIND = {
    "string": "text", "int": "integer", "decimal": "decimal", "date": "date", "time": "time",
    "dateTime": "dateTime", "geopoint": "geopoint", "geotrace": "geotrace", "geoshape": "geoshape",
    "barcode": "barcode",
}
_CANONICAL_BY_MEDIA = {"image/*": "photo", "audio/*": "audio", "video/*": "video", "application/*": "file"}
_CANONICAL_BY_CONTROL = {"select1": "select one", "select": "select all that apply", "range": "range",
                         "trigger": "acknowledge"}
# Device metadata that has no preload in pyxform's table but is still filled by the client, not asked
_DEVICE_ONLY = frozenset({"audit", "start-geopoint", "background-audio", "background-geopoint"})


def kind_of(type_name: str, kinds: Mapping[str, str]) -> str | None:
    """The engine kind of a pyxform type name (``kinds``: canonical name -> kind), or None if unknown."""
    if type_name in kinds:
        return kinds[type_name]
    if type_name == "select one external":  # choices from the external_choices sheet
        return kinds.get("select one")
    spec = QUESTION_TYPE_DICT.get(type_name)
    if spec is None:
        return None
    bind, control = spec.get("bind", {}), spec.get("control", {})
    if "jr:preload" in bind or type_name in _DEVICE_ONLY:
        return METADATA
    if not spec:
        return EXTERNAL
    tag = control.get("tag")
    if tag == "upload":
        canonical = _CANONICAL_BY_MEDIA.get(control.get("mediatype", ""))
    elif tag in _CANONICAL_BY_CONTROL:
        canonical = _CANONICAL_BY_CONTROL[tag]
    else:
        canonical = _CANONICAL_BY_BIND.get(bind.get("type", ""))
    return kinds.get(canonical or "") if canonical != type_name else None


def preload_of(type_name: str) -> str:
    """What fills a metadata field: pyxform's preload parameter (start, deviceid…) or the type itself."""
    spec = QUESTION_TYPE_DICT.get(type_name) or {}
    return str(spec.get("bind", {}).get("jr:preloadParams") or type_name)
