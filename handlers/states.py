"""Every conversation state of every flow, declared once.

A state is stored in ``conversations.state`` as its value ("booking.pick_day": the flow, then the
step), so a stored conversation names the flow it belongs to. Flows move each other's conversations
by these names (``ctx.go(State.PICK_DAY, …)``) and never import each other; which flow owns a state,
and what entering it shows, is declared in that flow's module (handlers/flows/) and read by the router
(handlers/app.py).

Renaming or removing a state needs a data migration of ``conversations.state`` (see
storage/migrations/versions/0016_flow_states.py); a stored state that no longer exists takes the user
home with a message instead of failing.
"""
from __future__ import annotations

from enum import StrEnum


class State(StrEnum):
    IDLE = "idle"  # nothing typed is expected: commands and buttons only

    # onboarding: from /start to a registered family
    CHOOSE_AREA = "onboarding.choose_area"
    FAMILY_NAME = "onboarding.family_name"
    FAMILY_KK = "onboarding.family_kk"
    FAMILY_MEMBERS = "onboarding.family_members"
    FAMILY_ADDRESS = "onboarding.family_address"
    FAMILY_LOCATION = "onboarding.family_location"

    # booking: day → time → confirm
    PICK_DAY = "booking.pick_day"
    PICK_TIME = "booking.pick_time"
    CONFIRM = "booking.confirm"
    APPOINTMENT = "booking.appointment"  # shows the family's visit, then rests in IDLE

    # rt_head: the RT head's tools
    EDIT_VALUE = "rt_head.edit_value"
    IMPORT_LIST = "rt_head.import_list"

    # enumerator: the officer's own working windows (/jamkerja)
    HOURS_DAY = "enumerator.hours_day"

    # outcomes: what happened at the door
    OUTCOME_NOTE = "outcomes.note"

    # questionnaire: one question at a time
    QUESTION = "questionnaire.question"
    PAUSED = "questionnaire.paused"
    DOOR_CONSENT = "questionnaire.door_consent"  # the notice read out at the door: agreed or refused

    # privacy: the resident's rights (see, correct, withdraw and erase)
    CORRECTION = "privacy.correction"

    # fkp: the public consultation (the RT head's review, a resident's objection, the forum's session)
    FKP_SEARCH = "fkp.search"
    FKP_NOTE = "fkp.note"
    FKP_ADD_NAME = "fkp.add_name"
    FKP_ADD_KK = "fkp.add_kk"
    FKP_REJECT_REASON = "fkp.reject_reason"
