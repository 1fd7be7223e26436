"""flow states: conversation states named by their flow ("booking.pick_day")

The flows declare their states (handlers/states.py); a stored conversation now names the flow it
belongs to. This rewrites the states stored before, so a conversation in the middle of a step resumes
there after the upgrade. A state that no longer exists at all takes its user home (handlers/app.py).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

# Kept here, not imported: a migration must mean the same thing whatever the code becomes.
RENAMED = {
    "choose_area": "onboarding.choose_area",
    "family_name": "onboarding.family_name",
    "family_kk": "onboarding.family_kk",
    "family_members": "onboarding.family_members",
    "pick_day": "booking.pick_day",
    "pick_time": "booking.pick_time",
    "confirm": "booking.confirm",
    "fe_value": "rt_head.edit_value",
    "rh_import": "rt_head.import_list",
    "oc_note": "outcomes.note",
    "qs": "questionnaire.question",
    "qs_paused": "questionnaire.paused",
}

conversations = sa.table("conversations", sa.column("state", sa.String))


def upgrade() -> None:
    for old, new in RENAMED.items():
        op.execute(conversations.update().where(conversations.c.state == old).values(state=new))


def downgrade() -> None:
    for old, new in RENAMED.items():
        op.execute(conversations.update().where(conversations.c.state == new).values(state=old))
