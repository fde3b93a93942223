"""A principal's scope as SQL, so lists are filtered in the database, not after loading.

One definition for the console and the staff API: an institution operator
sees the classes, trainees (enrolled in those classes) and chat users of their
own institution; city and county staff see what lies in their region: classes
and institutions by their region code, trainees who live there *or* are
enrolled in a class there (the bureau supervising a class must be able to
reach its trainees wherever they are registered).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, exists, or_, select, true

from bot.auth import Principal
from models import ChatUser, Claim, Enrollment, Institution, Trainee, TrainingClass

ACTIVE_ENROLLMENT = ("enrolled", "completed")


class OutOfScope(Exception):
    """A record exists but lies outside the caller's scope (a 403 in the API and the console)."""


def _in_region(column: ColumnElement[str] | object, principal: Principal) -> ColumnElement[bool]:
    return column.like(f"{principal.prefix}%")  # type: ignore[attr-defined, no-any-return]


def class_scope(principal: Principal) -> ColumnElement[bool]:
    if principal.is_province:
        return true()
    if principal.is_operator:
        return TrainingClass.institution_id == principal.institution_id
    return _in_region(TrainingClass.region_code, principal)


def institution_scope(principal: Principal) -> ColumnElement[bool]:
    if principal.is_province:
        return true()
    if principal.is_operator:
        return Institution.id == principal.institution_id
    return _in_region(Institution.region_code, principal)


def enrolled_in(class_filter: ColumnElement[bool]) -> ColumnElement[bool]:
    """Trainees with an active enrollment in a class matching `class_filter`."""
    return exists(
        select(Enrollment.id)
        .join(TrainingClass, TrainingClass.id == Enrollment.class_id)
        .where(
            Enrollment.trainee_id == Trainee.id,
            Enrollment.status.in_(ACTIVE_ENROLLMENT),
            class_filter,
        )
    )


def trainee_scope(principal: Principal) -> ColumnElement[bool]:
    if principal.is_province:
        return true()
    if principal.is_operator:
        return enrolled_in(class_scope(principal))
    return or_(_in_region(Trainee.region_code, principal), enrolled_in(class_scope(principal)))


def claim_scope(principal: Principal) -> ColumnElement[bool]:
    """Claims follow their class: the bureau where the class ran reviews them."""
    if principal.is_province:
        return true()
    return Claim.class_id.in_(select(TrainingClass.id).where(class_scope(principal)))


def chat_user_scope(principal: Principal) -> ColumnElement[bool]:
    """Chat accounts of trainees or institution contacts in scope (staff accounts: province only)."""
    if principal.is_province:
        return true()
    trainees = select(Trainee.id).where(trainee_scope(principal))
    institutions = select(Institution.id).where(institution_scope(principal))
    return or_(
        and_(ChatUser.trainee_id.is_not(None), ChatUser.trainee_id.in_(trainees)),
        and_(ChatUser.institution_id.is_not(None), ChatUser.institution_id.in_(institutions)),
    )
