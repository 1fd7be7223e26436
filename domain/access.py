"""Who may do what, where: the one authorisation function every flow asks.

Roles and their scope:

| role        | scope                                   | may                                                  |
| ----------- | --------------------------------------- | ---------------------------------------------------- |
| resident    | their own family                        | book / move / cancel its visit, fill its self-report |
| rt_head     | their RT (``users.sls_id``)             | the RT's families, register and book for them        |
| enumerator  | the SLS assigned to them                | their day's visits, the questionnaire of those SLS   |
| supervisor  | an area (``users.scope_area_id``)       | progress, review list and exports of that area       |
| coordinator | an area (kecamatan or kelurahan)        | the same as a supervisor, for their area             |
| admin       | everything                              | progress, review list and exports of any area        |

Supervisors, coordinators and admins may also sign in to the web dashboard (``DASHBOARD``), whose pages
ask the same actions with the same scopes.

``can(uow, user, action, target)`` answers with the role (is the action one of the role's?) and, when a
target is given, with the scope: an :class:`Area` must be the user's area or lie below it, a
:class:`Family` must live in it. Without a target only the role is asked (the router checks every
command this way before the flow runs, ``COMMAND_ACTIONS``); the flows then ask again with the area
or family the user wants to see, so a forged button or an id typed by hand finds nothing outside the
scope.
"""
from __future__ import annotations

from collections.abc import Sequence

from domain.errors import NotAllowed
from domain.model import Area, Family, User
from domain.ports import UnitOfWork

ROLES: tuple[str, ...] = ("resident", "rt_head", "enumerator", "supervisor", "coordinator", "admin")
AREA_ROLES: tuple[str, ...] = ("supervisor", "coordinator")  # roles whose scope is users.scope_area_id

# Actions.
OPEN = "open"  # anyone who agreed to the privacy notice: home, help, language
OWN_FAMILY = "own-family"  # the resident's own family's visit (book, move, cancel)
RT_FAMILIES = "rt-families"  # the families of an RT
SCHEDULE = "schedule"  # an enumerator's own day
WORK_HOURS = "work-hours"  # an enumerator's own working windows, within the area's limits
QUESTIONNAIRE = "questionnaire"  # open a family's questionnaire (which part: domain/questionnaire.py)
FAMILY_VIEW = "family-view"  # see one family
PROGRESS = "progress"  # progress of an area
REVIEW = "review"  # records of an area flagged for review
EXPORT = "export"  # export an area's families (CSV, XLSX, GeoJSON)
DASHBOARD = "dashboard"  # sign in to the web dashboard (domain/dashboard.py): its pages ask the actions above

ROLE_ACTIONS: dict[str, frozenset[str]] = {
    "resident": frozenset({OPEN, OWN_FAMILY, QUESTIONNAIRE, FAMILY_VIEW}),
    "rt_head": frozenset({OPEN, RT_FAMILIES, QUESTIONNAIRE, FAMILY_VIEW}),
    "enumerator": frozenset({OPEN, SCHEDULE, WORK_HOURS, QUESTIONNAIRE, FAMILY_VIEW}),
    "supervisor": frozenset({OPEN, PROGRESS, REVIEW, EXPORT, FAMILY_VIEW, DASHBOARD}),
    "coordinator": frozenset({OPEN, PROGRESS, REVIEW, EXPORT, FAMILY_VIEW, DASHBOARD}),
    "admin": frozenset({OPEN, PROGRESS, REVIEW, EXPORT, FAMILY_VIEW, DASHBOARD}),
}

# Every chat command and the action it needs (handlers/app.py routes them; a command without an entry
# here is refused, and tests/unit/test_role_matrix.py fails until it gets one).
COMMAND_ACTIONS: dict[str, str] = {
    "start": OPEN, "menu": OPEN, "bantuan": OPEN, "help": OPEN, "bahasa": OPEN, "language": OPEN,
    "janji": OWN_FAMILY, "appointment": OWN_FAMILY, "pindah": OWN_FAMILY, "move": OWN_FAMILY,
    "batal": OWN_FAMILY, "cancel": OWN_FAMILY,
    "keluarga": RT_FAMILIES, "families": RT_FAMILIES,
    "jadwal": SCHEDULE, "schedule": SCHEDULE,
    "jamkerja": WORK_HOURS, "hours": WORK_HOURS,
    "isi": QUESTIONNAIRE, "fill": QUESTIONNAIRE, "kunjungan": QUESTIONNAIRE, "visit": QUESTIONNAIRE,
    "progres": PROGRESS, "progress": PROGRESS,
    "tinjau": REVIEW, "review": REVIEW,
    "ekspor": EXPORT, "export": EXPORT,
    "dasbor": DASHBOARD, "dashboard": DASHBOARD,  # a sign-in link to the web dashboard
    "dataku": OPEN, "mydata": OPEN,  # the privacy notice's rights: everyone who agreed to it
    # The public consultation: a forum's seat, an RT head's SLS or a resident's own family; domain/fkp.py
    # decides which (a seat is the forum's role, not a users.role).
    "fkp": OPEN,
    "privasi": OPEN, "privacy": OPEN,  # the privacy notice itself, again
}

