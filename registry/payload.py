"""A completed record as the JSON document of the registry contract (registry/schema/record-v1.json,
and record-v2.json for a record with a repeat: the household roster as an array of members).

The document is built from the database alone and is the same on every attempt (no send time in
it), so a resend after a crash is byte-identical and the registry can dedupe it by key.
"""
from __future__ import annotations

import datetime as dt
import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from domain.model import Area, Enumerator, Family, Record, RecordPhoto

SCHEMA_PATH = Path(__file__).parent / "schema" / "record-v1.json"
SCHEMA_NAME = "pintu.record/1"
SCHEMA_V2_PATH = Path(__file__).parent / "schema" / "record-v2.json"
SCHEMA_V2_NAME = "pintu.record/2"
SCHEMAS = {SCHEMA_NAME: SCHEMA_PATH, SCHEMA_V2_NAME: SCHEMA_V2_PATH}
AREA_LEVELS = ("province", "regency", "district", "village", "sls")


@functools.cache
def schema(name: str = SCHEMA_NAME) -> dict[str, Any]:
    return json.loads(SCHEMAS[name].read_text(encoding="utf-8"))


@functools.cache
def validator(name: str = SCHEMA_NAME) -> Any:
    import jsonschema

    cls = jsonschema.validators.validator_for(schema(name))
    return cls(schema(name), format_checker=cls.FORMAT_CHECKER)


@functools.cache
def fast_validator(name: str = SCHEMA_NAME) -> Any:
    """The same schema compiled to Python code by fastjsonschema: ~15x faster than jsonschema on a valid
    document, which is nearly every document (the reference registry validates each one it receives)."""
    import fastjsonschema

    return fastjsonschema.compile(schema(name))


def schema_of(document: Any) -> str:
    """The contract version a document claims; anything unknown is judged (and refused) as version 1."""
    claimed = document.get("schema") if isinstance(document, dict) else None
    return claimed if claimed in SCHEMAS else SCHEMA_NAME


def validation_errors(document: Any) -> list[str]:
    """Schema violations as short messages naming the field, never its value (values may be personal).

    The document is judged by the version it claims (pintu.record/1 or /2). A document fastjsonschema
    accepts is valid; anything else is checked again by jsonschema (the reference implementation),
    whose errors name every field at fault."""
    import fastjsonschema

    name = schema_of(document)
    try:
        fast_validator(name)(document)
        return []
    except fastjsonschema.JsonSchemaException as error:
        fast = error
    errors = sorted(validator(name).iter_errors(document), key=lambda e: list(e.absolute_path))
    if not errors:  # jsonschema skips "date-time" without its optional checker; fastjsonschema does not
        path = "/".join(str(fast.name or "data").split(".")[1:])
        return [f"/{path}: {fast.rule} {json.dumps(fast.rule_definition)[:80]}"]
    return [f"/{'/'.join(str(p) for p in e.absolute_path)}: {e.validator} {_rule(e)}" for e in errors]


def _rule(error: Any) -> str:
    value = error.validator_value
    return json.dumps(value)[:80] if isinstance(value, (int, float, str, bool, list)) and error.validator != "type" else str(value)


@dataclass(frozen=True)
class PhotoFile:
    name: str
    sha256: str
    size: int
    mime: str
    path: Path  # absolute, under the media directory


@dataclass(frozen=True)
class Payload:
    record_id: str
    form_id: str
    form_version: str
    document: dict[str, Any]
    body: bytes  # the document as compact UTF-8 JSON
    photos: tuple[PhotoFile, ...]


