"""An RT's Telegram group. Only commands are read there, and nothing personal is ever answered.

/grup (or /group) from the RT head links the group to their RT; from anyone else it is refused. The
daily progress line (counts only) is rendered here for the dispatcher.
"""
from __future__ import annotations


from domain.errors import NotAllowed
from domain.rt_groups import GroupLinkedElsewhere, link_group
from handlers.context import Context
from handlers.flow import Flow
from handlers.notifications import progress_line


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


FLOW = Flow(name="group", doc="an RT's Telegram group: linking it to the RT",
            group_commands={"grup": on_group_command, "group": on_group_command})
