"""How the chat shows a completed family's delivery to the central registry (registry.po).

    from registry.status import delivery_status_for_families
    deliveries = delivery_status_for_families(uow, [family.id for family in families])
    label = delivery_label(ctx.t, deliveries.get(family.id))   # "" when the family has no completed record
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any


def delivery_label(t: Callable[..., str], delivery: Any | None) -> str:
    """A short phrase for a registry.status.FamilyDelivery (or None): sent, waiting, or held back."""
    if delivery is None:
        return ""
    if delivery.status == "delivered":
        return t("registry-delivery-delivered")
    if delivery.status == "parked":
        return t("registry-delivery-parked")
    return t("registry-delivery-pending")