def iso(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")


class PayloadBuilder:
    """Builds the documents of many records with a handful of queries (areas and enumerators cached)."""

    def __init__(self, media_dir: str | Path) -> None:
        self.media_dir = Path(media_dir)
        self._areas: dict[int, dict[str, str]] = {}
        self._enumerators: dict[int, str] = {}

    def build_many(self, session: Any, record_ids: list[str]) -> dict[str, Payload]:
        if not record_ids:
            return {}
        # Plain rows, not ORM objects: build() reads attributes only, and a worker builds hundreds of
        # documents per batch (identity-map bookkeeping was a third of its database time).
        records = {r.id: r for r in session.execute(select(Record.__table__).where(Record.id.in_(record_ids)))}
        family_ids = {r.family_id for r in records.values()}
        families = {f.id: f for f in session.execute(select(Family.__table__).where(Family.id.in_(family_ids)))}
        photos: dict[str, list[RecordPhoto]] = {rid: [] for rid in record_ids}
        for photo in session.execute(
            select(RecordPhoto.__table__).where(RecordPhoto.record_id.in_(record_ids)).order_by(RecordPhoto.id)
        ):
            photos[photo.record_id].append(photo)
        missing = {r.enumerator_id for r in records.values() if r.enumerator_id} - self._enumerators.keys()
        if missing:
            for enumerator in session.scalars(select(Enumerator).where(Enumerator.id.in_(missing))):
                self._enumerators[enumerator.id] = enumerator.name
        out = {}
        for rid, record in records.items():
            family = families[record.family_id]
            out[rid] = self.build(record, family, self._area_codes(session, family.sls_id), photos[rid])
        return out

    def build(self, record: Record, family: Family, area: dict[str, str], photos: list[RecordPhoto]) -> Payload:
        if record.status != "completed":
            raise ValueError(f"record {record.id} is not completed")
        geotag = None
        if record.latitude is not None and record.longitude is not None:
            geotag = {"latitude": record.latitude, "longitude": record.longitude,
                      "accuracy_m": record.geo_accuracy_m, "source": record.geo_source or "manual",
                      "captured_at": iso(record.geo_captured_at)}
        files = tuple(PhotoFile(name=Path(p.path).name, sha256=p.sha256, size=p.size, mime=p.mime,
                                path=self.media_dir / p.path) for p in photos)
        answers = record.answers or {}
        document = {
            # A record with a repeat (lists in its answers) goes as version 2; others stay byte-identical
            # to version 1, so a resend is the same body. The chat engine refused repeats before version 2,
            # so no record queued before it changes version (a changed body would meet a 409).
            "schema": SCHEMA_V2_NAME if any(isinstance(v, list) for v in answers.values()) else SCHEMA_NAME,
            "record_id": record.id,
            "version": record.version,
            "replaces": record.replaces_id,
            "form": {"id": record.form_id, "version": record.form_version},
            "area": area,
            "family": {"id": family.id, "kk_number": family.kk_number, "head_name": family.head_name,
                       "members": family.members, "address": family.address},
            "geotag": geotag,
            "photos": [{"name": f.name, "sha256": p.sha256, "size": p.size, "mime": p.mime, "width": p.width,
                        "height": p.height, "taken_at": iso(p.taken_at), "sender": p.sender}
                       for f, p in zip(files, photos)],
            "answers": answers,
            "visit": {"appointment_id": record.appointment_id, "enumerator_id": record.enumerator_id,
                      "enumerator_name": self._enumerators.get(record.enumerator_id) if record.enumerator_id else None},
            "consent": {"version": record.consent_version, "at": iso(record.consent_at)},
            "timestamps": {"created_at": iso(record.created_at), "completed_at": iso(record.completed_at)},
        }
        body = json.dumps(document, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")
        return Payload(record.id, record.form_id, record.form_version, document, body, files)

    def _area_codes(self, session: Any, sls_id: int) -> dict[str, str]:
        if sls_id not in self._areas:
            codes: dict[str, str] = {}
            area = session.get(Area, sls_id)
            while area is not None:
                codes[area.level] = area.code
                area = session.get(Area, area.parent_id) if area.parent_id else None
            self._areas[sls_id] = {level: codes.get(level, "") for level in AREA_LEVELS}
        return self._areas[sls_id]
