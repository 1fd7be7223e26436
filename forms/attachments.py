"""The form's secondary instances: its choice lists, and the files it names (CSV, XML, GeoJSON).

pyxform writes every choice list as an ``<instance id="list">`` and every file a form uses
(``select_one_from_file towns.csv``, ``pulldata('fruits', …)``, ``csv-external``) as an
``<instance id="towns" src="jr://file-csv/towns.csv"/>``. ODK Collect gets those files as the form's
media attachments; Pintu reads them from the form's folder (next to the .xlsx). Each becomes the XML
that ``instance('id')`` reads in expressions: ``<root><item><name>…</name><label>…</label>…</item></root>``,
a CSV row per item and a column per child, as ODK does.

``jr://instance/last-saved`` (the last form sent from this device) is an empty instance: in the chat
every questionnaire starts fresh, so ``${last-saved#x}`` is blank, as on a device's first form.
"""
from __future__ import annotations

import csv
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

XFORMS = "http://www.w3.org/2002/xforms"
_NOT_NAME = re.compile(r"[^\w.\-]")


@dataclass
class Instances:
    """What the model's secondary instances give: XML by id, rows by id (for choices), what is missing."""

    xml: dict[str, bytes] = field(default_factory=dict)
    rows: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)      # id -> the file that is not there
    unreadable: dict[str, str] = field(default_factory=dict)   # id -> why the file cannot be read


def secondary_instances(model: ET.Element, folder: Path) -> Instances:
    """Every instance after the primary one, inline or read from a file in ``folder``."""
    found = Instances()
    for instance in model.findall(f"{{{XFORMS}}}instance")[1:]:
        key, src = instance.get("id", ""), instance.get("src", "")
        if not src:
            found.xml[key] = ET.tostring(_strip(instance[0])) if len(instance) else b"<root/>"
            continue
        if src.startswith("jr://instance/"):
            found.xml[key] = b"<root/>"
            continue
        path = folder / src.rpartition("/")[2]
        if not path.is_file():
            found.missing[key] = path.name
            continue
        try:
            rows = _read_rows(path)
        except (OSError, ValueError, UnicodeDecodeError, ET.ParseError) as error:
            found.unreadable[key] = f"{path.name}: {error}"
            continue
        found.rows[key] = rows
        found.xml[key] = rows_as_xml(rows)
    return found


def _read_rows(path: Path) -> list[dict[str, str]]:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as file:
            return [{str(k).strip(): (v or "").strip() for k, v in row.items() if k} for row in csv.DictReader(file)]
    if suffix == ".geojson":
        return _geojson_rows(json.loads(path.read_text(encoding="utf-8")))
    root = ET.parse(path).getroot()
    return [{_local(child.tag): (child.text or "").strip() for child in item} for item in root]


def _geojson_rows(data: Mapping) -> list[dict[str, str]]:
    """A feature per item, as ODK reads a GeoJSON attachment: its ``id``, its properties and its
    ``geometry`` as ODK writes one ("lat lon 0 0;…"). Without a ``name`` or ``label`` property the id
    is the choice's name and a ``title`` property its label."""
    rows = []
    for feature in data.get("features", []):
        properties = {k: str(v) for k, v in (feature.get("properties") or {}).items() if v is not None}
        feature_id = str(feature.get("id", properties.get("id", "")))
        points = _points((feature.get("geometry") or {}).get("coordinates", []))
        row = {"id": feature_id, **properties,
               "geometry": ";".join(f"{lat} {lon} 0 0" for lon, lat, *_ in points)}
        row.setdefault("name", feature_id)
        row.setdefault("label", properties.get("title", feature_id))
        rows.append(row)
    return rows


def _points(coordinates: Iterable) -> list:
    coordinates = list(coordinates)
    if coordinates and isinstance(coordinates[0], (int, float)):
        return [coordinates]
    return [p for part in coordinates for p in _points(part)]


def rows_as_xml(rows: list[dict[str, str]]) -> bytes:
    """A secondary instance (``<root><item>…</item></root>``) from a CSV's or a sheet's rows."""
    root = ET.Element("root")
    for row in rows:
        item = ET.SubElement(root, "item")
        for column, value in row.items():
            ET.SubElement(item, xml_name(column)).text = value or None
    return ET.tostring(root)


def xml_name(column: str) -> str:
    """A CSV column as an element name (ODK's rule: what XML cannot name becomes '_')."""
    name = _NOT_NAME.sub("_", column.strip()) or "_"
    return name if name[0].isalpha() or name[0] == "_" else f"_{name}"


def _strip(element: ET.Element) -> ET.Element:
    copy = ET.Element(_local(element.tag), dict(element.attrib))
    copy.text = element.text.strip() if element.text and element.text.strip() else None
    copy.extend(_strip(child) for child in element)
    return copy


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]
