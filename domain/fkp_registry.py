"""A public-consultation decision as the registry's document (``pintu.fkp-decision/1``), queued once.

The FKP flow calls :func:`enqueue_fkp_decision` for each decision when the forum closes, in the same
transaction that closes it. The document is written as it is at that moment into the queue
(``fkp_decision_deliveries``), keyed by the decision id: a second call with the same id queues nothing,
so a retried close or a double press never sends a decision twice. registry/fkp.py forwards the rows
(``POST /v1/fkp-decisions``, ``Idempotency-Key: fkp-<decision_id>``) from the same registry job as the
records and erasures, with the same lease, backoff and parking; the registry stores each id once, so a
resend after a lost answer is harmless too. Contract: registry/schema/fkp-decision-v1.json, docs/registry.md.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from domain.ports import UnitOfWork

SCHEMA_NAME = "pintu.fkp-decision/1"
KINDS = ("move", "add")
OUTCOMES = ("accepted", "rejected")
ADDED_STATUSES = ("present", "moved", "died", "not_found")
KEY = re.compile(r"^[A-Za-z0-9._:-]{1,60}$")


@dataclass(frozen=True)
class FkpDecisionDoc:
    """One forum decision on one family (what the registry needs; never the model's score)."""

    decision_id: str  # unique across forums, e.g. f"{forum_id}-{decision_row_id}"; the idempotency key
    forum_id: str
    kind: str  # move | add
    outcome: str  # accepted | rejected
    decided_at: dt.datetime  # aware
    kabkota_code: str
    kelurahan_code: str
    sls_code: str
    reason_code: str  # breadwinner_died, lost_work, ..., other; "added" for kind add
    family_id: int | None = None
    record_id: str | None = None  # the family's newest completed record, if any
    from_group: int | None = None
    to_group: int | None = None
    reason_note: str | None = None
    rejection_reason: str | None = None
    added_status: str | None = None  # kind add: present | moved | died | not_found
    head_name: str | None = None  # kind add only (the registry has no record of the family)
    model_version: str | None = None
    forum_number: int | None = None
    forum_count: int | None = None
    forum_held_at: dt.datetime | None = None

    def __post_init__(self) -> None:
        problems = []
        if not KEY.match(self.decision_id):
            problems.append(f"decision_id {self.decision_id!r}: 1-60 of A-Z a-z 0-9 . _ : -")
        if self.kind not in KINDS:
            problems.append(f"kind {self.kind!r}: one of {', '.join(KINDS)}")
        if self.outcome not in OUTCOMES:
            problems.append(f"outcome {self.outcome!r}: one of {', '.join(OUTCOMES)}")
        for name in ("from_group", "to_group"):
            value = getattr(self, name)
            if value is not None and value not in (1, 2, 3, 4):
                problems.append(f"{name} {value!r}: 1-4 or None")
        if self.kind == "move" and (self.from_group is None or self.to_group is None):
            problems.append("a move needs from_group and to_group")
        if self.added_status is not None and self.added_status not in ADDED_STATUSES:
            problems.append(f"added_status {self.added_status!r}: one of {', '.join(ADDED_STATUSES)}")
        if self.decided_at.tzinfo is None:
            problems.append("decided_at must be aware (UTC or local with its zone)")
        if problems:
            raise ValueError("FKP decision: " + "; ".join(problems))

    def document(self) -> dict[str, Any]:
        """The pintu.fkp-decision/1 document (registry/schema/fkp-decision-v1.json)."""
        added = self.kind == "add"
        return {
            "schema": SCHEMA_NAME,
            "decision_id": self.decision_id,
            "forum": {"id": self.forum_id, "number": self.forum_number, "count": self.forum_count,
                      "held_at": _utc(self.forum_held_at)},
            "area": {"regency": self.kabkota_code, "village": self.kelurahan_code, "sls": self.sls_code},
            "family": {"family_id": self.family_id, "record_id": self.record_id,
                       "head_name": self.head_name if added else None,
                       "added_status": self.added_status if added else None},
            "kind": self.kind,
            "from_group": self.from_group,
            "to_group": self.to_group,
            "reason": {"code": self.reason_code, "note": self.reason_note},
            "outcome": self.outcome,
            "rejection_reason": self.rejection_reason if self.outcome == "rejected" else None,
            "decided_at": _utc(self.decided_at),
            "model_version": self.model_version,
        }


def _utc(instant: dt.datetime | None) -> str | None:
    if instant is None:
        return None
    return instant.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")


def enqueue_fkp_decision(uow: UnitOfWork, decision: FkpDecisionDoc, now: dt.datetime | None = None) -> bool:
    """Queue the decision for the registry in the caller's transaction (the caller commits); False when
    a decision with this id is queued already (nothing changes: exactly once by key). ``now``: when it
    becomes due (default: the decision's time)."""
    return uow.fkp_deliveries.add(decision.decision_id, decision.document(), now or decision.decided_at)
