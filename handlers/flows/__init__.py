"""The conversation flows, one module each, each ending with its declaration (``FLOW``).

No flow module imports another: a flow leads into another by a state (handlers/states.py, ``ctx.go``)
or the user's home (``ctx.go_home``), and buttons that lead into another flow are built by
handlers/keyboards.py. The router (handlers/app.py) builds its tables from :data:`FLOWS`.
"""
from __future__ import annotations

from handlers.flow import Flow
from handlers.flows import (booking, common, enumerator, fkp, group, onboarding, outcomes, privacy, questionnaire,
                            reminders, rt_head, supervisor)

FLOWS: tuple[Flow, ...] = (
    common.FLOW, onboarding.FLOW, booking.FLOW, rt_head.FLOW, enumerator.FLOW, outcomes.FLOW, questionnaire.FLOW,
    reminders.FLOW, supervisor.FLOW, group.FLOW, privacy.FLOW, fkp.FLOW,
)
