"""An RT's Telegram group. Only commands are read there, and nothing personal is ever answered.

/grup (or /group) from the RT head links the group to their RT; from anyone else it is refused. The
daily progress line (counts only) is rendered here for the dispatcher.
"""
from __future__ import annotations

import html
from typing import Any

from domain.errors import NotAllowed
from domain.rt_groups import GroupLinkedElsewhere, link_group, progress
from handlers.context import Context
from handlers.i18n import Translator


def on_group_command(ctx: Context) -> None:
    try:
        group = link_group(ctx.uow, ctx.user, ctx.event.chat_id, ctx.now)
    except GroupLinkedElsewhere:
        ctx.send(ctx.t("group-linked-elsewhere"))
        return
    except NotAllowed:
        ctx.send(ctx.t("group-not-rt-head"))
        return
    area = ctx.uow.areas.get(group.sls_id)
    ctx.send(ctx.t("group-linked", rt=area.name) + "\n" + progress_line(ctx.uow, group.sls_id, ctx.t))


def progress_line(uow: Any, sls_id: int, t: Translator) -> str:
    """Counts only: never a name, a KK number, an address or anyone's visit time."""
    done = progress(uow, sls_id)
    area = uow.areas.get(sls_id)
    return t.raw("notify-rt-group-progress", rt=html.escape(area.name, quote=False), families=done.families,
                 booked=done.of("booked"), visited=done.of("visited"), completed=done.of("completed"),
                 open=done.of("not_contacted"), not_home=done.of("not_home"),
                 closed=done.of("refused", "moved", "not_found"))
