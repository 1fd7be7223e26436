"""Errors the simulator answers with, worded as the official Bot API server words them."""

from __future__ import annotations


class ApiError(Exception):
    """A Bot API failure: becomes ``{"ok": false, "error_code", "description", "parameters"?}``."""

    def __init__(self, code: int, description: str, *, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after

    def to_json(self) -> dict:
        """The JSON body of this error as Telegram sends it."""
        body: dict = {"ok": False, "error_code": self.code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(detail: str) -> ApiError:
    """A 400 ``Bad Request: {detail}``."""
    return ApiError(400, f"Bad Request: {detail}")


def forbidden(detail: str) -> ApiError:
    """A 403 ``Forbidden: {detail}``."""
    return ApiError(403, f"Forbidden: {detail}")


def conflict(detail: str) -> ApiError:
    """A 409 ``Conflict: {detail}``."""
    return ApiError(409, f"Conflict: {detail}")


def too_many_requests(retry_after: int) -> ApiError:
    """A 429 with ``parameters.retry_after`` (whole seconds, at least 1)."""
    retry_after = max(1, retry_after)
    return ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after)


class UserApiError(Exception):
    """A refusal of the user-side API: ``{"ok": false, "description"}`` with a 4xx status."""

    def __init__(self, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.description = description
        self.status = status
