"""Field capture in the chat: asking for the house's location and photo, and judging what comes back.

The questionnaire flow owns the conversation state of its questions; for a geopoint or an image
question its step calls :func:`ask_location` / :func:`ask_photo`, then hands every event of that
step to :func:`on_location_for_record` / :func:`on_photo_for_record`, which answer the user and
return True once the answer is stored (then the flow moves on). What capture must remember between
updates (a location waiting for "is this right?") lives in ``ctx.data["capture"]``, so it is saved
with the conversation and a restart loses nothing.

Routing: a state that asks for a location or photo declares (handlers/flow.py) that it reads
locations and files (``on_input``) and the "gc" presses (``presses={PREFIX}``: confirming a location
outside the area); the router then hands it those events. Later points of a live location arrive as
edits; outside such a state they update the stored geotag silently (:func:`on_live_update`, the
questionnaire flow's ``live_locations``).

Bad input never loses the step: text where a location or photo is expected and the reverse, a
sticker or voice note, a file over 20 MB, a file that is not an image, a location far away — each
gets a clear answer in the user's language and the same question stays open.
"""
from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from babel.numbers import format_decimal

from domain import audit, geotag, media, photos
from domain.geotag import GeoVerdict
from domain.model import Record, RecordPhoto
from handlers.context import Context
from chat.keyboard import Button, RemoveKeyboard, ReplyButton, ReplyKeyboard
from chat.events import fetched
from chat.i18n import Translator
from chat.keyboard import keyboard, parse

DATA_KEY = "capture"
PREFIX = "gc"  # the geofence's "is this right?" buttons


# --- keyboards ------------------------------------------------------------------------------------

def location_keyboard(t: Translator) -> ReplyKeyboard:
    """One big "share location" button (request_location): the phone sends its GPS position."""
    return ReplyKeyboard(((ReplyButton(t("btn-capture-share-location"), request_location=True),),), one_time=True)


def _confirm_keyboard(t: Translator, nonce: str) -> Any:
    return keyboard([[Button(t("btn-capture-geo-yes"), f"gc:y.{nonce}")],
                     [Button(t("btn-capture-geo-no"), f"gc:n.{nonce}")]])


# --- location -------------------------------------------------------------------------------------

def ask_location(ctx: Context, prompt: str | None = None) -> None:
    """Ask for the house's location with a "share location" reply keyboard.

    ``prompt`` is the question as HTML (already escaped; the questionnaire's label), else the
    catalog's. Any location waiting for confirmation is forgotten.
    """
    _clear_pending(ctx)
    ctx.send(prompt or ctx.t("capture-ask-location"), location_keyboard(ctx.t))


def on_location_for_record(ctx: Context, record: Record) -> bool:
    """Handle one event of a geopoint step for ``record``; True once a geotag is stored.

    A location is judged (domain/geotag.py): poor accuracy is asked again; outside the SLS or too
    far from the kelurahan asks "is this right?" ("gc" buttons) and, if confirmed, is stored flagged
    for review; otherwise stored. A live location is stored with its period, and its later points
    (edits) update it. Text, photos, files, stickers get a clear answer and the question stays.
    """
    event = ctx.event
    if event.is_callback:
        prefix, argument = parse(event.callback_data)
        if prefix == "gc":
            return _on_confirm(ctx, record, argument)
        ctx.answer(ctx.t("stale-button"), alert=True)
        return False
    location = event.location
    if location is None:
        if event.is_live_update:
            return False
        if _pending(ctx) is not None:
            pending = _pending(ctx)
            ctx.send(ctx.t("capture-geo-confirm-pending"), _confirm_keyboard(ctx.t, pending["nonce"]))
        elif event.text is not None:
            ctx.send(ctx.t("capture-location-text"), location_keyboard(ctx.t))
        else:
            ctx.send(ctx.t("capture-location-wrong-input"), location_keyboard(ctx.t))
        return False
    if event.is_live_update:
        return _on_live_point(ctx, record)
    if _source(ctx) == "resident" and record.geo_by == "enumerator" and record.latitude is not None:
        # The enumerator's point taken at the door stands; the resident's question is answered.
        ctx.send(ctx.t("capture-location-kept"), RemoveKeyboard())
        return True
    verdict = geotag.judge_location(ctx.uow, record.family_id, location.latitude, location.longitude,
                                    location.horizontal_accuracy, ctx.config.geo_policy)
    live_until = _live_until(ctx)
    if verdict.status == "invalid":
        ctx.send(ctx.t("capture-location-invalid"), location_keyboard(ctx.t))
        return False
    if verdict.status == "poor_accuracy":
        ctx.send(ctx.t("capture-location-poor", accuracy=round(verdict.accuracy_m or 0)), location_keyboard(ctx.t))
        return False
    if verdict.status == "outside_area":
        nonce = secrets.token_hex(3)
        _set_pending(ctx, {
            "record": record.id, "latitude": location.latitude, "longitude": location.longitude,
            "accuracy": location.horizontal_accuracy, "reason": verdict.reason, "nonce": nonce,
            "at": ctx.now.isoformat(), "live_until": live_until.isoformat() if live_until else None,
        })
        ctx.send(_outside_text(ctx, record, verdict), _confirm_keyboard(ctx.t, nonce))
        return False
    return _store(ctx, record, location.latitude, location.longitude, location.horizontal_accuracy, None, live_until,
                  ctx.now)