MAX_DEPTH = 8  # province → regency → district → village → SLS, with room to spare


def can(uow: UnitOfWork, user: User | None, action: str, target: Area | Family | None = None) -> bool:
    """May ``user`` do ``action`` (on ``target``, an area or a family, when given)?"""
    if user is None or action not in ROLE_ACTIONS.get(user.role, frozenset()):
        return False
    if target is None:
        return True
    if isinstance(target, Family):
        return _sees_family(uow, user, action, target)
    if isinstance(target, Area):
        return _sees_area(uow, user, target)
    return False


def can_use_command(user: User | None, command: str) -> bool:
    """The router's check: the command exists in the matrix and the user's role has its action."""
    return user is not None and role_may_use(user.role, command)


def role_may_use(role: str, command: str) -> bool:
    """Does ``role`` have the action of ``command`` (the command menus are built from this)?"""
    action = COMMAND_ACTIONS.get(command)
    return action is not None and action in ROLE_ACTIONS.get(role, frozenset())


def _sees_family(uow: UnitOfWork, user: User, action: str, family: Family) -> bool:
    role = user.role
    if role == "admin":
        return True
    if role == "resident":
        return user.family_id == family.id
    if role == "rt_head":
        return user.sls_id is not None and user.sls_id == family.sls_id
    if role == "enumerator":
        return family.sls_id in assigned_sls_ids(uow, user)
    if role in AREA_ROLES:
        return user.scope_area_id is not None and is_within(uow, family.sls_id, user.scope_area_id)
    return False


def _sees_area(uow: UnitOfWork, user: User, area: Area) -> bool:
    role = user.role
    if role == "admin":
        return True
    if role in AREA_ROLES:
        return user.scope_area_id is not None and is_within(uow, area.id, user.scope_area_id)
    if role == "rt_head":
        return user.sls_id is not None and user.sls_id == area.id
    if role == "enumerator":
        return area.id in assigned_sls_ids(uow, user)
    return False


def assigned_sls_ids(uow: UnitOfWork, user: User) -> set[int]:
    enumerator = uow.enumerators.by_user(user.id)
    if enumerator is None:
        return set()
    return {a.id for a in uow.enumerators.assigned_sls(enumerator.id)}


def is_within(uow: UnitOfWork, area_id: int | None, ancestor_id: int) -> bool:
    """Is ``area_id`` the area ``ancestor_id`` or below it? (walks up the parents: a handful of lookups,
    served by the session's identity map after the first)."""
    seen = 0
    while area_id is not None and seen <= MAX_DEPTH:
        if area_id == ancestor_id:
            return True
        area = uow.areas.get(area_id)
        area_id = area.parent_id if area is not None else None
        seen += 1
    return False


def home_area(uow: UnitOfWork, user: User) -> Area | None:
    """Where a supervisor's or coordinator's screens start: their area; for an admin the top of the tree
    (the one root area, or None when there are several or none)."""
    if user.role in AREA_ROLES:
        return uow.areas.get(user.scope_area_id) if user.scope_area_id is not None else None
    if user.role == "admin":
        roots = roots_of(uow)
        return roots[0] if len(roots) == 1 else None
    return None


def roots_of(uow: UnitOfWork) -> Sequence[Area]:
    return uow.supervision.root_areas()


def assign_scope(uow: UnitOfWork, user: User, role: str, area_id: int) -> User:
    """Make ``user`` a supervisor or coordinator of an area (an invite's redemption)."""
    if role not in AREA_ROLES:
        raise NotAllowed(role)
    area = uow.areas.get(area_id)
    if area is None:
        raise NotAllowed("area")
    if user.role == "admin":
        raise NotAllowed("admin keeps their role")
    user.role, user.scope_area_id = role, area.id
    uow.flush()
    return user
