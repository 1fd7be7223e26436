"""Choosing the transport: python-telegram-bot or aiogram, by ``settings.framework`` (PINTU_FRAMEWORK)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from bot.wiring import Pintu

if TYPE_CHECKING:
    from bot.aiogram_transport import AiogramTransport
    from bot.ptb_transport import PtbTransport


def make_transport(pintu: Pintu) -> PtbTransport | AiogramTransport:
    """The transport for ``pintu.settings.framework``; only that framework is imported (aiogram alone
    takes a second or two to import)."""
    framework = pintu.settings.framework
    if framework == "ptb":
        from bot.ptb_transport import PtbTransport

        return PtbTransport(pintu)
    if framework == "aiogram":
        from bot.aiogram_transport import AiogramTransport

        return AiogramTransport(pintu)
    raise ValueError(f"unknown framework {framework!r}: use 'ptb' or 'aiogram'")