def on_live_update(ctx: Context) -> None:
    """A later point of a live location outside any capture step: update the geotag it started,
    without a word (Telegram sends one every few seconds)."""
    location = ctx.event.location
    if location is None:
        return
    geotag.update_live(ctx.uow, ctx.event.sender.telegram_id, location.latitude, location.longitude,
                       location.horizontal_accuracy, ctx.now, ctx.config.geo_policy)


def _on_live_point(ctx: Context, record: Record) -> bool:
    """A live location's new point while the question is open: it updates a stored live geotag; if
    none is stored yet (the first point was too inaccurate), a good point answers the question."""
    location = ctx.event.location
    sender = ctx.event.sender.telegram_id
    if record.geo_live_until is not None and record.geo_sender == sender:
        on_live_update(ctx)
        return False
    if _pending(ctx) is not None:
        return False
    verdict = geotag.judge_location(ctx.uow, record.family_id, location.latitude, location.longitude,
                                    location.horizontal_accuracy, ctx.config.geo_policy)
    if not verdict.ok:
        return False
    live_until = ctx.now + dt.timedelta(hours=8)  # the edit does not repeat the period: Telegram's longest
    return _store(ctx, record, location.latitude, location.longitude, location.horizontal_accuracy, None, live_until,
                  ctx.now)


def _on_confirm(ctx: Context, record: Record, argument: str) -> bool:
    pending = _pending(ctx)
    answer, _, nonce = argument.partition(".")
    if pending is None or pending.get("nonce") != nonce or pending.get("record") != record.id or answer not in ("y", "n"):
        ctx.answer(ctx.t("stale-button"), alert=True)
        return False
    _clear_pending(ctx)
    if answer == "n":
        ctx.show(ctx.t("capture-geo-resend"))
        ctx.send(ctx.t("capture-ask-location"), location_keyboard(ctx.t))
        return False
    live_until = dt.datetime.fromisoformat(pending["live_until"]) if pending.get("live_until") else None
    stored = geotag.save_geotag(
        ctx.uow, record, latitude=pending["latitude"], longitude=pending["longitude"], accuracy_m=pending["accuracy"],
        source=_source(ctx), sender_telegram_id=ctx.event.sender.telegram_id, now=ctx.now,
        flagged_reason=pending["reason"], live_until=live_until, captured_at=dt.datetime.fromisoformat(pending["at"]),
    )
    ctx.show(ctx.t("capture-geo-confirmed" if stored else "capture-location-kept"))
    return True


def _store(ctx: Context, record: Record, latitude: float, longitude: float, accuracy: float | None,
           flag: str | None, live_until: dt.datetime | None, captured_at: dt.datetime) -> bool:
    stored = geotag.save_geotag(ctx.uow, record, latitude=latitude, longitude=longitude, accuracy_m=accuracy,
                                source=_source(ctx), sender_telegram_id=ctx.event.sender.telegram_id, now=ctx.now,
                                flagged_reason=flag, live_until=live_until, captured_at=captured_at)
    ctx.send(ctx.t("capture-location-saved" if stored else "capture-location-kept"), RemoveKeyboard())
    return True


