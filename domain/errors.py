"""Errors the business rules raise; handlers translate each into a message for the user."""


class PintuError(Exception):
    """Base of every rule violation a user can be told about."""


class SlotTaken(PintuError):
    """Someone else booked that time first."""


class SlotUnavailable(PintuError):
    """The time is not bookable at all (past, holiday, outside working hours, too soon)."""


class FamilyAlreadyBooked(PintuError):
    """The family already has an active appointment."""


class NoAppointment(PintuError):
    """There is no active appointment to show, move or cancel."""


class NotAllowed(PintuError):
    """The user's role or area does not permit this action."""


class InvalidInvite(PintuError):
    """The invite is forged, malformed or of an unknown kind."""


class ExpiredInvite(InvalidInvite):
    """The invite was genuine but its time has passed."""


class UsedInvite(InvalidInvite):
    """A single-use invite was already redeemed."""


class RevokedInvite(InvalidInvite):
    """The invite was withdrawn by an administrator before it was used."""


class AlreadyAnotherOfficer(PintuError):
    """The account already stands for another enumerator; one account is one officer."""


class DuplicateKK(PintuError):
    """The KK number is already registered to another family."""


class RecordNotFound(PintuError):
    """No record with that id."""


class RecordStateError(PintuError):
    """The record is not in a state that allows this (completing a completed one, correcting a draft)."""


class RecordIncomplete(PintuError):
    """The record lacks what the registry requires (e.g. the resident's consent)."""
