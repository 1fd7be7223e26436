"""The public consultation's forums and everything said in them (domain/fkp.py)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from domain.model import (
    Area, Family, FkpAddedFamily, FkpDecision, FkpForum, FkpObjection, FkpParticipant, FkpProposal, User,
)
from storage.tables import fkp_attendance, fkp_forum_sls, fkp_signatures


class FkpRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # --- forums --------------------------------------------------------------------------------------
    def add_forum(self, forum: FkpForum, sls_ids: Sequence[int]) -> FkpForum:
        self.session.add(forum)
        self.session.flush()
        if sls_ids:
            self.session.execute(fkp_forum_sls.insert(), [{"forum_id": forum.id, "sls_id": s} for s in sls_ids])
        return forum

    def get(self, forum_id: int) -> FkpForum | None:
        return self.session.get(FkpForum, forum_id)

    def lock(self, forum_id: int) -> FkpForum | None:
        """The forum, locked until the transaction ends: two people closing at once close once."""
        return self.session.scalar(select(FkpForum).where(FkpForum.id == forum_id).with_for_update())

    def forums_of_village(self, village_id: int) -> Sequence[FkpForum]:
        return self.session.scalars(select(FkpForum).where(FkpForum.village_id == village_id)
                                    .order_by(FkpForum.number)).all()

    def forums_under(self, code: str) -> Sequence[FkpForum]:
        """The forums of every kelurahan at or below the area ``code``."""
        return self.session.scalars(
            select(FkpForum).join(Area, Area.id == FkpForum.village_id)
            .where(or_(Area.code == code, Area.code.like(code + ".%")))
            .order_by(Area.code, FkpForum.number)).all()

    def forum_of_sls(self, sls_id: int) -> FkpForum | None:
        return self.session.scalar(select(FkpForum).join(fkp_forum_sls, fkp_forum_sls.c.forum_id == FkpForum.id)
                                   .where(fkp_forum_sls.c.sls_id == sls_id))

    def sls_of(self, forum_id: int) -> Sequence[Area]:
        return self.session.scalars(select(Area).join(fkp_forum_sls, fkp_forum_sls.c.sls_id == Area.id)
                                    .where(fkp_forum_sls.c.forum_id == forum_id).order_by(Area.code)).all()

    # --- seats ---------------------------------------------------------------------------------------
    def add_participant(self, seat: FkpParticipant) -> FkpParticipant:
        self.session.add(seat)
        self.session.flush()
        return seat

    def participant(self, seat_id: int) -> FkpParticipant | None:
        return self.session.get(FkpParticipant, seat_id)

    def participants(self, forum_id: int) -> Sequence[FkpParticipant]:
        return self.session.scalars(select(FkpParticipant).where(FkpParticipant.forum_id == forum_id)
                                    .order_by(FkpParticipant.id)).all()

    def seats_of_user(self, user_id: int) -> Sequence[FkpParticipant]:
        return self.session.scalars(select(FkpParticipant).where(FkpParticipant.user_id == user_id)
                                    .order_by(FkpParticipant.forum_id.desc(), FkpParticipant.id)).all()

    # --- the families of an SLS, paged and searched by name -------------------------------------------
    def families_page(self, sls_id: int, offset: int, limit: int, search: str = "") -> tuple[int, Sequence[Family]]:
        where = [Family.sls_id == sls_id]
        if search:
            escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            where.append(func.lower(Family.head_name).like(f"%{escaped.lower()}%", escape="\\"))
        total = self.session.scalar(select(func.count()).select_from(Family).where(*where)) or 0
        rows = self.session.scalars(select(Family).where(*where).order_by(Family.head_name, Family.id)
                                    .offset(offset).limit(limit)).all()
        return total, rows

    def families_by_id(self, family_ids: Sequence[int]) -> dict[int, Family]:
        if not family_ids:
            return {}
        return {f.id: f for f in self.session.scalars(select(Family).where(Family.id.in_(list(family_ids))))}

    def family_ids_in(self, sls_ids: Sequence[int]) -> list[tuple[int, int]]:
        """(family id, sls id) of every family of these SLS."""
        if not sls_ids:
            return []
        return [(r[0], r[1]) for r in self.session.execute(
            select(Family.id, Family.sls_id).where(Family.sls_id.in_(list(sls_ids))))]

    # --- proposals, added families, objections ----------------------------------------------------------
    def proposals(self, forum_id: int) -> Sequence[FkpProposal]:
        return self.session.scalars(select(FkpProposal).where(FkpProposal.forum_id == forum_id)
                                    .order_by(FkpProposal.id)).all()

    def proposals_for(self, forum_id: int, family_ids: Sequence[int]) -> dict[int, FkpProposal]:
        if not family_ids:
            return {}
        return {p.family_id: p for p in self.session.scalars(select(FkpProposal).where(
            FkpProposal.forum_id == forum_id, FkpProposal.family_id.in_(list(family_ids))))}

    def proposal(self, forum_id: int, family_id: int) -> FkpProposal | None:
        return self.session.scalar(select(FkpProposal).where(FkpProposal.forum_id == forum_id,
                                                              FkpProposal.family_id == family_id))

    def add_proposal(self, proposal: FkpProposal) -> FkpProposal:
        self.session.add(proposal)
        self.session.flush()
        return proposal

    def added(self, forum_id: int) -> Sequence[FkpAddedFamily]:
        return self.session.scalars(select(FkpAddedFamily).where(FkpAddedFamily.forum_id == forum_id)
                                    .order_by(FkpAddedFamily.sls_id, FkpAddedFamily.id)).all()

    def added_family(self, added_id: int) -> FkpAddedFamily | None:
        return self.session.get(FkpAddedFamily, added_id)

    def add_added(self, added: FkpAddedFamily) -> FkpAddedFamily:
        self.session.add(added)
        self.session.flush()
        return added

    def objections(self, forum_id: int) -> Sequence[FkpObjection]:
        return self.session.scalars(select(FkpObjection).where(FkpObjection.forum_id == forum_id)
                                    .order_by(FkpObjection.id)).all()

    def objection_of(self, forum_id: int, family_id: int, user_id: int) -> FkpObjection | None:
        return self.session.scalar(select(FkpObjection).where(
            FkpObjection.forum_id == forum_id, FkpObjection.family_id == family_id, FkpObjection.user_id == user_id))

    def add_objection(self, objection: FkpObjection) -> FkpObjection:
        self.session.add(objection)
        self.session.flush()
        return objection

    # --- decisions -------------------------------------------------------------------------------------
    def decisions(self, forum_id: int) -> Sequence[FkpDecision]:
        return self.session.scalars(select(FkpDecision).where(FkpDecision.forum_id == forum_id)
                                    .order_by(FkpDecision.id)).all()

    def decision(self, forum_id: int, family_id: int | None, added_id: int | None) -> FkpDecision | None:
        if added_id is not None:
            return self.session.scalar(select(FkpDecision).where(FkpDecision.added_id == added_id))
        return self.session.scalar(select(FkpDecision).where(FkpDecision.forum_id == forum_id,
                                                              FkpDecision.family_id == family_id))

    def add_decision(self, decision: FkpDecision) -> FkpDecision:
        self.session.add(decision)
        self.session.flush()
        return decision

    # --- attendance and signatures ------------------------------------------------------------------------
    def present(self, forum_id: int) -> set[int]:
        return set(self.session.scalars(select(fkp_attendance.c.participant_id)
                                        .where(fkp_attendance.c.forum_id == forum_id)))

    def set_present(self, forum_id: int, seat_id: int, present: bool, at: dt.datetime) -> None:
        self.session.execute(delete(fkp_attendance).where(fkp_attendance.c.participant_id == seat_id))
        if present:
            self.session.execute(fkp_attendance.insert().values(participant_id=seat_id, forum_id=forum_id, at=at))

    def signatures(self, forum_id: int) -> dict[int, tuple[str, dt.datetime]]:
        return {r.participant_id: (r.answer, r.at) for r in self.session.execute(
            select(fkp_signatures).where(fkp_signatures.c.forum_id == forum_id))}

    def sign(self, forum_id: int, seat_id: int, answer: str, at: dt.datetime) -> bool:
        """Record a seat's answer once; False when it had answered already (the first answer stands)."""
        if self.session.scalar(select(fkp_signatures.c.answer).where(fkp_signatures.c.participant_id == seat_id)):
            return False
        self.session.execute(fkp_signatures.insert().values(participant_id=seat_id, forum_id=forum_id,
                                                            answer=answer, at=at))
        return True

    # --- who is told ---------------------------------------------------------------------------------------
    def residents_of_sls(self, sls_id: int) -> Sequence[User]:
        """The residents of an SLS with a family registered: they may object once the list is open."""
        return self.session.scalars(select(User).join(Family, Family.id == User.family_id)
                                    .where(Family.sls_id == sls_id, User.role == "resident").order_by(User.id)).all()

    def officers_of(self, area_id: int, roles: Sequence[str]) -> Sequence[User]:
        return self.session.scalars(select(User).where(User.scope_area_id == area_id, User.role.in_(list(roles)))
                                    .order_by(User.id)).all()

    # --- progress per kecamatan (/progres) ----------------------------------------------------------------
    def progress_under(self, code: str) -> list[tuple[int, str, int, int, int]]:
        """Per forum under ``code``: (forum id, status, village's parent id, proposals, decisions)."""
        proposals = (select(FkpProposal.forum_id, func.count().label("n")).where(FkpProposal.kind == "move")
                     .group_by(FkpProposal.forum_id).subquery())
        decisions = select(FkpDecision.forum_id, func.count().label("n")).group_by(FkpDecision.forum_id).subquery()
        rows = self.session.execute(
            select(FkpForum.id, FkpForum.status, Area.parent_id, func.coalesce(proposals.c.n, 0),
                   func.coalesce(decisions.c.n, 0))
            .join(Area, Area.id == FkpForum.village_id)
            .outerjoin(proposals, proposals.c.forum_id == FkpForum.id)
            .outerjoin(decisions, decisions.c.forum_id == FkpForum.id)
            .where(or_(Area.code == code, Area.code.like(code + ".%"))))
        return [(r[0], r[1], r[2], int(r[3]), int(r[4])) for r in rows]