def _outside_text(ctx: Context, record: Record, verdict: GeoVerdict) -> str:
    family = ctx.uow.families.get(record.family_id)
    chain = ctx.uow.capture.ancestors(family.sls_id)
    if verdict.reason == geotag.OUTSIDE_SLS:
        return ctx.t("capture-geo-outside-sls", rt=chain[0].name)
    village = next((a.name for a in chain if a.centre_latitude is not None), chain[-1].name)
    km = format_decimal((verdict.distance_m or 0) / 1000, format="#,##0.0", locale=ctx.t.language)
    return ctx.t("capture-geo-too-far", km=km, village=village)


def _live_until(ctx: Context) -> dt.datetime | None:
    period = ctx.event.location.live_period if ctx.event.location else None
    return ctx.now + dt.timedelta(seconds=period) if period else None


def _source(ctx: Context) -> str:
    """The enumerator at the door is authoritative; anyone else (the resident) gives a hint."""
    return "enumerator" if ctx.user is not None and ctx.user.role == "enumerator" else "resident"


# --- photo ----------------------------------------------------------------------------------------

def ask_photo(ctx: Context, prompt: str | None = None) -> None:
    """Ask for a photo of the house (as a photo or as an image file); ``prompt`` as in ask_location."""
    _clear_pending(ctx)
    ctx.send(prompt or ctx.t("capture-ask-photo"), RemoveKeyboard())


def on_photo_for_record(ctx: Context, record: Record) -> bool:
    """Handle one event of an image step for ``record``; True once a photo is stored.

    Takes a photo (its largest size) or a document whose bytes decode as a JPEG, PNG or WebP image;
    refuses, with a message saying why, text, locations, stickers, voice notes, videos, files that
    are not images, files over 20 MB and downloads that failed (the user is asked to send again).
    """
    event = ctx.event
    if event.is_callback:
        ctx.answer(ctx.t("stale-button"), alert=True)
        return False
    attachment = event.attachment
    if attachment is None:
        if event.is_live_update:
            return False
        ctx.send(ctx.t("capture-photo-text" if event.text is not None else "capture-photo-wrong-kind"))
        return False
    if attachment.kind not in ("photo", "document"):
        ctx.send(ctx.t("capture-photo-wrong-kind"))
        return False
    attachment = fetched(attachment)  # downloaded only now: this step asks for a file
    if attachment.error == photos.TOO_LARGE:
        ctx.send(ctx.t("capture-photo-too-large"))
        return False
    if attachment.content is None:
        ctx.send(ctx.t("capture-photo-download-failed"))
        return False
    try:
        photos.store_photo(ctx.uow, ctx.config.media_dir, record, attachment.content,
                           sender_telegram_id=event.sender.telegram_id, now=ctx.now)
    except photos.PhotoRejected as rejected:
        if rejected.reason == photos.TOO_LARGE:
            ctx.send(ctx.t("capture-photo-too-large"))
        elif rejected.reason == photos.EMPTY:
            ctx.send(ctx.t("capture-photo-empty"))
        else:
            ctx.send(ctx.t("capture-photo-not-image"))
        return False
    audit.record(ctx.uow, ctx.user, audit.ADD_PHOTO, ctx.now, family_id=record.family_id)
    ctx.send(ctx.t("capture-photo-saved"))
    return True


def on_unrelated_attachment(ctx: Context) -> bool:
    """Outside a capture step: a sticker, voice note, video or other non-file attachment gets a clear
    message (True); photos, files and everything else are left to the caller (False)."""
    attachment = ctx.event.attachment
    if attachment is None or attachment.kind in ("photo", "document"):
        return False
    ctx.send(ctx.t("capture-attachment-not-expected"))
    return True


# --- state ----------------------------------------------------------------------------------------

# Never changed in place: the conversation's JSON is compared with what was loaded, so a nested dict
# edited in place could look unchanged and not be saved. Every change puts a new dict in ctx.data.

def _pending(ctx: Context) -> dict[str, Any] | None:
    data = ctx.data.get(DATA_KEY)
    pending = data.get("pending") if isinstance(data, dict) else None
    return pending if isinstance(pending, dict) and "nonce" in pending else None


def _set_pending(ctx: Context, pending: dict[str, Any]) -> None:
    ctx.data[DATA_KEY] = {"pending": pending}


