"""Errors a service raises; the REST API and the websocket turn them into ``{"code", "detail"}``."""
from __future__ import annotations


class ServiceError(Exception):
    status = 400

    def __init__(self, code: str, detail: str = "", *, status: int | None = None) -> None:
        super().__init__(detail or code)
        self.code = code
        self.detail = detail or code.replace("_", " ").capitalize()
        if status is not None:
            self.status = status


class Conflict(ServiceError):
    """A state conflict: 409 (``already_taken``, ``window_closed``, ``not_owner``, ``transfers_disabled``)."""

    status = 409


class NotAllowed(ServiceError):
    status = 403


class Invalid(ServiceError):
    status = 400