def _clear_pending(ctx: Context) -> None:
    if ctx.data.get(DATA_KEY):
        ctx.data[DATA_KEY] = {}


# --- recordings, videos, files (audio / video / file questions) -----------------------------------

WRONG_KIND = {"audio": "capture-audio-wrong-kind", "video": "capture-video-wrong-kind", "file": "capture-file-wrong-kind"}


def on_media_for_record(ctx: Context, record: Record, kind: str) -> RecordPhoto | None:
    """Handle one event of an audio, video or file step for ``record``; the stored row once kept.

    An audio question takes a voice note, an audio file or a document that is a recording; a video
    question a video (or a video sent as a file); a file question a document. The file is downloaded
    only here, and only when its announced size is within the question's limit (domain/media.py).
    Anything else gets a clear answer and the question stays.
    """
    event = ctx.event
    if event.is_callback:
        ctx.answer(ctx.t("stale-button"), alert=True)
        return None
    attachment = event.attachment
    if attachment is None:
        if not event.is_live_update:
            ctx.send(ctx.t(WRONG_KIND[kind]))
        return None
    if attachment.kind not in media.ACCEPTED[kind]:
        ctx.send(ctx.t(WRONG_KIND[kind]))
        return None
    if media.too_large(kind, attachment.file_size):
        ctx.send(ctx.t("capture-media-too-large", mb=media.max_megabytes(kind)))
        return None
    attachment = fetched(attachment)  # downloaded only now: this step asks for a file
    if attachment.error == photos.TOO_LARGE:
        ctx.send(ctx.t("capture-media-too-large", mb=media.max_megabytes(kind)))
        return None
    if attachment.content is None:
        ctx.send(ctx.t("capture-media-download-failed"))
        return None
    try:
        stored = media.store_media(ctx.uow, ctx.config.media_dir, record, kind, attachment.content,
                                   claimed_mime=attachment.mime_type, file_name=attachment.file_name,
                                   sender_telegram_id=event.sender.telegram_id, now=ctx.now)
    except media.MediaRejected as rejected:
        key = {photos.TOO_LARGE: "capture-media-too-large", photos.EMPTY: "capture-media-empty"}.get(
            rejected.reason, WRONG_KIND[kind])
        ctx.send(ctx.t(key, mb=media.max_megabytes(kind)))
        return None
    return stored


# --- traces and shapes (geotrace / geoshape questions) --------------------------------------------

TRACE_KEY = "trace"  # ctx.data: the points so far, [[latitude, longitude, accuracy], ...]
TRACE_MIN_STEP_M = 3.0  # a live location's point closer than this to the last one adds nothing


def trace_points(ctx: Context) -> list[list[float]]:
    points = ctx.data.get(TRACE_KEY)
    return [list(p) for p in points if isinstance(p, list) and len(p) == 3] if isinstance(points, list) else []


def add_trace_point(ctx: Context) -> bool:
    """A shared location (or a live location's new point) adds a point to the trace; True if it did.

    Successive live points closer than a few metres are dropped (Telegram sends one every few seconds,
    also when the phone stands still), and so is a point less accurate than the area's geotag policy
    allows (a shared one is asked again, with the reason)."""
    location = ctx.event.location
    if location is None:
        return False
    accuracy = location.horizontal_accuracy
    if accuracy is not None and accuracy > ctx.config.geo_policy.max_accuracy_m:
        if not ctx.event.is_live_update:
            ctx.send(ctx.t("capture-location-poor", accuracy=round(accuracy)), location_keyboard(ctx.t))
        return False
    points = trace_points(ctx)
    point = [location.latitude, location.longitude, float(location.horizontal_accuracy or 0.0)]
    if ctx.event.is_live_update and points and _metres(points[-1], point) < TRACE_MIN_STEP_M:
        return False
    ctx.data[TRACE_KEY] = [*points, point]  # a new list: the conversation's JSON is compared when saved
    return True


def drop_trace_point(ctx: Context) -> None:
    ctx.data[TRACE_KEY] = trace_points(ctx)[:-1]


def _metres(a: list[float], b: list[float]) -> float:
    from geopy.distance import geodesic

    return float(geodesic((a[0], a[1]), (b[0], b[1])).meters)
